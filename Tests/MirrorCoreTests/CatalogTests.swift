import Foundation
import Testing
@testable import MirrorCore

@Suite("catalog: mirrors, runs, schedule")
struct CatalogTests {
    func makeCatalog() throws -> (Catalog, String) {
        let dir = FileManager.default.temporaryDirectory.path + "/mdcat-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return (try Catalog(path: dir + "/catalog.sqlite"), dir)
    }

    @Test("the catalog runs in WAL mode with named migrations")
    func walAndMigrations() throws {
        let (catalog, dir) = try makeCatalog()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mode = try catalog.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        let applied = try catalog.read { db in try Catalog.migrator.appliedMigrations(db) }
        #expect(applied == Catalog.migrator.migrations)
        #expect(applied.first == "v1-core")
        // Opening again is a no-op.
        _ = try Catalog(path: catalog.path)
    }

    @Test("adding twice fails with a duplicate error and records one event")
    func duplicates() throws {
        let (catalog, dir) = try makeCatalog()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let actor = Actor(user: "alice", source: "10.0.0.9")
        try catalog.addMirror(Mirror(name: "m", upstream: "https://example.org/m.git"), actor: actor)
        #expect(throws: CatalogError.duplicateName("m")) {
            try catalog.addMirror(Mirror(name: "m", upstream: "https://example.org/other.git"), actor: actor)
        }
        let events = try catalog.events()
        #expect(events.count == 1)
        #expect(events[0].actor == "alice" && events[0].source == "10.0.0.9" && events[0].action == "add")
    }

    @Test("failures back off exponentially up to the interval, and pause after ten")
    func backoffAndPause() throws {
        let (catalog, dir) = try makeCatalog()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mirror = try catalog.addMirror(Mirror(name: "m", upstream: "https://example.org/m.git", intervalSeconds: 3600), actor: .local)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var delays: [Int] = []
        var last: MirrorState?
        for _ in 1...10 {
            let run = try catalog.beginRun(mirror: mirror, trigger: .schedule, actor: .scheduler)
            var outcome = SyncOutcome(result: .failed)
            outcome.error = "upstream https://example.org/m.git: boom"
            let (_, state) = try catalog.finishRun(run, mirror: mirror, outcome: outcome, actor: .scheduler, now: now)
            if let next = state.nextRunAt { delays.append(Int(next.timeIntervalSince(now))) }
            last = state
        }
        #expect(delays == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600])
        #expect(last?.status == .paused)
        #expect(last?.consecutiveFailures == 10)
        #expect(last?.pausedReason?.contains("10 consecutive failures") == true)
        #expect(last?.nextRunAt == nil)

        let run = try catalog.beginRun(mirror: mirror, trigger: .manual, actor: .local)
        let (_, ok) = try catalog.finishRun(run, mirror: mirror, outcome: SyncOutcome(result: .upToDate, refs: ["refs/heads/main": String(repeating: "a", count: 40)]), actor: .local, now: now)
        #expect(ok.status == .ok && ok.consecutiveFailures == 0 && ok.freshAsOf != nil && ok.refCount == 1)
        let delay = ok.nextRunAt!.timeIntervalSince(now)
        #expect(delay >= 3600 && delay <= 3600 + 300, "interval plus at most 5 minutes of jitter")
    }

    @Test("lag and staleness follow fresh-as-of")
    func staleness() {
        var state = MirrorState(mirrorId: 1)
        let now = Date()
        #expect(state.lag(now: now) == nil)
        #expect(state.isStale(intervalSeconds: 3600, now: now))
        state.freshAsOf = now.addingTimeInterval(-5000)
        #expect(!state.isStale(intervalSeconds: 3600, now: now))
        state.freshAsOf = now.addingTimeInterval(-5500)
        #expect(state.isStale(intervalSeconds: 3600, now: now))
    }

    @Test("apply adds, updates and leaves unchanged in one go")
    func apply() throws {
        let (catalog, dir) = try makeCatalog()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try catalog.addMirror(Mirror(name: "a", upstream: "https://example.org/a.git"), actor: .local)
        try catalog.addMirror(Mirror(name: "b", upstream: "https://example.org/b.git"), actor: .local)
        let result = try catalog.apply([
            Mirror(name: "a", upstream: "https://example.org/a.git"),
            Mirror(name: "b", upstream: "https://example.org/b2.git"),
            Mirror(name: "c", upstream: "https://example.org/c.git"),
        ], actor: .local)
        #expect(result == Catalog.ApplyResult(added: ["c"], updated: ["b"], unchanged: ["a"]))
        #expect(try catalog.mirror(named: "b").upstream == "https://example.org/b2.git")
    }
}
