import ArgumentParser
import Foundation
import MirrorCore

struct MaintainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintain",
        abstract: "Repack mirrors into one pack with a bitmap and a commit-graph (see docs/operations.md).",
        discussion: """
        Queues a maintain job per mirror and follows it, as sync does. Runs git's own 'git repack -a -d -b \
        --cruft' (unreachable objects stay in a cruft pack until the grace period has passed), 'git pack-refs' \
        and 'git commit-graph write', with gc.auto=0 set on the mirror. Clones from the mirror keep working \
        meanwhile. --dry-run prints what would be done and changes nothing.
        """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Names of mirrors to maintain.") var names: [String] = []
    @Flag(help: "Maintain every mirror that has been synced.") var all = false
    @Flag(name: .customLong("dry-run"), help: "Print what would be done; change nothing.") var dryRun = false
    @Option(help: "Keep unreachable objects this long before they go, e.g. 14d or 0s (default: [maintenance] grace, 14d).") var grace: String?
    @Flag(help: "Print JSON results.") var json = false
    @Flag(name: .customLong("no-wait"), help: "Only queue the jobs and print their ids.") var noWait = false

    func validate() throws {
        guard names.isEmpty != !all else { throw ValidationError("give mirror names or --all (exactly one)") }
        _ = try graceSeconds(default: 0)
        for name in names { try MirrorName.validate(name) }
    }

    func graceSeconds(default value: Int) throws -> Int {
        guard let grace else { return value }
        do {
            return try Interval.parse(grace, minimum: 0)
        } catch {
            throw ValidationError("invalid --grace \(Redactor.quote(grace)): use a duration such as 14d, 12h or 0s")
        }
    }

    func run() throws {
        let (home, catalog) = try global.open()
        let config = try EngineConfig.load(home: home)
        let grace = try graceSeconds(default: config.maintenance.graceSeconds)
        var mirrors: [Mirror]
        let synced = { (m: Mirror) in FileManager.default.fileExists(atPath: home.mirrorPath(m.name) + "/HEAD") }
        if all {
            mirrors = try catalog.mirrors()
            for m in mirrors where !synced(m) && !json { print("skip    \(m.name): never synced") }
            mirrors.removeAll { !synced($0) }
            guard !mirrors.isEmpty else {
                if json { print(JSONShapes.encode([Any]())) } else { print("no synced mirrors to maintain") }
                return
            }
        } else {
            mirrors = try names.map { try catalog.mirror(named: $0) }
            for m in mirrors where !synced(m) { throw CLIError(description: MaintenanceError.notSynced(name: m.name).description) }
        }
        if dryRun { return printPlan(mirrors, home: home, catalog: catalog, grace: grace) }

        let client = JobClient(home: home, catalog: catalog, config: config)
        EngineSetup.configure(client)
        let jobs = try catalog.enqueue(mirrors, kind: .maintain, trigger: .acting, actor: .acting)
        let names = Dictionary(uniqueKeysWithValues: mirrors.map { ($0.id!, $0.name) })
        for job in jobs where job.state == .queued { try catalog.setMaintenanceRequest(jobId: job.id!, graceSeconds: grace) }
        if noWait {
            if json {
                print(JSONShapes.encode(jobs.map { ["job": $0.id!, "name": names[$0.mirrorId] ?? "?", "state": $0.state.rawValue] as [String: Any] }))
            } else {
                for job in jobs { print("queued maintain job #\(job.id!) for \(names[job.mirrorId] ?? "?") (\(job.state.rawValue))") }
            }
            return
        }
        var printed = Set<Int64>()
        let interrupt = Interrupt.onSIGINT { client.cancelAll() }
        let finished = try client.follow(jobs.map { $0.id! }) { update in
            for job in update where job.state.isFinished && !printed.contains(job.id!) && !json {
                printed.insert(job.id!)
                print(Self.line(job, name: names[job.mirrorId] ?? "?", run: try? catalog.maintenanceRun(jobId: job.id!)))
            }
        }
        client.finish()
        withExtendedLifetime(interrupt) {}
        var ok = 0
        var reports: [[String: Any]] = []
        for job in finished {
            let run = try catalog.maintenanceRun(jobId: job.id!)
            if job.state == .succeeded { ok += 1 }
            if !json && !printed.contains(job.id!) { print(Self.line(job, name: names[job.mirrorId] ?? "?", run: run)) }
            reports.append([
                "name": names[job.mirrorId] ?? "?",
                "job": job.id!,
                "result": job.state.rawValue,
                "run": run.map(Self.runJSON) as Any,
                "error": job.error as Any,
            ])
        }
        if json { print(JSONShapes.encode(reports)) }
        if ok < finished.count { throw ExitCode(1) }
    }

    static func line(_ job: Job, name: String, run: MaintenanceRun?) -> String {
        guard job.state == .succeeded, let run else {
            return job.state == .cancelled ? "cancel  \(name): cancelled; the mirror was left as it was" : "FAILED  \(name): \(job.error ?? "unknown error")"
        }
        let duration = run.durationMs.map { " in " + TimeFormat.duration(ms: $0) } ?? ""
        return "ok      \(name): \(run.packsBefore) → \(run.packsAfter) pack(s), \(ByteFormat.format(run.bytesBefore)) → \(ByteFormat.format(run.bytesAfter)), "
            + "\(run.looseBefore) → \(run.looseAfter) loose objects\(duration)"
    }

    static func runJSON(_ run: MaintenanceRun) -> [String: Any] {
        [
            "id": run.id ?? 0, "reason": run.reason, "trigger": run.trigger.rawValue, "actor": run.actor, "result": run.result.rawValue,
            "started_at": TimeFormat.iso(run.startedAt) as Any, "duration_ms": run.durationMs as Any, "grace_seconds": run.graceSeconds,
            "packs_before": run.packsBefore, "packs_after": run.packsAfter, "loose_before": run.looseBefore, "loose_after": run.looseAfter,
            "bytes_before": run.bytesBefore, "bytes_after": run.bytesAfter, "error": run.error as Any,
        ]
    }

    func printPlan(_ mirrors: [Mirror], home: Home, catalog: Catalog, grace: Int) {
        var out: [[String: Any]] = []
        for m in mirrors {
            let path = home.mirrorPath(m.name)
            let stats = GitStorageStats.read(path: path)
            let commands = GitMaintenance(path: path, graceSeconds: grace).commands().map { "git -C \(path) " + $0.joined(separator: " ") }
            let retention = m.lfsKeep != .all && m.lfs != .off
                ? LFSRetention(home: home, catalog: catalog).prune(mirror: m, dryRun: true, graceSeconds: grace, actor: .acting) : nil
            if json {
                out.append(["name": m.name, "packs": stats.packs, "cruft_packs": stats.cruftPacks, "loose_objects": stats.looseObjects,
                            "object_bytes": stats.objectBytes, "bitmap": stats.hasBitmap, "commit_graph": stats.hasCommitGraph,
                            "grace_seconds": grace, "commands": commands, "recompute_deltas": stats.recomputeDeltasReason as Any,
                            "lfs_retention": retention.map(LFSPruneCommand.json) as Any])
                continue
            }
            print("would maintain \(m.name): \(stats.packs) pack(s)\(stats.cruftPacks > 0 ? " + \(stats.cruftPacks) cruft" : ""), "
                  + "\(stats.looseObjects) loose object(s), \(ByteFormat.format(stats.objectBytes)), bitmap \(stats.hasBitmap ? "yes" : "no"), "
                  + "commit-graph \(stats.hasCommitGraph ? "yes" : "no") → 1 pack with a bitmap and a commit-graph; "
                  + "unreachable objects older than \(Interval.format(grace)) would go, younger ones stay in a cruft pack")
            print("  deltas: " + (stats.recomputeDeltasReason ?? "reused from the existing packs (most objects sit in the largest pack)"))
            for c in commands { print("  \(c)") }
            if let retention { LFSPruneCommand.printReport(retention) }
        }
        if json { print(JSONShapes.encode(out)) }
    }
}
