import Foundation

/// Live progress of one mirror's LFS work, for job rows and progress lines.
///
/// Counts cover the objects this run has to bring in (not those already present): `bytesDone` includes
/// bytes of objects still in flight and bytes reused from partial downloads.
public struct LFSProgress: Sendable, Equatable {
    public enum Phase: String, Sendable {
        /// Walking new commits for pointers.
        case scanning
        /// Transferring (downloading, copying, linking, verifying).
        case fetching
        case done
    }

    public var mirror: String
    public var phase: Phase
    public var objectsDone = 0
    public var objectsTotal = 0
    public var bytesDone: Int64 = 0
    public var bytesTotal: Int64 = 0
    /// Bytes received from the network so far in this run.
    public var bytesTransferred: Int64 = 0
    /// Objects that could not be fetched so far.
    public var objectsFailed = 0
    /// Network bytes per second over the last few seconds.
    public var rate: Double = 0
    /// Seconds left at the current rate, when there is a rate.
    public var etaSeconds: Double?

    public init(mirror: String, phase: Phase) {
        self.mirror = mirror
        self.phase = phase
    }
}

/// Counts shared by the transfer workers; `snapshot` turns them into an `LFSProgress`.
final class LFSProgressTracker: @unchecked Sendable {
    private let lock = NSLock()
    private var progress: LFSProgress
    private var completedBytes: Int64 = 0
    private var inFlight: [LFSOID: Int64] = [:]
    private var samples: [(Date, Int64)] = []
    static let rateWindow: TimeInterval = 5

    init(mirror: String) {
        progress = LFSProgress(mirror: mirror, phase: .fetching)
    }

    /// Adds work to the totals (objects to bring in, and their sizes).
    func addWork(objects: Int, bytes: Int64) {
        lock.lock()
        progress.objectsTotal += objects
        progress.bytesTotal += bytes
        lock.unlock()
    }

    /// Bytes now in an object's partial file (`network` of them just received).
    func received(_ oid: LFSOID, total: Int64, network: Int64) {
        lock.lock()
        inFlight[oid] = total
        progress.bytesTransferred += network
        lock.unlock()
    }

    /// A partial download was discarded (the server restarted from zero, or sent bad data).
    func reset(_ oid: LFSOID) {
        lock.lock()
        inFlight[oid] = 0
        lock.unlock()
    }

    /// One object is finished: placed (its bytes count as done) or failed.
    func finished(_ oid: LFSOID, size: Int64, ok: Bool) {
        lock.lock()
        inFlight[oid] = nil
        progress.objectsDone += 1
        if ok {
            completedBytes += size
        } else {
            progress.objectsFailed += 1
            progress.bytesTotal -= size
        }
        lock.unlock()
    }

    func snapshot(phase: LFSProgress.Phase = .fetching, now: Date = Date()) -> LFSProgress {
        lock.lock()
        defer { lock.unlock() }
        var p = progress
        p.phase = phase
        p.bytesDone = completedBytes + inFlight.values.reduce(0, +)
        samples.append((now, p.bytesTransferred))
        while let first = samples.first, now.timeIntervalSince(first.0) > Self.rateWindow { samples.removeFirst() }
        if let first = samples.first, now.timeIntervalSince(first.0) > 0.2 {
            p.rate = Double(p.bytesTransferred - first.1) / now.timeIntervalSince(first.0)
        }
        let left = max(0, p.bytesTotal - p.bytesDone)
        if p.rate > 0 { p.etaSeconds = Double(left) / p.rate } else if left == 0 { p.etaSeconds = 0 }
        return p
    }
}
