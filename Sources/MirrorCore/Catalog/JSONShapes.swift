import Foundation

/// The stable JSON shapes of `list`, `show` and `sync --json` (documented in docs/json.md).
/// Every key is always present; unknown values are null.
public enum JSONShapes {
    /// `limits`: the hosts rate-limited now (`Catalog.hostLimits`), for `rate_limited_until` and `_host`.
    public static func mirror(_ s: MirrorSummary, now: Date = Date(), limits: [HostRateLimit] = []) -> [String: Any] {
        let m = s.mirror
        let st = s.state
        let limit = MirrorHosts.limit(for: m, in: limits)
        return [
            "rate_limited_until": TimeFormat.iso(limit?.until) as Any,
            "rate_limited_host": limit?.host as Any,
            "name": m.name,
            "upstream": UpstreamURL.display(m.upstream),
            "interval_seconds": m.intervalSeconds,
            "lfs": m.lfs.rawValue,
            "lfs_url": m.lfsURL.map(UpstreamURL.display) as Any,
            "lfs_keep": m.lfsKeep.description,
            "lfs_archive": m.lfsArchive as Any,
            "prune": m.prune,
            "ref_filter": m.refFilter.description,
            "max_rate": m.maxRate as Any,
            "insecure_tls": m.insecureTLS,
            "private": m.isPrivate,
            "status": st.status.rawValue,
            "fresh_as_of": TimeFormat.iso(st.freshAsOf) as Any,
            "lag_seconds": st.lag(now: now).map { Int($0) } as Any,
            "stale": st.isStale(intervalSeconds: m.intervalSeconds, now: now),
            "behind": st.behind,
            "consecutive_failures": st.consecutiveFailures,
            "last_success_at": TimeFormat.iso(st.lastSuccessAt) as Any,
            "last_failure_at": TimeFormat.iso(st.lastFailureAt) as Any,
            "next_run_at": TimeFormat.iso(st.nextRunAt) as Any,
            "last_error": st.lastError as Any,
            "paused_reason": st.pausedReason as Any,
            "head": st.headRef as Any,
            "refs": st.refCount,
            "disk_bytes": st.diskBytes,
            "lfs_objects_present": st.lfsObjectsPresent,
            "lfs_objects_total": st.lfsObjectsTotal,
            "lfs_bytes_present": st.lfsBytesPresent,
            "lfs_bytes_total": st.lfsBytesTotal,
            "last_audit_at": TimeFormat.iso(st.lastAuditAt) as Any,
            "last_audit_result": st.lastAuditResult as Any,
            "last_audit_age_seconds": st.lastAuditAt.map { Int(max(0, now.timeIntervalSince($0))) } as Any,
        ]
    }

    public static func run(_ r: SyncRun) -> [String: Any] {
        [
            "id": r.id as Any,
            "trigger": r.trigger.rawValue,
            "actor": r.actor,
            "started_at": TimeFormat.iso(r.startedAt) as Any,
            "ended_at": TimeFormat.iso(r.endedAt) as Any,
            "duration_ms": r.durationMs as Any,
            "result": r.result.rawValue,
            "bytes_received": r.bytesReceived,
            "objects_received": r.objectsReceived,
            "refs_updated": r.refsUpdated,
            "refs_deleted": r.refsDeleted,
            "steps": r.steps,
            "steps_total": r.stepsTotal,
            "attempts": r.attempts,
            "error": r.error as Any,
        ]
    }

    /// `limits`: the cap and stall timeout the job runs under and until when it waits (`Catalog.transferLimits`).
    public static func job(_ s: JobSummary, limits: JobTransferLimits? = nil) -> [String: Any] {
        let j = s.job
        return [
            "cap_rate": limits?.cap?.rate as Any,
            "cap_source": limits?.cap?.source.rawValue as Any,
            "stall_timeout_seconds": limits?.stallTimeout as Any,
            "wait_until": TimeFormat.iso(limits?.waitUntil.flatMap { $0 > Date() ? $0 : nil }) as Any,
            "id": j.id as Any,
            "mirror": s.mirror,
            "kind": j.kind.rawValue,
            "state": j.state.rawValue,
            "trigger": j.trigger.rawValue,
            "actor": j.actor,
            "priority": j.priority,
            "attempts": j.attempts,
            "created_at": TimeFormat.iso(j.createdAt) as Any,
            "started_at": TimeFormat.iso(j.startedAt) as Any,
            "ended_at": TimeFormat.iso(j.endedAt) as Any,
            "phase": j.phase as Any,
            "units_done": j.unitsDone,
            "units_total": j.unitsTotal,
            "bytes_done": j.bytesDone,
            "bytes_total": j.bytesTotal,
            "rate": j.rate,
            "eta_seconds": j.eta.map { Int($0) } as Any,
            "message": j.message as Any,
            "error": j.error as Any,
            "cancel_requested": j.cancelRequested,
        ]
    }

    public static func event(_ e: Event) -> [String: Any] {
        [
            "id": e.id as Any,
            "at": TimeFormat.iso(e.at) as Any,
            "actor": e.actor,
            "source": e.source,
            "action": e.action,
            "mirror": e.mirror as Any,
            "message": e.message,
        ]
    }

    public static func syncReport(_ r: SyncReport) -> [String: Any] {
        [
            "name": r.mirror,
            "result": r.result.rawValue,
            "run": r.run.map(run) as Any,
            "error": r.error as Any,
        ]
    }

    /// Serializes with sorted keys, pretty-printed, nulls kept.
    public static func encode(_ value: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: normalize(value), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Turns nested optionals (nil → null) into values JSONSerialization accepts.
    private static func normalize(_ value: Any) -> Any {
        let reflected = Swift.Mirror(reflecting: value)
        if reflected.displayStyle == .optional {
            guard let child = reflected.children.first else { return NSNull() }
            return normalize(child.value)
        }
        switch value {
        case let dict as [String: Any]: return dict.mapValues(normalize)
        case let array as [Any]: return array.map(normalize)
        default: return value
        }
    }
}
