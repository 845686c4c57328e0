import Foundation

/// What a git repair did.
struct GitRepairOutcome: Sendable {
    /// Bad objects upstream still has: they are in the mirror again.
    var recovered: Set<GitOID> = []
    /// Bad objects upstream no longer has (or that could not be fetched).
    var unrecoverable: Set<GitOID> = []
    /// Good objects only the mirror had (upstream dropped them), carried over into the new store.
    var rescued = 0
    /// Whether the mirror's object store was replaced.
    var swapped = false
    /// Where the old object store went, relative to the home.
    var quarantinePath: String?
    var error: String?
}

/// Repairs a mirror's git object store from upstream, crash-safely:
///
/// 1. Fetch upstream (`+refs/*:refs/*`) into a fresh bare repository under `<home>/audit-work/<mirror>/`.
/// 2. Each bad object that fresh store has (verified) is recoverable; the others are unrecoverable.
/// 3. Copy into the fresh store every good object only the mirror has (nothing the mirror served is lost).
/// 4. fsync the fresh store, put a marker in it and write a journal, then swap the two `objects/`
///    directories in one atomic `renameat2(RENAME_EXCHANGE)` (or, where the file system lacks it, two
///    renames the journal lets `recover` finish). Refs, config and `lfs/` are never touched.
/// 5. Move the old object store — corrupt copies and all — to quarantine with a note.
///
/// `recover` (run before every audit, under the mirror's sync lock) finishes or rolls back a repair that
/// was killed at any step: before the swap the temporary clone is dropped; after it, the old store still
/// goes to quarantine.
struct GitRepair {
    let home: Home
    let mirror: Mirror
    let quarantine: Quarantine
    let progress: AuditProgress
    let isCancelled: @Sendable () -> Bool
    let tick: () -> Void

    static let marker = "mirrordeck-repaired-store"

    static func workDirectory(_ home: Home, _ name: String) -> String {
        home.root + "/audit-work/" + Quarantine.directoryName(name)
    }

    private static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Finishes or undoes a repair a crash interrupted; returns what it did, or nil when there was none.
    @discardableResult
    static func recover(home: Home, mirror: String, quarantine: Quarantine) -> String? {
        let work = workDirectory(home, mirror)
        guard exists(work) else { return nil }
        let objects = home.mirrorPath(mirror) + "/objects"
        let temp = work + "/repo.git"
        if !exists(objects) {
            // The fallback swap stopped between its two renames: put a store back in place.
            if exists(temp + "/objects/" + marker) {
                _ = rename(temp + "/objects", objects)
            } else if exists(work + "/objects.old") {
                _ = rename(work + "/objects.old", objects)
            }
            SafeFS.syncDirectory(home.mirrorPath(mirror))
        }
        if exists(objects + "/" + marker) {
            var moved: [String] = []
            for old in [temp + "/objects", work + "/objects.old"] where exists(old) && !exists(old + "/" + marker) {
                if let path = try? quarantine.move(old, to: "git/objects-before-repair", facts: [
                    ("what", "the mirror's object store before a repair replaced it (the repair was interrupted; finished later)"),
                ]) {
                    moved.append(path)
                }
            }
            unlink(objects + "/" + marker)
            try? FileManager.default.removeItem(atPath: work)
            return "finished an interrupted git repair" + (moved.isEmpty ? "" : "; old object store in \(moved.joined(separator: ", "))")
        }
        try? FileManager.default.removeItem(atPath: work)
        return "dropped the temporary clone of an interrupted git repair (the mirror was not changed)"
    }

    func repair(bad: Set<GitOID>) -> GitRepairOutcome {
        var outcome = GitRepairOutcome()
        let work = Self.workDirectory(home, mirror.name)
        let temp = work + "/repo.git"
        let mirrorPath = home.mirrorPath(mirror.name)
        try? FileManager.default.removeItem(atPath: work)
        defer {
            if !outcome.swapped || outcome.quarantinePath != nil {
                try? FileManager.default.removeItem(atPath: work)
                rmdir((work as NSString).deletingLastPathComponent)
            }
        }
        progress.begin(.repairing, objects: 0, bytes: 0, message: "fetching \(UpstreamURL.display(mirror.upstream)) into a temporary repository")
        tick()
        do {
            try SafeFS.makeDirectories(work)
            let repo = try GitRepository.openOrCreateMirror(path: temp)
            let context = CallbackContext(insecureTLS: mirror.insecureTLS) { [progress, isCancelled, tick] transfer in
                progress.set(objectsDone: Int64(transfer.receivedObjects), objectsTotal: Int64(transfer.totalObjects),
                             bytesDone: transfer.receivedBytes)
                tick()
                return !isCancelled()
            }
            let session = try RemoteSession(repository: repo, url: mirror.upstream, context: context)
            _ = try session.download()   // objects only: the repair takes the object store, never refs
        } catch {
            outcome.error = isCancelled() ? "cancelled" : "could not fetch from upstream: \(error)"
            outcome.unrecoverable = bad
            return outcome
        }
        if isCancelled() {
            outcome.error = "cancelled"
            outcome.unrecoverable = bad
            return outcome
        }
        do {
            try prepare(temp: temp, mirrorPath: mirrorPath, bad: bad, outcome: &outcome)
        } catch {
            outcome.error = "\(error)"
            outcome.unrecoverable = bad
            outcome.recovered = []
            return outcome
        }
        guard !outcome.recovered.isEmpty, !isCancelled() else {
            if isCancelled() { outcome.error = "cancelled" }
            outcome.unrecoverable = bad
            outcome.recovered = []
            return outcome
        }
        do {
            try swap(temp: temp, work: work, mirrorPath: mirrorPath, outcome: &outcome)
        } catch {
            outcome.error = "\(error)"
        }
        return outcome
    }

