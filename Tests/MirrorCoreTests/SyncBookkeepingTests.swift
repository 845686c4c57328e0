import Foundation
import Testing
@testable import MirrorCore

@Suite("what a sync and an idle engine write: catalog rows, repository files, connections")
struct SyncBookkeepingTests {
    func makeHome(_ label: String) throws -> (Home, Catalog) {
        let dir = FileManager.default.temporaryDirectory.path + "/mdbook-\(label)-\(UUID().uuidString.prefix(8))"
        let home = try Home(path: dir)
        return (home, try Catalog(home: home))
    }

    @Test("every write transaction is counted once with the rows it changed; reads count nothing")
    func writeCounting() throws {
        let (home, catalog) = try makeHome("count")
        defer { try? FileManager.default.removeItem(atPath: home.root) }
        let before = catalog.writeTotals
        let mirrors = try (0..<3).map { try catalog.addMirror(Mirror(name: "m\($0)", upstream: "https://example.org/m\($0).git"), actor: .local) }
        let added = catalog.writeTotals
        #expect(added.transactions - before.transactions == 3)
        _ = try catalog.enqueue(mirrors, kind: .sync, trigger: .manual, actor: .local)
        let queued = catalog.writeTotals
        #expect(queued.transactions - added.transactions == 1, "three enqueues in one call are one transaction")
        // A job row, a status update and an event per mirror.
        #expect(queued.rows - added.rows == 9)
        _ = try catalog.jobs()
        _ = try catalog.summaries()
        #expect(catalog.writeTotals == queued)
    }

    @Test("an up-to-date sync rewrites no ref row; a changed sync touches only the refs that changed")
    func refRowsWritten() throws {
        let (home, catalog) = try makeHome("refs")
        defer { try? FileManager.default.removeItem(atPath: home.root) }
        let mirror = try catalog.addMirror(Mirror(name: "m", upstream: "https://example.org/m.git"), actor: .local)
        var refs: [String: String] = [:]
        for i in 0..<50 { refs["refs/heads/b\(i)"] = String(repeating: "\(i % 10)", count: 40) }
        func sync(_ result: SyncResult, _ refs: [String: String]) throws -> Int {
            let run = try catalog.beginRun(mirror: mirror, trigger: .manual, actor: .local)
            let before = catalog.writeTotals.rows
            try catalog.finishRun(run, mirror: mirror, outcome: SyncOutcome(result: result, refs: refs, headRef: "refs/heads/b0"), actor: .local)
            return catalog.writeTotals.rows - before
        }
        #expect(try sync(.updated, refs) == 3 + 50)
        #expect(try catalog.refs(mirrorId: mirror.id!) == refs)
        // The run, the mirror's state and the event: nothing else.
        #expect(try sync(.upToDate, refs) == 3)
        var changed = refs
        changed["refs/heads/b1"] = String(repeating: "f", count: 40)
        changed["refs/heads/b2"] = nil
        changed["refs/tags/v1"] = String(repeating: "e", count: 40)
        #expect(try sync(.updated, changed) == 3 + 3)
        #expect(try catalog.refs(mirrorId: mirror.id!) == changed)
        let state = try #require(try catalog.summaries().first?.state)
        #expect(state.refCount == 50 && state.status == .ok && state.headRef == "refs/heads/b0")
    }

    @Test("a job row reads back exactly as written, every column")
    func jobRowRoundTrip() throws {
        let (home, catalog) = try makeHome("jobrow")
        defer { try? FileManager.default.removeItem(atPath: home.root) }
        let mirror = try catalog.addMirror(Mirror(name: "m", upstream: "https://example.org/m.git"), actor: .local)
        var job = Job(mirrorId: mirror.id!, kind: .verify, trigger: .webhook, actor: Actor(user: "ann", source: "10.0.0.1"),
                      createdAt: Date(timeIntervalSince1970: 1_800_000_000.125))
        job.state = .running
        job.attempts = 2
        job.startedAt = Date(timeIntervalSince1970: 1_800_000_001.5)
        job.heartbeatAt = Date(timeIntervalSince1970: 1_800_000_002)
        job.engineId = "host:1:abc"
        job.phase = "hashing"
        job.unitsDone = 3; job.unitsTotal = 7; job.bytesDone = 300; job.bytesTotal = 700
        job.rate = 12.5
        job.message = "m"; job.error = "e"
        job.cancelRequested = true
        try catalog.write { db in try job.insert(db) }
        #expect(try catalog.job(id: job.id!) == job)
        #expect(try catalog.activeJobs().map(\.job) == [job])
    }

