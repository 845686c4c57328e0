import Foundation

/// Transfers at once across every LFS fetch that shares it (`[engine] max_lfs`): a counting semaphore a
/// worker holds for one object at a time.
///
/// Each fetch starts as many workers as the whole budget, so one fetch alone uses all of it (on a far link
/// small objects are bound by round trips, and throughput grows with transfers in flight), while two fetches
/// at once share it instead of each getting a fixed half.
public final class LFSTransferSlots: @unchecked Sendable {
    private let condition = NSCondition()
    private var free: Int
    public let count: Int

    public init(_ count: Int) {
        self.count = max(1, count)
        free = self.count
    }

    /// Waits for a slot; false when `isCancelled` said so first (checked a few times a second).
    func acquire(isCancelled: () -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while free == 0 {
            if isCancelled() { return false }
            _ = condition.wait(until: Date().addingTimeInterval(0.25))
        }
        free -= 1
        return true
    }

    func release() {
        condition.lock()
        free += 1
        condition.signal()
        condition.unlock()
    }
}
