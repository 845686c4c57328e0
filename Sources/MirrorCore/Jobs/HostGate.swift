import Foundation

/// Limits concurrent pack downloads inside one engine (the only engine of a catalog), in all and per
/// upstream host, and spaces out the starts of connections to one host. Ref listings are not limited
/// otherwise: they are one cheap round trip.
final class HostGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var inUse: [String: Int] = [:]
    private let limit: Int
    /// Downloads at once across hosts (the engine's `max_syncs`), and how many are under way.
    private let downloads: Int
    private var downloading = 0
    /// When the next connection to each host may start (monotonic nanoseconds).
    private var nextConnect: [String: UInt64] = [:]
    /// Least time between the starts of two connections to one host.
    let connectSpacing: UInt64

    /// The default spacing of connection starts to one host: 2 ms.
    ///
    /// Up to 8 syncs start at once when a batch of jobs is claimed. `git daemon` listens with a backlog of 5:
    /// 8 simultaneous connects overflow its accept queue about every other time, and each dropped SYN costs that
    /// sync the kernel's 1 s retransmit. Measured here, 1 ms between starts already avoided every overflow.
    /// A sync spends far longer than 2 ms per connection, so this only ever spreads out bursts.
    static let defaultConnectSpacing: UInt64 = 2_000_000

    init(limit: Int, downloads: Int = .max, connectSpacing: UInt64 = HostGate.defaultConnectSpacing) {
        self.limit = max(1, limit)
        self.downloads = max(1, downloads)
        self.connectSpacing = connectSpacing
    }

    /// Ref listings to one host that may be waiting for their answer at once. For git:// and ssh://: below
    /// the listen backlog of 5 that `git daemon` uses (and sshd's MaxStartups), so this engine's own connects
    /// can never overflow it, however late the server gets to accept them. A listing that got its answer has
    /// been accepted and leaves. Web servers listen with backlogs of hundreds (nginx: 511) and accept at once,
    /// and over a far link a listing waits a round trip for its answer: there, 16 may wait,
    /// or checks of many up-to-date mirrors of one far host would go four round trips at a time.
    static func listingsInFlight(upstream: String) -> Int {
        UpstreamURL.isHTTP(upstream) ? 16 : 4
    }
    private var listing: [String: Int] = [:]

    /// Waits for one of `host`'s listing slots (at most `inFlight` taken), then paces the connection's start
    /// (see `paceConnect`). Call `leaveListing` once the listing is answered (or failed).
    func enterListing(_ host: String, inFlight: Int) {
        condition.lock()
        while listing[host, default: 0] >= inFlight { condition.wait() }
        listing[host, default: 0] += 1
        condition.unlock()
        paceConnect(host)
    }

    func leaveListing(_ host: String) {
        condition.lock()
        listing[host, default: 1] -= 1
        if listing[host] == 0 { listing[host] = nil }
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until a new connection to `host` may start: starts are at least `connectSpacing` apart.
    func paceConnect(_ host: String) {
        condition.lock()
        let now = DispatchTime.now().uptimeNanoseconds
        let start = max(now, nextConnect[host] ?? 0)
        nextConnect[host] = start + connectSpacing
        if nextConnect.count > 4096 { nextConnect = nextConnect.filter { $0.value > now } }
        condition.unlock()
        if start > now { usleep(UInt32((start - now) / 1000)) }
    }

    /// Blocks until `host` has a free slot and fewer than `downloads` are under way in all, or `cancelled()`
    /// says stop; returns whether a slot was taken. `waiting` is called once if it has to wait.
    func enter(_ host: String, cancelled: () -> Bool, waiting: () -> Void = {}) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        var told = false
        while inUse[host, default: 0] >= limit || downloading >= downloads {
            if cancelled() { return false }
            if !told {
                told = true
                condition.unlock()
                waiting()
                condition.lock()
                continue
            }
            _ = condition.wait(until: Date().addingTimeInterval(0.1))
        }
        inUse[host, default: 0] += 1
        downloading += 1
        return true
    }

    func leave(_ host: String) {
        condition.lock()
        inUse[host, default: 1] -= 1
        downloading -= 1
        condition.broadcast()
        condition.unlock()
    }
}
