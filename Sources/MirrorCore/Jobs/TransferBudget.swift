import Foundation

/// Bandwidth caps shared by every git and LFS transfer of this process, so mirroring never saturates an
/// office link: one for everything (`[engine] max_rate`), one per upstream host (`[hosts."HOST"] max_rate`)
/// and one per mirror (`add/edit --max-rate`). Each is a token bucket of bytes a second; a transfer takes
/// what it receives from every cap that applies to it, so two mirrors of one host share the host's rate.
///
/// The caps hold within one process: the daemon's engine (or the one embedded engine) runs all transfers.
public final class TransferBudget: @unchecked Sendable {
    public static let shared = TransferBudget()

    private let lock = NSLock()
    private var global: TokenBucket?
    private var hostRates: [String: Int64] = [:]
    private var hosts: [String: TokenBucket] = [:]
    private var mirrors: [String: TokenBucket] = [:]

    /// Sets the global and per-host rates (bytes a second; nil: no cap). Buckets whose rate did not change
    /// keep their state.
    public func configure(global rate: Int64?, hosts rates: [String: Int64]) {
        lock.lock()
        defer { lock.unlock() }
        if global.map({ Int64($0.rate) }) != rate { global = rate.map(Self.bucket) }
        hostRates = rates
        hosts = hosts.filter { rates[$0.key] == Int64($0.value.rate) }
    }

    /// The buckets a transfer of `mirror` takes from: the mirror's own, its upstream host's and the global one.
    func buckets(for mirror: Mirror) -> [TokenBucket] {
        let host = (try? UpstreamURL(mirror.upstream))?.host?.lowercased() ?? "local"
        lock.lock()
        defer { lock.unlock() }
        var out: [TokenBucket] = []
        if let rate = mirror.maxRate {
            if let existing = mirrors[mirror.name], Int64(existing.rate) == rate {
                out.append(existing)
            } else {
                let bucket = Self.bucket(rate)
                mirrors[mirror.name] = bucket
                out.append(bucket)
            }
        }
        if let rate = hostRates[host] {
            if let existing = hosts[host] {
                out.append(existing)
            } else {
                let bucket = Self.bucket(rate)
                hosts[host] = bucket
                out.append(bucket)
            }
        }
        if let global { out.append(global) }
        return out
    }

    /// Takes `bytes` from every bucket, sleeping as long as the slowest needs; false when cancelled first.
    static func take(_ bytes: Int, from buckets: [TokenBucket], isCancelled: () -> Bool) -> Bool {
        for bucket in buckets where !bucket.take(bytes, isCancelled: isCancelled) { return false }
        return true
    }

    private static func bucket(_ rate: Int64) -> TokenBucket { TokenBucket(bytesPerSecond: rate, burst: 64 << 10) }
}
