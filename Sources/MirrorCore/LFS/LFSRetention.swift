import Crypto
import Foundation

/// What a retention run does (or would do) with one object.
public enum LFSRetentionAction: String, Sendable {
    /// Leaves the store for `lfs-trash/` (deleted when the grace period has passed).
    case trash
    /// Leaves the store for the mirror's archive directory (kept, served, restorable).
    case archive
    /// Not in the store and out of the policy: no longer fetched.
    case drop
    /// In the trash longer than the grace period: deleted.
    case delete
    /// Back in the policy: restored from the trash or the archive (or left for the next fetch).
    case readmit
}

/// One object of a retention plan.
public struct LFSRetentionItem: Sendable {
    public var oid: String
    public var size: Int64
    public var action: LFSRetentionAction
    /// Why, in words the operator can check ("only refs outside the policy point at it: refs/tags/v1").
    public var why: String
    /// Where it goes (trash, archive) or where it is (delete, readmit).
    public var path: String?
    /// Whether its bytes stay on disk anyway: another mirror holds a hard link to the same file.
    public var sharedLink = false
    /// Set by a real run when this object could not be handled (it then stays where it was).
    public var error: String?
}

/// What `lfs prune` (or the retention step of `maintain`) found and did for one mirror.
public struct LFSRetentionReport: Sendable {
    public var mirror: String
    public var policy: LFSKeepPolicy
    public var dryRun: Bool
    public var archive: String?
    public var graceSeconds: Int
    public var refsTotal = 0
    public var refsKept = 0
    public var objectsKept = 0
    public var items: [LFSRetentionItem] = []
    public var error: String?
    public var durationMs = 0

    public init(mirror: String, policy: LFSKeepPolicy, dryRun: Bool, archive: String?, graceSeconds: Int) {
        self.mirror = mirror
        self.policy = policy
        self.dryRun = dryRun
        self.archive = archive
        self.graceSeconds = graceSeconds
    }

    func count(_ action: LFSRetentionAction) -> Int { items.filter { $0.action == action && $0.error == nil }.count }

    /// Bytes the home's filesystem gets back now: objects deleted from the trash and objects moved to an
    /// archive on another filesystem, less those another mirror still links.
    public var bytesFreedNow: Int64 {
        items.filter { $0.error == nil && !$0.sharedLink && ($0.action == .delete || ($0.action == .archive && archiveElsewhere)) }
            .reduce(0) { $0 + $1.size }
    }

    /// Bytes that leave the store for the trash now and are freed when the grace period has passed.
    public var bytesFreedAfterGrace: Int64 {
        items.filter { $0.error == nil && !$0.sharedLink && ($0.action == .trash || ($0.action == .archive && !archiveElsewhere)) }
            .reduce(0) { $0 + $1.size }
    }

    /// Bytes of objects leaving this mirror whose file stays on disk as another mirror's hard link.
    public var bytesStillLinked: Int64 {
        items.filter { $0.error == nil && $0.sharedLink && [.trash, .archive].contains($0.action) }.reduce(0) { $0 + $1.size }
    }

    /// Whether the archive is on another filesystem than the home (moving there frees the home's disk).
    public var archiveElsewhere = false

    public var failed: Int { items.filter { $0.error != nil }.count }

    /// One line for the audit log and the CLI.
    public var summary: String {
        var parts: [String] = []
        let moved = count(.trash), archived = count(.archive)
        if moved > 0 { parts.append("\(moved) to the trash") }
        if archived > 0 { parts.append("\(archived) to the archive") }
        if count(.drop) > 0 { parts.append("\(count(.drop)) no longer fetched") }
        if count(.delete) > 0 { parts.append("\(count(.delete)) deleted after the grace period") }
        if count(.readmit) > 0 { parts.append("\(count(.readmit)) back in the policy") }
        if failed > 0 { parts.append("\(failed) failed") }
        let what = parts.isEmpty ? "nothing to do" : parts.joined(separator: ", ")
        return "lfs-keep \(policy) (\(refsKept)/\(refsTotal) refs, \(objectsKept) objects kept): \(what); frees \(ByteFormat.format(bytesFreedNow)) now"
            + ", \(ByteFormat.format(bytesFreedAfterGrace)) after the grace period (\(Interval.format(graceSeconds)))"
            + (bytesStillLinked > 0 ? "; \(ByteFormat.format(bytesStillLinked)) stay as other mirrors' hard links" : "")
    }
}

