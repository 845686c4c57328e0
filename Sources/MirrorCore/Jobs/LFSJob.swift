import Foundation

/// Runs `lfs` jobs in an engine: the incremental pointer scan, then the fetch of what is missing.
///
/// The engine runs at most `slots(maxLFS:)` LFS jobs at once, each with `max_lfs` transfer threads that take
/// one of `max_lfs` shared transfer slots per object: the transfers of all LFS jobs together stay within
/// `[engine] max_lfs`, and a job running alone uses all of them.
public enum LFSJob {
    /// LFS jobs an engine runs at once.
    static func slots(maxLFS: Int) -> Int { max(1, min(2, maxLFS)) }

    /// Installs the LFS runner on `engine`.
    public static func install(on engine: Engine) {
        let home = engine.home
        let catalog = engine.catalog
        let parallel = max(1, engine.config.maxLFS)
        let transfers = LFSTransferSlots(parallel)
        let options = {
            var o = LFSOptions()
            o.reserve = engine.config.diskReserve
            o.stallTimeout = Int(engine.config.stallTimeout)
            o.minRate = engine.config.minRate
            return o
        }()
        engine.setLFSRunner { job, mirror, context in
            var lfs = LFSSync(home: home, catalog: catalog, options: options)
            lfs.slots = transfers
            let report = lfs.run(mirror: mirror, actor: Actor(description: job.actor), parallel: parallel,
                                 progress: { p in
                                     context.report(JobProgress(phase: p.phase.rawValue, unitsDone: Int64(p.objectsDone),
                                                                unitsTotal: Int64(p.objectsTotal), bytesDone: p.bytesDone,
                                                                bytesTotal: p.bytesTotal, rate: p.rate))
                                 },
                                 isCancelled: { context.isCancelled })
            let state: JobState
            switch report.result {
            case .ok, .skipped: state = .succeeded
            case .cancelled: state = .cancelled
            case .failed, .rateLimited: state = .failed
            }
            let message = "\(report.objectsPresent)/\(report.objectsTotal) objects present, \(ByteFormat.format(report.bytesTransferred)) downloaded"
            var result = JobResult(state: state, error: report.succeeded ? nil : report.error, message: message, bytes: report.bytesTransferred)
            // Batch requests made: one per 100 objects asked for (an estimate the request budget counts).
            result.requests = report.downloaded + report.failed + report.unavailable > 0 ? (report.downloaded + report.failed + report.unavailable + 99) / 100 : 0
            if report.result == .rateLimited { result.rateLimit = report.rateLimit }
            return result
        }
    }
}
