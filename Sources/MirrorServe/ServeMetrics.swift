import Foundation
import MirrorCore
import Prometheus

/// The server's Prometheus metrics: requests by mirror, kind and status, bytes served, downloads in
/// progress and pull-through fetches. Registered in the registry it is given (the daemon's, when
/// `daemon --serve-listen` runs both in one process).
public final class ServeMetrics: @unchecked Sendable {
    let registry: PrometheusCollectorRegistry
    private let lock = NSLock()
    private var active = 0
    private let activeGauge: Gauge
    private let pullThroughs: Counter
    private let pullThroughFailures: Counter

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        activeGauge = registry.makeGauge(descriptor: .init(metricName: "mirrordeck_serve_active", unitName: "downloads",
                                                            helpText: "Responses being streamed to clients now (clones, fetches, LFS objects)."))
        pullThroughs = registry.makeCounter(descriptor: .init(metricName: "mirrordeck_serve_pull_through", unitName: "total",
                                                              helpText: "LFS objects fetched from upstream because a client asked for them."))
        pullThroughFailures = registry.makeCounter(descriptor: .init(metricName: "mirrordeck_serve_pull_through_failures", unitName: "total",
                                                                     helpText: "Pull-through fetches that failed."))
    }

    private static var requests: MetricNameDescriptor { MetricNameDescriptor(metricName: "mirrordeck_serve_requests", unitName: "total",
                                                       helpText: "Requests served, by mirror, kind and status.") }
    private static var bytes: MetricNameDescriptor { MetricNameDescriptor(metricName: "mirrordeck_serve", unitName: "bytes_total",
                                                    helpText: "Response body bytes sent to clients, by mirror and kind.") }

    func count(_ entry: AccessLogEntry) {
        let mirror = entry.mirror ?? ""
        registry.makeCounter(descriptor: Self.requests,
                             labels: [("mirror", mirror), ("kind", entry.kind.rawValue), ("status", String(entry.status))]).increment()
        if entry.bytes > 0 {
            registry.makeCounter(descriptor: Self.bytes, labels: [("mirror", mirror), ("kind", entry.kind.rawValue)])
                .increment(by: Int64(entry.bytes))
        }
    }

    func downloadStarted() { adjustActive(1) }
    func downloadEnded() { adjustActive(-1) }

    func pullThrough(ok: Bool) {
        pullThroughs.increment()
        if !ok { pullThroughFailures.increment() }
    }

    private func adjustActive(_ delta: Int) {
        lock.lock()
        active += delta
        activeGauge.set(Double(active))
        lock.unlock()
    }
}
