import ArgumentParser
import Foundation
import MirrorCore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Audit mirrors: re-hash every LFS object and verify the git object database (see docs/audit.md).",
        discussion: """
        Queues a verify job per mirror and follows it, as sync does (the daemon runs it when alive, otherwise \
        this process). Corrupt data is moved to quarantine/<date>/<mirror>/ with a note, never deleted. \
        Exits 0 when every mirror is clean (or --repair fixed everything), 1 otherwise.
        """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Names of mirrors to verify.") var names: [String] = []
    @Flag(help: "Verify every mirror that has been synced.") var all = false
    @Flag(help: "Fetch corrupt and missing objects again (LFS from the LFS server, git from upstream) and verify them.") var repair = false
    @Option(help: "Hashing threads (default: [engine] verify_threads, all cores).") var threads: Int?
    @Option(name: .customLong("max-rate"), help: "Cap the read rate of all threads together, e.g. 200MB/s or 1GiB/s.") var maxRate: String?
    @Option(help: "Skip LFS objects and packs verified within this long, e.g. 7d or 12h (default: check everything).") var since: String?
    @Flag(help: "Print JSON results (see docs/audit.md).") var json = false
    @Flag(name: .customLong("no-wait"), help: "Only queue the jobs and print their ids.") var noWait = false

    func validate() throws {
        guard names.isEmpty != !all else { throw ValidationError("give mirror names or --all (exactly one)") }
        if let threads, !(1...AuditOptions.maxThreads).contains(threads) {
            throw ValidationError("--threads must be between 1 and \(AuditOptions.maxThreads)")
        }
        _ = try options()
        for name in names { try MirrorName.validate(name) }
    }

    func options() throws -> AuditOptions {
        var options = AuditOptions(repair: repair, threads: threads)
        if let maxRate {
            do {
                options.maxRate = try AuditOptions.parseRate(maxRate)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        if let since {
            do {
                options.sinceSeconds = try Interval.parse(since, minimum: 1)
            } catch {
                throw ValidationError("invalid --since \(Redactor.quote(since)): use a duration such as 30m, 12h or 7d")
            }
        }
        return options
    }

    func run() throws {
        let (home, catalog) = try global.open()
        let options = try options()
        var mirrors: [Mirror]
        if all {
            mirrors = try catalog.mirrors()
            let unsynced = mirrors.filter { !FileManager.default.fileExists(atPath: home.mirrorPath($0.name) + "/HEAD") }
            for m in unsynced where !json { print("skip    \(m.name): never synced") }
            mirrors.removeAll { m in unsynced.contains { $0.name == m.name } }
            guard !mirrors.isEmpty else {
                if json { print(JSONShapes.encode([Any]())) } else { print("no synced mirrors to verify") }
                return
            }
        } else {
            mirrors = try names.map { try catalog.mirror(named: $0) }
            for m in mirrors where !FileManager.default.fileExists(atPath: home.mirrorPath(m.name) + "/HEAD") {
                throw CLIError(description: AuditError.notSynced(name: m.name).description)
            }
        }
        let config = try EngineConfig.load(home: home)
        let client = JobClient(home: home, catalog: catalog, config: config)
        EngineSetup.configure(client)
        let jobs = try catalog.enqueue(mirrors, kind: .verify, trigger: .acting, actor: .acting)
        let names = Dictionary(uniqueKeysWithValues: mirrors.map { ($0.id!, $0.name) })
        let engineAlive = try catalog.liveEngine(timeout: config.leaseTimeout) != nil
        for job in jobs {
            // A job already running in a live engine keeps its options; a queued one (or one whose engine
            // died and will be resumed) takes these.
            if job.state == .queued || !engineAlive {
                try catalog.setAuditRequest(jobId: job.id!, options)
            } else if !json {
                FileHandle.standardError.write(Data("note: \(names[job.mirrorId] ?? "?") already has verify job #\(job.id!) running; following it with its own options\n".utf8))
            }
        }
        if noWait {
            if json {
                print(JSONShapes.encode(jobs.map { ["job": $0.id!, "name": names[$0.mirrorId] ?? "?", "state": $0.state.rawValue] as [String: Any] }))
            } else {
                for job in jobs { print("queued verify job #\(job.id!) for \(names[job.mirrorId] ?? "?") (\(job.state.rawValue))") }
            }
            return
        }
        let display = VerifyDisplay(live: TTY.stdout && !json, names: names)
        let interrupt = Interrupt.onSIGINT { client.cancelAll() }
        let finished = try client.follow(jobs.map { $0.id! }) { display.update($0, catalog: catalog, json: json) }
        client.finish()
        withExtendedLifetime(interrupt) {}
        display.close()

        var ok = 0
        var reports: [[String: Any]] = []
        for job in finished {
            let run = try catalog.auditRun(jobId: job.id!)
            let findings = try run.map { try catalog.auditFindings(auditId: $0.id!) } ?? []
            if job.state == .succeeded { ok += 1 }
            reports.append([
                "name": names[job.mirrorId] ?? "?",
                "job": job.id!,
                "result": run?.result.rawValue ?? job.state.rawValue,
                "audit": run.map(JSONShapes.auditRun) as Any,
                "findings": findings.map(JSONShapes.auditFinding),
                "error": job.error as Any,
            ])
        }
        if json {
            print(JSONShapes.encode(reports))
        } else if finished.count > 1 {
            print("\(finished.count) mirrors: \(ok) ok, \(finished.count - ok) with problems or failed")
        }
        if ok < finished.count { throw ExitCode(1) }
    }
}

/// The live progress line of verify jobs, and a summary (with findings) per finished mirror.
final class VerifyDisplay {
    private let live: Bool
    private let names: [Int64: String]
    private var reported = Set<Int64>()
    private var drawn = false
    static let findingsShown = 20

    init(live: Bool, names: [Int64: String]) {
        self.live = live
        self.names = names
    }

    func update(_ jobs: [Job], catalog: Catalog, json: Bool) {
        for job in jobs where job.state.isFinished && !reported.contains(job.id!) {
            reported.insert(job.id!)
            guard !json else { continue }
            clearLine()
            let run = try? catalog.auditRun(jobId: job.id!)
            let findings = run.flatMap { try? catalog.auditFindings(auditId: $0.id!, limit: Self.findingsShown + 1) } ?? []
            print(lines(for: job, run: run, findings: findings).joined(separator: "\n"))
        }
        guard live else { return }
        let active = jobs.filter { $0.state == .running }.sorted { $0.id! < $1.id! }
        var text = "[\(reported.count)/\(jobs.count)]"
        if let job = active.first {
            text += " \(names[job.mirrorId] ?? "?"): \(job.phase ?? "running")"
            if job.unitsTotal > 0 { text += " \(job.unitsDone)/\(job.unitsTotal) objects" }
            if job.bytesTotal > 0 { text += ", \(ByteFormat.format(job.bytesDone))/\(ByteFormat.format(job.bytesTotal))" }
            if job.rate > 0 { text += " at \(ByteFormat.rate(job.rate))" }
            if let eta = job.eta { text += ", \(TimeFormat.lag(eta)) left" }
            if let message = job.message, message.contains("problem") { text += " (\(message.components(separatedBy: "; ").last ?? message))" }
        } else if jobs.contains(where: { $0.state == .queued }) {
            text += " queued"
        }
        FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + String(text.prefix(200))).utf8))
        drawn = true
    }

    func close() { clearLine() }

    private func clearLine() {
        if live && drawn {
            FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8))
            drawn = false
        }
    }

    func lines(for job: Job, run: AuditRun?, findings: [AuditFinding]) -> [String] {
        let name = names[job.mirrorId] ?? "?"
        guard let run else {
            return [job.state == .cancelled ? "cancel  \(name): cancelled" : "FAILED  \(name): \(job.error ?? "unknown error")"]
        }
        let duration = run.durationMs.map { " in " + TimeFormat.duration(ms: $0) } ?? ""
        let checked = "\(run.lfsObjectsChecked) LFS objects (\(ByteFormat.format(run.lfsBytesChecked))) and \(run.gitObjectsChecked) git objects verified\(duration)"
            + (run.lfsObjectsSkipped + run.gitPacksSkipped > 0 ? ", \(run.lfsObjectsSkipped) objects and \(run.gitPacksSkipped) packs skipped (--since)" : "")
        var out: [String]
        switch run.result {
        case .clean: out = ["clean   \(name): \(checked)"]
        case .repaired: out = ["repaired \(name): \(checked); \(run.repaired) problem(s) repaired"]
        case .cancelled: out = ["cancel  \(name): cancelled; \(checked)"]
        case .failed: return ["FAILED  \(name): \(run.error ?? job.error ?? "unknown error")"]
        default: out = ["\(run.result == .unrecoverable ? "UNRECOVERABLE" : "PROBLEMS") \(name): \(checked); \(run.error ?? "")"]
        }
        for f in findings.prefix(Self.findingsShown) where f.verdict != .ok || f.action != .reported {
            var line = "  \(f.area.rawValue) \(f.verdict.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)) \(f.subject): \(f.detail)"
            switch f.action {
            case .quarantined: line += " [quarantined: \(f.quarantinePath ?? "?")]"
            case .repaired: line += " [repaired]"
            case .unrecoverable: line += " [UNRECOVERABLE]"
            case .reported: break
            }
            out.append(line)
        }
        if findings.count > Self.findingsShown { out.append("  … more findings: 'mirrordeck verify \(name) --json' lists them all") }
        return out
    }
}
