import Foundation

/// What the LFS half of an audit found and did.
struct LFSAuditOutcome: Sendable {
    var findings: [AuditFinding] = []
    var counts: [AuditVerdict: Int] = [:]
    var objectsChecked = 0
    var bytesChecked: Int64 = 0
    var skipped = 0
    var quarantined = 0
    /// Referenced objects that are not in place now (missing, or just quarantined): what `--repair` fetches.
    var needFetch: Set<String> = []
    var cancelled = false
}

/// Verifies every LFS object a mirror references: size and SHA-256 of each, on `threads` threads; finds
/// orphans, foreign files, symlinks and special files; quarantines what must not be served.
///
/// Runs on the calling thread (which also writes verdicts to the catalog a few times a second) plus its
/// hashing threads. Holds no lock itself: the auditor holds the mirror's LFS lock around it.
final class LFSAuditor: @unchecked Sendable {
    let home: Home
    let catalog: Catalog
    let mirror: Mirror
    let auditId: Int64
    let quarantine: Quarantine
    let options: AuditOptions
    let threads: Int
    let progress: AuditProgress
    let isCancelled: @Sendable () -> Bool
    let tick: () -> Void
    private let lock = NSLock()
    private var outcome = LFSAuditOutcome()
    private var pendingUpdates: [LFSVerdictUpdate] = []

    init(home: Home, catalog: Catalog, mirror: Mirror, auditId: Int64, quarantine: Quarantine, options: AuditOptions,
         threads: Int, progress: AuditProgress, isCancelled: @escaping @Sendable () -> Bool, tick: @escaping () -> Void) {
        self.home = home
        self.catalog = catalog
        self.mirror = mirror
        self.auditId = auditId
        self.quarantine = quarantine
        self.options = options
        self.threads = max(1, threads)
        self.progress = progress
        self.isCancelled = isCancelled
        self.tick = tick
    }

    /// A referenced object whose file is to be hashed.
    private struct HashJob: Sendable {
        var oid: LFSOID
        var expectedSize: Int64
        var fileSize: Int64
    }

