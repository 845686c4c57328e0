import ArgumentParser
import Foundation
import MirrorCore

struct LFSPruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Apply a mirror's LFS retention policy (--lfs-keep): objects out of it go to the trash or the archive.",
        discussion: """
        Objects are never deleted at once: they move to lfs-trash/<date>/<mirror>/ (or the mirror's --lfs-archive \
        directory, where they are still served) and trashed ones are deleted after the grace period \
        ([maintenance] grace, 14d). An object another mirror keeps stays there (only this mirror's hard link moves). \
        --dry-run prints every object that would go, with its size and why, and what it would free; it changes nothing.
        """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Name of the mirror.") var name: String
    @Flag(name: .customLong("dry-run"), help: "Print what would go and what it would free; change nothing.") var dryRun = false
    @Option(help: "How long trashed objects stay before they are deleted, e.g. 14d or 0s (default: [maintenance] grace, 14d).") var grace: String?
    @Flag(help: "Print JSON (see docs/operations.md).") var json = false

    func validate() throws {
        try MirrorName.validate(name)
        if let grace, (try? Interval.parse(grace, minimum: 0)) == nil {
            throw ValidationError("invalid --grace \(Redactor.quote(grace)): use a duration such as 14d, 12h or 0s")
        }
    }

    func run() throws {
        let (home, catalog) = try global.open()
        let mirror = try catalog.mirror(named: name)
        guard FileManager.default.fileExists(atPath: home.mirrorPath(mirror.name) + "/HEAD") else {
            throw CLIError(description: "\(mirror.name) has never been synced: run 'mirrordeck sync \(mirror.name)' first")
        }
        let graceSeconds = try grace.map { try Interval.parse($0, minimum: 0) } ?? EngineConfig.load(home: home).maintenance.graceSeconds
        let report = LFSRetention(home: home, catalog: catalog).prune(mirror: mirror, dryRun: dryRun, graceSeconds: graceSeconds, actor: .acting)
        if json {
            print(JSONShapes.encode(Self.json(report)))
        } else {
            Self.printReport(report)
        }
        if report.error != nil || report.failed > 0 { throw Exit.syncFailed }
    }

    static func printReport(_ r: LFSRetentionReport) {
        if let error = r.error {
            print("FAILED  \(r.mirror): \(error)")
            return
        }
        let verb = r.dryRun ? "would" : "did"
        print("\(r.mirror): \(r.policy) keeps \(r.policy.summary) — \(r.refsKept) of \(r.refsTotal) refs, \(r.objectsKept) objects")
        if !r.items.isEmpty {
            var rows = [["OID", "SIZE", "ACTION", "WHY"]]
            for item in r.items {
                let action = item.error == nil ? item.action.rawValue : "\(item.action.rawValue) FAILED: \(item.error!)"
                rows.append([item.oid, ByteFormat.format(item.size), action, item.why + (item.sharedLink ? " (another mirror still links it)" : "")])
            }
            print(Table.render(rows))
        }
        print("\(r.dryRun ? "dry run: " : "")\(verb): \(r.summary.drop(while: { $0 != ":" }).dropFirst(2))")
        if r.dryRun { print("nothing was changed") }
    }

    static func json(_ r: LFSRetentionReport) -> [String: Any] {
        [
            "name": r.mirror,
            "policy": r.policy.description,
            "dry_run": r.dryRun,
            "archive": r.archive as Any,
            "grace_seconds": r.graceSeconds,
            "refs_total": r.refsTotal,
            "refs_kept": r.refsKept,
            "objects_kept": r.objectsKept,
            "objects": r.items.map { item -> [String: Any] in
                ["oid": item.oid, "size": item.size, "action": item.action.rawValue, "why": item.why, "path": item.path as Any,
                 "shared_link": item.sharedLink, "error": item.error as Any]
            },
            "bytes_freed_now": r.bytesFreedNow,
            "bytes_freed_after_grace": r.bytesFreedAfterGrace,
            "bytes_still_linked": r.bytesStillLinked,
            "failed": r.failed,
            "error": r.error as Any,
            "duration_ms": r.durationMs,
        ]
    }
}

struct LFSRestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Bring LFS objects back from the trash or the archive into a mirror (verified by SHA-256 first).",
        discussion: "Objects with no copy left are marked missing, for the next 'lfs fetch'. A restored object the policy still leaves out goes again at the next prune: change --lfs-keep first.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Name of the mirror.") var name: String
    @Argument(help: "Object ids (64 lowercase hex digits).") var oids: [String] = []
    @Flag(help: "Every object of the mirror in the trash, the archive, or pruned.") var all = false
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        try MirrorName.validate(name)
        guard oids.isEmpty == all else { throw ValidationError("give object ids or --all (exactly one)") }
        for oid in oids where LFSOID(oid) == nil {
            throw ValidationError("invalid object id \(Redactor.quote(String(oid.prefix(80)))): an LFS oid is 64 lowercase hex digits")
        }
    }

    func run() throws {
        let (home, catalog) = try global.open()
        let mirror = try catalog.mirror(named: name)
        let report = LFSRetention(home: home, catalog: catalog).restore(mirror: mirror, oids: all ? nil : oids.compactMap(LFSOID.init), actor: .acting)
        if let error = report.error {
            if json { print(JSONShapes.encode(["name": mirror.name, "error": error] as [String: Any])) }
            throw CLIError(description: error, code: error.contains("is not an LFS object") ? Exit.badInput : Exit.syncFailed)
        }
        if json {
            func list(_ items: [LFSRetentionItem]) -> [[String: Any]] {
                items.map { ["oid": $0.oid, "size": $0.size, "from": $0.path as Any, "error": $0.error as Any] }
            }
            print(JSONShapes.encode([
                "name": mirror.name, "restored": list(report.restored), "to_fetch": list(report.toFetch), "failed": list(report.failed),
                "outside_policy": report.outsidePolicy, "error": NSNull(),
            ] as [String: Any]))
        } else {
            for item in report.restored { print("restored \(item.oid) (\(ByteFormat.format(item.size))) from \(item.path ?? "?")") }
            for item in report.toFetch { print("missing  \(item.oid): no copy here; 'mirrordeck lfs fetch \(mirror.name)' brings it in") }
            for item in report.failed { print("FAILED   \(item.oid): \(item.error ?? "?")") }
            if report.restored.isEmpty && report.toFetch.isEmpty && report.failed.isEmpty { print("\(mirror.name): nothing to restore") }
            if report.outsidePolicy > 0 {
                print("note: \(report.outsidePolicy) restored object(s) are outside lfs-keep \(mirror.lfsKeep): the next prune moves them again unless you change it")
            }
        }
        if !report.failed.isEmpty { throw Exit.syncFailed }
    }
}
