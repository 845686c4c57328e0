import Foundation
import MirrorCore
import Prometheus

/// The storage series of `/metrics`: maintain job outcomes, per-mirror packs and disk bytes, and the
/// home filesystem's free space. Kept apart from `Metrics` so storage and other series grow independently.
final class StorageMetrics: @unchecked Sendable {
    private let registry: PrometheusCollectorRegistry
    private var perMirror: [String: [Gauge]] = [:]

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        for result in ["succeeded", "failed", "cancelled"] {
            _ = registry.makeCounter(descriptor: Self.descriptor("mirrordeck_maintain_results_total", "Maintain jobs by outcome."), labels: [("result", result)])
        }
    }

    /// A series name with its help text (the full name as the metric name: no namespace or unit parts).
    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// Counts a finished maintain job.
    func record(_ finished: JobFinished) {
        registry.makeCounter(descriptor: Self.descriptor("mirrordeck_maintain_results_total", "Maintain jobs by outcome."), labels: [("result", finished.state.rawValue)])
            .increment()
    }

    /// Refreshes the gauges (the caller holds the metrics lock).
    func refresh(catalog: Catalog, summaries: [MirrorSummary]) throws {
        let storage = try catalog.storageRows()
        var seen = Set<String>()
        for s in summaries {
            let name = s.mirror.name
            seen.insert(name)
            let labels = [("mirror", name)]
            let packs = registry.makeGauge(descriptor: Self.descriptor("mirrordeck_mirror_git_packs", "Packs in the mirror at the last look (after a sync or maintenance)."), labels: labels)
            packs.set(Double(storage[s.mirror.id!]?.packs ?? 0))
            let disk = registry.makeGauge(descriptor: Self.descriptor("mirrordeck_mirror_disk_bytes", "Bytes the mirror's repository occupies on disk, as of its last sync or maintenance."), labels: labels)
            disk.set(Double(s.state.diskBytes))
            perMirror[name] = [packs, disk]
        }
        for (name, gauges) in perMirror where !seen.contains(name) {
            gauges.forEach(registry.unregisterGauge)
            perMirror[name] = nil
        }
        let home = (catalog.path as NSString).deletingLastPathComponent
        if let space = DiskSpace.of(home) {
            registry.makeGauge(descriptor: Self.descriptor("mirrordeck_home_free_bytes", "Free bytes on the home's filesystem.")).set(Double(space.freeBytes))
            registry.makeGauge(descriptor: Self.descriptor("mirrordeck_home_size_bytes", "Size of the home's filesystem in bytes.")).set(Double(space.totalBytes))
        }
    }
}
