import Foundation
@testable import MirrorCore
@testable import MirrorTUI

/// Builds mirror summaries without a catalog, for pure view-model tests.
enum Fixture {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func summary(_ name: String, id: Int64 = 1, status: MirrorStatus = .ok, lag: TimeInterval? = 60,
                        interval: Int = 7200, failures: Int = 0, behind: Int = 0, disk: Int64 = 1024,
                        lfs: (Int, Int) = (0, 0), next: TimeInterval? = 3600, upstream: String? = nil) -> MirrorSummary {
        var m = Mirror(name: name, upstream: upstream ?? "https://example.org/\(name).git", intervalSeconds: interval)
        m.id = id
        var s = MirrorState(mirrorId: id)
        s.status = status
        s.freshAsOf = lag.map { now.addingTimeInterval(-$0) }
        s.lastCheckAt = lag.map { now.addingTimeInterval(-$0) }
        s.consecutiveFailures = failures
        s.behind = behind
        s.diskBytes = disk
        s.lfsObjectsPresent = lfs.0
        s.lfsObjectsTotal = lfs.1
        s.nextRunAt = next.map { now.addingTimeInterval($0) }
        return MirrorSummary(mirror: m, state: s)
    }

    static func rows(_ summaries: [MirrorSummary]) -> [MirrorRow] {
        summaries.map { MirrorRow($0, job: nil, marked: false, now: now) }
    }

    /// A state of `width`×`height` holding `summaries`.
    static func state(_ summaries: [MirrorSummary], width: Int = 120, height: Int = 40, jobs: [JobSummary] = [],
                      policy: ActionPolicy = FullAccess()) -> DashboardState {
        var st = DashboardState(width: width, height: height, now: now, policy: policy, actor: Actor(user: "tester", source: "local"))
        st.apply(Snapshot(mirrors: summaries, jobs: jobs))
        return st
    }

    static var fleet: [MirrorSummary] {
        [
            summary("alpha", id: 1, lag: 240),
            summary("beta", id: 2, status: .failed, lag: 7200 * 3, failures: 3),
            summary("gamma", id: 3, lag: 3 * 86400, behind: 2),
            summary("team/delta", id: 4, status: .paused, lag: 2 * 3600),
            summary("epsilon", id: 5, status: .idle, lag: nil, disk: 0),
        ]
    }

    static let renderer = Renderer(theme: .builtinDefault, glyphs: .unicode, time: .utc)
}
