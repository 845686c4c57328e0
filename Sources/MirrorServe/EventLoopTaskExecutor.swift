import NIOCore

/// Runs a connection's request handling on the connection's own event loop, the way nginx runs a request
/// on the worker that accepted it: reading the request, answering it and starting the body need no thread
/// switch. On Swift's cooperative pool every `await` on the channel was a hand-off between threads, and on
/// a busy machine each hand-off waits for the scheduler; under 32 downloading clients that wait was most
/// of the time to first byte (see docs/benchmarks.md).
///
/// Whatever runs under this executor must not block: blocking reads (pipes, pull-through `.part` files)
/// go through ``ChunkReader``'s own threads, and catalog lookups through ``ServeLookup``'s cache.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable { // immutable; EventLoop is Sendable
    let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        // From the loop itself this only queues the job: no wake-up, no thread switch.
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
