import Foundation

/// Live counts of an audit, shared by its hashing threads; `snapshot` turns them into a `JobProgress`.
public final class AuditProgress: @unchecked Sendable {
    /// What the audit is doing now (the job row's `phase`).
    public enum Phase: String, Sendable {
        case scanning = "scanning"
        case lfs = "verifying-lfs"
        case gitPacks = "verifying-packs"
        case gitObjects = "verifying-git"
        case gitGraph = "checking-refs"
        case repairing
        case done
    }

    private let lock = NSLock()
    private var phase: Phase = .scanning
    private var objectsDone: Int64 = 0
    private var objectsTotal: Int64 = 0
    private var bytesDone: Int64 = 0
    private var bytesTotal: Int64 = 0
    private var problems = 0
    private var message: String?

    public init() {}

    /// Starts a phase with its totals (counts restart at zero).
    func begin(_ phase: Phase, objects: Int64, bytes: Int64, message: String? = nil) {
        lock.lock()
        self.phase = phase
        objectsTotal = objects
        bytesTotal = bytes
        objectsDone = 0
        bytesDone = 0
        self.message = message
        lock.unlock()
    }

    func add(bytes: Int64) {
        lock.lock()
        bytesDone += bytes
        lock.unlock()
    }

    func finished(objects: Int64 = 1) {
        lock.lock()
        objectsDone += objects
        lock.unlock()
    }

    /// Sets the counts outright (for work that reports totals, like a fetch).
    func set(objectsDone: Int64, objectsTotal: Int64, bytesDone: Int64) {
        lock.lock()
        self.objectsDone = objectsDone
        self.objectsTotal = objectsTotal
        self.bytesDone = bytesDone
        lock.unlock()
    }

    func problem() {
        lock.lock()
        problems += 1
        lock.unlock()
    }

    /// The counts as a job row shows them; the job context computes the rate (and from it the ETA).
    public func snapshot() -> JobProgress {
        lock.lock()
        defer { lock.unlock() }
        var text = message ?? ""
        if problems > 0 { text += (text.isEmpty ? "" : "; ") + "\(problems) problem\(problems == 1 ? "" : "s") so far" }
        return JobProgress(phase: phase.rawValue, unitsDone: objectsDone, unitsTotal: objectsTotal,
                           bytesDone: bytesDone, bytesTotal: bytesTotal, message: text.isEmpty ? nil : text)
    }
}