/// LFS retention: moves the objects a mirror's policy (`--lfs-keep`) no longer keeps out of its store — to
/// `lfs-trash/<date>/<mirror>/` or to its archive directory — deletes trashed objects after the grace
/// period, and brings objects back (`restore`, or when the policy keeps them again).
///
/// Nothing live is lost at any point: the catalog row names the destination before a file moves; on one
/// filesystem a move is one `rename`; across filesystems the copy is written, fsynced, re-read and verified
/// by SHA-256, renamed into place, and only then is the store's link removed. A crash leaves each object in
/// the store, in the trash/archive, or (briefly, both); the next run finishes the move. Only this mirror's
/// directory entry moves: another mirror's hard link to the same file is never touched.
/// Blocking: call from a thread of its own. Holds the mirror's LFS lock (no fetch of it runs meanwhile).
public struct LFSRetention: Sendable {
    public let home: Home
    public let catalog: Catalog

    public init(home: Home, catalog: Catalog) {
        self.home = home
        self.catalog = catalog
    }

    /// Where a trashed object of a mirror goes: `lfs-trash/<date>/<mirror>/lfs/objects/ab/cd/<oid>`.
    public func trashPath(mirror name: String, _ oid: LFSOID, now: Date = Date()) -> String {
        home.lfsTrashDirectory + "/" + Quarantine.day(now) + "/" + Quarantine.directoryName(name) + "/lfs/objects/" + oid.shardedPath
    }

    // MARK: - What the policy keeps

    /// The objects the trees at the kept refs' tips point at, the kept refs, and the refs left out.
    struct Kept {
        var objects: Set<String>
        var keptRefs: [String]
        var otherRefs: [LFSRepository.NamedTip]
        var refsTotal: Int
    }

    func kept(_ mirror: Mirror, isCancelled: @escaping () -> Bool = { false }) throws -> Kept {
        let path = home.mirrorPath(mirror.name)
        guard FileManager.default.fileExists(atPath: path + "/HEAD") else { throw LFSError.notSynced(name: mirror.name) }
        let repo = try LFSRepository.open(path: path)
        let refs = try repo.namedTips()
        let names = mirror.lfsKeep.keptRefs(refs.map { LFSKeepPolicy.Ref(name: $0.name, date: $0.date) })
        let keptTips = refs.filter { names.contains($0.name) }
        let scan = try PointerScanner(repository: repo, isCancelled: isCancelled).scanSnapshots(of: keptTips.map(\.tip))
        return Kept(objects: Set(scan.pointers.keys.map(\.hex)), keptRefs: keptTips.map(\.name).sorted(),
                    otherRefs: refs.filter { !names.contains($0.name) }.sorted { $0.name < $1.name }, refsTotal: refs.count)
    }

    /// The set of objects `mirror`'s policy keeps, or nil for `all` (everything is kept; nothing walked).
    func keptObjects(_ mirror: Mirror, isCancelled: @escaping () -> Bool = { false }) throws -> Set<String>? {
        guard mirror.lfsKeep != .all else { return nil }
        return try kept(mirror, isCancelled: isCancelled).objects
    }

    /// For objects leaving the store, the refs outside the policy that still point at each (the first 64
    /// such refs are looked at one by one, the rest together), so the operator sees why each goes.
    private func reasons(for oids: Set<String>, kept: Kept, repo: LFSRepository) -> [String: String] {
        guard !oids.isEmpty else { return [:] }
        var named: [String: [String]] = [:]
        let individually = kept.otherRefs.prefix(64)
        for ref in individually {
            guard let scan = try? PointerScanner(repository: repo).scanSnapshots(of: [ref.tip]) else { continue }
            for oid in scan.pointers.keys where oids.contains(oid.hex) { named[oid.hex, default: []].append(ref.name) }
        }
        var grouped = Set<String>()
        let rest = kept.otherRefs.dropFirst(64)
        if !rest.isEmpty, let scan = try? PointerScanner(repository: repo).scanSnapshots(of: rest.map(\.tip)) {
            grouped = Set(scan.pointers.keys.map(\.hex))
        }
        var out: [String: String] = [:]
        for oid in oids {
            if let refs = named[oid] {
                let shown = refs.prefix(3).joined(separator: ", ") + (refs.count > 3 ? " and \(refs.count - 3) more" : "")
                out[oid] = "only refs outside the policy point at it: \(shown)"
            } else if grouped.contains(oid) {
                out[oid] = "only refs outside the policy point at it"
            } else {
                out[oid] = "no ref's tip points at it (only older history does)"
            }
        }
        return out
    }

