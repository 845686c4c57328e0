import Foundation

/// A host's request budget: at most `requests` requests in any `window` seconds (`--host-budget
/// github.com=4000/h`, `[hosts."github.com"] request_budget = "4000/h"`).
///
/// The scheduler keeps it as a token bucket in the catalog (`host_state.budget_tokens`): a tenth of the
/// budget may go at once, the rest refills evenly over the window, so no window of that length ever sees more
/// than the budget. A scheduled check starts only when the bucket holds its cost; the checks that do not fit
/// get their next run moved forward, one refill interval apart, instead of starting in a burst. Manual,
/// webhook and SSH syncs are never held back, but what they spend is taken from the bucket (it may go below
/// zero), so the scheduled checks after them wait longer.
public struct RequestBudget: Sendable, Equatable, CustomStringConvertible {
    public var requests: Int
    public var window: TimeInterval

    public init(requests: Int, window: TimeInterval) {
        self.requests = requests
        self.window = window
    }

    /// Reads `4000/h` (units `s`, `m`, `h`, `d`); nil when it is not one.
    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let n = Int(parts[0]), n >= 1, n <= 100_000_000 else { return nil }
        let windows: [String: TimeInterval] = ["s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400]
        guard let window = windows[parts[1].lowercased()] else { return nil }
        self.init(requests: n, window: window)
    }

    /// `4000/h`.
    public var description: String {
        let unit = window == 1 ? "s" : window == 60 ? "m" : window == 86400 ? "d" : "h"
        return "\(requests)/\(unit)"
    }

    /// Requests that may go at once: a tenth of the budget (at least one).
    public var burst: Double { max(1, Double(requests) / 10) }
    /// Requests a second the bucket refills: the rest of the budget, spread over the window.
    public var refillPerSecond: Double { max(Double(requests) - burst, 1) / window }

    /// Parses `HOST=4000/h` (a `--host-budget` value) into the lowercased host and its budget.
    public static func parseAssignment(_ text: String) -> (host: String, budget: RequestBudget)? {
        guard let eq = text.firstIndex(of: "=") else { return nil }
        let host = text[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_" }),
              let budget = RequestBudget(String(text[text.index(after: eq)...])) else { return nil }
        return (host, budget)
    }
}

/// How many requests a job costs a host, for the request budget.
///
/// libgit2 gives no count of its HTTP requests, so a sync is counted by what it did: the up-to-date check is
/// one request (the ref advertisement, `GET info/refs`); a sync that fetched adds two (the negotiation and
/// the pack, `POST git-upload-pack`); a rate-limited one adds the probe that read the limit's headers. An
/// LFS job counts one batch request per 100 objects it asked for (object downloads usually go to another
/// host: a storage service, not the API).
public enum HostBudget {
    /// What a scheduled check is charged when it is queued (the rest is charged when it ends).
    public static let scheduledCheckCost = 1

    /// Requests a sync with this result made to its upstream host.
    public static func estimatedRequests(sync result: SyncResult) -> Int {
        switch result {
        case .updated: return 3
        case .rateLimited: return 2
        case .upToDate, .failed, .cancelled, .running: return 1
        }
    }

    /// The bucket's level `now`, from its level `tokens` at `at` (a full bucket when never used).
    static func level(tokens: Double?, at: Date?, budget: RequestBudget, now: Date) -> Double {
        guard let tokens, let at else { return budget.burst }
        return min(budget.burst, tokens + max(0, now.timeIntervalSince(at)) * budget.refillPerSecond)
    }
}
