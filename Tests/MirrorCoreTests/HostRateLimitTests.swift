import Foundation
import Testing
@testable import MirrorCore

@Suite("rate-limit answers, host state in the catalog, request budgets")
struct HostRateLimitTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func makeHome(_ label: String) throws -> (Home, Catalog) {
        let dir = FileManager.default.temporaryDirectory.path + "/mdlimit-\(label)-\(UUID().uuidString.prefix(8))"
        let home = try Home(path: dir)
        return (home, try Catalog(home: home))
    }

    @Test("429 with Retry-After in seconds waits that long")
    func retryAfterSeconds() throws {
        let limit = try #require(HostRateLimit.parse(status: 429, headers: ["retry-after": "30"], host: "GitHub.com", now: now))
        #expect(limit.host == "github.com")
        #expect(limit.until == now.addingTimeInterval(30))
        #expect(limit.status == 429)
        #expect(limit.source == "Retry-After 30")
    }

    @Test("429 with Retry-After as an HTTP date waits until that date")
    func retryAfterDate() throws {
        let limit = try #require(HostRateLimit.parse(status: 429, headers: ["retry-after": "Fri, 15 Jan 2027 08:02:00 GMT"], host: "h", now: now))
        #expect(limit.until == now.addingTimeInterval(120))
    }

    @Test("403 with X-RateLimit-Remaining: 0 waits until X-RateLimit-Reset (epoch seconds)")
    func githubPrimaryLimit() throws {
        let headers = ["x-ratelimit-remaining": "0", "x-ratelimit-reset": "\(Int(now.timeIntervalSince1970) + 600)", "x-ratelimit-limit": "60"]
        let limit = try #require(HostRateLimit.parse(status: 403, headers: headers, host: "api.github.com", now: now))
        #expect(limit.until == now.addingTimeInterval(600))
        #expect(limit.source.hasPrefix("X-RateLimit-Reset"))
        #expect(!HostRateLimit.isBrief(limit, headers: headers, now: now))
    }

    @Test("a 403 without X-RateLimit-Remaining: 0 is a refusal, not a rate limit", arguments: [
        [String: String](), ["x-ratelimit-remaining": "12", "x-ratelimit-reset": "1800000600"], ["retry-after": "30"],
    ])
    func plainForbidden(headers: [String: String]) {
        #expect(HostRateLimit.parse(status: 403, headers: headers, host: "h", now: now) == nil)
    }

    @Test("other statuses are not rate limits", arguments: [200, 401, 404, 500, 503])
    func otherStatuses(status: Int) {
        #expect(HostRateLimit.parse(status: status, headers: ["retry-after": "30", "x-ratelimit-remaining": "0"], host: "h", now: now) == nil)
    }

    @Test("a 429 without a reset waits a minute; a reset in the past a second; one days ahead at most 6 hours")
    func bounds() throws {
        #expect(HostRateLimit.parse(status: 429, headers: [:], host: "h", now: now)?.until == now.addingTimeInterval(60))
        let past = ["x-ratelimit-remaining": "0", "x-ratelimit-reset": "\(Int(now.timeIntervalSince1970) - 50)"]
        #expect(HostRateLimit.parse(status: 403, headers: past, host: "h", now: now)?.until == now.addingTimeInterval(1))
        #expect(HostRateLimit.parse(status: 429, headers: ["retry-after": "999999"], host: "h", now: now)?.until == now.addingTimeInterval(6 * 3600))
        // An unreadable Retry-After falls back to X-RateLimit-Reset.
        let both = ["retry-after": "soon", "x-ratelimit-reset": "\(Int(now.timeIntervalSince1970) + 90)"]
        #expect(HostRateLimit.parse(status: 429, headers: both, host: "h", now: now)?.until == now.addingTimeInterval(90))
    }

    @Test("only a 429 asking for a few seconds without quota headers is brief (retried in place by LFS batch requests)")
    func brief() throws {
        func isBrief(_ headers: [String: String]) throws -> Bool {
            HostRateLimit.isBrief(try #require(HostRateLimit.parse(status: 429, headers: headers, host: "h", now: now)), headers: headers, now: now)
        }
        #expect(try isBrief(["retry-after": "1"]))
        #expect(try !isBrief(["retry-after": "30"]))
        #expect(try !isBrief(["retry-after": "1", "x-ratelimit-remaining": "0"]))
        #expect(try !isBrief(["x-ratelimit-reset": "\(Int(now.timeIntervalSince1970) + 2)"]))
    }

    @Test("libgit2's error text gives the HTTP status")
    func libgit2Status() {
        #expect(RateLimitProbe.httpStatus(in: "upstream https://x/y.git: unexpected http status code: 429: the server did not answer") == 429)
        #expect(RateLimitProbe.httpStatus(in: "unexpected http status code: 403") == 403)
        #expect(RateLimitProbe.httpStatus(in: "failed to connect to x") == nil)
    }

    @Test("request budgets: N/s|m|h|d, HOST=N/h; anything else is refused")
    func budgets() {
        #expect(RequestBudget("4000/h") == RequestBudget(requests: 4000, window: 3600))
        #expect(RequestBudget("100/m") == RequestBudget(requests: 100, window: 60))
        #expect(RequestBudget("5/s")?.window == 1)
        #expect(RequestBudget("50000/d")?.description == "50000/d")
        for bad in ["", "4000", "4000/week", "-1/h", "0/h", "lots/h", "4000/h/x", "1e3/h"] { #expect(RequestBudget(bad) == nil, "\(bad)") }
        #expect(RequestBudget.parseAssignment("GitHub.com=4000/h")?.host == "github.com")
        #expect(RequestBudget.parseAssignment("github.com") == nil)
        #expect(RequestBudget.parseAssignment("=4000/h") == nil)
        #expect(RequestBudget.parseAssignment("git hub=4000/h") == nil)
    }

    @Test("rate-limited runs count no failure, never pause, and move the next check past the reset")
    func rateLimitedRunsAreNotFailures() throws {
        let (home, catalog) = try makeHome("runs")
        defer { try? FileManager.default.removeItem(atPath: home.root) }
        let mirror = try catalog.addMirror(Mirror(name: "m", upstream: "https://github.com/o/m.git"), actor: .local)
        var policy = SchedulePolicy()
        policy.pauseAfterFailures = 3
        for i in 0..<5 {
            let at = now.addingTimeInterval(Double(i) * 100)
            var outcome = SyncOutcome(result: .rateLimited)
            outcome.rateLimit = HostRateLimit(host: "github.com", until: at.addingTimeInterval(60), status: 429, source: "Retry-After 60")
            outcome.error = "rate-limited"
            let run = SyncRun(mirrorId: mirror.id!, trigger: .schedule, actor: "scheduler", startedAt: at)
            let (finished, state) = try catalog.finishRun(run, mirror: mirror, outcome: outcome, actor: .scheduler, policy: policy, now: at)
            #expect(finished.result == .rateLimited)
            #expect(state.consecutiveFailures == 0)
            #expect(state.status != .paused && state.status != .failed)
            #expect(state.pausedReason == nil)
            #expect(state.nextRunAt == at.addingTimeInterval(60))
        }
        #expect(try catalog.hostLimits(now: now.addingTimeInterval(400)).map(\.host) == ["github.com"])
        #expect(try catalog.hostLimits(now: now.addingTimeInterval(461)).isEmpty)
    }

    @Test("while a host is rate-limited its queued jobs are not claimed, new ones wait too; other hosts' jobs run")
    func queuedJobsWait() throws {
        let (home, catalog) = try makeHome("wait")
        defer { try? FileManager.default.removeItem(atPath: home.root) }
        let a = try catalog.addMirror(Mirror(name: "a", upstream: "https://github.com/o/a.git"), actor: .local)
        let b = try catalog.addMirror(Mirror(name: "b", upstream: "https://github.com/o/b.git"), actor: .local)
        let viaLFS = try catalog.addMirror(Mirror(name: "c", upstream: "https://git.example.org/c.git", lfsURL: "https://github.com/o/c.git/info/lfs"), actor: .local)
        let other = try catalog.addMirror(Mirror(name: "d", upstream: "https://git.example.org/d.git"), actor: .local)
        let queued = try catalog.enqueue([a], kind: .sync, trigger: .manual, actor: .local, now: now)
        let limit = HostRateLimit(host: "github.com", until: now.addingTimeInterval(300), status: 403, source: "X-RateLimit-Reset")
        try catalog.recordRateLimit(limit, now: now)
        let later = try catalog.enqueue([b, viaLFS, other], kind: .sync, trigger: .manual, actor: .local, now: now.addingTimeInterval(1))
        let claimed = try catalog.claim(engineId: "e", freeSlots: [.sync: 8], now: now.addingTimeInterval(2))
        #expect(claimed.map(\.mirrorId) == [other.id!])
        let waits = try catalog.transferLimits(jobIds: (queued + later).map { $0.id! })
        #expect(waits[queued[0].id!]?.waitUntil == limit.until)
        #expect(waits[later[0].id!]?.waitUntil == limit.until)
        #expect(waits[later[1].id!]?.waitUntil == limit.until, "a mirror whose LFS endpoint is on the host waits too")
        #expect(try catalog.job(id: later[0].id!)?.message == "waiting: github.com rate-limited until \(TimeFormat.clock(limit.until))")
        // After the reset they run.
        let after = try catalog.claim(engineId: "e", freeSlots: [.sync: 8], now: now.addingTimeInterval(301))
        #expect(Set(after.map(\.mirrorId)) == [a.id!, b.id!, viaLFS.id!])
        // One event for the host, however many mirrors wait.
        #expect(try catalog.events(after: 0).filter { $0.action == "limit" }.count == 1)
        try catalog.recordRateLimit(HostRateLimit(host: "github.com", until: now.addingTimeInterval(310), status: 429, source: "x"), now: now.addingTimeInterval(5))
        #expect(try catalog.events(after: 0).filter { $0.action == "limit" }.count == 1)
        #expect(try catalog.hostLimits(now: now).first?.until == now.addingTimeInterval(310))
    }

    @Test("a budget of 20/h with 40 mirrors due: 2 start at once, the rest one every 200 s, never more than 20 in the hour")
    func budgetSpreadsScheduledChecks() throws {
        let (home, catalog) = try makeHome("budget")
        defer { try? FileManager.default.removeItem(atPath: home.root) }
        _ = try (0..<40).map { try catalog.addMirror(Mirror(name: "m\($0)", upstream: "https://github.com/o/m\($0).git"), actor: .local) }
        let elsewhere = try catalog.addMirror(Mirror(name: "x", upstream: "https://git.example.org/x.git"), actor: .local)
        let budget = RequestBudget(requests: 20, window: 3600)
        // Every mirror is due now (added with next_run_at = now); the scheduler looks every 10 s for an hour.
        var started: [(TimeInterval, Int64)] = []
        for t in stride(from: 0.0, to: 3600, by: 10) {
            for job in try catalog.enqueueDue(now: now.addingTimeInterval(t), budgets: ["github.com": budget]) {
                started.append((t, job.mirrorId))
            }
        }
        let github = started.filter { $0.1 != elsewhere.id! }
        #expect(started.contains { $0.1 == elsewhere.id! && $0.0 == 0 }, "a host without a budget is not held back")
        #expect(github.count <= 20, "\(github.count) checks started in one hour")
        #expect(github.count >= 18, "the budget is used, not starved: \(github.count)")
        #expect(github.filter { $0.0 == 0 }.count == 2, "a tenth of the budget may go at once")
        // The rest are spread evenly: one start per refill interval (the other 18 requests over the hour: 200 s).
        let times = github.map(\.0).filter { $0 > 0 }
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(gaps.allSatisfy { $0 >= 190 && $0 <= 210 }, "\(gaps)")
        // Those not started yet show when they will run: next_run_at moved forward, in order, not in a burst.
        let states = try catalog.summaries().filter { $0.mirror.name.hasPrefix("m") && !github.map(\.1).contains($0.mirror.id!) }
        #expect(states.count == 40 - github.count)
        #expect(states.allSatisfy { ($0.state.nextRunAt ?? .distantPast) >= now.addingTimeInterval(3590) })
    }

    @Test("manual syncs are never held back by the budget, but what they spend delays the next scheduled check")
    func manualSyncsCount() throws {
        let (home, catalog) = try makeHome("manual")
        defer { try? FileManager.default.removeItem(atPath: home.root) }
        let m = try catalog.addMirror(Mirror(name: "m", upstream: "https://github.com/o/m.git"), actor: .local)
        let budget = RequestBudget(requests: 100, window: 3600)
        try catalog.chargeHost("github.com", requests: 30, budget: budget, now: now)
        #expect(try catalog.budgetLevel(host: "github.com", budget: budget, now: now) == 10 - 30)
        #expect(try catalog.enqueueDue(now: now, budgets: ["github.com": budget]).isEmpty)
        let next = try #require(try catalog.summaries().first { $0.mirror.id == m.id }?.state.nextRunAt)
        // 21 requests to refill at 90 an hour: 840 s.
        #expect(abs(next.timeIntervalSince(now) - 840) < 1, "\(next.timeIntervalSince(now))")
        #expect(try catalog.enqueueDue(now: next, budgets: ["github.com": budget]).count == 1)
    }
}
