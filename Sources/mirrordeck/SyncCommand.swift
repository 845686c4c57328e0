import ArgumentParser
import Foundation
import MirrorCore

struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Bring mirrors in line with their upstreams now.",
        discussion: "Exits 1 when any sync failed; every other mirror is still synced.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Names of mirrors to sync.") var names: [String] = []
    @Flag(help: "Sync every mirror that is not paused.") var all = false
    @Flag(help: "Sync mirrors whose lag is above 1.5 × their interval, and failed ones.") var stale = false
    @Option(help: "How many mirrors to sync at once.") var parallel: Int = 8
    @Flag(help: "Print JSON results (see docs/json.md).") var json = false

    func validate() throws {
        let modes = (names.isEmpty ? 0 : 1) + (all ? 1 : 0) + (stale ? 1 : 0)
        guard modes == 1 else { throw ValidationError("give mirror names, --all or --stale (exactly one)") }
        guard (1...64).contains(parallel) else { throw ValidationError("--parallel must be between 1 and 64") }
        for name in names { try MirrorName.validate(name) }
    }

    func run() throws {
        let (home, catalog) = try global.open()
        let now = Date()
        let mirrors: [Mirror]
        if all {
            mirrors = try catalog.summaries().filter { $0.state.status != .paused }.map(\.mirror)
        } else if stale {
            mirrors = try catalog.summaries().filter {
                $0.state.status != .paused && ($0.state.status == .failed || $0.state.isStale(intervalSeconds: $0.mirror.intervalSeconds, now: now))
            }.map(\.mirror)
        } else {
            mirrors = try names.map { try catalog.mirror(named: $0) }
        }
        let syncer = Syncer(home: home, catalog: catalog)
        let display = ProgressDisplay(live: TTY.stdout && !json, total: mirrors.count)
        let actor = Actor.local
        let reports = WorkerPool.map(mirrors, width: parallel) { mirror in
            let report = syncer.sync(mirror, trigger: .manual, actor: actor) { progress in
                display.update(progress)
                return true
            }
            display.finished(report, json: json)
            return report
        }
        display.close()
        if json {
            print(JSONShapes.encode(reports.map(JSONShapes.syncReport)))
        } else if reports.count > 1 {
            let failed = reports.filter { !$0.succeeded }.count
            print("\(reports.count) mirrors: \(reports.count - failed) ok, \(failed) failed")
        }
        if reports.contains(where: { !$0.succeeded }) { throw Exit.syncFailed }
    }
}

/// The live one-line progress on a terminal, and plain result lines otherwise.
final class ProgressDisplay: @unchecked Sendable {
    private let lock = NSLock()
    private let live: Bool
    private let total: Int
    private var done = 0
    private var current: [String: SyncProgress] = [:]
    private var lastDraw = Date.distantPast
    private var rateStart: (Date, Int64)?

    init(live: Bool, total: Int) {
        self.live = live
        self.total = total
    }

    func update(_ progress: SyncProgress) {
        lock.lock()
        defer { lock.unlock() }
        current[progress.mirror] = progress
        guard live, Date().timeIntervalSince(lastDraw) >= 0.1 else { return }
        draw()
    }

    func finished(_ report: SyncReport, json: Bool) {
        lock.lock()
        defer { lock.unlock() }
        current[report.mirror] = nil
        done += 1
        guard !json else { return }
        if live { write("\r\u{1B}[K") }
        write(Self.line(for: report) + "\n")
        if live { draw() }
    }

    func close() {
        lock.lock()
        defer { lock.unlock() }
        if live { write("\r\u{1B}[K") }
    }

    static func line(for report: SyncReport) -> String {
        let duration = report.run?.durationMs.map { " in " + TimeFormat.duration(ms: $0) } ?? ""
        switch report.result {
        case .upToDate: return "ok      \(report.mirror): up to date\(duration)"
        case .updated:
            let r = report.run
            return "ok      \(report.mirror): updated\(duration)" + (r.map { " (\($0.objectsReceived) objects, \(ByteFormat.format($0.bytesReceived)))" } ?? "")
        case .cancelled: return "cancel  \(report.mirror): cancelled"
        case .failed, .running: return "FAILED  \(report.mirror): \(report.error ?? "unknown error")"
        }
    }

    private func draw() {
        lastDraw = Date()
        var text = "[\(done)/\(total)]"
        let transfers = current.values.sorted { $0.mirror < $1.mirror }
        let bytes = transfers.reduce(Int64(0)) { $0 + $1.transfer.receivedBytes }
        if rateStart == nil, bytes > 0 { rateStart = (Date(), bytes) }
        if let p = transfers.first {
            let t = p.transfer
            text += " \(p.mirror): \(p.phase.rawValue)"
            if t.totalObjects > 0 {
                text += " \(t.receivedObjects)/\(t.totalObjects) objects"
                if p.phase == .indexing { text += ", deltas \(t.indexedDeltas)/\(t.totalDeltas)" }
            }
            if transfers.count > 1 { text += " (+\(transfers.count - 1) more)" }
        }
        if bytes > 0 {
            text += ", \(ByteFormat.format(bytes))"
            if let (start, startBytes) = rateStart, Date().timeIntervalSince(start) > 0.5 {
                text += " at " + ByteFormat.rate(Double(bytes - startBytes) / Date().timeIntervalSince(start))
            }
        }
        write("\r\u{1B}[K" + String(text.prefix(200)))
    }

    private func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
