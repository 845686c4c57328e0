import Foundation
import MirrorCore

/// Watches the catalog from a thread of its own and hands fresh snapshots to the UI thread.
///
/// Every 100 ms it reads `PRAGMA data_version` on its own connection (a few microseconds). Only when that
/// moved does it look further: a small stamp (counts, max ids, job states, lease owner) decides whether
/// the mirror list must be reloaded; running jobs' progress is reloaded on its own, so a heartbeat or a
/// progress write never costs a full reload. At most 10 snapshots a second; none while nothing changes.
public final class CatalogLoader: @unchecked Sendable {
    private let catalog: Catalog
    private let home: Home
    private let watch: CatalogWatch
    private let lock = NSCondition()
    private var pending: Snapshot?
    private var stopped = false
    private var forced = true
    private var detailName: String?
    private var detailDirty = false
    private var thread: Thread?
    private let wake: @Sendable () -> Void
    /// Called (on the loader's thread) when the set of queued and running jobs, or a cancel request, changed.
    public var onChange: @Sendable () -> Void = {}
    /// How often `data_version` is read.
    public var pollInterval: TimeInterval = 0.1
    /// Changed rows kept apart from the mirror list before a new list is read instead.
    static let maxOverrides = 1000
    /// Errors the loader met (shown on the message line), at most one pending.
    private var error: String?

    public init(home: Home, catalog: Catalog, wake: @escaping @Sendable () -> Void) throws {
        self.home = home
        self.catalog = catalog
        self.watch = try CatalogWatch(path: catalog.path)
        self.wake = wake
    }

    public func start() {
        let t = Thread { [self] in run() }
        t.name = "mirrordeck-dashboard-loader"
        t.start()
        thread = t
    }

    public func stop() {
        lock.lock()
        stopped = true
        lock.broadcast()
        lock.unlock()
    }

    /// Reload now (after an action of this dashboard, or a minute tick).
    public func poke() {
        lock.lock()
        forced = true
        lock.broadcast()
        lock.unlock()
    }

    /// Which mirror's runs and LFS details to load (nil: none).
    public func setDetail(_ name: String?) {
        lock.lock()
        detailName = name
        detailDirty = true
        lock.broadcast()
        lock.unlock()
    }

    /// The newest snapshot not yet taken, if any.
    public func take() -> (Snapshot?, String?) {
        lock.lock()
        defer { lock.unlock() }
        let s = pending
        let e = error
        pending = nil
        error = nil
        return (s, e)
    }

