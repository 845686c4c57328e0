import Foundation
@testable import MirrorCore
import Testing
@testable import MirrorTUI

@Suite("actions and catalog watching against a real catalog")
struct CatalogTests {
    final class TempHome {
        let path: String
        let home: Home
        let catalog: Catalog
        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("mdtui-\(UUID().uuidString)").path
            home = try Home(path: path)
            catalog = try Catalog(home: home)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    let actor = Actor(user: "tester", source: "local")

    @Test("every action goes through the dispatcher and records its actor")
    func actorRecorded() throws {
        let t = try TempHome()
        let d = ActionDispatcher(home: t.home, catalog: t.catalog, actor: actor, policy: FullAccess())
        #expect(!d.perform(.add(Mirror(name: "lib", upstream: "git://example.org/lib.git"))).isError)
        let sync = d.perform(.sync(["lib"]))
        #expect(!sync.isError && sync.text.contains("queued sync"))
        let jobs = try t.catalog.activeJobs()
        #expect(jobs.count == 1 && jobs[0].job.actor == "tester" && jobs[0].job.trigger == .manual)
        #expect(!d.perform(.verify(["lib"])).isError)
        #expect(!d.perform(.pause(["lib"])).isError)
        #expect(!d.perform(.cancel(["lib"])).isError)
        #expect(!d.perform(.resume(["lib"])).isError)
        let events = try t.catalog.events(limit: 20)
        #expect(Set(events.map(\.action)).isSuperset(of: ["add", "enqueue", "pause", "resume", "cancel"]))
        #expect(events.allSatisfy { $0.actor == "tester" })
        #expect(!d.perform(.remove("lib", deleteData: true)).isError)
        #expect(try t.catalog.mirrors().isEmpty)
    }

    @Test("a read-only policy refuses every action and changes nothing")
    func readOnly() throws {
        let t = try TempHome()
        try t.catalog.addMirror(Mirror(name: "lib", upstream: "git://example.org/lib.git"), actor: actor)
        let before = try t.catalog.events(limit: 100).count
        let d = ActionDispatcher(home: t.home, catalog: t.catalog, actor: actor, policy: ReadOnlyPolicy())
        for action: Action in [.sync(["lib"]), .verify(["lib"]), .pause(["lib"]), .resume(["lib"]), .cancel(["lib"]),
                               .add(Mirror(name: "x", upstream: "git://e/x.git")), .remove("lib", deleteData: true)] {
            let outcome = d.perform(action)
            #expect(outcome.isError && outcome.text.contains("read-only"))
        }
        #expect(try t.catalog.activeJobs().isEmpty)
        #expect(try t.catalog.events(limit: 100).count == before)
        #expect(try t.catalog.mirrors().count == 1)
    }

    @Test("roles decide in the dispatcher: a viewer changes nothing, an operator syncs and pauses but cannot add or delete")
    func rolePolicy() throws {
        let t = try TempHome()
        #expect(ActionKind.allCases.map(\.permission.rawValue) == ActionKind.allCases.map(\.rawValue))
        let remote = Actor(user: "bob", source: "10.0.0.7")
        try t.catalog.addMirror(Mirror(name: "lib", upstream: "git://example.org/lib.git"), actor: actor)
        let viewer = ActionDispatcher(home: t.home, catalog: t.catalog, actor: remote, policy: RolePolicy(role: .viewer), trigger: .ssh)
        let refused = viewer.perform(.sync(["lib"]))
        #expect(refused.isError && refused.text == "permission denied: sync needs the operator role (you are viewer)")
        #expect(try t.catalog.activeJobs().isEmpty)

        let op = ActionDispatcher(home: t.home, catalog: t.catalog, actor: remote, policy: RolePolicy(role: .operator), trigger: .ssh)
        #expect(!op.perform(.sync(["lib"])).isError)
        let job = try #require(try t.catalog.activeJobs().first?.job)
        #expect(job.trigger == .ssh && job.actor == "bob@10.0.0.7")
        #expect(!op.perform(.pause(["lib"])).isError)
        let add = op.perform(.add(Mirror(name: "x", upstream: "git://e/x.git")))
        #expect(add.isError && add.text == "permission denied: add mirrors needs the admin role (you are operator)")
        #expect(op.perform(.remove("lib", deleteData: false)).text.contains("needs the admin role"))
        #expect(try t.catalog.mirrors().map(\.name) == ["lib"])

        var lib = try t.catalog.mirror(named: "lib")
        lib.intervalSeconds = 600
        #expect(op.perform(.edit(lib)).text.contains("needs the admin role"))
        #expect(try t.catalog.mirror(named: "lib").intervalSeconds == Interval.defaultSeconds)

        let admin = ActionDispatcher(home: t.home, catalog: t.catalog, actor: remote, policy: RolePolicy(role: .admin), trigger: .ssh)
        #expect(!admin.perform(.add(Mirror(name: "x", upstream: "git://e/x.git"))).isError)
        let saved = admin.perform(.edit(lib))
        #expect(!saved.isError && saved.text.hasPrefix("saved lib"), "\(saved)")
        #expect(try t.catalog.mirror(named: "lib").intervalSeconds == 600)
        #expect(try t.catalog.events(limit: 1).first.map { [$0.action, $0.actor, $0.source, $0.message] } == ["edit", "bob", "10.0.0.7", "changed interval 10m"])
        #expect(admin.perform(.edit(lib)).text == "lib unchanged")
    }

