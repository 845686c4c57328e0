import Foundation
import MirrorCore

/// What the dashboard knows of the catalog at one moment; loaded off the UI thread, applied on it.
public struct Snapshot: Sendable {
    public var mirrors: [MirrorSummary] = []
    /// Queued and running jobs.
    public var jobs: [JobSummary] = []
    /// Latest events, newest first.
    public var events: [Event] = []
    /// The live engine, if any.
    public var lease: EngineLease?
    /// Extra rows for the detail view of one mirror.
    public var detail: DetailData?
    public var loadedAt = Date()
    /// False when the loader knows the mirror list is the same as in its previous snapshot (only jobs,
    /// events or the lease moved), so the table need not be rebuilt.
    public var mirrorsChanged = true
    /// Mirrors whose row moved while the list stayed the same (the mirrors of running jobs: status, sizes,
    /// LFS counts). Sent apart so that the 10,000-mirror list is never copied for a handful of rows.
    public var updated: [MirrorSummary] = []
    /// True when `updated` came from a full reload (a pause, a finished sync…): rows may move in the
    /// sort order or in or out of the filter, so the table is rebuilt. Progress updates leave it false.
    public var reorder = false
    /// Free and total space of the home's filesystem when this snapshot was read.
    public var disk: DiskSpace?
    /// Upstream hosts rate-limited when this snapshot was read (shown while their reset is ahead).
    public var hostLimits: [HostRateLimit] = []

    public init() {}

    public init(mirrors: [MirrorSummary], jobs: [JobSummary] = [], events: [Event] = [], lease: EngineLease? = nil) {
        self.mirrors = mirrors
        self.jobs = jobs
        self.events = events
        self.lease = lease
    }
}

/// What the detail view shows beyond the mirror's row.
public struct DetailData: Sendable, Equatable {
    public var mirrorName: String
    public var runs: [SyncRun]
    public var lfsScan: LFSScan?
    public var lastVerify: Job?
    /// The last checksum audit's record, when audits have run.
    public var lastAudit: AuditRun?
    public var path: String
    /// The latest requests `mirrordeck serve` answered for this mirror, newest first.
    public var recentAccess: [AccessLogEntry] = []
    /// How clients clone it from this host, when a server has published its address.
    public var cloneCommand: String?

    public init(mirrorName: String, runs: [SyncRun], lfsScan: LFSScan?, lastVerify: Job?, lastAudit: AuditRun? = nil, path: String) {
        self.mirrorName = mirrorName
        self.runs = runs
        self.lfsScan = lfsScan
        self.lastVerify = lastVerify
        self.lastAudit = lastAudit
        self.path = path
    }
}
