import Foundation

/// Runs `verify` jobs on an engine: the options the job was queued with (`audit_request`), or the defaults
/// (what the dashboard's `v` queues); progress to the job row; the audit's result as the job's.
public enum AuditJobRunner {
    /// Makes `engine` run verify jobs with the auditor (hashing threads default to its `verify_threads`).
    public static func install(on engine: Engine) {
        engine.setVerifyRunner(runner(home: engine.home, catalog: engine.catalog, config: engine.config))
    }

    public static func runner(home: Home, catalog: Catalog, config: EngineConfig) -> @Sendable (Job, Mirror, JobContext) -> JobResult {
        { job, mirror, context in
            let options = (try? catalog.auditRequest(jobId: job.id!)) ?? AuditOptions()
            let auditor = Auditor(home: home, catalog: catalog, defaultThreads: config.verifyThreads)
            let report = auditor.audit(mirror: mirror, options: options, actor: Actor(description: job.actor), trigger: job.trigger,
                                       jobId: job.id, onProgress: { context.report($0) }, isCancelled: { context.isCancelled })
            return jobResult(report)
        }
    }

    static func jobResult(_ report: AuditReport) -> JobResult {
        let run = report.run
        let bytes = (run?.lfsBytesChecked ?? 0) + (run?.gitBytesChecked ?? 0)
        let message = run.map { "\($0.result.rawValue): \($0.lfsObjectsChecked) LFS and \($0.gitObjectsChecked) git objects verified, \($0.problems) problem(s)" }
        switch report.result {
        case .clean, .repaired:
            return JobResult(state: .succeeded, message: message, bytes: bytes)
        case .cancelled:
            return JobResult(state: .cancelled, error: report.error ?? "cancelled", message: message, bytes: bytes)
        default:
            return JobResult(state: .failed, error: report.error ?? "the audit failed", message: message, bytes: bytes)
        }
    }
}