    func run(now: Date = Date()) throws -> LFSAuditOutcome {
        let rows = try catalog.auditLFSRows(mirrorId: mirror.id!)
        let tree = LFSTree(mirrorPath: home.mirrorPath(mirror.name))
        guard tree.read() else { throw AuditError.notSynced(name: mirror.name) }
        let referenced = Set(rows.map(\.oid))
        let cutoff = options.sinceSeconds.map { now.addingTimeInterval(-TimeInterval($0)) }

        var jobs: [HashJob] = []
        var movedBlockers: [String: String] = [:] // stray path → quarantine path
        for row in rows {
            guard let oid = LFSOID(row.oid) else { continue }
            if let cutoff, row.state == .present, let at = row.verifiedAt, at >= cutoff,
               row.verdict == nil || row.verdict == AuditVerdict.ok.rawValue {
                outcome.skipped += 1
                continue
            }
            if let entry = tree.placed[oid.hex] {
                switch entry.kind {
                case .regular:
                    jobs.append(HashJob(oid: oid, expectedSize: row.size, fileSize: entry.size))
                case .symlink:
                    let target = SafeFS.linkTarget(AT_FDCWD, home.lfsObjectPath(mirror.name, oid)) ?? "?"
                    quarantineObject(oid, size: row.size, verdict: .symlink,
                                     detail: "a symlink to \(Redactor.quote(target)) stands in the object's place (not followed)",
                                     facts: [("symlink-target", target)])
                case let .special(what):
                    quarantineObject(oid, size: row.size, verdict: .special, detail: "a \(what) stands in the object's place (never opened)", facts: [])
                case .directory:
                    quarantineObject(oid, size: row.size, verdict: .special, detail: "a directory stands in the object's place", facts: [])
                }
            } else if let blocker = tree.blocker(of: oid) {
                // Reachable only through a symlink or not at all: the object is not really in the mirror.
                var quarantinedAt = movedBlockers[blocker.path]
                if quarantinedAt == nil, let moved = moveStray(blocker, reason: "it stood where the layout needs a directory") {
                    movedBlockers[blocker.path] = moved
                    quarantinedAt = moved
                }
                record(AuditFinding(area: .lfs, verdict: blocker.verdict, subject: oid.hex, size: row.size,
                                    detail: "its place is behind \(blocker.path): \(blocker.detail)",
                                    action: quarantinedAt == nil ? .reported : .quarantined, quarantinePath: quarantinedAt),
                       update: LFSVerdictUpdate(oid: oid.hex, verdict: blocker.verdict, state: .missing,
                                                error: "audit #\(auditId): \(blocker.path) is a \(blocker.verdict.rawValue), not a directory"),
                       needFetch: oid.hex)
            } else {
                let wasPresent = row.state == .present
                let why = wasPresent ? "the catalog had it present, but its file is gone"
                    : "the catalog has it \(row.state.rawValue)" + (row.error.map { " (\($0))" } ?? "")
                record(AuditFinding(area: .lfs, verdict: .missing, subject: oid.hex, size: row.size, detail: "not in the mirror: \(why)"),
                       update: LFSVerdictUpdate(oid: oid.hex, verdict: .missing, state: wasPresent ? .missing : nil,
                                                error: wasPresent ? "audit #\(auditId): its file was missing from the mirror" : nil),
                       needFetch: oid.hex)
            }
        }

        // Strays: symlinks, special files, foreign names; orphans are valid objects no ref points at.
        for stray in tree.strays where movedBlockers[stray.path] == nil {
            let moved = options.repair ? moveStray(stray, reason: "--repair moves what does not belong in lfs/objects") : nil
            record(AuditFinding(area: .lfs, verdict: stray.verdict, subject: stray.path, size: stray.kind == .regular ? stray.size : nil,
                                detail: stray.detail, action: moved == nil ? .reported : .quarantined, quarantinePath: moved))
        }
        for (hex, entry) in tree.placed where !referenced.contains(hex) {
            let path = "lfs/objects/" + LFSOID(hex)!.shardedPath
            switch entry.kind {
            case .regular:
                record(AuditFinding(area: .lfs, verdict: .orphan, subject: hex, size: entry.size,
                                    detail: "\(path) is not referenced by any ref the catalog knows (kept)"))
            default:
                let verdict: AuditVerdict = entry.kind == .symlink ? .symlink : .special
                let target = entry.kind == .symlink ? SafeFS.linkTarget(AT_FDCWD, home.mirrorPath(mirror.name) + "/" + path) ?? "?" : ""
                let stray = LFSTree.Stray(path: path, kind: entry.kind, verdict: verdict,
                                          detail: entry.kind == .symlink ? "an unreferenced symlink to \(Redactor.quote(target)) (not followed)"
                                              : "an unreferenced special file or directory (never opened)",
                                          size: 0)
                let moved = options.repair ? moveStray(stray, reason: "--repair moves what does not belong in lfs/objects") : nil
                record(AuditFinding(area: .lfs, verdict: verdict, subject: path, detail: stray.detail,
                                    action: moved == nil ? .reported : .quarantined, quarantinePath: moved))
            }
        }
        flush()

        try hash(jobs, tree: tree)
        flush()
        lock.lock()
        defer { lock.unlock() }
        return outcome
    }

    /// Re-hashes objects after a repair fetched them; returns the oids that now verify.
    func reverify(_ oids: Set<String>) throws -> Set<String> {
        let rows = try catalog.auditLFSRows(mirrorId: mirror.id!).filter { oids.contains($0.oid) }
        let tree = LFSTree(mirrorPath: home.mirrorPath(mirror.name))
        guard tree.read() else { throw AuditError.notSynced(name: mirror.name) }
        lock.lock()
        outcome = LFSAuditOutcome()
        lock.unlock()
        var jobs: [HashJob] = []
        for row in rows {
            guard let oid = LFSOID(row.oid), let entry = tree.placed[oid.hex], entry.kind == .regular else { continue }
            jobs.append(HashJob(oid: oid, expectedSize: row.size, fileSize: entry.size))
        }
        try hash(jobs, tree: tree)
        flush()
        lock.lock()
        defer { lock.unlock() }
        let bad = Set(outcome.findings.map(\.subject))
        return Set(jobs.map(\.oid.hex)).subtracting(bad).intersection(oids)
    }

    /// The findings, counts and bytes of the last `run` or `reverify`.
    var current: LFSAuditOutcome {
        lock.lock()
        defer { lock.unlock() }
        return outcome
    }

    // MARK: - Hashing

