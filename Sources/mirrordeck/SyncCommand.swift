import ArgumentParser
import Foundation
import MirrorCore

struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Bring mirrors in line with their upstreams now.",
        discussion: """
        Queues a sync job per mirror and follows them to the end: the daemon runs them when it is alive, \
        otherwise this process runs an embedded engine until they are done. Ctrl-C cancels them. \
        Exits 1 when any sync failed; every other mirror is still synced.
        """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Names of mirrors to sync.") var names: [String] = []
    @Flag(help: "Sync every mirror that is not paused.") var all = false
    @Flag(help: "Sync mirrors whose lag is above 1.5 × their interval, and failed ones.") var stale = false
    @Option(help: "How many syncs an embedded engine lets download at once (default: [engine] max_syncs, 8); up to [engine] max_checks (32) check their upstream at once.") var parallel: Int?
    @Option(name: .customLong("stall-timeout"), help: "Seconds without a byte from an upstream before a transfer counts as stalled and fails (default: [engine] stall_timeout, 60).")
    var stallTimeout: Int?
    @Option(name: .customLong("min-rate"), help: "Resume an LFS download on a new connection (with Range) when it runs slower than this for the stall timeout, e.g. 100KB/s (default: [engine] min_rate, none).")
    var minRate: String?
    @Flag(help: "Fetch in steps from the start (a few refs at a time, each kept), not only after the link cut a fetch.")
    var stepwise = false
    @Flag(help: "Print JSON results (see docs/json.md).") var json = false
    @Flag(name: .customLong("no-lfs"), help: "Do not wait for the LFS fetch a sync queues (the daemon or the next engine runs it).") var noLFS = false
    @Flag(name: .customLong("no-wait"), help: "Only queue the jobs and print their ids; the daemon (or the next engine) runs them.") var noWait = false

    func validate() throws {
        let modes = (names.isEmpty ? 0 : 1) + (all ? 1 : 0) + (stale ? 1 : 0)
        guard modes == 1 else { throw ValidationError("give mirror names, --all or --stale (exactly one)") }
        if let parallel, !(1...64).contains(parallel) { throw ValidationError("--parallel must be between 1 and 64") }
        if let stallTimeout, !(1...3600).contains(stallTimeout) { throw ValidationError("--stall-timeout must be between 1 and 3600 seconds") }
        if let minRate, LFSOptions.parseMinRate(minRate) == nil {
            throw ValidationError("invalid --min-rate \(Redactor.quote(minRate)): give bytes per second such as 100KB/s or 1MiB/s (at least 64KiB/s)")
        }
        for name in names { try MirrorName.validate(name) }
    }

    func run() throws {
        let (home, catalog) = try global.open()
        let now = Date()
        let mirrors: [Mirror]
        if all {
            mirrors = try catalog.summariesFast().filter { $0.state.status != .paused }.map(\.mirror)
        } else if stale {
            mirrors = try catalog.summariesFast().filter {
                $0.state.status != .paused && ($0.state.status == .failed || $0.state.isStale(intervalSeconds: $0.mirror.intervalSeconds, now: now))
            }.map(\.mirror)
        } else {
            mirrors = try names.map { try catalog.mirror(named: $0) }
        }
        var config = try EngineConfig.load(home: home)
        if let parallel { config.maxSyncs = parallel }
        if let stallTimeout { config.stallTimeout = TimeInterval(stallTimeout) }
        if let minRate { config.minRate = LFSOptions.parseMinRate(minRate) }
        if stepwise { config.forceSteps = true }
        let client = JobClient(home: home, catalog: catalog, config: config)
        EngineSetup.configure(client)
        let jobs = try catalog.enqueue(mirrors, kind: .sync, trigger: .acting, actor: .acting)
        if noWait {
            let names = Dictionary(uniqueKeysWithValues: mirrors.map { ($0.id!, $0.name) })
            if json {
                print(JSONShapes.encode(jobs.map { ["job": $0.id!, "name": names[$0.mirrorId] ?? "?", "state": $0.state.rawValue] as [String: Any] }))
            } else {
                for job in jobs { print("queued job #\(job.id!) for \(names[job.mirrorId] ?? "?") (\(job.state.rawValue))") }
            }
            return
        }
        let names = Dictionary(uniqueKeysWithValues: mirrors.map { ($0.id!, $0.name) })
        let display = JobDisplay(live: TTY.stdout && !json, names: names)
        let interrupt = Interrupt.onSIGINT { client.cancelAll() }
        var finished = try client.follow(jobs.map { $0.id! }) { display.update($0, catalog: catalog, json: json) }
        // A sync that brought new commits (or found objects missing) queued an LFS job: follow those too.
        if !noLFS {
            let mirrorIds = Set(mirrors.compactMap(\.id))
            let lfsJobs = try catalog.jobs().map(\.job).filter { $0.kind == .lfs && mirrorIds.contains($0.mirrorId) }
            if !lfsJobs.isEmpty {
                finished += try client.follow(lfsJobs.map { $0.id! }) { display.update($0, catalog: catalog, json: json) }
            }
        }
        client.finish()
        withExtendedLifetime(interrupt) {}
        display.close()

        var failed = 0
        var reports: [[String: Any]] = []
        // The text output printed its lines as jobs ended; only JSON needs each run again.
        let runs = json ? try catalog.lastRuns(jobIds: finished.filter { $0.kind == .sync }.map { $0.id! }) : [:]
        for job in finished {
            if job.state != .succeeded { failed += 1 }
            guard json else { continue }
            let run = job.kind == .sync ? runs[job.id!] : nil
            reports.append([
                "name": names[job.mirrorId] ?? "?",
                "job": job.id!,
                "kind": job.kind.rawValue,
                "result": run?.result.rawValue ?? job.state.rawValue,
                "run": run.map(JSONShapes.run) as Any,
                "error": job.error as Any,
            ])
        }
        if json {
            print(JSONShapes.encode(reports))
        } else if jobs.count > 1 {
            print("\(jobs.count) mirrors: \(finished.count - failed) of \(finished.count) jobs ok, \(failed) failed")
        }
        if failed > 0 { throw Exit.syncFailed }
    }
}

