import ArgumentParser
import Foundation
import MirrorCore

struct LFSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lfs",
        abstract: "Fetch and inspect Git LFS objects of mirrors (see docs/lfs.md).",
        subcommands: [LFSFetchCommand.self, LFSStatusCommand.self, LFSPruneCommand.self, LFSRestoreCommand.self]
    )
}

struct LFSFetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Scan new commits for LFS pointers and fetch the objects that are missing.",
        discussion: "Exits 1 when any object is still missing afterwards; the mirror then shows as failed with the count missing. Partial downloads are kept and resumed by the next fetch.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Names of mirrors (already synced).") var names: [String]
    @Option(help: "Objects transferred at once.") var parallel: Int = 8
    @Flag(help: "Scan all of history again, not only new commits; objects no longer reachable leave the catalog (their files stay).")
    var rescan = false
    @Option(help: "Extra attempts per request after 429, 5xx, dropped or stalled connections.") var retries: Int = 4
    @Option(name: .customLong("stall-timeout"), help: "Seconds without data before a transfer counts as stalled.")
    var stallTimeout: Int = 60
    @Option(name: .customLong("min-rate"), help: "Resume a download on a new connection (with Range) when it runs slower than this for the stall timeout, e.g. 100KB/s (default: [engine] min_rate, none).")
    var minRate: String?
    @Option(name: .customLong("disk-reserve"), help: "Space to leave free on the home's filesystem, e.g. 5% or 2GiB (default: [storage] disk_reserve, 5%).")
    var diskReserve: String?
    @Flag(help: "Print JSON results (see docs/lfs.md).") var json = false

    func validate() throws {
        guard !names.isEmpty else { throw ValidationError("give at least one mirror name") }
        guard (1...64).contains(parallel) else { throw ValidationError("--parallel must be between 1 and 64") }
        guard (0...20).contains(retries) else { throw ValidationError("--retries must be between 0 and 20") }
        guard (1...3600).contains(stallTimeout) else { throw ValidationError("--stall-timeout must be between 1 and 3600 seconds") }
        if let minRate, LFSOptions.parseMinRate(minRate) == nil {
            throw ValidationError("invalid --min-rate \(Redactor.quote(minRate)): give bytes per second such as 100KB/s or 1MiB/s (at least 64KiB/s)")
        }
        if let diskReserve, DiskReserve(diskReserve) == nil {
            throw ValidationError("invalid --disk-reserve \(Redactor.quote(diskReserve)): use a share such as 5% (at most 50%) or a size such as 2GiB")
        }
        for name in names { try MirrorName.validate(name) }
    }

    func run() throws {
        let (home, catalog) = try global.open()
        let mirrors = try names.map { try catalog.mirror(named: $0) }
        var options = LFSOptions(parallel: parallel)
        options.retries = retries
        options.stallTimeout = stallTimeout
        let config = try EngineConfig.load(home: home)
        options.minRate = minRate.flatMap(LFSOptions.parseMinRate) ?? config.minRate
        options.reserve = diskReserve.flatMap(DiskReserve.init) ?? config.diskReserve
        let lfs = LFSSync(home: home, catalog: catalog, options: options)
        let line = LFSProgressLine(live: TTY.stdout && !json)
        var reports: [LFSFetchReport] = []
        for mirror in mirrors {
            let report = lfs.run(mirror: mirror, actor: .acting, fullScan: rescan, progress: { line.update($0) })
            line.clear()
            if !json { print(LFSProgressLine.summary(report)) }
            reports.append(report)
        }
        if json { print(JSONShapes.encode(reports.map(JSONShapes.lfsReport))) }
        if reports.contains(where: { !$0.succeeded }) { throw Exit.syncFailed }
    }
}

