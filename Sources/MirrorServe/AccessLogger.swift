import Foundation
import Logging
import MirrorCore

/// Records every served request: one combined-format line on stderr at once, and a catalog row written
/// in batches (at most one transaction a second, off the request path), so logging never slows serving.
final class AccessLogger: @unchecked Sendable {
    private let catalog: Catalog
    private let toStderr: Bool
    private let metrics: ServeMetrics?
    private let lock = NSLock()
    private var pending: [AccessLogEntry] = []
    private let wake = DispatchSemaphore(value: 0)
    private var stopped = false
    private let flushed = DispatchSemaphore(value: 0)
    static let maxPending = 100_000

    init(catalog: Catalog, toStderr: Bool, metrics: ServeMetrics?) {
        self.catalog = catalog
        self.toStderr = toStderr
        self.metrics = metrics
        let thread = Thread { [self] in loop() }
        thread.stackSize = 512 << 10
        thread.start()
    }

    /// Logs one request (called when its response has been sent or has failed).
    func record(_ entry: AccessLogEntry, method: String, target: String, userAgent: String?) {
        metrics?.count(entry)
        if toStderr {
            FileHandle.standardError.write(Data(Self.combinedLine(entry, method: method, target: target, userAgent: userAgent).utf8))
        }
        lock.lock()
        if pending.count < Self.maxPending { pending.append(entry) }
        lock.unlock()
    }

    /// Writes what is pending now (tests and shutdown).
    func flush() {
        lock.lock()
        let batch = pending
        pending = []
        lock.unlock()
        try? catalog.appendAccessLog(batch)
    }

    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
        wake.signal()
        flushed.wait()
    }

    private func loop() {
        while true {
            _ = wake.wait(timeout: .now() + 1)
            flush()
            lock.lock()
            let done = stopped
            lock.unlock()
            if done { break }
        }
        flushed.signal()
    }

    /// `127.0.0.1 - alice [04/Dec/2026:20:31:07 +0000] "GET /org/model.git/info/refs?service=git-upload-pack HTTP/1.1" 200 1234 "-" "git/2.39.5" 12ms`
    static func combinedLine(_ e: AccessLogEntry, method: String, target: String, userAgent: String?) -> String {
        var t = time_t(e.at.timeIntervalSince1970)
        var tm = tm()
        gmtime_r(&t, &tm)
        let stamp = String(format: "%02d/%@/%04d:%02d:%02d:%02d +0000", tm.tm_mday, HTTPDateCache.months[Int(tm.tm_mon)], Int(tm.tm_year) + 1900,
                           tm.tm_hour, tm.tm_min, tm.tm_sec)
        func clean(_ s: String) -> String {
            String(s.unicodeScalars.prefix(300).map { $0.value < 0x20 || $0.value == 0x7f || $0 == "\"" ? "?" : Character($0) })
        }
        // Signed tokens never travel in the target (they go in headers), but strip any query anyway.
        let shownTarget = clean(target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? target)
            + (target.contains("?service=") ? "?" + clean(String(target.split(separator: "?", maxSplits: 1).last ?? "")) : "")
        return "\(e.client) - \(e.user.map(clean) ?? "-") [\(stamp)] \"\(clean(method)) \(shownTarget) HTTP/1.1\" \(e.status) \(e.bytes) \"-\" \"\(clean(userAgent ?? "-"))\" \(e.kind.rawValue) \(e.durationMs)ms\n"
    }
}
