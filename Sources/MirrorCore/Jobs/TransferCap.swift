import Foundation

/// The bandwidth cap that binds a mirror's transfers, and which setting it comes from.
///
/// A transfer takes from every cap that applies (`TransferBudget`), so the lowest of them is the one it can
/// reach: the mirror's own (`--max-rate`), its upstream host's (`[hosts."HOST"] max_rate`) or the engine's
/// (`[engine] max_rate`). Shared caps may hold it lower still when other transfers take from them too.
public struct TransferCap: Sendable, Equatable, CustomStringConvertible {
    public enum Source: String, Sendable { case mirror, host, engine }
    /// Bytes a second.
    public var rate: Int64
    public var source: Source

    public init(rate: Int64, source: Source) {
        self.rate = rate
        self.source = source
    }

    /// The lowest cap among the mirror's, its host's and the engine's; nil when none is set.
    public static func effective(for mirror: Mirror, config: EngineConfig) -> TransferCap? {
        let caps: [TransferCap] = [
            mirror.maxRate.map { TransferCap(rate: $0, source: .mirror) },
            config.hostRates[MirrorHosts.upstream(mirror)].map { TransferCap(rate: $0, source: .host) },
            config.maxRate.map { TransferCap(rate: $0, source: .engine) },
        ].compactMap { $0 }
        return caps.min { $0.rate < $1.rate }
    }

    /// "capped 5.0 MB/s (host)".
    public var description: String { "capped \(ByteFormat.rate(Double(rate))) (\(source.rawValue))" }
}
