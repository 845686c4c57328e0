import ArgumentParser
import Foundation
import MirrorCore

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one mirror in detail, with its recent runs.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Name of the mirror.") var name: String
    @Flag(help: "Print JSON (see docs/json.md).") var json = false

    func run() throws {
        try MirrorName.validate(name)
        let (home, catalog) = try global.open()
        let summary = try catalog.summary(named: name)
        let runs = try catalog.runs(mirrorId: summary.mirror.id!, limit: 10)
        let now = Date()
        let storage = try catalog.storage(mirrorId: summary.mirror.id!)
        let lastMaintenance = try catalog.maintenanceRuns(mirrorId: summary.mirror.id!, limit: 1).first
        let lfsDisk = LFSDiskUsage.measure(mirrorPath: home.mirrorPath(name))
        let limit = MirrorHosts.limit(for: summary.mirror, in: try catalog.hostLimits(now: now))
        if json {
            var object = JSONShapes.mirror(summary, now: now, limits: limit.map { [$0] } ?? [])
            object["path"] = home.mirrorPath(name)
            object["git_storage"] = [
                "packs": storage?.packs as Any, "loose_objects": storage?.looseObjects as Any,
                "measured_at": TimeFormat.iso(storage?.measuredAt) as Any,
                "last_maintained_at": TimeFormat.iso(storage?.lastMaintainedAt) as Any,
                "maintenance_due": storage?.maintenanceDue as Any,
                "last_maintenance": lastMaintenance.map(MaintainCommand.runJSON) as Any,
            ] as [String: Any]
            object["lfs_disk"] = ["objects": lfsDisk.objects, "own_bytes": lfsDisk.ownBytes, "shared_bytes": lfsDisk.sharedBytes]
            object["runs"] = runs.map(JSONShapes.run)
            let served = ServedURL.of(summary.mirror, home: home, catalog: catalog)
            object["clone_url"] = served?.cloneURL as Any
            object["clone_command"] = served?.cloneCommand as Any
            object["served_lfs_url"] = served?.lfsURL as Any
            let totals = try catalog.served24h(mirror: name)
            object["served_requests_24h"] = totals.requests
            object["served_bytes_24h"] = totals.bytes
            print(JSONShapes.encode(object))
            return
        }
        let m = summary.mirror
        let s = summary.state
        let stale = s.isStale(intervalSeconds: m.intervalSeconds, now: now)
        var lines: [(String, String)] = [
            ("name", m.name),
            ("upstream", UpstreamURL.display(m.upstream)),
            ("path", home.mirrorPath(name)),
            ("status", limit.map { "rate-limited until \(TimeFormat.clock($0.until)) (\($0.host): \($0.status), \($0.source)); syncs wait for the reset" }
                ?? (s.status.rawValue + (stale ? " (stale)" : ""))),
            ("fresh as of", s.freshAsOf.map { "\(TimeFormat.iso($0)!) (lag \(TimeFormat.lag(s.lag(now: now))))" } ?? "never"),
            ("interval", Interval.format(m.intervalSeconds)),
            ("next run", s.nextRunAt.map { "\(TimeFormat.iso($0)!) (\(TimeFormat.until($0, now: now)))" } ?? "not scheduled"),
            ("behind", "\(s.behind) refs"),
            ("refs", "\(s.refCount)" + (s.headRef.map { ", HEAD → \($0)" } ?? "")),
            ("failures", "\(s.consecutiveFailures) in a row"),
            ("size", ByteFormat.format(s.diskBytes)),
            ("git store", storage.map { "\($0.packs) pack(s), \($0.looseObjects) loose object(s)" + ($0.maintenanceDue.map { "; maintenance due: \($0)" } ?? "") } ?? "not looked at yet"),
            ("maintained", lastMaintenance.map { "\($0.result.rawValue) \(TimeFormat.lag(now.timeIntervalSince($0.startedAt))) ago (\($0.reason)): \($0.packsBefore) → \($0.packsAfter) packs, \(ByteFormat.format($0.bytesBefore)) → \(ByteFormat.format($0.bytesAfter))" } ?? "never"),
            ("lfs", "\(m.lfs.rawValue); \(s.lfsObjectsPresent)/\(s.lfsObjectsTotal) objects, \(ByteFormat.format(s.lfsBytesPresent))/\(ByteFormat.format(s.lfsBytesTotal))"),
            ("lfs on disk", "\(lfsDisk.objects) object(s): \(ByteFormat.format(lfsDisk.ownBytes)) its own, \(ByteFormat.format(lfsDisk.sharedBytes)) hard-linked with other mirrors (stored once)"),
            ("prune", m.prune ? "yes" : "no"),
            ("ref filter", m.refFilter.description),
            ("max rate", m.maxRate.map { ByteFormat.rate(Double($0)) } ?? "none of its own (host and global caps in config.toml)"),
            ("last audit", s.lastAuditAt.map { "\(s.lastAuditResult ?? "?"), \(TimeFormat.lag(now.timeIntervalSince($0))) ago" } ?? "never"),
        ]
        if m.isPrivate { lines.append(("visibility", "private: served only with a token or over SSH")) }
        let served = try catalog.served24h(mirror: m.name)
        if served.requests > 0 {
            lines.append(("served 24h", "\(served.requests) requests, \(ByteFormat.format(served.bytes))"))
            let clients = try catalog.recentAccess(mirror: m.name, limit: 5)
                .map { "\($0.user.map { "\($0)@" } ?? "")\($0.client) \($0.kind.rawValue) \($0.status) \(ByteFormat.format($0.bytes))" }
            lines.append(("last clients", clients.joined(separator: "; ")))
        }
        if let served = ServedURL.of(m, home: home, catalog: catalog) {
            lines.append(("clone", served.cloneCommand))
            if served.lfsURL != nil { lines.append(("", "(-c lfs.url: the upstream's .lfsconfig names its own LFS server; this keeps git-lfs here)")) }
        }
        if let reason = s.pausedReason { lines.append(("paused", reason)) }
        if let error = s.lastError { lines.append(("last error", error)) }
        for (key, value) in lines { print("\(key.padding(toLength: 12, withPad: " ", startingAt: 0)) \(value)") }
        guard !runs.isEmpty else { return }
        print("\nrecent runs:")
        var rows = [["STARTED", "RESULT", "DURATION", "OBJECTS", "BYTES", "REFS +/-", "STEPS", "BY"]]
        for r in runs {
            rows.append([TimeFormat.iso(r.startedAt) ?? "", r.result.rawValue, r.durationMs.map { TimeFormat.duration(ms: $0) } ?? "—",
                         String(r.objectsReceived), ByteFormat.format(r.bytesReceived), "\(r.refsUpdated)/\(r.refsDeleted)",
                         r.stepsTotal > 0 ? "\(r.steps)/\(r.stepsTotal) (\(r.attempts) tries)" : "—", r.actor])
        }
        print(Table.render(rows))
    }
}
