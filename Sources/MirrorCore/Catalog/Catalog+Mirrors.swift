import Foundation
import GRDB

extension Catalog {
    /// Adds a validated mirror with an idle state and records who did it.
    @discardableResult
    public func addMirror(_ mirror: Mirror, actor: Actor) throws -> Mirror {
        let validated = try mirror.validated()
        return try write { db in try Self.insert(validated, actor: actor, db: db) }
    }

    /// Changes a mirror's settings (upstream, interval, LFS, prune); returns whether anything changed.
    @discardableResult
    public func updateMirror(_ mirror: Mirror, actor: Actor) throws -> Bool {
        let validated = try mirror.validated()
        return try write { db in try Self.update(validated, actor: actor, db: db) }
    }

    /// What `apply` did.
    public struct ApplyResult: Sendable, Equatable {
        public var added: [String] = []
        public var updated: [String] = []
        public var unchanged: [String] = []
    }

    /// Makes the catalog hold `mirrors` (adding new ones, updating changed ones) in one transaction.
    public func apply(_ mirrors: [Mirror], actor: Actor) throws -> ApplyResult {
        let validated = try mirrors.map { try $0.validated() }
        return try write { db in
            var result = ApplyResult()
            for mirror in validated {
                if try Mirror.filter(Column("name") == mirror.name).fetchCount(db) > 0 {
                    if try Self.update(mirror, actor: actor, db: db) {
                        result.updated.append(mirror.name)
                    } else {
                        result.unchanged.append(mirror.name)
                    }
                } else {
                    try Self.insert(mirror, actor: actor, db: db)
                    result.added.append(mirror.name)
                }
            }
            return result
        }
    }

    @discardableResult
    private static func insert(_ mirror: Mirror, actor: Actor, db: Database) throws -> Mirror {
        var mirror = mirror
        if try Mirror.filter(Column("name") == mirror.name).fetchCount(db) > 0 {
            throw CatalogError.duplicateName(mirror.name)
        }
        try mirror.insert(db)
        var state = MirrorState(mirrorId: mirror.id!)
        state.nextRunAt = Date()
        try state.insert(db)
        try Event(actor: actor, action: "add", mirror: mirror.name,
                  message: "added mirror of \(UpstreamURL.display(mirror.upstream)) every \(Interval.format(mirror.intervalSeconds))").append(to: db)
        return mirror
    }

    private static func update(_ mirror: Mirror, actor: Actor, db: Database) throws -> Bool {
        guard var existing = try Mirror.filter(Column("name") == mirror.name).fetchOne(db) else {
            throw CatalogError.unknownMirror(mirror.name)
        }
        var changes: [String] = []
        if existing.upstream != mirror.upstream { changes.append("upstream \(UpstreamURL.display(mirror.upstream))") }
        if existing.intervalSeconds != mirror.intervalSeconds { changes.append("interval \(Interval.format(mirror.intervalSeconds))") }
        if existing.lfs != mirror.lfs { changes.append("lfs \(mirror.lfs.rawValue)") }
        if existing.lfsURL != mirror.lfsURL { changes.append("lfs-url \(mirror.lfsURL.map(UpstreamURL.display) ?? "default")") }
        if existing.prune != mirror.prune { changes.append("prune \(mirror.prune)") }
        if existing.insecureTLS != mirror.insecureTLS { changes.append("insecure-tls \(mirror.insecureTLS)") }
        if existing.isPrivate != mirror.isPrivate { changes.append(mirror.isPrivate ? "private" : "public") }
        if existing.refFilter != mirror.refFilter { changes.append("refs \(mirror.refFilter)") }
        if existing.maxRate != mirror.maxRate { changes.append("max-rate \(mirror.maxRate.map { ByteFormat.rate(Double($0)) } ?? "none")") }
        if existing.lfsKeep != mirror.lfsKeep { changes.append("lfs-keep \(mirror.lfsKeep)") }
        if existing.lfsArchive != mirror.lfsArchive { changes.append("lfs-archive \(mirror.lfsArchive ?? "none")") }
        guard !changes.isEmpty else { return false }
        let shorter = mirror.intervalSeconds < existing.intervalSeconds
        existing.upstream = mirror.upstream
        existing.intervalSeconds = mirror.intervalSeconds
        existing.lfs = mirror.lfs
        existing.lfsURL = mirror.lfsURL
        existing.prune = mirror.prune
        existing.insecureTLS = mirror.insecureTLS
        existing.isPrivate = mirror.isPrivate
        existing.refFilter = mirror.refFilter
        existing.maxRate = mirror.maxRate
        existing.lfsKeep = mirror.lfsKeep
        existing.lfsArchive = mirror.lfsArchive
        try existing.update(db)
        // A shorter interval takes effect now, not after the run the old one scheduled (backoff aside:
        // a failing mirror keeps its retry time).
        if shorter, var state = try MirrorState.fetchOne(db, key: existing.id!), state.consecutiveFailures == 0,
           let next = state.nextRunAt {
            let due = (state.lastCheckAt ?? Date()).addingTimeInterval(TimeInterval(mirror.intervalSeconds))
            if due < next {
                state.nextRunAt = due
                try state.update(db)
            }
        }
        try Event(actor: actor, action: "edit", mirror: mirror.name, message: "changed " + changes.joined(separator: ", ")).append(to: db)
        return true
    }