    @Test("data_version moves when another connection commits, and not otherwise")
    func dataVersion() throws {
        let t = try TempHome()
        let watch = try CatalogWatch(path: t.catalog.path)
        let v0 = try watch.dataVersion()
        #expect(try watch.dataVersion() == v0)
        try t.catalog.addMirror(Mirror(name: "lib", upstream: "git://example.org/lib.git"), actor: actor)
        var previous = try watch.dataVersion()
        #expect(previous != v0)
        // Every later commit is seen too (the watching connection must not stay on an old snapshot).
        for i in 0..<3 {
            try t.catalog.pause(name: "lib", reason: "round \(i)", actor: actor)
            let v = try watch.dataVersion()
            #expect(v != previous, "round \(i)")
            previous = v
        }
    }

    @Test("the fast loader returns exactly what summaries() returns")
    func fastLoader() throws {
        let t = try TempHome()
        for i in 0..<20 {
            try t.catalog.addMirror(Mirror(name: "m\(i)", upstream: "git://example.org/m\(i).git", intervalSeconds: 60 + i), actor: actor)
        }
        try t.catalog.pause(name: "m3", reason: "testing", actor: actor)
        try t.catalog.write { db in
            try db.execute(sql: "UPDATE mirror_state SET last_audit_at = ?, last_audit_result = 'clean', lfs_bytes_total = 42 WHERE mirror_id = 5",
                           arguments: [Date()])
        }
        let slow = try t.catalog.summaries()
        let fast = try t.catalog.summariesFast()
        #expect(fast.count == slow.count)
        for (a, b) in zip(fast, slow) {
            #expect(a.mirror.name == b.mirror.name && a.state.status == b.state.status && a.state.pausedReason == b.state.pausedReason)
            #expect(abs((a.state.nextRunAt ?? .distantPast).timeIntervalSince(b.state.nextRunAt ?? .distantPast)) < 0.002)
            #expect(abs(a.mirror.createdAt.timeIntervalSince(b.mirror.createdAt)) < 0.002)
            #expect(a.state.lastAuditResult == b.state.lastAuditResult && a.state.lfsBytesTotal == b.state.lfsBytesTotal)
            #expect((a.state.lastAuditAt == nil) == (b.state.lastAuditAt == nil))
        }
    }

    @Test("the stamp ignores heartbeats but moves with jobs, events and mirrors")
    func stamp() throws {
        let t = try TempHome()
        try t.catalog.addMirror(Mirror(name: "lib", upstream: "git://example.org/lib.git"), actor: actor)
        _ = try t.catalog.acquireLease(owner: "e1", kind: .embedded, timeout: 10)
        let s0 = try t.catalog.stamp()
        _ = try t.catalog.heartbeatLease(owner: "e1")
        #expect(try t.catalog.stamp() == s0)
        _ = try t.catalog.enqueue([t.catalog.mirror(named: "lib")], kind: .sync, trigger: .schedule, actor: .scheduler)
        #expect(try t.catalog.stamp() != s0)
    }
}
