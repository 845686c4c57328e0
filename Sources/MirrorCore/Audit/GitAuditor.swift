import CGit2
import Crypto
import Foundation

/// A pack an audit verified clean (so `--since` may skip it next time: packs never change).
struct VerifiedPack: Sendable, Equatable {
    var name: String
    var size: Int64
}

/// What the git half of an audit found and did.
struct GitAuditOutcome: Sendable {
    var findings: [AuditFinding] = []
    var counts: [AuditVerdict: Int] = [:]
    var objectsChecked = 0
    var bytesChecked: Int64 = 0
    var packsChecked = 0
    var packsSkipped = 0
    var verifiedPacks: [VerifiedPack] = []
    /// Every `pack-*.pack` in the mirror now.
    var presentPacks: [String] = []
    /// Objects that are corrupt somewhere or missing, and targets of broken refs: what a repair must bring back.
    var badObjects: Set<GitOID> = []
    /// Packs with a checksum problem (a repair replaces the whole object store, so they go too).
    var badPacks: [String] = []
    var cancelled = false

    /// Whether anything in the object database or the refs is wrong.
    var hasProblems: Bool { findings.contains { $0.verdict.isProblem } }
}

/// Verifies a bare repository's object database the way `git fsck --full` does, with libgit2:
///
/// 1. Packs: each pack's SHA-1 trailer against its content and its index, the index's own checksum, and
///    the CRC-32 the index (v2) records for every object's packed bytes — read sequentially in large chunks.
/// 2. Objects: every object in every pack (through a database holding only that pack) and every loose
///    object is read, inflated, delta-resolved and re-hashed; its SHA-1 must be its id.
/// 3. Refs: each points at an object that exists.
/// 4. Reachability: everything reachable from the refs (parents, trees, blobs, tag targets) exists.
///
/// Corrupt loose objects are moved to quarantine (when a quarantine is given); packs are never touched here.
final class GitAuditor: @unchecked Sendable {
    let repositoryPath: String
    let quarantine: Quarantine?
    let options: AuditOptions
    let threads: Int
    let progress: AuditProgress
    let isCancelled: @Sendable () -> Bool
    let tick: () -> Void
    /// Packs verified before (name → size, when), for `--since`.
    let verifiedBefore: [String: (size: Int64, at: Date)]
    private let lock = NSLock()
    private var outcome = GitAuditOutcome()
    /// (container, oid) of findings already made, so a pack's CRC and its read failure make one finding.
    private var reported: [String: Int] = [:]

    init(repositoryPath: String, quarantine: Quarantine?, options: AuditOptions, threads: Int, progress: AuditProgress,
         verifiedBefore: [String: (size: Int64, at: Date)] = [:],
         isCancelled: @escaping @Sendable () -> Bool, tick: @escaping () -> Void) {
        self.repositoryPath = repositoryPath
        self.quarantine = quarantine
        self.options = options
        self.threads = max(1, threads)
        self.progress = progress
        self.verifiedBefore = verifiedBefore
        self.isCancelled = isCancelled
        self.tick = tick
    }

    private var objectsDirectory: String { repositoryPath + "/objects" }

    /// One place objects are stored.
    private struct Container: Sendable {
        var name: String
        /// Nil for the loose objects.
        var idxPath: String?
        var packPath: String?
        var index: PackIndex?
        var size: Int64
    }

    private struct Item: Sendable {
        var oid: GitOID
        var container: Int
        /// Bytes this object occupies on disk (packed size, or the loose file's size).
        var cost: Int64
    }

