import Foundation

/// What a pointer scan found and recorded.
public struct LFSDiscovery: Sendable, Equatable {
    public var mirror: String
    /// No ref had moved since the last scan: nothing was walked.
    public var upToDate = false
    /// The scan walked all of history (`--rescan`) instead of new commits only.
    public var full = false
    /// History was not walked: no object in the mirror's database can be a pointer, so the scan covered
    /// every commit from object headers alone (a first scan only).
    public var census = false
    public var commitsScanned = 0
    /// Blobs looked at (pointers are only read when smaller than 1024 bytes).
    public var blobsChecked = 0
    /// Distinct pointers found in the commits scanned.
    public var pointersFound = 0
    /// Objects the catalog did not know before.
    public var newObjects = 0
    /// Objects no longer reachable, dropped from the catalog by a full rescan (their files stay).
    public var removedObjects = 0
    public var malformedPointers = 0
    /// A few malformed pointers: "blob <id>: <what is wrong>".
    public var malformedExamples: [String] = []
    /// Objects and bytes the mirror's history points at, after this scan.
    public var objectsTotal = 0
    public var bytesTotal: Int64 = 0
    public var durationMs = 0

    public init(mirror: String) { self.mirror = mirror }
}

/// One object that could not be brought in, as reports list it.
public struct LFSObjectFailure: Sendable, Equatable {
    public var oid: String
    public var size: Int64
    public var state: LFSObjectState
    public var error: String
}

/// The outcome of fetching one mirror's LFS objects.
public struct LFSFetchReport: Sendable {
    public enum Result: String, Sendable {
        /// Every object the history points at is present.
        case ok
        /// Some objects are missing (unavailable upstream or failed), or the endpoint could not be used.
        case failed
        case cancelled
        /// The mirror has `lfs = off`.
        case skipped
        /// The LFS server's host is rate-limited (`rateLimit`): the fetch waits for the reset; not a failure.
        case rateLimited = "rate-limited"
    }

    public var mirror: String
    public var result: Result
    public var endpoint: String?
    public var endpointSource: String?
    /// With `result == .rateLimited`: the host and until when.
    public var rateLimit: HostRateLimit?
    public var discovery: LFSDiscovery?
    /// Objects (and bytes) the history points at, and how many are present now.
    public var objectsTotal = 0
    public var objectsPresent = 0
    public var bytesTotal: Int64 = 0
    public var bytesPresent: Int64 = 0
    /// How objects arrived in this run.
    public var downloaded = 0
    public var linked = 0
    public var copied = 0
    public var found = 0
    /// Brought back from the trash or the archive (verified), instead of downloaded again.
    public var restored = 0
    /// Body bytes received over the network in this run.
    public var bytesTransferred: Int64 = 0
    /// Bytes of partial downloads from earlier runs that this run kept (resumed) instead of fetching again.
    public var bytesResumed: Int64 = 0
    public var unavailable = 0
    public var failed = 0
    /// The first objects that could not be brought in, with why.
    public var failures: [LFSObjectFailure] = []
    /// One line saying why the run failed, or nil.
    public var error: String?
    public var durationMs = 0
    /// The mirror's state after the run.
    public var state: MirrorState?

    public var missing: Int { max(0, objectsTotal - objectsPresent) }
    public var succeeded: Bool { result == .ok || result == .skipped }

    public init(mirror: String, result: Result) {
        self.mirror = mirror
        self.result = result
    }
}

extension JSONShapes {
    /// `lfs fetch --json` (documented in docs/lfs.md).
    public static func lfsReport(_ r: LFSFetchReport) -> [String: Any] {
        [
            "name": r.mirror,
            "result": r.result.rawValue,
            "endpoint": r.endpoint as Any,
            "endpoint_source": r.endpointSource as Any,
            "scan": r.discovery.map(lfsDiscovery) as Any,
            "objects_total": r.objectsTotal,
            "objects_present": r.objectsPresent,
            "objects_missing": r.missing,
            "bytes_total": r.bytesTotal,
            "bytes_present": r.bytesPresent,
            "downloaded": r.downloaded,
            "linked": r.linked,
            "copied": r.copied,
            "found": r.found,
            "restored": r.restored,
            "bytes_transferred": r.bytesTransferred,
            "bytes_resumed": r.bytesResumed,
            "unavailable": r.unavailable,
            "failed": r.failed,
            "failures": r.failures.map(lfsFailure),
            "error": r.error as Any,
            "duration_ms": r.durationMs,
        ]
    }

    public static func lfsDiscovery(_ d: LFSDiscovery) -> [String: Any] {
        [
            "up_to_date": d.upToDate,
            "full": d.full,
            "census": d.census,
            "commits_scanned": d.commitsScanned,
            "blobs_checked": d.blobsChecked,
            "pointers_found": d.pointersFound,
            "new_objects": d.newObjects,
            "removed_objects": d.removedObjects,
            "malformed_pointers": d.malformedPointers,
            "malformed_examples": d.malformedExamples,
            "duration_ms": d.durationMs,
        ]
    }

    public static func lfsFailure(_ f: LFSObjectFailure) -> [String: Any] {
        ["oid": f.oid, "size": f.size, "state": f.state.rawValue, "error": f.error]
    }

    public static func lfsObject(_ o: LFSObject) -> [String: Any] {
        [
            "oid": o.oid,
            "size": o.size,
            "state": o.state.rawValue,
            "source": o.source?.rawValue as Any,
            "attempts": o.attempts,
            "fetched_at": TimeFormat.iso(o.fetchedAt) as Any,
            "error": o.error as Any,
        ]
    }
}