    /// Steps 2 and 3: sorts bad objects into recoverable and not, and carries over local-only good objects.
    private func prepare(temp: String, mirrorPath: String, bad: Set<GitOID>, outcome: inout GitRepairOutcome) throws {
        let fresh = try GitObjectDatabase.repository(path: temp)
        for oid in bad {
            if case .success = fresh.read(oid, { _, _ in () }) {
                outcome.recovered.insert(oid)
            } else {
                outcome.unrecoverable.insert(oid)
            }
        }
        guard !outcome.recovered.isEmpty else { return }
        let old = try GitObjectDatabase.repository(path: mirrorPath)
        let ids = Set(try old.allObjects())
        progress.begin(.repairing, objects: Int64(ids.count), bytes: 0, message: "keeping objects only the mirror has")
        for (n, oid) in ids.enumerated() {
            if n % 1024 == 0 {
                if isCancelled() { return }
                progress.set(objectsDone: Int64(n), objectsTotal: Int64(ids.count), bytesDone: 0)
                tick()
            }
            guard !bad.contains(oid), !fresh.exists(oid) else { continue }
            var failure: Error?
            let read = old.read(oid) { type, bytes in
                do { try fresh.write(type: type, bytes) } catch { failure = error }
            }
            if case .success = read, failure == nil { outcome.rescued += 1 }
            if let failure { throw failure }
        }
        let alternates = mirrorPath + "/objects/info/alternates"
        if Self.exists(alternates) {
            try SafeFS.makeDirectories(temp + "/objects/info")
            _ = try? FileManager.default.removeItem(atPath: temp + "/objects/info/alternates")
            try FileManager.default.copyItem(atPath: alternates, toPath: temp + "/objects/info/alternates")
        }
    }

    /// Steps 4 and 5.
    private func swap(temp: String, work: String, mirrorPath: String, outcome: inout GitRepairOutcome) throws {
        let newStore = temp + "/objects"
        let objects = mirrorPath + "/objects"
        progress.begin(.repairing, objects: 0, bytes: 0, message: "swapping in the repaired object store")
        tick()
        Self.syncTree(newStore)
        try SafeFS.writeDurably("repair by audit #\(quarantine.auditId)\n", to: newStore + "/" + Self.marker)
        try SafeFS.writeDurably("""
            git repair of \(mirror.name) by audit #\(quarantine.auditId)
            new store: \(newStore)
            mirror store: \(objects)
            """, to: work + "/swap.journal")
        let oldStore: String
        switch SafeFS.exchange(newStore, objects) {
        case true?:
            oldStore = newStore
        case false?:
            throw AuditError.io(path: objects, message: "cannot swap in the repaired object store: \(SafeFS.errorText)")
        case nil:
            oldStore = work + "/objects.old"
            guard rename(objects, oldStore) == 0 else {
                throw AuditError.io(path: objects, message: "cannot move the old object store aside: \(SafeFS.errorText)")
            }
            guard rename(newStore, objects) == 0 else {
                let message = SafeFS.errorText
                _ = rename(oldStore, objects)
                throw AuditError.io(path: objects, message: "cannot move the repaired object store in: \(message)")
            }
        }
        SafeFS.syncDirectory(mirrorPath)
        SafeFS.syncDirectory((oldStore as NSString).deletingLastPathComponent)
        outcome.swapped = true
        outcome.quarantinePath = try quarantine.move(oldStore, to: "git/objects-before-repair", facts: [
            ("what", "the mirror's object store before a repair replaced it with a fresh fetch from upstream"),
            ("recovered-objects", outcome.recovered.map(\.hex).sorted().joined(separator: " ")),
            ("unrecoverable-objects", outcome.unrecoverable.map(\.hex).sorted().joined(separator: " ")),
            ("rescued-local-objects", "\(outcome.rescued)"),
        ])
        unlink(objects + "/" + Self.marker)
        SafeFS.syncDirectory(objects)
    }

    /// fsyncs every file and directory below `root` (libgit2 does not, by default).
    static func syncTree(_ root: String) {
        SafeFS.walk(root) { path, kind in
            guard kind == .regular || kind == .directory else { return }
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            if fd >= 0 {
                fsync(fd)
                close(fd)
            }
        }
        SafeFS.syncDirectory(root)
    }
}