    // MARK: - Prune

    /// Plans (and unless `dryRun`, carries out) the policy for `mirror`: objects out of it leave the store,
    /// objects back in it are restored, trashed objects past the grace period are deleted. Records an
    /// `lfs-prune` event with the actor for a real run.
    public func prune(mirror: Mirror, dryRun: Bool, graceSeconds: Int, actor: Actor, now: Date = Date(),
                      isCancelled: @escaping () -> Bool = { false }) -> LFSRetentionReport {
        let started = Date()
        var report = LFSRetentionReport(mirror: mirror.name, policy: mirror.lfsKeep, dryRun: dryRun, archive: mirror.lfsArchive,
                                        graceSeconds: graceSeconds)
        var lock: FileLock?
        if !dryRun {
            do { lock = try LFSSync.acquireLock(home: home, mirror).get() } catch {
                report.error = "\(error)"
                return report
            }
        }
        defer { withExtendedLifetime(lock) {} }
        do {
            try plan(mirror: mirror, graceSeconds: graceSeconds, now: now, report: &report, isCancelled: isCancelled)
            if !dryRun { try carryOut(mirror: mirror, report: &report, now: now) }
        } catch {
            report.error = Redactor.redact("\(error)")
        }
        if !dryRun {
            let message = report.error.map { "LFS retention failed: \($0)" } ?? report.summary
            do {
                try catalog.finishLFSRetention(mirror: mirror, action: "lfs-prune", message: message, actor: actor, now: now)
            } catch {
                report.error = report.error ?? "\(error)"
            }
        }
        report.durationMs = Int(Date().timeIntervalSince(started) * 1000)
        return report
    }

    private func plan(mirror: Mirror, graceSeconds: Int, now: Date, report: inout LFSRetentionReport,
                      isCancelled: @escaping () -> Bool) throws {
        let rows = try catalog.lfsObjects(mirrorId: mirror.id!)
        var keptSet: Set<String>?
        var keptInfo: Kept?
        if mirror.lfsKeep != .all {
            let k = try kept(mirror, isCancelled: isCancelled)
            keptInfo = k
            keptSet = k.objects
            report.refsTotal = k.refsTotal
            report.refsKept = k.keptRefs.count
        } else if FileManager.default.fileExists(atPath: home.mirrorPath(mirror.name) + "/HEAD") {
            let repo = try LFSRepository.open(path: home.mirrorPath(mirror.name))
            report.refsTotal = try repo.namedTips().count
            report.refsKept = report.refsTotal
        }
        if let archive = mirror.lfsArchive {
            report.archiveElsewhere = Self.device(of: archive) != Self.device(of: home.root)
        }
        let isKept = { (oid: String) in keptSet?.contains(oid) ?? true }
        report.objectsKept = rows.filter { isKept($0.oid) }.count
        var leaving: [LFSObject] = []
        for row in rows {
            guard let oid = LFSOID(row.oid) else { continue }
            switch row.state {
            case .present where !isKept(row.oid):
                leaving.append(row)
            case .missing, .failed, .unavailable:
                if !isKept(row.oid) {
                    report.items.append(LFSRetentionItem(oid: row.oid, size: row.size, action: .drop,
                                                         why: "not in the store, and out of the policy: it will not be fetched"))
                }
            case .trashed, .archived, .pruned:
                if isKept(row.oid) {
                    let whereNow = row.retiredPath.map { " from \($0)" } ?? " by the next fetch (no copy here)"
                    report.items.append(LFSRetentionItem(oid: row.oid, size: row.size, action: .readmit,
                                                         why: "back in the policy: restored\(whereNow)", path: row.retiredPath))
                } else if row.state != .pruned, let path = row.retiredPath,
                          LFSStore.regularFileSize(home.lfsObjectPath(mirror.name, oid)) == row.size, LFSStore.regularFileSize(path) == nil {
                    // The row names a destination the file never reached (a crash between the two): finish the move.
                    var item = LFSRetentionItem(oid: row.oid, size: row.size, action: row.state == .trashed ? .trash : .archive,
                                                why: "finishing a move an earlier run left undone", path: path)
                    item.sharedLink = Self.linkCount(home.lfsObjectPath(mirror.name, oid)) > 1
                    report.items.append(item)
                } else if row.state == .trashed, let at = row.retiredAt, now.timeIntervalSince(at) >= TimeInterval(graceSeconds) {
                    var item = LFSRetentionItem(oid: row.oid, size: row.size, action: .delete,
                                                why: "in the trash since \(TimeFormat.iso(at) ?? "?"), longer than the grace period (\(Interval.format(graceSeconds)))",
                                                path: row.retiredPath)
                    item.sharedLink = row.retiredPath.map { Self.linkCount($0) > 1 } ?? false
                    report.items.append(item)
                }
            default:
                _ = oid
            }
        }
        guard !leaving.isEmpty else { return }
        var why: [String: String] = [:]
        if let keptInfo {
            let repo = try LFSRepository.open(path: home.mirrorPath(mirror.name))
            why = reasons(for: Set(leaving.map(\.oid)), kept: keptInfo, repo: repo)
        }
        for row in leaving {
            let oid = LFSOID(row.oid)!
            let archive = mirror.lfsArchive
            let target = archive.map { Home.lfsArchivePath(archive: $0, mirror: mirror.name, oid) } ?? trashPath(mirror: mirror.name, oid, now: now)
            var item = LFSRetentionItem(oid: row.oid, size: row.size, action: archive == nil ? .trash : .archive,
                                        why: why[row.oid] ?? "out of the policy", path: target)
            item.sharedLink = Self.linkCount(home.lfsObjectPath(mirror.name, oid)) > 1
            report.items.append(item)
        }
    }

