import Foundation

/// Runs `maintain` jobs in an engine, and decides when the scheduler queues them: after a sync that
/// left too many packs or loose objects, and when a mirror was not maintained for a week, inside the
/// maintenance window when one is set.
public enum MaintenanceJob {
    /// Installs the maintain runner on `engine`.
    public static func install(on engine: Engine) {
        let home = engine.home
        let catalog = engine.catalog
        let config = engine.config.maintenance
        engine.setMaintainRunner { job, mirror, context in
            let grace = (try? catalog.maintenanceRequest(jobId: job.id!)) ?? config.graceSeconds
            let reason = job.trigger == .schedule ? ((try? catalog.storage(mirrorId: mirror.id!))??.maintenanceDue ?? "scheduled") : "requested"
            let report = MirrorMaintenance(home: home, catalog: catalog)
                .run(mirror: mirror, graceSeconds: grace, reason: reason, trigger: job.trigger, actor: Actor(description: job.actor),
                     jobId: job.id, onStep: { context.report(JobProgress(phase: $0)) }, isCancelled: { context.isCancelled })
            let state: JobState = report.result == .succeeded ? .succeeded : report.result == .cancelled ? .cancelled : .failed
            var message = report.run.map { "\($0.packsBefore) → \($0.packsAfter) packs, \(ByteFormat.format($0.bytesBefore)) → \(ByteFormat.format($0.bytesAfter))" }
            if let retention = report.retention, retention.error == nil {
                message = (message.map { $0 + "; " } ?? "") + retention.summary
            }
            return JobResult(state: state, error: state == .succeeded ? nil : report.error, message: message)
        }
    }

    /// After a sync that moved refs: counts the mirror's packs and loose objects, notes whether maintenance
    /// is due, and queues it when it is and the window (if any) is open.
    static func afterSync(home: Home, catalog: Catalog, mirror: Mirror, config: MaintenanceConfig, now: Date = Date()) throws {
        let stats = GitStorageStats.read(path: home.mirrorPath(mirror.name), bytes: false)
        let due = stats.dueReason(config: config)
        try catalog.noteStorage(mirrorId: mirror.id!, stats: stats, due: due, now: now)
        if due != nil, config.window?.contains(now) ?? true {
            _ = try catalog.enqueue([mirror], kind: .maintain, trigger: .schedule, actor: .scheduler, now: now)
        }
    }

    /// The scheduler's pass: inside the window (or always, without one), queues maintenance of every
    /// mirror marked due or not maintained for the interval.
    @discardableResult
    static func enqueueDue(catalog: Catalog, config: MaintenanceConfig, now: Date = Date()) throws -> [Job] {
        if let window = config.window, !window.contains(now) { return [] }
        let due = try catalog.mirrorsDueForMaintenance(intervalSeconds: config.intervalSeconds, now: now)
        guard !due.isEmpty else { return [] }
        return try catalog.enqueue(due.map(\.0), kind: .maintain, trigger: .schedule, actor: .scheduler, now: now)
    }
}
