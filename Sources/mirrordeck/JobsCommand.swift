import ArgumentParser
import Foundation
import MirrorCore

struct JobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "jobs", abstract: "List queued and running jobs (--all: finished ones too).")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Include finished jobs (the latest 200).") var all = false
    @Flag(help: "Print JSON (see docs/json.md).") var json = false

    func run() throws {
        let (_, catalog) = try global.open()
        let jobs = try catalog.jobs(all: all)
        let limits = try catalog.transferLimits(jobIds: jobs.compactMap(\.job.id))
        if json {
            print(JSONShapes.encode(jobs.map { JSONShapes.job($0, limits: limits[$0.job.id!]) }))
            return
        }
        let engine = try catalog.liveEngine()
        print("engine: " + (engine.map { "\($0.kind.rawValue), pid \($0.pid) on \($0.host)" } ?? "none running (jobs wait for 'mirrordeck daemon' or the next sync/dashboard)"))
        guard !jobs.isEmpty else {
            print(all ? "no jobs yet" : "no queued or running jobs")
            return
        }
        var rows = [["ID", "MIRROR", "KIND", "STATE", "PHASE", "PROGRESS", "RATE", "LIMIT", "ETA", "TRIGGER", "BY", "ERROR"]]
        let now = Date()
        for s in jobs {
            let j = s.job
            let progress = j.fraction.map { "\(Int($0 * 100))%" } ?? (j.unitsDone > 0 ? "\(j.unitsDone) objects" : "")
            let l = limits[j.id!]
            rows.append([String(j.id!), s.mirror, j.kind.rawValue, j.state.rawValue, j.phase ?? "", progress,
                         j.rate > 0 ? ByteFormat.rate(j.rate) : "", Self.limit(j, l, now: now), j.eta.map { TimeFormat.lag($0) } ?? "",
                         j.trigger.rawValue, j.actor, j.error ?? ""])
        }
        print(Table.render(rows))
    }

    /// What holds a job back: a queued job's wait for a rate-limited host (`waits until 12:03`), a running
    /// one's cap and stall timeout (`5.0 MB/s (host), stall 60s`).
    static func limit(_ job: Job, _ limits: JobTransferLimits?, now: Date) -> String {
        guard let limits else { return "" }
        if job.state == .queued, let until = limits.waitUntil, until > now { return "waits until \(TimeFormat.clock(until))" }
        guard job.state == .running else { return "" }
        var parts: [String] = []
        if let cap = limits.cap { parts.append("\(ByteFormat.rate(Double(cap.rate))) (\(cap.source.rawValue))") }
        if let stall = limits.stallTimeout { parts.append("stall \(stall)s") }
        return parts.joined(separator: ", ")
    }
}

struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a job by id, or a mirror's queued and running jobs by name.",
        discussion: "A running sync stops within moments and leaves the mirror's refs as they were.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A job id or a mirror name.") var target: String

    func run() throws {
        let (_, catalog) = try global.open()
        var ids: [Int64] = []
        if let id = Int64(target) {
            ids = [id]
        } else {
            try MirrorName.validate(target)
            let mirror = try catalog.mirror(named: target)
            ids = try catalog.jobs().filter { $0.job.mirrorId == mirror.id! }.map { $0.job.id! }
            guard !ids.isEmpty else { throw CLIError(description: "mirror \(Redactor.quote(target)) has no queued or running job") }
        }
        for id in ids {
            let was = try catalog.requestCancel(jobId: id, actor: .acting)
            switch was {
            case .queued: print("job #\(id) cancelled")
            case .running: print("job #\(id) is stopping")
            default: print("job #\(id) had already ended (\(was.rawValue))")
            }
        }
    }
}

struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Stop scheduled syncs of a mirror until it is resumed.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Name of the mirror.") var name: String
    @Option(help: "Why, shown to other operators.") var reason: String?

    func run() throws {
        try MirrorName.validate(name)
        let (_, catalog) = try global.open()
        try catalog.pause(name: name, reason: reason, actor: .acting)
        print("paused \(name)")
    }
}

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume a paused mirror; a sync is due at once.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Name of the mirror.") var name: String

    func run() throws {
        try MirrorName.validate(name)
        let (_, catalog) = try global.open()
        try catalog.resume(name: name, actor: .acting)
        print("resumed \(name)")
    }
}