struct LFSStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a mirror's LFS objects: counts by state, endpoint, last scan and fetch, and objects not present.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Name of the mirror.") var name: String
    @Flag(help: "List every object, not only those that are not present.") var all = false
    @Flag(help: "Print JSON (see docs/lfs.md).") var json = false

    func validate() throws { try MirrorName.validate(name) }

    func run() throws {
        let (home, catalog) = try global.open()
        let mirror = try catalog.mirror(named: name)
        let counts = try catalog.lfsCounts(mirrorId: mirror.id!)
        let scan = try catalog.lfsScan(mirrorId: mirror.id!)
        let objects = try catalog.lfsObjects(mirrorId: mirror.id!, states: all ? nil : [.missing, .unavailable, .failed])
        var endpoint: String?
        var endpointSource: String?
        var endpointError: String?
        if mirror.lfs != .off {
            do {
                let e = try LFSSync(home: home, catalog: catalog).endpoint(for: mirror)
                endpoint = e.description
                endpointSource = e.source.rawValue
            } catch {
                endpointError = "\(error)"
            }
        }
        if json {
            var byState: [String: Any] = [:]
            var bytesByState: [String: Any] = [:]
            for state in LFSObjectState.allCases {
                byState[state.rawValue] = counts.objects[state] ?? 0
                bytesByState[state.rawValue] = counts.bytes[state] ?? 0
            }
            let object: [String: Any] = [
                "name": mirror.name,
                "lfs": mirror.lfs.rawValue,
                "endpoint": endpoint as Any,
                "endpoint_source": endpointSource as Any,
                "endpoint_error": endpointError as Any,
                "objects_total": counts.objectsTotal,
                "objects_present": counts.objectsPresent,
                "bytes_total": counts.bytesTotal,
                "bytes_present": counts.bytesPresent,
                "lfs_keep": mirror.lfsKeep.description,
                "lfs_archive": mirror.lfsArchive as Any,
                "objects_retired": counts.objectsRetired,
                "bytes_retired": counts.bytesRetired,
                "objects_by_state": byState,
                "bytes_by_state": bytesByState,
                "scanned_at": TimeFormat.iso(scan?.scannedAt) as Any,
                "commits_scanned": scan?.commitsScanned ?? 0,
                "malformed_pointers": scan?.malformedPointers ?? 0,
                "malformed_example": scan?.malformedExample as Any,
                "fetched_at": TimeFormat.iso(scan?.fetchedAt) as Any,
                "fetch_result": scan?.fetchResult as Any,
                "last_error": scan?.lastError as Any,
                "objects": objects.map(JSONShapes.lfsObject),
            ]
            print(JSONShapes.encode(object))
            return
        }
        let states = LFSObjectState.wanted.filter { (counts.objects[$0] ?? 0) > 0 && $0 != .present }
            .map { "\(counts.objects[$0]!) \($0.rawValue)" }
        var lines: [(String, String)] = [
            ("name", mirror.name),
            ("lfs", mirror.lfs.rawValue),
            ("endpoint", endpoint.map { "\($0) (from \(endpointSource ?? "?"))" } ?? endpointError ?? "—"),
            ("objects", "\(counts.objectsPresent)/\(counts.objectsTotal) present, \(ByteFormat.format(counts.bytesPresent))/\(ByteFormat.format(counts.bytesTotal))"
                + (states.isEmpty ? "" : "; " + states.joined(separator: ", "))),
            ("retention", "lfs-keep \(mirror.lfsKeep)" + (mirror.lfsArchive.map { ", archive \($0)" } ?? "")
                + (counts.objectsRetired > 0 ? "; \(counts.objectsRetired) objects (\(ByteFormat.format(counts.bytesRetired))) out of the policy" : "")),
            ("last scan", scan?.scannedAt.map { "\(TimeFormat.iso($0)!) (\(scan!.commitsScanned) commits scanned in all)" } ?? "never"),
            ("last fetch", scan?.fetchedAt.map { "\(TimeFormat.iso($0)!): \(scan?.fetchResult ?? "?")" } ?? "never"),
        ]
        if let scan, scan.malformedPointers > 0 {
            lines.append(("malformed", "\(scan.malformedPointers) pointer(s) skipped; e.g. \(scan.malformedExample ?? "?")"))
        }
        if let error = scan?.lastError { lines.append(("last error", error)) }
        for (key, value) in lines { print("\(key.padding(toLength: 12, withPad: " ", startingAt: 0)) \(value)") }
        guard !objects.isEmpty else { return }
        print(all ? "\nobjects:" : "\nnot present:")
        var rows = [["OID", "SIZE", "STATE", "TRIES", "WHY"]]
        for o in objects {
            rows.append([String(o.oid.prefix(12)) + "…", ByteFormat.format(o.size), o.state.rawValue, String(o.attempts), o.error ?? ""])
        }
        print(Table.render(rows))
    }
}

/// The live LFS progress line on a terminal, and the one-line summary per mirror.
final class LFSProgressLine: @unchecked Sendable {
    private let live: Bool
    private var drawn = false

    init(live: Bool) { self.live = live }

    func update(_ p: LFSProgress) {
        guard live else { return }
        var text = "lfs \(p.mirror): \(p.phase.rawValue)"
        if p.phase != .scanning {
            text += " \(p.objectsDone)/\(p.objectsTotal) objects, \(ByteFormat.format(p.bytesDone))/\(ByteFormat.format(p.bytesTotal))"
            if p.rate > 0 { text += " at \(ByteFormat.rate(p.rate))" }
            if let eta = p.etaSeconds, p.rate > 0 { text += ", ETA \(TimeFormat.lag(eta))" }
            if p.objectsFailed > 0 { text += ", \(p.objectsFailed) failed" }
        }
        FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + String(text.prefix(200))).utf8))
        drawn = true
    }

    func clear() {
        guard live, drawn else { return }
        FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8))
        drawn = false
    }

    static func summary(_ r: LFSFetchReport) -> String {
        let took = " in " + TimeFormat.duration(ms: r.durationMs)
        switch r.result {
        case .skipped:
            return "skip    \(r.mirror): lfs is off"
        case .cancelled:
            return "cancel  \(r.mirror): \(r.error ?? "cancelled")"
        case .rateLimited:
            return "waits   \(r.mirror): \(r.error ?? "the LFS host is rate-limited")"
        case .failed:
            return "FAILED  \(r.mirror): \(r.error ?? "unknown error")"
        case .ok:
            var parts: [String] = []
            if r.downloaded > 0 { parts.append("\(r.downloaded) downloaded (\(ByteFormat.format(r.bytesTransferred)))") }
            if r.linked > 0 { parts.append("\(r.linked) linked") }
            if r.copied > 0 { parts.append("\(r.copied) copied") }
            if r.found > 0 { parts.append("\(r.found) found on disk") }
            if r.restored > 0 { parts.append("\(r.restored) restored from the trash or archive") }
            let what = parts.isEmpty ? "nothing to fetch" : parts.joined(separator: ", ")
            return "ok      \(r.mirror): \(r.objectsPresent)/\(r.objectsTotal) LFS objects (\(ByteFormat.format(r.bytesPresent))); \(what)\(took)"
        }
    }
}
