import ArgumentParser
import Foundation
import MirrorCore
import MirrorTUI

/// `mirrordeck watch-catalog`: reads the catalog exactly as a dashboard does (its `CatalogLoader`, same
/// queries, same 10 Hz poll) without a terminal, and reports what it read. For benchmarks: it measures
/// what watching costs the engine, without the drawing.
struct WatchCatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch-catalog",
        abstract: "Poll the catalog like a dashboard, without a terminal, until SIGTERM or --seconds (for benchmarks).",
        shouldDisplay: false)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Stop after this many seconds (default: run until SIGTERM or SIGINT).") var seconds: Double?
    @Option(help: "Also load this mirror's details (runs, LFS, last audit), as the dashboard's detail pane does.") var detail: String?
    @Option(help: "Polls a second (the dashboard's: 10).") var hz: Double = 10

    func validate() throws {
        guard hz > 0, hz <= 1000 else { throw ValidationError("--hz must be above 0 and at most 1000") }
        if let seconds, seconds <= 0 { throw ValidationError("--seconds must be above 0") }
        if let detail { try MirrorName.validate(detail) }
    }

    func run() throws {
        let (home, catalog) = try global.open()
        let woken = DispatchSemaphore(value: 0)
        let loader = try CatalogLoader(home: home, catalog: catalog, wake: { woken.signal() })
        loader.pollInterval = 1 / hz
        loader.setDetail(detail)
        let stop = StopFlag()
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { stop.set(); woken.signal() }
            source.resume()
            sources.append(source)
        }
        let started = Date()
        let deadline = seconds.map { started.addingTimeInterval($0) } ?? .distantFuture
        var snapshots = 0
        var errors: [String] = []
        var rowsSeen = 0
        var jobsSeen = 0
        loader.start()
        // The dashboard's UI thread: wait to be woken, take the newest snapshot.
        while !stop.isSet, Date() < deadline {
            _ = woken.wait(timeout: .now() + min(0.5, max(0, deadline.timeIntervalSinceNow)))
            let (snapshot, error) = loader.take()
            if let snapshot {
                snapshots += 1
                rowsSeen = snapshot.mirrors.count
                jobsSeen = max(jobsSeen, snapshot.jobs.count)
            }
            if let error, errors.count < 5 { errors.append(error) }
        }
        loader.stop()
        sources.forEach { $0.cancel() }
        let elapsed = Date().timeIntervalSince(started)
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        print(JSONShapes.encode([
            "seconds": elapsed,
            "snapshots": snapshots,
            "snapshots_per_second": elapsed > 0 ? Double(snapshots) / elapsed : 0,
            "mirrors": rowsSeen,
            "max_active_jobs": jobsSeen,
            "cpu_seconds": cpu,
            "errors": errors,
        ] as [String: Any]))
        if !errors.isEmpty { throw ExitCode(1) }
    }
}

/// A flag one thread sets and another reads.
private final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
