import Foundation
import MirrorCore

/// The catalog answers an object request needs — the mirror by name, and whether its LFS set references
/// an oid — kept in memory while the catalog does not change, so a request does no SQLite read on the
/// event loop. Exact, not time-based: every lookup first asks ``CatalogChanges`` whether any process has
/// committed since, and drops everything if so (a mirror made private, a token revoked elsewhere, an object
/// added by a sync or moved out by retention is seen by the very next request).
final class ServeLookup: @unchecked Sendable { // state behind `lock`
    private let catalog: Catalog
    private let changes: CatalogChanges?
    private let lock = NSLock()
    private var version: Int64?
    private var mirrors: [String: Mirror?] = [:]
    private var objects: [ObjectKey: LFSObject?] = [:]
    /// Beyond this many cached objects the cache starts over (a bound on memory, not on correctness).
    static let maxObjects = 100_000

    private struct ObjectKey: Hashable {
        let mirrorId: Int64
        let oid: LFSOID
    }

    init(catalog: Catalog) {
        self.catalog = catalog
        changes = try? CatalogChanges(path: catalog.path)
    }

    /// The mirror called `name`, or nil when there is none.
    func mirror(named name: String) -> Mirror? {
        let (hit, seen) = cached { $0.mirrors[name] }
        if let hit { return hit }
        let mirror = try? catalog.mirror(named: name)
        store(seen) { $0.mirrors[name] = .some(mirror) }
        return mirror
    }

    /// The LFS object row of `oid` in the mirror, or nil when the mirror's LFS set does not reference it.
    func lfsObject(mirrorId: Int64, oid: LFSOID) -> LFSObject? {
        let key = ObjectKey(mirrorId: mirrorId, oid: oid)
        let (hit, seen) = cached { $0.objects[key] }
        if let hit { return hit }
        let row = (try? catalog.lfsObject(mirrorId: mirrorId, oid: oid)) ?? nil
        store(seen) { lookup in
            if lookup.objects.count >= Self.maxObjects { lookup.objects.removeAll() }
            lookup.objects[key] = .some(row)
        }
        return row
    }

    /// A cached answer if the catalog has not changed since it was cached (`.none`: ask the catalog), and
    /// the catalog version seen before asking it.
    private func cached<T>(_ read: (ServeLookup) -> T??) -> (T??, Int64?) {
        guard let current = try? changes?.version() else { return (nil, nil) }
        lock.lock()
        defer { lock.unlock() }
        if version != current {
            version = current
            mirrors.removeAll()
            objects.removeAll()
            return (nil, current)
        }
        return (read(self), current)
    }

    /// Keeps an answer read after seeing version `seen`, unless a newer version has been seen since: an
    /// answer read before a commit must not outlive it.
    private func store(_ seen: Int64?, _ write: (ServeLookup) -> Void) {
        guard let seen else { return }
        lock.lock()
        if version == seen { write(self) }
        lock.unlock()
    }
}