    @Test("a claim takes the highest priority, then the oldest, per kind's free slots and one job per mirror")
    func claimOrder() throws {
        let (home, catalog) = try makeHome("claim")
        defer { try? FileManager.default.removeItem(atPath: home.root) }
        let m = try (0..<4).map { try catalog.addMirror(Mirror(name: "m\($0)", upstream: "https://example.org/m\($0).git"), actor: .local) }
        let scheduled = try catalog.enqueue([m[0], m[1]], kind: .sync, trigger: .schedule, actor: .scheduler)
        let manual = try catalog.enqueue([m[2]], kind: .sync, trigger: .manual, actor: .local)
        let lfs = try catalog.enqueue([m[2], m[3]], kind: .lfs, trigger: .manual, actor: .local)
        let claimed = try catalog.claim(engineId: "e", freeSlots: [.sync: 2, .lfs: 2, .verify: 1])
        // m2's sync (manual) goes first; m2's LFS job waits for it; m0's sync is older than m1's.
        #expect(claimed.map(\.id) == [manual[0].id, lfs[1].id, scheduled[0].id])
        #expect(claimed.allSatisfy { $0.state == .running && $0.engineId == "e" && $0.attempts == 1 && $0.phase == "starting" })
        let next = try catalog.claim(engineId: "e", freeSlots: [.sync: 1, .lfs: 1], only: [scheduled[1].id!])
        #expect(next.map(\.id) == [scheduled[1].id])
        #expect(try catalog.claim(engineId: "e", freeSlots: [.sync: 8, .lfs: 8]).isEmpty, "m2's LFS job waits while m2 syncs")
    }

    @Test("an idle engine commits no write transaction between heartbeats")
    func idleEngineWritesNothing() throws {
        let (home, catalog) = try makeHome("idle")
        defer { try? FileManager.default.removeItem(atPath: home.root) }
        var config = EngineConfig()
        config.heartbeatInterval = 3600
        let engine = Engine(home: home, catalog: catalog, config: config, kind: .embedded)
        #expect(try engine.start())
        defer { engine.stop() }
        usleep(300_000) // the first tick's heartbeat
        let before = catalog.writeTotals
        usleep(1_200_000) // a dozen ticks, five scheduler checks
        #expect(catalog.writeTotals == before)
    }

    @Test("stale lock and temporary files are cleared after an interrupted sync, and never looked for otherwise")
    func staleFilesOnlyAfterInterruption() throws {
        let (home, catalog) = try makeHome("stale")
        defer { try? FileManager.default.removeItem(atPath: home.root) }
        let upstream = home.root + "/up.git"
        var stream = FastImport()
        stream.commit("refs/heads/main", parent: nil, files: [("a", "1")])
        try stream.run(into: upstream)
        let mirror = try catalog.addMirror(Mirror(name: "m", upstream: upstream), actor: .local)
        let syncer = Syncer(home: home, catalog: catalog)
        #expect(syncer.sync(mirror, trigger: .manual, actor: .local).result == .updated)
        let path = home.mirrorPath("m")
        let refLock = path + "/refs/heads/main.lock"
        let tmpPack = path + "/objects/pack/pack_git2_0123456789abcdef"
        func leaveDebris() {
            FileManager.default.createFile(atPath: refLock, contents: Data("x".utf8))
            FileManager.default.createFile(atPath: tmpPack, contents: Data("x".utf8))
        }

        // Nothing says a sync was interrupted: an up-to-date sync does not scan the repository.
        leaveDebris()
        #expect(syncer.sync(mirror, trigger: .manual, actor: .local).result == .upToDate)
        #expect(FileManager.default.fileExists(atPath: tmpPack))

        // A sync killed mid-fetch leaves its mark in the mirror's lock file: the next one clears the debris
        // and fetches (the stale ref lock would otherwise make it fail).
        do {
            let lock = try #require(try FileLock.tryAcquire(path: home.lockPath("m")))
            lock.mark("fetching")
        }
        var next = FastImport()
        next.commit("refs/heads/main", parent: nil, files: [("a", "2")], message: "rewritten")
        try next.run(into: upstream)
        let report = syncer.sync(mirror, trigger: .manual, actor: .local)
        #expect(report.result == .updated, "\(report.error ?? "")")
        #expect(!FileManager.default.fileExists(atPath: refLock))
        #expect(!FileManager.default.fileExists(atPath: tmpPack))
        let lock = try #require(try FileLock.tryAcquire(path: home.lockPath("m")))
        #expect(!lock.isMarked, "a sync that finished clears the mark")
    }