    private func carryOut(mirror: Mirror, report: inout LFSRetentionReport, now: Date) throws {
        let mirrorId = mirror.id!
        // 1. The catalog first: rows name where each object goes before any file moves.
        var intents: [LFSRetireUpdate] = []
        for item in report.items {
            switch item.action {
            case .trash: intents.append(LFSRetireUpdate(oid: item.oid, state: .trashed, path: item.path))
            case .archive: intents.append(LFSRetireUpdate(oid: item.oid, state: .archived, path: item.path))
            case .drop: intents.append(LFSRetireUpdate(oid: item.oid, state: .pruned, path: nil))
            case .delete, .readmit: continue
            }
        }
        try catalog.retireLFSObjects(mirrorId: mirrorId, intents, now: now)

        // 2. The files, one by one; a failure puts that object's row back as it was.
        var updates: [LFSRetireUpdate] = []
        for i in report.items.indices {
            let item = report.items[i]
            guard let oid = LFSOID(item.oid) else { continue }
            let pointer = LFSPointer(oid: oid, size: item.size)
            let store = home.lfsObjectPath(mirror.name, oid)
            switch item.action {
            case .trash, .archive:
                do {
                    try Self.move(store, to: item.path!, pointer: pointer, home: home)
                } catch {
                    report.items[i].error = "\(error)"
                    updates.append(LFSRetireUpdate(oid: item.oid, state: .present, path: nil))
                }
            case .delete:
                guard let path = item.path, path.hasPrefix(home.lfsTrashDirectory + "/") else { continue }
                if unlink(path) != 0 && errno != ENOENT {
                    report.items[i].error = "cannot delete \(path): \(String(cString: strerror(errno)))"
                    continue
                }
                updates.append(LFSRetireUpdate(oid: item.oid, state: .pruned, path: nil))
            case .readmit:
                switch restoreCopy(mirror: mirror, pointer: pointer, from: item.path) {
                case .restored:
                    updates.append(LFSRetireUpdate(oid: item.oid, state: .present, path: nil))
                case .noCopy:
                    updates.append(LFSRetireUpdate(oid: item.oid, state: .missing, path: nil))
                case let .failed(message):
                    report.items[i].error = message
                    updates.append(LFSRetireUpdate(oid: item.oid, state: .missing, path: nil))
                }
            case .drop:
                continue
            }
        }
        try catalog.retireLFSObjects(mirrorId: mirrorId, updates, now: now)
        try sweepTrash(graceSeconds: report.graceSeconds, now: now)
    }

    // MARK: - Restore

    /// What restoring one object did.
    enum RestoreOutcome: Equatable {
        case restored
        /// Nothing to restore from (pruned, or its copy has gone): it has to be fetched again.
        case noCopy
        case failed(String)
    }