    func run(now: Date = Date()) throws -> GitAuditOutcome {
        guard FileManager.default.fileExists(atPath: repositoryPath + "/HEAD") else {
            throw AuditError.repository(path: repositoryPath, message: "not a git repository (no HEAD)")
        }
        let cutoff = options.sinceSeconds.map { now.addingTimeInterval(-TimeInterval($0)) }
        var containers: [Container] = []
        var packScans: [(Int, String)] = [] // container index, pack name
        let packDir = objectsDirectory + "/pack"
        let packFiles = SafeFS.directoryEntries(packDir).filter { $0.hasPrefix("pack-") && $0.hasSuffix(".pack") }.sorted()
        outcome.presentPacks = packFiles
        for packName in packFiles {
            let base = String(packName.dropLast(".pack".count))
            let packPath = packDir + "/" + packName
            let idxPath = packDir + "/" + base + ".idx"
            var st = stat()
            guard lstat(packPath, &st) == 0, SafeFS.kind(st) == .regular else {
                addFinding(AuditFinding(area: .git, verdict: .badPack, subject: packName, detail: "not a regular file"), key: "pack:" + packName)
                continue
            }
            let size = Int64(st.st_size)
            var idxStat = stat()
            guard lstat(idxPath, &idxStat) == 0 else { continue } // no index: git ignores the pack (an interrupted write)
            if let cutoff, let before = verifiedBefore[packName], before.size == size, before.at >= cutoff {
                outcome.packsSkipped += 1
                continue
            }
            let index: PackIndex
            do {
                index = try PackIndex.load(path: idxPath)
            } catch {
                addFinding(AuditFinding(area: .git, verdict: .badPack, subject: base + ".idx", size: Int64(idxStat.st_size), detail: "the pack index \(error)"),
                           key: "pack:" + packName)
                outcome.badPacks.append(packName)
                continue
            }
            if !index.selfChecksumOK {
                addFinding(AuditFinding(area: .git, verdict: .badPack, subject: base + ".idx", size: Int64(idxStat.st_size),
                                        detail: "the pack index's SHA-1 checksum does not match its content"), key: "idx:" + packName)
                outcome.badPacks.append(packName)
            }
            containers.append(Container(name: packName, idxPath: idxPath, packPath: packPath, index: index, size: size))
            packScans.append((containers.count - 1, packName))
        }
        let looseIndex = containers.count
        containers.append(Container(name: "loose objects", size: 0))
        let loose = listLoose()

        // 1. Pack checksums and per-object CRCs.
        let packBytes = packScans.reduce(Int64(0)) { $0 + containers[$1.0].size }
        progress.begin(.gitPacks, objects: Int64(packScans.count), bytes: packBytes, message: "verifying \(packScans.count) pack(s)")
        let bucket = options.maxRate.map { TokenBucket(bytesPerSecond: $0, burst: FileHasher.chunk(forRate: $0)) }
        let chunk = FileHasher.chunk(forRate: options.maxRate)
        var unusable = Set<Int>() // packs libgit2 would refuse as a whole
        let scanned = containers
        let scanList = packScans
        let scans = parallel(scanList.count) { i -> PackScan in
            let c = scanned[scanList[i].0]
            let scan = Self.scanPack(path: c.packPath!, index: c.index!, chunk: chunk, bucket: bucket, isCancelled: self.isCancelled) {
                self.progress.add(bytes: $0)
            }
            self.progress.finished()
            return scan
        }
        if isCancelled() { return cancelled() }
        for (i, scan) in scans.enumerated() {
            let (ci, name) = packScans[i]
            let c = containers[ci]
            outcome.packsChecked += 1
            outcome.bytesChecked += scan.bytesRead
            var packProblems: [String] = []
            if let error = scan.error { packProblems.append(error) }
            if !scan.headerOK { packProblems.append("its header is not a valid pack header for \(c.index!.oids.count) objects") }
            if !scan.trailerOK { packProblems.append("its SHA-1 trailer does not match its content") }
            if !scan.matchesIndex {
                packProblems.append("its trailer does not match the checksum its index records")
                unusable.insert(ci)
            }
            if scan.error != nil || !scan.headerOK { unusable.insert(ci) }
            if !packProblems.isEmpty {
                addFinding(AuditFinding(area: .git, verdict: .badPack, subject: name, size: c.size, detail: packProblems.joined(separator: "; ")),
                           key: "pack:" + name)
                outcome.badPacks.append(name)
            }
            for entry in scan.badCRC {
                let oid = c.index!.oids[entry]
                addFinding(AuditFinding(area: .git, verdict: .corruptObject, subject: oid.hex,
                                        detail: "\(name) at offset \(c.index!.offsets[entry]): packed bytes fail their CRC-32"),
                           key: "\(ci):\(oid.hex)")
                outcome.badObjects.insert(oid)
            }
        }

        // 2. Every stored copy of every object, read and re-hashed.
        var items: [Item] = []
        for (ci, c) in containers.enumerated() where c.index != nil && !unusable.contains(ci) {
            let index = c.index!
            let order = index.offsets.indices.sorted { index.offsets[$0] < index.offsets[$1] }
            for (k, entry) in order.enumerated() {
                let end = k + 1 < order.count ? index.offsets[order[k + 1]] : max(index.offsets[entry], c.size - 20)
                items.append(Item(oid: index.oids[entry], container: ci, cost: max(0, end - index.offsets[entry])))
            }
        }
        for (oid, size) in loose { items.append(Item(oid: oid, container: looseIndex, cost: size)) }
        outcome.bytesChecked += loose.reduce(Int64(0)) { $0 + $1.1 }
        try verifyObjects(items, containers: containers, bucket: bucket)
        if isCancelled() { return cancelled() }

        // Corrupt loose copies go to quarantine (a good copy in a pack, if any, then serves).
        if let quarantine {
            for i in outcome.findings.indices where outcome.findings[i].verdict == .corruptObject && reported["\(looseIndex):\(outcome.findings[i].subject)"] == i {
                let hex = outcome.findings[i].subject
                let rel = "objects/" + hex.prefix(2) + "/" + hex.dropFirst(2)
                if let moved = try? quarantine.move(repositoryPath + "/" + rel, to: "git/" + rel, within: repositoryPath,
                                                    facts: [("verdict", "corrupt-object"), ("expected-id", hex), ("detail", outcome.findings[i].detail)]) {
                    outcome.findings[i].action = .quarantined
                    outcome.findings[i].quarantinePath = moved
                }
            }
        }

        // 3 and 4. Refs, and everything they reach.
        try checkGraph()
        if isCancelled() { return cancelled() }
        for (ci, c) in containers.enumerated() where c.index != nil {
            let clean = !outcome.badPacks.contains(c.name) && !reported.keys.contains { $0.hasPrefix("\(ci):") }
            if clean { outcome.verifiedPacks.append(VerifiedPack(name: c.name, size: c.size)) }
        }
        return outcome
    }