    /// Removes a mirror and its catalog rows; the caller decides about the data on disk.
    public func removeMirror(named name: String, actor: Actor, keptData: Bool) throws {
        try write { db in
            guard let mirror = try Mirror.filter(Column("name") == name).fetchOne(db) else {
                throw CatalogError.unknownMirror(name)
            }
            _ = try mirror.delete(db)
            try Event(actor: actor, action: "remove", mirror: name,
                      message: keptData ? "removed mirror (data kept on disk)" : "removed mirror and its data").append(to: db)
        }
    }

    /// The mirror called `name`; throws `CatalogError.unknownMirror` when there is none.
    public func mirror(named name: String) throws -> Mirror {
        guard let mirror = try read({ db in try Mirror.filter(Column("name") == name).fetchOne(db) }) else {
            throw CatalogError.unknownMirror(name)
        }
        return mirror
    }

    /// Every mirror, sorted by name.
    public func mirrors() throws -> [Mirror] {
        try read { db in try Mirror.order(Column("name")).fetchAll(db) }
    }

    /// Every mirror with its state, sorted by name, through GRDB's record decoding: the reference that
    /// `summariesFast()` (what commands and the dashboard use) is tested against.
    public func summaries() throws -> [MirrorSummary] {
        try read { db in
            let mirrors = try Mirror.order(Column("name")).fetchAll(db)
            let states = try MirrorState.fetchAll(db)
            let byId = Dictionary(states.map { ($0.mirrorId, $0) }, uniquingKeysWith: { a, _ in a })
            return mirrors.map { MirrorSummary(mirror: $0, state: byId[$0.id!] ?? MirrorState(mirrorId: $0.id!)) }
        }
    }

    /// One mirror with its state.
    public func summary(named name: String) throws -> MirrorSummary {
        let mirror = try mirror(named: name)
        let state = try read { db in try MirrorState.fetchOne(db, key: mirror.id!) } ?? MirrorState(mirrorId: mirror.id!)
        return MirrorSummary(mirror: mirror, state: state)
    }

    /// Records an event in the audit log.
    public func record(_ event: Event) throws {
        try write { db in
            var event = event
            try event.insert(db)
        }
    }

    /// The latest events, newest first, optionally for one mirror.
    public func events(mirror: String? = nil, limit: Int = 100) throws -> [Event] {
        try read { db in
            var request = Event.order(Column("id").desc).limit(limit)
            if let mirror { request = request.filter(Column("mirror") == mirror) }
            return try request.fetchAll(db)
        }
    }
}
