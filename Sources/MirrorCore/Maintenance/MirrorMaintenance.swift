import Foundation

/// The result of maintaining one mirror, as the CLI and engine report it.
public struct MaintenanceReport: Sendable {
    public var mirror: String
    public var result: MaintenanceResult
    public var run: MaintenanceRun?
    public var error: String?
    /// The LFS retention step, when the mirror has a policy other than `all`.
    public var retention: LFSRetentionReport?
}

/// Maintains one mirror under its lock (no sync writes to it meanwhile) and records the run, the new
/// sizes and an event with the actor. Blocking: call from a thread of its own.
public struct MirrorMaintenance: Sendable {
    public let home: Home
    public let catalog: Catalog

    public init(home: Home, catalog: Catalog) {
        self.home = home
        self.catalog = catalog
    }

    public func run(mirror: Mirror, graceSeconds: Int, reason: String, trigger: Trigger, actor: Actor, jobId: Int64? = nil,
                    onStep: @escaping (String) -> Void = { _ in }, isCancelled: @escaping () -> Bool = { false }) -> MaintenanceReport {
        let path = home.mirrorPath(mirror.name)
        guard FileManager.default.fileExists(atPath: path + "/HEAD") else {
            return MaintenanceReport(mirror: mirror.name, result: .failed, error: MaintenanceError.notSynced(name: mirror.name).description)
        }
        let lock: FileLock
        do {
            guard let held = try FileLock.tryAcquire(path: home.lockPath(mirror.name)) else {
                return MaintenanceReport(mirror: mirror.name, result: .failed, error: MaintenanceError.busy(name: mirror.name).description)
            }
            lock = held
        } catch {
            return MaintenanceReport(mirror: mirror.name, result: .failed, error: "\(error)")
        }
        defer { withExtendedLifetime(lock) {} }
        let before = GitStorageStats.read(path: path)
        var run = MaintenanceRun(mirrorId: mirror.id!, jobId: jobId, trigger: trigger, actor: actor.description, reason: reason,
                                 startedAt: Date(), graceSeconds: graceSeconds)
        run.packsBefore = before.packs + before.cruftPacks
        run.looseBefore = before.looseObjects
        run.bytesBefore = before.objectBytes
        do {
            run = try catalog.beginMaintenance(run)
        } catch {
            return MaintenanceReport(mirror: mirror.name, result: .failed, error: "\(error)")
        }
        do {
            try GitMaintenance(path: path, graceSeconds: graceSeconds).run(onStep: onStep, isCancelled: isCancelled)
            run.result = .succeeded
        } catch MaintenanceError.cancelled {
            run.result = .cancelled
            run.error = MaintenanceError.cancelled.description
        } catch {
            run.result = .failed
            run.error = "\(error)"
        }
        // LFS retention rides along when the mirror has a policy: same grace period, same actor.
        var retention: LFSRetentionReport?
        if run.result == .succeeded, mirror.lfsKeep != .all, mirror.lfs != .off {
            onStep("lfs retention")
            let report = LFSRetention(home: home, catalog: catalog)
                .prune(mirror: mirror, dryRun: false, graceSeconds: graceSeconds, actor: actor, isCancelled: isCancelled)
            if let error = report.error {
                run.result = .failed
                run.error = "LFS retention: \(error)"
            } else if report.failed > 0 {
                run.result = .failed
                run.error = "LFS retention: \(report.failed) object(s) could not be moved; first: \(report.items.first { $0.error != nil }?.error ?? "?")"
            }
            retention = report
        }
        let after = GitStorageStats.read(path: path)
        run.packsAfter = after.packs + after.cruftPacks
        run.looseAfter = after.looseObjects
        run.bytesAfter = after.objectBytes
        do {
            let finished = try catalog.finishMaintenance(run, mirror: mirror, after: after, diskBytes: DiskUsage.bytes(atPath: path))
            return MaintenanceReport(mirror: mirror.name, result: finished.result, run: finished, error: finished.error, retention: retention)
        } catch {
            return MaintenanceReport(mirror: mirror.name, result: .failed, run: run, error: "\(error)", retention: retention)
        }
    }
}
