import Foundation
import MirrorCore

/// LFS objects being fetched from upstream because clients asked for them before a sync brought them.
///
/// One flight per mirror and object, however many clients ask: they all follow the same `.part` file as
/// it grows. At most `maxFlights` run at once; later ones wait for a slot.
final class PullThrough: @unchecked Sendable {
    final class Flight: @unchecked Sendable {
        enum State: Equatable {
            case running
            case placed(String)
            case failed(String)
        }

        private let lock = NSLock()
        private var _state = State.running
        var state: State {
            lock.lock()
            defer { lock.unlock() }
            return _state
        }

        fileprivate func finish(_ state: State) {
            lock.lock()
            _state = state
            lock.unlock()
        }
    }

    private let sync: LFSSync
    private let metrics: ServeMetrics?
    private let lock = NSLock()
    private var flights: [String: Flight] = [:]
    private let slots: DispatchSemaphore
    private(set) var started = 0

    init(sync: LFSSync, metrics: ServeMetrics?, maxFlights: Int = 8) {
        self.sync = sync
        self.metrics = metrics
        slots = DispatchSemaphore(value: maxFlights)
    }

    /// The flight bringing `pointer` into `mirror`: the one already running, or a new one.
    func flight(mirror: Mirror, pointer: LFSPointer) -> Flight {
        let key = mirror.name + "\n" + pointer.oid.hex
        lock.lock()
        if let existing = flights[key] {
            lock.unlock()
            return existing
        }
        let flight = Flight()
        flights[key] = flight
        started += 1
        lock.unlock()
        let thread = Thread { [self, sync, metrics] in
            slots.wait()
            let outcome = sync.fetchObject(mirror: mirror, pointer: pointer)
            slots.signal()
            switch outcome {
            case let .success(path):
                flight.finish(.placed(path))
                metrics?.pullThrough(ok: true)
            case let .failure(error):
                flight.finish(.failed(error.description))
                metrics?.pullThrough(ok: false)
            }
            lock.lock()
            flights[key] = nil
            lock.unlock()
        }
        thread.stackSize = 1 << 20
        thread.start()
        return flight
    }
}
