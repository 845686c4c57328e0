import Foundation

/// Outcomes gathered from the workers, drained into the catalog by the coordinating thread.
final class LFSResultCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [LFSObjectUpdate] = []
    private(set) var downloaded = 0
    private(set) var linked = 0
    private(set) var copied = 0
    private(set) var found = 0
    private(set) var restored = 0
    private(set) var unavailable = 0
    private(set) var failed = 0
    private(set) var resumedBytes: Int64 = 0
    private(set) var failures: [LFSObjectFailure] = []
    static let maxFailuresListed = 20

    func add(_ result: LFSWorkResult) {
        lock.lock()
        defer { lock.unlock() }
        resumedBytes += result.resumedBytes
        switch result.outcome {
        case let .success(source): record(result.pointer, source: source, attempted: true)
        case let .failure(error): recordFailure(result.pointer, error, attempted: true)
        }
    }

    func success(_ pointer: LFSPointer, source: LFSObjectSource) {
        lock.lock()
        record(pointer, source: source, attempted: false)
        lock.unlock()
    }

    func failure(_ pointer: LFSPointer, _ error: LFSObjectError, attempted: Bool) {
        lock.lock()
        recordFailure(pointer, error, attempted: attempted)
        lock.unlock()
    }

    /// The row updates gathered since the last call.
    func drain() -> [LFSObjectUpdate] {
        lock.lock()
        defer { lock.unlock() }
        let out = pending
        pending = []
        return out
    }

    private func record(_ pointer: LFSPointer, source: LFSObjectSource, attempted: Bool) {
        switch source {
        case .downloaded: downloaded += 1
        case .linked: linked += 1
        case .copied: copied += 1
        case .found: found += 1
        case .restored: restored += 1
        }
        pending.append(LFSObjectUpdate(oid: pointer.oid.hex, state: .present, source: source, attempted: attempted))
    }

    private func recordFailure(_ pointer: LFSPointer, _ error: LFSObjectError, attempted: Bool) {
        if case .cancelled = error { return } // stays as it was; the partial download is kept
        let state: LFSObjectState = error.isUnavailable ? .unavailable : .failed
        if state == .unavailable { unavailable += 1 } else { failed += 1 }
        let text = Redactor.redact(error.description)
        if failures.count < Self.maxFailuresListed {
            failures.append(LFSObjectFailure(oid: pointer.oid.hex, size: pointer.size, state: state, error: text))
        }
        pending.append(LFSObjectUpdate(oid: pointer.oid.hex, state: state, error: text, attempted: attempted))
    }
}