    private func cancelled() -> GitAuditOutcome {
        outcome.cancelled = true
        return outcome
    }

    private func addFinding(_ finding: AuditFinding, key: String) {
        lock.lock()
        defer { lock.unlock() }
        if let existing = reported[key] {
            if !outcome.findings[existing].detail.contains(finding.detail) {
                outcome.findings[existing].detail += "; " + finding.detail
            }
            return
        }
        reported[key] = outcome.findings.count
        outcome.findings.append(finding)
        outcome.counts[finding.verdict, default: 0] += 1
        if finding.verdict.isProblem { progress.problem() }
    }

    /// Loose objects: `objects/ab/<38 hex>` regular files, with their sizes.
    private func listLoose() -> [(GitOID, Int64)] {
        var out: [(GitOID, Int64)] = []
        for dir in SafeFS.directoryEntries(objectsDirectory) where LFSTree.isShard(dir) {
            let dirPath = objectsDirectory + "/" + dir
            for name in SafeFS.directoryEntries(dirPath) where name.utf8.count == 38 {
                var st = stat()
                guard lstat(dirPath + "/" + name, &st) == 0, SafeFS.kind(st) == .regular,
                      let oid = GitOID(hex: Array((dir + name).utf8)) else { continue }
                out.append((oid, Int64(st.st_size)))
            }
        }
        return out
    }

    // MARK: - Objects

