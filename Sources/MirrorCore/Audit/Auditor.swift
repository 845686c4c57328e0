import Foundation

/// The outcome of auditing one mirror.
public struct AuditReport: Sendable {
    public var mirror: String
    /// The run as recorded (nil when the audit could not start: never synced, busy).
    public var run: AuditRun?
    public var findings: [AuditFinding] = []
    /// One line saying why the audit failed or what is left to do; nil when clean or repaired.
    public var error: String?
    /// What crash recovery finished before the audit started (a half-done quarantine or repair).
    public var recovered: [String] = []

    public var result: AuditResult { run?.result ?? .failed }
}

/// Verifies one mirror: every LFS object it references, its git object database, its refs and reachable
/// graph; quarantines bad data; with `repair`, fetches it again.
///
/// Contract, for the engine and the CLI:
/// - Blocking: call from a dedicated thread. Hashing runs on `options.threads` threads of its own.
/// - Holds the mirror's sync lock for the whole audit and its LFS lock while it reads `lfs/objects`, so no
///   sync or LFS fetch changes the mirror meanwhile (a busy mirror fails the audit with `busy`).
/// - Changes nothing but the catalog and `quarantine/` (bad data moved there, never deleted), except with
///   `repair`: then the LFS path fetches what is missing and a git repair may swap in a fresh object store.
/// - Records one `audit_run` (with counts by verdict and its findings), each LFS object's `verdict` and
///   `verified_at`, and the mirror's `last_audit_at`/`last_audit_result`; status `verifying` meanwhile.
/// - `onProgress` is called on this thread at most every 0.25 s (fit for job rows); `isCancelled` is polled
///   often, and a cancelled audit records what it had checked.
public struct Auditor: Sendable {
    public let home: Home
    public let catalog: Catalog
    /// Hashing threads when the options name none (the engine's `verify_threads`).
    public var defaultThreads: Int
    /// Used by `repair` to fetch LFS objects.
    public var lfsOptions = LFSOptions()

    public init(home: Home, catalog: Catalog, defaultThreads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.home = home
        self.catalog = catalog
        self.defaultThreads = max(1, defaultThreads)
    }