/// The live one-line progress on a terminal, and a plain line per finished job.
final class JobDisplay {
    private let live: Bool
    private let names: [Int64: String]
    private var reported = Set<Int64>()
    private var waiting = Set<Int64>()
    private var drawn = false

    init(live: Bool, names: [Int64: String]) {
        self.live = live
        self.names = names
    }

    func update(_ jobs: [Job], catalog: Catalog, json: Bool) {
        let ended = jobs.filter { $0.state.isFinished && !reported.contains($0.id!) }
        ended.forEach { reported.insert($0.id!) }
        // A job whose host is rate-limited waits in the queue for the reset: said once, then it runs.
        for job in jobs where job.state == .queued && job.message?.hasPrefix("waiting: ") == true && !waiting.contains(job.id!) {
            waiting.insert(job.id!)
            guard !json else { continue }
            clearLine()
            print("waits   \(names[job.mirrorId] ?? "?"): \(job.message!.dropFirst("waiting: ".count))")
        }
        if !json, !ended.isEmpty {
            let runs = (try? catalog.lastRuns(jobIds: ended.filter { $0.kind == .sync }.map { $0.id! })) ?? [:]
            for job in ended {
                clearLine()
                print(line(for: job, run: runs[job.id!]))
            }
        }
        guard live else { return }
        let active = jobs.filter { $0.state == .running }.sorted { $0.id! < $1.id! }
        var text = "[\(reported.count)/\(jobs.count)]"
        if let job = active.first {
            text += " \(names[job.mirrorId] ?? "?"): \(job.phase ?? "running")"
            if job.unitsTotal > 0 { text += " \(job.unitsDone)/\(job.unitsTotal) objects" }
            if job.bytesDone > 0 { text += ", \(ByteFormat.format(job.bytesDone))" }
            if job.rate > 0 { text += " at \(ByteFormat.rate(job.rate))" }
            if active.count > 1 { text += " (+\(active.count - 1) more running)" }
        } else if let queued = jobs.first(where: { $0.state == .queued }) {
            text += queued.message?.hasPrefix("waiting: ") == true ? " " + queued.message! : " queued"
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

    func line(for job: Job, run: SyncRun?) -> String {
        let name = names[job.mirrorId] ?? "?"
        if job.kind == .lfs {
            switch job.state {
            case .succeeded: return "ok      \(name): LFS \(job.message ?? "done")"
            case .cancelled: return "cancel  \(name): LFS cancelled"
            default: return "FAILED  \(name): \(job.error ?? "LFS fetch failed")"
            }
        }
        let duration = run?.durationMs.map { " in " + TimeFormat.duration(ms: $0) } ?? ""
        switch (job.state, run?.result) {
        case (.succeeded, .upToDate?): return "ok      \(name): up to date\(duration)"
        case (.succeeded, _):
            return "ok      \(name): updated\(duration)" + (run.map { r in
                let steps = r.steps > 0 ? ", \(r.steps) of \(r.stepsTotal) steps in \(r.attempts) tries" : ""
                return " (\(r.objectsReceived) objects, \(ByteFormat.format(r.bytesReceived))\(steps))"
            } ?? "")
        case (.cancelled, _): return "cancel  \(name): cancelled"
        default: return "FAILED  \(name): \(job.error ?? "unknown error")"
        }
    }
}

/// Runs a handler when SIGINT arrives, instead of dying (so jobs can be cancelled cleanly).
final class Interrupt {
    private let source: DispatchSourceSignal

    private init(source: DispatchSourceSignal) { self.source = source }

    static func onSIGINT(_ handler: @escaping @Sendable () -> Void) -> Interrupt {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler(handler: handler)
        source.resume()
        return Interrupt(source: source)
    }

    deinit {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}

/// What every engine this executable starts can run, beyond git syncs.
enum EngineSetup {
    static func configure(_ client: JobClient) {
        client.configureEngine = { engine in install(on: engine) }
    }

    static func install(on engine: Engine) {
        LFSJob.install(on: engine)
        AuditJobRunner.install(on: engine)
        MaintenanceJob.install(on: engine)
    }
}
