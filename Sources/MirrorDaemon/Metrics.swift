import Foundation
import MirrorCore
import Prometheus

/// Prometheus metrics: counters and histograms fed by the engine as jobs end, gauges read from the
/// catalog at each scrape (so they are right whichever process changed the catalog).
public final class Metrics: @unchecked Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let catalog: Catalog
    private let lock = NSLock()
    private let syncDuration: ValueHistogram
    private var perMirror: [String: [Gauge]] = [:]
    private var perHost: [String: Gauge] = [:]
    private var reportedWrites = (transactions: 0, rows: 0)
    private let storage: StorageMetrics

    public init(catalog: Catalog) {
        self.catalog = catalog
        syncDuration = registry.makeValueHistogram(
            descriptor: .named("mirrordeck_sync_duration_seconds", help: "Duration of sync jobs run by this daemon."),
            buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600])
        for result in ["succeeded", "failed", "cancelled"] {
            _ = registry.makeCounter(descriptor: .named("mirrordeck_sync_results_total", help: "Sync jobs by outcome."), labels: [("result", result)])
            _ = registry.makeCounter(descriptor: .named("mirrordeck_verify_results_total", help: "Verify jobs by outcome."), labels: [("result", result)])
        }
        _ = registry.makeCounter(descriptor: .named("mirrordeck_lfs_bytes_fetched_total", help: "Bytes of LFS objects downloaded by this daemon."))
        _ = registry.makeCounter(descriptor: .named(Self.writeTransactions, help: Self.writeTransactionsHelp))
        _ = registry.makeCounter(descriptor: .named(Self.rowsWritten, help: Self.rowsWrittenHelp))
        storage = StorageMetrics(registry: registry)
    }

    static let writeTransactions = "mirrordeck_catalog_write_transactions_total"
    static let writeTransactionsHelp = "Write transactions this daemon committed to the catalog (engine, scheduler, webhooks)."
    static let rowsWritten = "mirrordeck_catalog_rows_written_total"
    static let rowsWrittenHelp = "Catalog rows this daemon inserted, updated or deleted (SQLite total_changes of its writer connection)."

    /// Counts a finished job (the engine calls this).
    public func record(_ finished: JobFinished) {
        let result = finished.state.rawValue
        switch finished.job.kind {
        case .sync:
            syncDuration.record(finished.duration)
            registry.makeCounter(descriptor: .named("mirrordeck_sync_results_total", help: "Sync jobs by outcome."), labels: [("result", result)]).increment()
        case .lfs:
            registry.makeCounter(descriptor: .named("mirrordeck_lfs_bytes_fetched_total", help: "Bytes of LFS objects downloaded by this daemon."))
                .increment(by: Double(finished.bytes))
        case .verify:
            registry.makeCounter(descriptor: .named("mirrordeck_verify_results_total", help: "Verify jobs by outcome."), labels: [("result", result)]).increment()
        case .maintain:
            storage.record(finished)
        }
    }

    /// The exposition text, with per-mirror and queue gauges refreshed from the catalog.
    public func render(now: Date = Date()) throws -> String {
        let summaries = try catalog.summariesFast()
        let depth = try catalog.queueDepth()
        let running = try catalog.jobs().filter { $0.job.state == .running }
        let limits = try catalog.hostLimits(now: now)
        lock.lock()
        defer { lock.unlock() }
        var limitedHosts = Set<String>()
        for limit in limits {
            limitedHosts.insert(limit.host)
            perHost[limit.host] = registry.makeGauge(
                descriptor: .named("mirrordeck_host_rate_limited_until_seconds", help: "Unix time until which an upstream host is rate-limited (present only while it is)."),
                labels: [("host", limit.host)]).settingTo(limit.until.timeIntervalSince1970)
        }
        for (host, gauge) in perHost where !limitedHosts.contains(host) {
            registry.unregisterGauge(gauge)
            perHost[host] = nil
        }
        var seen = Set<String>()
        for s in summaries {
            let name = s.mirror.name
            seen.insert(name)
            let labels = [("mirror", name)]
            let gauges = [
                registry.makeGauge(descriptor: .named("mirrordeck_mirror_lag_seconds", help: "Seconds since the mirror was last known identical to upstream (-1: never)."), labels: labels)
                    .settingTo(s.state.lag(now: now) ?? -1),
                registry.makeGauge(descriptor: .named("mirrordeck_mirror_behind_refs", help: "Upstream refs that differed at the last check."), labels: labels)
                    .settingTo(Double(s.state.behind)),
                registry.makeGauge(descriptor: .named("mirrordeck_mirror_last_success_timestamp_seconds", help: "Unix time of the last successful sync (0: never)."), labels: labels)
                    .settingTo(s.state.lastSuccessAt?.timeIntervalSince1970 ?? 0),
                registry.makeGauge(descriptor: .named("mirrordeck_mirror_consecutive_failures", help: "Failed syncs since the last success."), labels: labels)
                    .settingTo(Double(s.state.consecutiveFailures)),
                registry.makeGauge(descriptor: .named("mirrordeck_mirror_paused", help: "1 when the mirror is paused."), labels: labels)
                    .settingTo(s.state.status == .paused ? 1 : 0),
                registry.makeGauge(descriptor: .named("mirrordeck_mirror_stale", help: "1 when lag exceeds 1.5 times the interval."), labels: labels)
                    .settingTo(s.state.isStale(intervalSeconds: s.mirror.intervalSeconds, now: now) ? 1 : 0),
                registry.makeGauge(descriptor: .named("mirrordeck_mirror_rate_limited", help: "1 while the mirror's upstream host is rate-limited (its syncs wait for the reset)."), labels: labels)
                    .settingTo(MirrorHosts.limit(for: s.mirror, in: limits) == nil ? 0 : 1),
            ]
            perMirror[name] = gauges
        }
        for (name, gauges) in perMirror where !seen.contains(name) {
            gauges.forEach(registry.unregisterGauge)
            perMirror[name] = nil
        }
        for kind in JobKind.allCases {
            registry.makeGauge(descriptor: .named("mirrordeck_queue_depth", help: "Queued jobs by kind."), labels: [("kind", kind.rawValue)])
                .set(Double(depth[kind] ?? 0))
            registry.makeGauge(descriptor: .named("mirrordeck_jobs_running", help: "Running jobs by kind."), labels: [("kind", kind.rawValue)])
                .set(Double(running.filter { $0.job.kind == kind }.count))
        }
        try storage.refresh(catalog: catalog, summaries: summaries)
        registry.makeGauge(descriptor: .named("mirrordeck_mirrors", help: "Mirrors in the catalog.")).set(Double(summaries.count))
        let writes = catalog.writeTotals
        registry.makeCounter(descriptor: .named(Self.writeTransactions, help: Self.writeTransactionsHelp))
            .increment(by: Int64(writes.transactions - reportedWrites.transactions))
        registry.makeCounter(descriptor: .named(Self.rowsWritten, help: Self.rowsWrittenHelp))
            .increment(by: Int64(writes.rows - reportedWrites.rows))
        reportedWrites = writes
        return registry.emitToString()
    }
}

private extension Gauge {
    func settingTo(_ value: Double) -> Gauge {
        set(value)
        return self
    }
}

extension MetricNameDescriptor {
    /// A descriptor for a metric whose full name is spelled out (swift-prometheus joins the parts with `_`).
    static func named(_ name: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