    @Test("at most four ref listings wait for a git:// or ssh:// host's answer at once, sixteen for an http(s) one")
    func listingsInFlight() throws {
        #expect(HostGate.listingsInFlight(upstream: "git://git.example.org/a.git") == 4)
        #expect(HostGate.listingsInFlight(upstream: "ssh://git@git.example.org/a.git") == 4)
        #expect(HostGate.listingsInFlight(upstream: "https://git.example.org/a.git") == 16)
        #expect(HostGate.listingsInFlight(upstream: "HTTP://git.example.org/a.git") == 16)
        for inFlight in [4, 16] {
            let gate = HostGate(limit: 2, connectSpacing: 0)
            final class Count: @unchecked Sendable {
                let lock = NSLock()
                var now = 0, peak = 0
                func change(_ d: Int) { lock.lock(); now += d; peak = max(peak, now); lock.unlock() }
            }
            let count = Count()
            let group = DispatchGroup()
            for _ in 0..<(inFlight * 2) {
                group.enter()
                Thread {
                    gate.enterListing("git.example.org", inFlight: inFlight)
                    count.change(1)
                    usleep(50_000)
                    count.change(-1)
                    gate.leaveListing("git.example.org")
                    group.leave()
                }.start()
            }
            group.wait()
            #expect(count.peak == inFlight)
        }
    }

    @Test("downloads wait for a slot in all (max_syncs) and per host; whoever waits is told once")
    func downloadSlots() throws {
        let gate = HostGate(limit: 2, downloads: 3, connectSpacing: 0)
        final class Count: @unchecked Sendable {
            let lock = NSLock()
            var total = 0, peak = 0, waited = 0
            var perHost: [String: Int] = [:], hostPeak = 0
            func change(_ host: String, _ d: Int) {
                lock.lock()
                total += d
                perHost[host, default: 0] += d
                peak = max(peak, total)
                hostPeak = max(hostPeak, perHost[host]!)
                lock.unlock()
            }
            func wait() { lock.lock(); waited += 1; lock.unlock() }
        }
        let count = Count()
        let group = DispatchGroup()
        for i in 0..<12 {
            group.enter()
            Thread {
                let host = i < 6 ? "one.example.org" : "host\(i).example.org"
                #expect(gate.enter(host, cancelled: { false }, waiting: { count.wait() }))
                count.change(host, 1)
                usleep(200_000)
                count.change(host, -1)
                gate.leave(host)
                group.leave()
            }.start()
        }
        group.wait()
        #expect(count.peak == 3, "three downloads at once in all")
        #expect(count.hostPeak <= 2, "two at once from one host")
        #expect(count.waited >= 9, "every download that found the slots taken was told: \(count.waited)")
        // A cancelled wait takes no slot.
        for i in 0..<3 { #expect(gate.enter("busy\(i).example.org", cancelled: { false })) }
        #expect(!gate.enter("one.example.org", cancelled: { true }), "all three slots are taken: a cancelled wait gives up")
    }

    @Test("connections to one host start at least the spacing apart; other hosts do not wait")
    func connectionPacing() throws {
        let gate = HostGate(limit: 2, connectSpacing: 2_000_000)
        final class Starts: @unchecked Sendable {
            let lock = NSLock()
            var times: [UInt64] = []
            func add() { lock.lock(); times.append(DispatchTime.now().uptimeNanoseconds); lock.unlock() }
        }
        let recorded = Starts()
        let group = DispatchGroup()
        for _ in 0..<8 {
            group.enter()
            Thread {
                gate.paceConnect("git.example.org")
                recorded.add()
                group.leave()
            }.start()
        }
        group.wait()
        let starts = recorded.times.sorted()
        #expect(starts.last! - starts.first! >= 7 * 2_000_000 - 500_000, "8 starts spread over at least 7 spacings")
        let t0 = DispatchTime.now().uptimeNanoseconds
        gate.paceConnect("other.example.org")
        #expect(DispatchTime.now().uptimeNanoseconds - t0 < 1_000_000)
    }
}