    private func run() {
        var version: Int64 = -1
        var stamp: CatalogStamp?
        var mirrors: [MirrorSummary] = []
        var events: [Event] = []
        var index: [Int64: Int] = [:]
        // Rows of running jobs' mirrors newer than `mirrors` (which is shared with the UI and never mutated:
        // writing one element of it would copy all of it).
        var overrides: [Int64: MirrorSummary] = [:]
        var hadRunning = false
        var lastLoad = Date.distantPast
        var lastPublish = Date.distantPast
        var detail: DetailData?
        var trimPending = false
        while true {
            lock.lock()
            if stopped { lock.unlock(); return }
            if !forced && !detailDirty { _ = lock.wait(until: Date().addingTimeInterval(pollInterval)) }
            if stopped { lock.unlock(); return }
            let force = forced
            forced = false
            let wantDetail = detailName
            let detailChanged = detailDirty
            detailDirty = false
            lock.unlock()

            // A full reload leaves the previous mirror list and rows to be freed (here, and on the UI thread
            // once it has taken the snapshot): a moment later, hand those megabytes back to the system
            // instead of keeping them in malloc's free lists for the life of the dashboard.
            if trimPending, Date().timeIntervalSince(lastPublish) >= 1 {
                trimPending = false
                HeapTrim.releaseFreeMemory()
            }
            do {
                let v = try watch.dataVersion()
                // While jobs run, look at least once a second even if data_version did not move: a
                // finished job must never linger on screen.
                let recheck = hadRunning && Date().timeIntervalSince(lastLoad) >= 1
                guard force || detailChanged || recheck || v != version else { continue }
                lastLoad = Date()
                version = v
                // At most 10 snapshots a second.
                let since = Date().timeIntervalSince(lastPublish)
                if since < 0.1 { Thread.sleep(forTimeInterval: 0.1 - since) }
                let newStamp = try catalog.stamp()
                if let stamp, newStamp.jobStates != stamp.jobStates { onChange() }
                // The stamp already lists queued and running jobs: with none, skip the query (an idle
                // engine's heartbeat lands here every 2 s).
                let jobs = newStamp.jobStates.isEmpty ? [] : try catalog.activeJobs()
                let running = jobs.filter { $0.job.state == .running }.map(\.job.mirrorId)
                hadRunning = !running.isEmpty
                let full = force || stamp == nil || newStamp != stamp
                var mirrorsChanged = false
                var updated: [MirrorSummary] = []
                var reorder = false
                if full {
                    // Compare row by row with what the dashboard shows. When the same mirrors are there in the
                    // same order, only the rows that differ are sent (a pause, a finished sync): a second copy
                    // of 10,000 mirrors is built only when mirrors were added or removed.
                    var diffs: [MirrorSummary] = []
                    var sameMirrors = !mirrors.isEmpty
                    var seen = 0
                    if sameMirrors {
                        try catalog.summariesFast { s in
                            if sameMirrors, seen < mirrors.count, mirrors[seen].mirror.id == s.mirror.id {
                                if (overrides[s.mirror.id ?? -1] ?? mirrors[seen]) != s { diffs.append(s) }
                            } else {
                                sameMirrors = false
                            }
                            seen += 1
                        }
                    }
                    if sameMirrors, seen == mirrors.count, overrides.count + diffs.count <= Self.maxOverrides {
                        for s in diffs { overrides[s.mirror.id ?? -1] = s }
                        updated = diffs
                        reorder = !diffs.isEmpty
                    } else {
                        mirrors = try catalog.summariesFast()
                        overrides = [:]
                        mirrorsChanged = true
                        index = Dictionary(mirrors.enumerated().map { ($1.mirror.id ?? -1, $0) }, uniquingKeysWith: { a, _ in a })
                    }
                    if newStamp.maxEventId != stamp?.maxEventId || events.isEmpty { events = try catalog.events(limit: 50) }
                    // The next full read sees other pages (any commit invalidates a WAL reader's cache):
                    // keeping this one's megabytes of pages cached would only cost memory.
                    catalog.releaseMemory()
                    trimPending = true
                } else if !running.isEmpty {
                    // While jobs run, only their mirrors' rows change silently (status, sizes, LFS counts).
                    for fresh in try catalog.summariesFast(ids: Array(Set(running))) {
                        guard let id = fresh.mirror.id, let i = index[id] else { continue }
                        if (overrides[id] ?? mirrors[i]) != fresh {
                            overrides[id] = fresh
                            updated.append(fresh)
                        }
                    }
                } else if stamp != nil, !detailChanged, jobs.isEmpty {
                    // A heartbeat or other write that changes nothing shown.
                    stamp = newStamp
                    continue
                }
                stamp = newStamp
                if let name = wantDetail {
                    if full || detailChanged || detail?.mirrorName != name {
                        detail = try loadDetail(name, mirrors: mirrors)
                    }
                } else {
                    detail = nil
                }
                var snap = Snapshot(mirrors: mirrors, jobs: jobs, events: events, lease: try catalog.liveEngine())
                snap.detail = detail
                snap.loadedAt = Date()
                snap.mirrorsChanged = mirrorsChanged
                snap.updated = updated
                snap.reorder = reorder
                snap.disk = DiskSpace.of(home.root)
                snap.hostLimits = try catalog.hostLimits()
                lastPublish = Date()
                lock.lock()
                pending = snap
                lock.unlock()
                wake()
            } catch {
                lock.lock()
                self.error = "catalog: \(error)"
                lock.unlock()
                wake()
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    private func loadDetail(_ name: String, mirrors: [MirrorSummary]) throws -> DetailData? {
        guard let m = mirrors.first(where: { $0.mirror.name == name })?.mirror, let id = m.id else { return nil }
        var detail = DetailData(mirrorName: name, runs: try catalog.runs(mirrorId: id, limit: 12),
                                lfsScan: try catalog.lfsScan(mirrorId: id),
                                lastVerify: try catalog.lastFinishedJob(mirrorId: id, kind: .verify),
                                lastAudit: try catalog.auditRuns(mirrorId: id, limit: 1).first,
                                path: home.mirrorPath(name))
        detail.recentAccess = try catalog.recentAccess(mirror: name, limit: 5)
        detail.cloneCommand = ServedURL.of(m, home: home, catalog: catalog)?.cloneCommand
        return detail
    }
}
