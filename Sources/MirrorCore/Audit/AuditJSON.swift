import Foundation

extension JSONShapes {
    /// One audit run (`verify --json`, documented in docs/audit.md).
    public static func auditRun(_ r: AuditRun) -> [String: Any] {
        [
            "id": r.id as Any,
            "job": r.jobId as Any,
            "trigger": r.trigger.rawValue,
            "actor": r.actor,
            "started_at": TimeFormat.iso(r.startedAt) as Any,
            "ended_at": TimeFormat.iso(r.endedAt) as Any,
            "duration_ms": r.durationMs as Any,
            "result": r.result.rawValue,
            "repair": r.repair,
            "threads": r.threads,
            "max_rate": r.maxRate as Any,
            "since_seconds": r.sinceSeconds as Any,
            "lfs": [
                "objects_checked": r.lfsObjectsChecked,
                "bytes_checked": r.lfsBytesChecked,
                "objects_skipped": r.lfsObjectsSkipped,
            ] as [String: Any],
            "git": [
                "objects_checked": r.gitObjectsChecked,
                "bytes_checked": r.gitBytesChecked,
                "packs_checked": r.gitPacksChecked,
                "packs_skipped": r.gitPacksSkipped,
            ] as [String: Any],
            "counts": r.verdictCounts,
            "problems": r.problems,
            "quarantined": r.quarantined,
            "repaired": r.repaired,
            "unrecoverable": r.unrecoverable,
            "error": r.error as Any,
        ]
    }

    public static func auditFinding(_ f: AuditFinding) -> [String: Any] {
        [
            "area": f.area.rawValue,
            "verdict": f.verdict.rawValue,
            "subject": f.subject,
            "size": f.size as Any,
            "detail": f.detail,
            "action": f.action.rawValue,
            "quarantine_path": f.quarantinePath as Any,
        ]
    }
}