    /// Brings one object back into the mirror's store from its copy in the trash or the archive, after
    /// checking its size and SHA-256. A copy that does not verify is moved to the quarantine, never placed.
    func restoreCopy(mirror: Mirror, pointer: LFSPointer, from path: String?) -> RestoreOutcome {
        let store = home.lfsObjectPath(mirror.name, pointer.oid)
        if LFSStore.regularFileSize(store) == pointer.size, LFSStore.verify(path: store, pointer: pointer) {
            if let path, path.hasPrefix(home.lfsTrashDirectory + "/") { unlink(path) }
            return .restored
        }
        guard let path, LFSStore.regularFileSize(path) != nil else { return .noCopy }
        guard LFSStore.verify(path: path, pointer: pointer) else {
            let day = Quarantine.day(Date())
            let dir = home.quarantineDirectory + "/" + day + "/" + Quarantine.directoryName(mirror.name) + "/lfs"
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            if Self.sameDevice(path, home.root), rename(path, dir + "/" + pointer.oid.hex) == 0 {
                try? "found in \(path) with the wrong size or SHA-256 while restoring it\n".write(toFile: dir + "/" + pointer.oid.hex + ".why", atomically: true, encoding: .utf8)
            }
            return .failed("the copy at \(path) does not match its SHA-256; not restored (fetch it again)")
        }
        do {
            try Self.move(path, to: store, pointer: pointer, home: home)
            return .restored
        } catch {
            return .failed("\(error)")
        }
    }

    /// What `lfs restore` did.
    public struct RestoreReport: Sendable {
        public var mirror: String
        public var restored: [LFSRetentionItem] = []
        /// Objects with no copy here: marked missing, for the next `lfs fetch`.
        public var toFetch: [LFSRetentionItem] = []
        public var failed: [LFSRetentionItem] = []
        /// How many restored objects the policy does not keep (the next prune moves them again).
        public var outsidePolicy = 0
        public var error: String?
    }

    /// Brings trashed, archived or pruned objects of `mirror` back: `oids`, or every one when nil.
    /// Each copy is verified by SHA-256 before it is placed; objects without a copy are marked missing,
    /// so the next `lfs fetch` brings them in. Records an `lfs-restore` event with the actor.
    public func restore(mirror: Mirror, oids: [LFSOID]?, actor: Actor) -> RestoreReport {
        var report = RestoreReport(mirror: mirror.name)
        let lock: FileLock
        do { lock = try LFSSync.acquireLock(home: home, mirror).get() } catch {
            report.error = "\(error)"
            return report
        }
        defer { withExtendedLifetime(lock) {} }
        do {
            let rows = try catalog.lfsObjects(mirrorId: mirror.id!)
            let byOid = Dictionary(rows.map { ($0.oid, $0) }, uniquingKeysWith: { a, _ in a })
            var chosen: [LFSObject] = []
            if let oids {
                for oid in oids {
                    guard let row = byOid[oid.hex] else {
                        report.error = "\(oid.hex) is not an LFS object of \(mirror.name): see 'mirrordeck lfs status \(mirror.name) --all'"
                        return report
                    }
                    if row.state.isRetired { chosen.append(row) }
                }
            } else {
                chosen = rows.filter { $0.state.isRetired }
            }
            let keep = (try? keptObjects(mirror)) ?? nil
            var updates: [LFSRetireUpdate] = []
            for row in chosen {
                let pointer = LFSPointer(oid: LFSOID(row.oid)!, size: row.size)
                var item = LFSRetentionItem(oid: row.oid, size: row.size, action: .readmit, why: "restored by request", path: row.retiredPath)
                switch restoreCopy(mirror: mirror, pointer: pointer, from: row.retiredPath) {
                case .restored:
                    report.restored.append(item)
                    updates.append(LFSRetireUpdate(oid: row.oid, state: .present, path: nil))
                    if let keep, !keep.contains(row.oid) { report.outsidePolicy += 1 }
                case .noCopy:
                    report.toFetch.append(item)
                    updates.append(LFSRetireUpdate(oid: row.oid, state: .missing, path: nil))
                case let .failed(message):
                    item.error = message
                    report.failed.append(item)
                    updates.append(LFSRetireUpdate(oid: row.oid, state: .missing, path: nil))
                }
            }
            try catalog.retireLFSObjects(mirrorId: mirror.id!, updates)
            let bytes = report.restored.reduce(Int64(0)) { $0 + $1.size }
            var message = "restored \(report.restored.count) LFS object(s) (\(ByteFormat.format(bytes)))"
            if !report.toFetch.isEmpty { message += "; \(report.toFetch.count) had no copy and will be fetched again" }
            if !report.failed.isEmpty { message += "; \(report.failed.count) failed: \(report.failed[0].error ?? "")" }
            try catalog.finishLFSRetention(mirror: mirror, action: "lfs-restore", message: message, actor: actor)
        } catch {
            report.error = Redactor.redact("\(error)")
        }
        return report
    }