    private func hash(_ jobs: [HashJob], tree: LFSTree) throws {
        let ordered = jobs.sorted { $0.fileSize > $1.fileSize } // big first: the tail is made of small files
        progress.begin(.lfs, objects: Int64(ordered.count), bytes: ordered.reduce(0) { $0 + $1.fileSize },
                       message: "verifying \(ordered.count) LFS objects")
        guard !ordered.isEmpty else { return }
        let bucket = options.maxRate.map { TokenBucket(bytesPerSecond: $0, burst: FileHasher.chunk(forRate: $0)) }
        let chunk = FileHasher.chunk(forRate: options.maxRate)
        let next = IndexCounter()
        let group = DispatchGroup()
        for _ in 0..<min(threads, ordered.count) {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                let hasher = FileHasher(chunk: chunk, bucket: bucket, isCancelled: isCancelled)
                while let i = next.take(below: ordered.count) {
                    if isCancelled() { break }
                    verify(ordered[i], tree: tree, hasher: hasher)
                }
            }
            thread.name = "mirrordeck-audit-lfs"
            thread.stackSize = 1 << 20
            thread.start()
        }
        while group.wait(timeout: .now() + JobContext.minimumReportInterval) == .timedOut {
            flush()
            tick()
        }
        if isCancelled() {
            lock.lock()
            outcome.cancelled = true
            lock.unlock()
        }
    }

    private func verify(_ job: HashJob, tree: LFSTree, hasher: FileHasher) {
        let oid = job.oid
        let fd = tree.openObject(oid)
        guard fd >= 0 else {
            let err = errno
            if err == ENOENT {
                record(AuditFinding(area: .lfs, verdict: .missing, subject: oid.hex, size: job.expectedSize, detail: "disappeared during the audit"),
                       update: LFSVerdictUpdate(oid: oid.hex, verdict: .missing, state: .missing, error: "audit #\(auditId): its file was missing"),
                       needFetch: oid.hex)
            } else {
                quarantineObject(oid, size: job.expectedSize, verdict: err == ELOOP ? .symlink : .unreadable,
                                 detail: "cannot be opened safely: \(String(cString: strerror(err)))", facts: [])
            }
            progress.finished()
            return
        }
        var st = stat()
        fstat(fd, &st)
        let identity = (UInt64(st.st_dev), UInt64(st.st_ino), UInt64(st.st_nlink))
        let result = hasher.hash(fd: fd, sizeHint: job.fileSize) { self.progress.add(bytes: $0) }
        close(fd)
        switch result {
        case .failure(.cancelled):
            return
        case let .failure(.io(err)):
            quarantineObject(oid, size: job.expectedSize, verdict: .unreadable,
                             detail: "read failed: \(String(cString: strerror(err))) (the disk may be failing)", facts: [])
        case let .success(hash):
            lock.lock()
            outcome.objectsChecked += 1
            outcome.bytesChecked += hash.size
            lock.unlock()
            let facts = [("expected-oid", oid.hex), ("expected-size", "\(job.expectedSize)"),
                         ("actual-sha256", hash.sha256), ("actual-size", "\(hash.size)")]
            if hash.size < job.expectedSize {
                quarantineObject(oid, size: job.expectedSize, verdict: .truncated,
                                 detail: "\(hash.size) bytes, the pointer says \(job.expectedSize); SHA-256 \(hash.sha256)", facts: facts, identity: identity)
            } else if hash.size > job.expectedSize {
                quarantineObject(oid, size: job.expectedSize, verdict: .wrongSize,
                                 detail: "\(hash.size) bytes, the pointer says \(job.expectedSize); SHA-256 \(hash.sha256)", facts: facts, identity: identity)
            } else if hash.sha256 != oid.hex {
                quarantineObject(oid, size: job.expectedSize, verdict: .corrupt,
                                 detail: "the bytes hash to \(hash.sha256)", facts: facts, identity: identity)
            } else {
                record(nil, update: LFSVerdictUpdate(oid: oid.hex, verdict: .ok, state: .present, error: nil), verdict: .ok)
            }
        }
        progress.finished()
    }

    // MARK: - Quarantine and bookkeeping

    /// Moves the thing at an object's place to quarantine and marks the object missing (so nothing serves
    /// it). A corrupt file hard-linked into other mirrors is the same bad bytes there: those links go too.
    private func quarantineObject(_ oid: LFSOID, size: Int64, verdict: AuditVerdict, detail: String,
                                  facts: [(String, String)], identity: (UInt64, UInt64, UInt64)? = nil) {
        let path = home.lfsObjectPath(mirror.name, oid)
        var finding = AuditFinding(area: .lfs, verdict: verdict, subject: oid.hex, size: size, detail: detail)
        var state: LFSObjectState? = .missing
        var rowError = "audit #\(auditId): \(verdict.rawValue), moved to quarantine"
        do {
            let notes = [("verdict", verdict.rawValue), ("detail", detail)] + (facts.isEmpty ? [("expected-oid", oid.hex), ("expected-size", "\(size)")] : facts)
            finding.quarantinePath = try quarantine.move(path, to: "lfs/" + oid.hex, within: home.mirrorPath(mirror.name), facts: notes)
            finding.action = .quarantined
            lock.lock()
            outcome.quarantined += 1
            lock.unlock()
        } catch {
            finding.detail += "; could not be quarantined: \(error)"
            state = .missing
            rowError = "audit #\(auditId): \(verdict.rawValue); could not be moved to quarantine"
        }
        record(finding, update: LFSVerdictUpdate(oid: oid.hex, verdict: verdict, state: state, error: rowError), needFetch: oid.hex)
        if let identity, identity.2 > 1, finding.action == .quarantined {
            quarantineLinkedCopies(oid, identity: identity, verdict: verdict, detail: detail, facts: facts)
        }
    }

    private func quarantineLinkedCopies(_ oid: LFSOID, identity: (UInt64, UInt64, UInt64), verdict: AuditVerdict,
                                        detail: String, facts: [(String, String)]) {
        let holders = (try? catalog.lfsHolders(oid: oid.hex, excluding: mirror.id!)) ?? []
        for name in holders where MirrorName.isValid(name) {
            let path = home.lfsObjectPath(name, oid)
            var st = stat()
            guard lstat(path, &st) == 0, UInt64(st.st_dev) == identity.0, UInt64(st.st_ino) == identity.1 else { continue }
            let other = Quarantine(home: home, mirror: name, auditId: auditId, actor: quarantine.actor, started: Date())
            let notes = [("verdict", verdict.rawValue), ("detail", detail),
                         ("reason", "a hard link of the \(verdict.rawValue) copy found in mirror \(mirror.name)")] + facts
            guard let moved = try? other.move(path, to: "lfs/" + oid.hex, within: home.mirrorPath(name), facts: notes) else { continue }
            try? catalog.markLFSObjectMissing(mirrorName: name, oid: oid.hex, verdict: verdict,
                                              error: "audit #\(auditId) of \(mirror.name): hard link of a \(verdict.rawValue) file, moved to quarantine")
            record(AuditFinding(area: .lfs, verdict: verdict, subject: oid.hex, size: nil,
                                detail: "the same file was hard-linked into mirror \(name): quarantined there too",
                                action: .quarantined, quarantinePath: moved), counted: false)
        }
    }

    /// Moves a stray entry to `quarantine/…/stray/<its path>`; nil when it could not be moved.
    private func moveStray(_ stray: LFSTree.Stray, reason: String) -> String? {
        let notes = [("verdict", stray.verdict.rawValue), ("detail", stray.detail), ("reason", reason)]
        guard let moved = try? quarantine.move(home.mirrorPath(mirror.name) + "/" + stray.path, to: "stray/" + stray.path,
                                               within: home.mirrorPath(mirror.name), facts: notes) else {
            return nil
        }
        lock.lock()
        outcome.quarantined += 1
        lock.unlock()
        return moved
    }

    private func record(_ finding: AuditFinding?, update: LFSVerdictUpdate? = nil, needFetch: String? = nil, verdict: AuditVerdict? = nil,
                        counted: Bool = true) {
        lock.lock()
        defer { lock.unlock() }
        if counted, let v = finding?.verdict ?? verdict {
            outcome.counts[v, default: 0] += 1
            if v.isProblem { progress.problem() }
        }
        if let finding { outcome.findings.append(finding) }
        if let update { pendingUpdates.append(update) }
        if let needFetch { outcome.needFetch.insert(needFetch) }
    }

    /// Writes the verdicts gathered since the last call.
    func flush() {
        lock.lock()
        let updates = pendingUpdates
        pendingUpdates = []
        lock.unlock()
        do {
            try catalog.recordLFSVerdicts(mirrorId: mirror.id!, updates)
        } catch {
            lock.lock()
            pendingUpdates = updates + pendingUpdates
            lock.unlock()
        }
    }
}

/// Hands out indexes 0..<n to threads, each once.
final class IndexCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0

    func take(below count: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }
}
