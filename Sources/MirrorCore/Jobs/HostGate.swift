import Foundation

/// Limits concurrent pack downloads per upstream host inside one engine (the only engine of a catalog).
/// Ref listings are not gated: they are one cheap round trip.
final class HostGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var inUse: [String: Int] = [:]
    private let limit: Int

    init(limit: Int) { self.limit = max(1, limit) }

    /// Blocks until `host` has a free slot or `cancelled()` says stop; returns whether a slot was taken.
    func enter(_ host: String, cancelled: () -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while inUse[host, default: 0] >= limit {
            if cancelled() { return false }
            _ = condition.wait(until: Date().addingTimeInterval(0.1))
        }
        inUse[host, default: 0] += 1
        return true
    }

    func leave(_ host: String) {
        condition.lock()
        inUse[host, default: 1] -= 1
        condition.broadcast()
        condition.unlock()
    }
}
