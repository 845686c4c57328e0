import Foundation

/// Runs blocking work items on a fixed number of dedicated threads (never Swift's cooperative pool).
public enum WorkerPool {
    /// Calls `body` for each item on up to `width` threads and returns when all are done, results in input order.
    public static func map<T: Sendable, R: Sendable>(_ items: [T], width: Int, stackSize: Int = 4 << 20,
                                                     _ body: @escaping @Sendable (T) -> R) -> [R] {
        guard !items.isEmpty else { return [] }
        let state = PoolState<R>(count: items.count)
        let threads = max(1, min(width, items.count))
        let done = DispatchSemaphore(value: 0)
        for _ in 0..<threads {
            let thread = Thread {
                while let index = state.claim() {
                    state.store(body(items[index]), at: index)
                }
                done.signal()
            }
            thread.stackSize = stackSize
            thread.start()
        }
        for _ in 0..<threads { done.wait() }
        return state.results()
    }
}

private final class PoolState<R>: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private let count: Int
    private var slots: [R?]

    init(count: Int) {
        self.count = count
        slots = Array(repeating: nil, count: count)
    }

    func claim() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }

    func store(_ value: R, at index: Int) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    func results() -> [R] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0! }
    }
}