    private func verifyObjects(_ items: [Item], containers: [Container], bucket: TokenBucket?) throws {
        progress.begin(.gitObjects, objects: Int64(items.count), bytes: items.reduce(Int64(0)) { $0 + $1.cost },
                       message: "verifying \(items.count) git objects")
        let batch = 256
        let batches = (items.count + batch - 1) / batch
        let next = IndexCounter()
        let group = DispatchGroup()
        let objectsDirectory = self.objectsDirectory
        for _ in 0..<min(threads, max(1, batches)) {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                var databases: [Int: GitObjectDatabase] = [:]
                var broken = Set<Int>()
                var ok = 0
                while let b = next.take(below: batches) {
                    for item in items[(b * batch)..<min(items.count, (b + 1) * batch)] {
                        if isCancelled() { break }
                        if let bucket, !bucket.take(Int(min(Int64(Int32.max), item.cost)), isCancelled: isCancelled) { break }
                        defer {
                            progress.add(bytes: item.cost)
                            progress.finished()
                        }
                        let c = containers[item.container]
                        guard !broken.contains(item.container) else { continue }
                        if databases[item.container] == nil {
                            do {
                                databases[item.container] = try c.idxPath.map { try GitObjectDatabase.pack(idxPath: $0) }
                                    ?? GitObjectDatabase.loose(objectsDirectory: objectsDirectory)
                            } catch {
                                broken.insert(item.container)
                                addFinding(AuditFinding(area: .git, verdict: .badPack, subject: c.name, detail: "cannot be opened: \(error)"),
                                           key: "pack:" + c.name)
                                lock.lock()
                                outcome.badPacks.append(c.name)
                                lock.unlock()
                                continue
                            }
                        }
                        switch databases[item.container]!.read(item.oid, { _, _ in () }) {
                        case .success:
                            ok += 1
                        case .failure(.notFound):
                            record(item, c, "listed but cannot be found: the \(item.container == containers.count - 1 ? "file vanished" : "pack index is inconsistent")")
                        case let .failure(.corrupt(message)):
                            record(item, c, message)
                        }
                    }
                }
                lock.lock()
                outcome.objectsChecked += ok
                outcome.counts[.ok, default: 0] += ok
                lock.unlock()
            }
            thread.name = "mirrordeck-audit-git"
            thread.stackSize = 4 << 20
            thread.start()
        }
        while group.wait(timeout: .now() + JobContext.minimumReportInterval) == .timedOut { tick() }
    }

    private func record(_ item: Item, _ c: Container, _ message: String) {
        let place = c.idxPath == nil ? "loose object objects/\(item.oid.hex.prefix(2))/\(item.oid.hex.dropFirst(2))" : c.name
        addFinding(AuditFinding(area: .git, verdict: .corruptObject, subject: item.oid.hex, detail: "\(place): \(message)"),
                   key: "\(item.container):\(item.oid.hex)")
        lock.lock()
        outcome.badObjects.insert(item.oid)
        lock.unlock()
    }

    // MARK: - Refs and reachability

    private enum Hint { case any, commit, tree, blob }

    private func checkGraph() throws {
        progress.begin(.gitGraph, objects: 0, bytes: 0, message: "checking refs and reachability")
        let db = try GitObjectDatabase.repository(path: repositoryPath)
        let refs: [GitObjectDatabase.Ref]
        do {
            refs = try db.refs()
        } catch {
            addFinding(AuditFinding(area: .git, verdict: .brokenRef, subject: "refs", detail: "the refs cannot be read: \(error)"), key: "refs")
            return
        }
        var known = Set(outcome.findings.compactMap { $0.verdict == .corruptObject ? GitOID(hex: $0.subject) : nil })
        var stack: [(GitOID, Hint, String)] = []
        for ref in refs {
            guard let target = ref.target else { continue }
            if db.exists(target) {
                stack.append((target, .any, ref.name))
            } else {
                addFinding(AuditFinding(area: .git, verdict: .brokenRef, subject: ref.name,
                                        detail: "points at \(target.hex), which is not in the object database"), key: "ref:" + ref.name)
                outcome.badObjects.insert(target)
            }
        }
        var visited = Set<GitOID>()
        var steps = 0
        while let (oid, hint, from) = stack.popLast() {
            guard visited.insert(oid).inserted else { continue }
            steps += 1
            if steps % 4096 == 0 {
                if isCancelled() { return }
                progress.finished(objects: 4096)
                tick()
            }
            if hint == .blob {
                if !db.exists(oid) && !known.contains(oid) { missing(oid, "blob", from: from) }
                continue
            }
            let result = db.read(oid) { type, bytes -> Void in
                let me = Self.typeName(type) + " " + oid.hex
                switch type {
                case GIT_OBJECT_COMMIT:
                    Self.commitLinks(bytes) { id, isTree in stack.append((id, isTree ? .tree : .commit, me)) }
                case GIT_OBJECT_TREE:
                    Self.treeLinks(bytes) { id, isTree in stack.append((id, isTree ? .tree : .blob, me)) }
                case GIT_OBJECT_TAG:
                    if let id = Self.tagTarget(bytes) { stack.append((id, .any, me)) }
                default:
                    break
                }
            }
            switch result {
            case .success:
                break
            case .failure(.notFound):
                if !known.contains(oid) {
                    missing(oid, hint == .tree ? "tree" : hint == .commit ? "commit" : "object", from: from)
                    known.insert(oid)
                }
            case let .failure(.corrupt(message)):
                if !known.contains(oid) {
                    addFinding(AuditFinding(area: .git, verdict: .corruptObject, subject: oid.hex, detail: "reachable from \(from): \(message)"),
                               key: "graph:" + oid.hex)
                    outcome.badObjects.insert(oid)
                    known.insert(oid)
                }
            }
        }
    }

    private func missing(_ oid: GitOID, _ what: String, from: String) {
        addFinding(AuditFinding(area: .git, verdict: .missingObject, subject: oid.hex,
                                detail: "\(what) reachable from \(from) is not in the object database"), key: "missing:" + oid.hex)
        outcome.badObjects.insert(oid)
    }

    static func typeName(_ type: git_object_t) -> String {
        switch type {
        case GIT_OBJECT_COMMIT: return "commit"
        case GIT_OBJECT_TREE: return "tree"
        case GIT_OBJECT_BLOB: return "blob"
        case GIT_OBJECT_TAG: return "tag"
        default: return "object"
        }
    }

    /// `tree` and `parent` ids from a commit's header (`isTree` tells which).
    static func commitLinks(_ bytes: UnsafeRawBufferPointer, _ visit: (GitOID, Bool) -> Void) {
        forEachHeaderLine(bytes) { key, value in
            if key == "tree", let id = GitOID(hex: value) { visit(id, true) }
            if key == "parent", let id = GitOID(hex: value) { visit(id, false) }
        }
    }

    /// The `object` id a tag points at.
    static func tagTarget(_ bytes: UnsafeRawBufferPointer) -> GitOID? {
        var target: GitOID?
        forEachHeaderLine(bytes) { key, value in
            if key == "object", target == nil { target = GitOID(hex: value) }
        }
        return target
    }

    /// Header lines `key value` up to the first empty line.
    private static func forEachHeaderLine(_ bytes: UnsafeRawBufferPointer, _ body: (String, UnsafeRawBufferPointer) -> Void) {
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0a { end += 1 }
            if end == start { return } // blank line: the message follows
            if let space = (start..<end).first(where: { bytes[$0] == 0x20 }) {
                let key = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<space]), as: UTF8.self)
                body(key, UnsafeRawBufferPointer(rebasing: bytes[(space + 1)..<end]))
            }
            start = end + 1
        }
    }

    /// Entries of a tree (`<mode> <name>\0<20 bytes>`): subtrees and blobs; submodule commits are skipped.
    static func treeLinks(_ bytes: UnsafeRawBufferPointer, _ visit: (GitOID, Bool) -> Void) {
        var i = 0
        while i < bytes.count {
            var space = i
            while space < bytes.count && bytes[space] != 0x20 { space += 1 }
            var nul = space
            while nul < bytes.count && bytes[nul] != 0 { nul += 1 }
            guard nul + 20 < bytes.count + 1, space < nul else { return }
            let mode = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[i..<space]), as: UTF8.self)
            let id = GitOID(raw: bytes.baseAddress! + nul + 1)
            if mode == "40000" || mode == "040000" {
                visit(id, true)
            } else if mode != "160000" {
                visit(id, false)
            }
            i = nul + 21
        }
    }

    // MARK: - Packs

    struct PackScan: Sendable {
        var bytesRead: Int64 = 0
        var headerOK = true
        var trailerOK = true
        var matchesIndex = true
        /// Index entries whose packed bytes fail their CRC-32.
        var badCRC: [Int] = []
        var error: String?
    }

    /// Reads a pack once, front to back: SHA-1 of everything before the trailer, the header, and the CRC-32
    /// of each object's bytes (between its offset and the next one's), compared with the index.
    static func scanPack(path: String, index: PackIndex, chunk: Int, bucket: TokenBucket?, isCancelled: () -> Bool,
                         progress: (Int64) -> Void) -> PackScan {
        var scan = PackScan()
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            scan.error = "cannot be opened: \(SafeFS.errorText)"
            return scan
        }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let size = Int64(st.st_size)
        guard size >= 32 else {
            scan.error = "truncated to \(size) bytes"
            return scan
        }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        let end = size - 20
        let offsets = index.offsets
        let order = offsets.indices.sorted { offsets[$0] < offsets[$1] }
        let checkCRC = !index.crcs.isEmpty
        var sha = Insecure.SHA1()
        var trailer: [UInt8] = []
        var header: [UInt8] = []
        var crc: UInt32 = 0
        var k = 0
        var pos: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        while pos < size {
            if isCancelled() { return scan }
            if let bucket, !bucket.take(chunk, isCancelled: isCancelled) { return scan }
            let n = read(fd, buffer.baseAddress, chunk)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                scan.error = n == 0 ? "ended early at byte \(pos) of \(size)" : "read failed at byte \(pos): \(SafeFS.errorText) (the disk may be failing)"
                scan.trailerOK = false
                return scan
            }
            let chunkEnd = pos + Int64(n)
            let data = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            if pos < end {
                let upto = Int(min(chunkEnd, end) - pos)
                sha.update(bufferPointer: UnsafeRawBufferPointer(rebasing: data[0..<upto]))
            }
            if header.count < 12 { header += data.prefix(12 - header.count) }
            if chunkEnd > end { trailer += data[Int(max(0, end - pos))...] }
            if checkCRC {
                var cur = pos
                let limit = min(chunkEnd, end)
                while k < order.count && cur < limit {
                    let start = offsets[order[k]]
                    let stop = k + 1 < order.count ? offsets[order[k + 1]] : end
                    guard start >= 12, start < end, stop <= end, stop > start else {
                        scan.error = "its index records an offset (\(start)) outside the pack"
                        return scan
                    }
                    if cur < start {
                        cur = min(start, limit)
                        continue
                    }
                    let segEnd = min(stop, limit)
                    crc = CRC32.update(crc, UnsafeRawBufferPointer(rebasing: data[Int(cur - pos)..<Int(segEnd - pos)]))
                    cur = segEnd
                    if cur == stop {
                        if crc != index.crcs[order[k]] { scan.badCRC.append(order[k]) }
                        crc = 0
                        k += 1
                    }
                }
            }
            scan.bytesRead += Int64(n)
            progress(Int64(n))
            pos = chunkEnd
        }
        let computed = Array(sha.finalize())
        scan.trailerOK = computed == trailer
        scan.matchesIndex = trailer == index.packChecksum
        let count = header.count == 12 ? UInt32(header[8]) << 24 | UInt32(header[9]) << 16 | UInt32(header[10]) << 8 | UInt32(header[11]) : 0
        let version = header.count == 12 ? UInt32(header[7]) : 0
        scan.headerOK = header.starts(with: Array("PACK".utf8)) && (version == 2 || version == 3) && Int(count) == index.oids.count
        return scan
    }

    /// Runs `body` for 0..<count on up to `threads` threads; results in order.
    private func parallel<R: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> R) -> [R] {
        guard count > 0 else { return [] }
        let box = ResultBox<R>(count: count)
        let next = IndexCounter()
        let group = DispatchGroup()
        for _ in 0..<min(threads, count) {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                while let i = next.take(below: count) { box.set(i, body(i)) }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        while group.wait(timeout: .now() + JobContext.minimumReportInterval) == .timedOut { tick() }
        return box.values
    }
}

/// Results written by several threads, read once they are done.
final class ResultBox<R>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [R?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ value: R) {
        lock.lock()
        slots[i] = value
        lock.unlock()
    }

    var values: [R] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0! }
    }
}