    public func audit(mirror: Mirror, options: AuditOptions = AuditOptions(), actor: Actor = .local, trigger: Trigger = .manual,
                      jobId: Int64? = nil, onProgress: @escaping (JobProgress) -> Void = { _ in },
                      isCancelled: @escaping @Sendable () -> Bool = { false }) -> AuditReport {
        var report = AuditReport(mirror: mirror.name)
        let path = home.mirrorPath(mirror.name)
        guard FileManager.default.fileExists(atPath: path + "/HEAD") else {
            report.error = AuditError.notSynced(name: mirror.name).description
            return report
        }
        let syncLock: FileLock
        do {
            guard let held = try FileLock.tryAcquire(path: home.lockPath(mirror.name)) else {
                report.error = AuditError.busy(name: mirror.name, what: "a sync").description
                return report
            }
            syncLock = held
        } catch {
            report.error = "\(error)"
            return report
        }
        defer { withExtendedLifetime(syncLock) {} }

        let threads = min(AuditOptions.maxThreads, max(1, options.threads ?? defaultThreads))
        var run: AuditRun
        do {
            run = try catalog.beginAudit(mirror: mirror, jobId: jobId, trigger: trigger, actor: actor, options: options, threads: threads)
        } catch {
            report.error = "\(error)"
            return report
        }
        let quarantine = Quarantine(home: home, mirror: mirror.name, auditId: run.id!, actor: actor.description, started: run.startedAt)
        let progress = AuditProgress()
        var lastTick = Date.distantPast
        let tick: () -> Void = {
            let now = Date()
            guard now.timeIntervalSince(lastTick) >= JobContext.minimumReportInterval else { return }
            lastTick = now
            onProgress(progress.snapshot())
        }

        if Quarantine.recover(home: home, mirror: mirror.name) > 0 {
            report.recovered.append("finished moves to quarantine that an interrupted audit had started")
        }
        if let what = GitRepair.recover(home: home, mirror: mirror.name, quarantine: quarantine) {
            report.recovered.append(what)
        }

        var findings: [AuditFinding] = []
        var counts: [String: [String: Int]] = [:]
        var failure: String?
        var lfsNeedFetch: Set<String> = []
        var lfsAuditor: LFSAuditor?
        var git = GitAuditOutcome()

        // LFS: the incremental pointer scan first (objects of new commits join the catalog), then every object.
        if mirror.lfs != .off {
            progress.begin(.scanning, objects: 0, bytes: 0, message: "scanning new commits for LFS pointers")
            onProgress(progress.snapshot())
            do {
                _ = try LFSSync(home: home, catalog: catalog).discover(mirror: mirror, actor: actor, isCancelled: isCancelled)
                let lfsLock = try Self.lfsLock(home: home, mirror: mirror)
                defer { withExtendedLifetime(lfsLock) {} }
                let auditor = LFSAuditor(home: home, catalog: catalog, mirror: mirror, auditId: run.id!, quarantine: quarantine,
                                         options: options, threads: threads, progress: progress, isCancelled: isCancelled, tick: tick)
                lfsAuditor = auditor
                let lfs = try auditor.run()
                findings += lfs.findings
                counts["lfs"] = Self.named(lfs.counts)
                run.lfsObjectsChecked = lfs.objectsChecked
                run.lfsBytesChecked = lfs.bytesChecked
                run.lfsObjectsSkipped = lfs.skipped
                run.quarantined += lfs.quarantined
                lfsNeedFetch = lfs.needFetch
            } catch LFSError.cancelled {
            } catch {
                failure = "LFS: \(error)"
            }
        }

        // git: packs, objects, refs, reachability.
        if failure == nil && !isCancelled() {
            do {
                let auditor = GitAuditor(repositoryPath: path, quarantine: quarantine, options: options, threads: threads, progress: progress,
                                         verifiedBefore: try catalog.verifiedPacks(mirrorId: mirror.id!), isCancelled: isCancelled, tick: tick)
                git = try auditor.run()
                findings += git.findings
                counts["git"] = Self.named(git.counts)
                run.gitObjectsChecked = git.objectsChecked
                run.gitBytesChecked = git.bytesChecked
                run.gitPacksChecked = git.packsChecked
                run.gitPacksSkipped = git.packsSkipped
                run.quarantined += git.findings.filter { $0.action == .quarantined }.count
                if !git.cancelled {
                    try? catalog.recordVerifiedPacks(mirrorId: mirror.id!, verified: git.verifiedPacks, present: git.presentPacks)
                }
            } catch {
                failure = "git: \(error)"
            }
        }

        // Repair: LFS through the LFS path, git from upstream; then verify again what was repaired.
        if options.repair && failure == nil && !isCancelled() {
            if !lfsNeedFetch.isEmpty, let lfsAuditor {
                progress.begin(.repairing, objects: Int64(lfsNeedFetch.count), bytes: 0, message: "fetching \(lfsNeedFetch.count) LFS objects again")
                onProgress(progress.snapshot())
                let fetch = LFSSync(home: home, catalog: catalog, options: lfsOptions).fetch(
                    mirror: mirror, actor: actor, parallel: lfsOptions.parallel,
                    progress: { p in
                        progress.set(objectsDone: Int64(p.objectsDone), objectsTotal: Int64(p.objectsTotal), bytesDone: p.bytesDone)
                        tick()
                    }, isCancelled: isCancelled)
                var healed: Set<String> = []
                if let lfsLock = try? Self.lfsLock(home: home, mirror: mirror) {
                    healed = (try? lfsAuditor.reverify(lfsNeedFetch)) ?? []
                    withExtendedLifetime(lfsLock) {}
                    run.quarantined += lfsAuditor.current.quarantined
                }
                let why = fetch.error.map { "not repaired: \($0)" } ?? "not repaired: the LFS server did not provide a good copy"
                for i in findings.indices where findings[i].area == .lfs && lfsNeedFetch.contains(findings[i].subject) && findings[i].verdict.isProblem {
                    if healed.contains(findings[i].subject) {
                        findings[i].action = .repaired
                    } else {
                        findings[i].action = .unrecoverable
                        findings[i].detail += "; \(why)"
                    }
                }
            }
            let gitBad = git.findings.contains { $0.verdict.isProblem }
            if gitBad {
                let repair = GitRepair(home: home, mirror: mirror, quarantine: quarantine, progress: progress, isCancelled: isCancelled, tick: tick)
                let outcome = repair.repair(bad: git.badObjects)
                if outcome.swapped { run.quarantined += 1 }
                // Whatever the repair did, the store is verified again: only what still fails is unrecoverable.
                var after = GitAuditOutcome()
                if !isCancelled(), let again = try? GitAuditor(repositoryPath: path, quarantine: quarantine, options: options, threads: threads,
                                                              progress: progress, isCancelled: isCancelled, tick: tick).run() {
                    after = again
                    if !again.cancelled {
                        try? catalog.recordVerifiedPacks(mirrorId: mirror.id!, verified: again.verifiedPacks, present: again.presentPacks)
                    }
                }
                let stillBad = Set(after.findings.filter { $0.verdict.isProblem }.map(\.subject))
                let why = outcome.error.map { "not repaired: \($0)" } ?? "not repaired: upstream no longer has it"
                for i in findings.indices where findings[i].area == .git && findings[i].verdict.isProblem {
                    let fixed = outcome.swapped && !after.cancelled && !stillBad.contains(findings[i].subject)
                        && (findings[i].verdict != .badPack || !after.badPacks.contains(findings[i].subject))
                    findings[i].action = fixed ? .repaired : .unrecoverable
                    if !fixed { findings[i].detail += "; \(why)" }
                }
                if outcome.swapped, let moved = outcome.quarantinePath {
                    findings.append(AuditFinding(area: .git, verdict: .ok, subject: "objects",
                                                 detail: "replaced the object store with a fresh fetch from upstream (\(outcome.recovered.count) bad objects recovered, \(outcome.rescued) local-only objects kept); the old store is in quarantine",
                                                 action: .quarantined, quarantinePath: moved))
                }
            }
        }

        // Results.
        run.counts = Self.json(counts)
        let problems = findings.filter { $0.verdict.isProblem }
        run.problems = problems.count
        run.repaired = problems.filter { $0.action == .repaired }.count
        run.unrecoverable = problems.filter { $0.action == .unrecoverable }.count
        if isCancelled() {
            run.result = .cancelled
            run.error = "cancelled: what was checked so far is recorded"
        } else if let failure {
            run.result = .failed
            run.error = failure
        } else if problems.isEmpty {
            run.result = .clean
        } else if options.repair {
            let fixed = problems.allSatisfy { $0.action == .repaired || ($0.action == .quarantined && $0.verdict.isStray) }
            run.result = fixed ? .repaired : .unrecoverable
        } else {
            run.result = .problems
        }
        if run.result == .problems {
            run.error = "\(problems.count) problem\(problems.count == 1 ? "" : "s") found; run 'mirrordeck verify \(mirror.name) --repair' to fetch good copies"
        } else if run.result == .unrecoverable {
            run.error = "\(run.unrecoverable) problem\(run.unrecoverable == 1 ? "" : "s") could not be repaired (see the findings)"
        }
        progress.begin(.done, objects: 0, bytes: 0)
        do {
            let (finished, _) = try catalog.finishAudit(run, mirror: mirror, findings: findings, actor: actor)
            report.run = finished
        } catch {
            report.run = run
            run.error = run.error ?? "\(error)"
        }
        report.findings = findings
        report.error = run.error
        onProgress(progress.snapshot())
        return report
    }

    private static func lfsLock(home: Home, mirror: Mirror) throws -> FileLock {
        try SafeFS.makeDirectories(home.locksDirectory + "/lfs")
        guard let held = try FileLock.tryAcquire(path: home.lfsLockPath(mirror.name)) else {
            throw AuditError.busy(name: mirror.name, what: "an LFS fetch")
        }
        return held
    }

    private static func named(_ counts: [AuditVerdict: Int]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) })
    }

    private static func json(_ counts: [String: [String: Int]]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: counts, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

extension AuditVerdict {
    /// Things that do not belong in `lfs/objects` at all (as opposed to a referenced object gone bad):
    /// moving them to quarantine fixes them.
    var isStray: Bool { self == .foreign || self == .symlink || self == .special }
}