    // MARK: - The trash

    /// Deletes what lies in `lfs-trash/` longer than the grace period and belongs to no trashed row (left by
    /// a mirror that was removed), then removes empty directories. Files a row names are left to `prune`.
    func sweepTrash(graceSeconds: Int, now: Date = Date()) throws {
        let root = home.lfsTrashDirectory
        guard FileManager.default.fileExists(atPath: root) else { return }
        let named = try catalog.trashedPaths()
        let cutoff = now.timeIntervalSince1970 - TimeInterval(graceSeconds)
        var directories: [String] = []
        guard let walker = FileManager.default.enumerator(atPath: root) else { return }
        while let relative = walker.nextObject() as? String {
            let path = root + "/" + relative
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                directories.append(path)
            } else if !named.contains(path), TimeInterval(st.st_ctim.tv_sec) < cutoff {
                unlink(path)
            }
        }
        for dir in directories.sorted(by: { $0.count > $1.count }) { rmdir(dir) } // only empty ones go
    }

    // MARK: - Files

    /// Moves one object file to `target` so that it is never lost: one `rename` on one filesystem; across
    /// filesystems a copy to `<target>.part`, fsynced, dropped from the page cache, re-read and verified by
    /// SHA-256, renamed into place and its directory fsynced, and only then the source unlinked. A source
    /// already gone with a verified target in place is a move a crash interrupted: done.
    static func move(_ source: String, to target: String, pointer: LFSPointer, home: Home) throws {
        try LFSStore.makeParents(of: target)
        if LFSStore.regularFileSize(source) == nil {
            if LFSStore.regularFileSize(target) == pointer.size { return }
            throw LFSObjectError.local("\(source) is gone and no copy is at \(target)")
        }
        if rename(source, target) == 0 { return }
        let err = errno
        guard err == EXDEV else {
            throw LFSObjectError.local("cannot move \(source) to \(target): \(String(cString: strerror(err)))")
        }
        let part = target + ".part"
        defer { unlink(part) }
        try copyDurably(source, to: part)
        guard LFSStore.verify(path: part, pointer: pointer) else {
            throw LFSObjectError.local("the copy of \(source) at \(part) did not verify (size or SHA-256); the object stays where it was")
        }
        guard rename(part, target) == 0 else {
            throw LFSObjectError.local("cannot rename \(part) to \(target): \(String(cString: strerror(errno)))")
        }
        fsyncDirectory((target as NSString).deletingLastPathComponent)
        guard unlink(source) == 0 else {
            throw LFSObjectError.local("copied to \(target) but cannot remove \(source): \(String(cString: strerror(errno)))")
        }
    }

    /// Copies a file and makes the copy durable (fsync), then drops it from the page cache so the
    /// verification that follows reads what the disk holds.
    private static func copyDurably(_ source: String, to target: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw LFSObjectError.local("cannot open \(source): \(String(cString: strerror(errno)))") }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw LFSObjectError.local("cannot create \(target): \(String(cString: strerror(errno)))") }
        defer { close(output) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: LFSStore.chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(input, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw LFSObjectError.local("cannot read \(source): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            if let err = LFSStore.writeAll(output, UnsafeRawBufferPointer(rebasing: buffer[0..<n])) {
                throw LFSObjectError.local("cannot write \(target): \(String(cString: strerror(err)))")
            }
        }
        guard fsync(output) == 0 else { throw LFSObjectError.local("cannot fsync \(target): \(String(cString: strerror(errno)))") }
        _ = posix_fadvise(output, 0, 0, Int32(POSIX_FADV_DONTNEED))
    }

    static func fsyncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    static func linkCount(_ path: String) -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { return 0 }
        return Int(st.st_nlink)
    }

    static func device(of path: String) -> UInt64? {
        var dir = path
        var st = stat()
        while stat(dir, &st) != 0 {
            let parent = (dir as NSString).deletingLastPathComponent
            if parent == dir || parent.isEmpty { return nil }
            dir = parent
        }
        return UInt64(st.st_dev)
    }

    static func sameDevice(_ a: String, _ b: String) -> Bool {
        guard let x = device(of: a), let y = device(of: b) else { return false }
        return x == y
    }
}
