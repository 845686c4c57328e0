import Foundation
import TOMLKit

/// Engine limits and timings, from `<home>/config.toml`'s `[engine]` table (every key optional).
///
/// ```toml
/// [engine]
/// max_syncs = 8             # syncs downloading at once
/// max_checks = 32           # sync jobs at once: checks of the upstream are cheap, downloads wait for max_syncs
/// max_lfs = 8               # LFS transfers at once, across all LFS jobs
/// verify_threads = 2        # hashing threads for audits (default: cores)
/// per_host_fetches = 2      # pack downloads at once from one upstream host
/// retry_base_seconds = 60   # first retry after a failure; doubles up to the interval
/// pause_after_failures = 10 # consecutive failures before a mirror is paused
/// stall_timeout = 60        # seconds without a byte before a git or LFS transfer counts as stalled
/// max_rate = "50MB/s"       # all git and LFS transfers together (default: no cap)
/// min_rate = "100KB/s"      # an LFS download slower than this for stall_timeout s is resumed on a new connection
///
/// [hosts."github.com"]
/// max_rate = "20MB/s"       # every transfer from one upstream host together
/// request_budget = "4000/h" # requests to the host per window; scheduled checks are spread to fit
/// ```
public struct EngineConfig: Sendable, Equatable {
    public static let defaultLeaseTimeout: TimeInterval = 10

    /// Syncs that may download (fetch packs) at once.
    public var maxSyncs = 8
    /// Sync jobs that may run at once (never fewer than `maxSyncs`). A sync first checks its upstream (one ref
    /// listing: a round trip, no download) and most find nothing new; only a sync with something to fetch
    /// waits for one of the `maxSyncs` download slots. So a far upstream's round trips are waited out
    /// `maxChecks` at a time, while downloads stay at `maxSyncs`.
    public var maxChecks = 32
    public var maxLFS = 8
    public var maxVerify = 1
    public var verifyThreads = ProcessInfo.processInfo.activeProcessorCount
    public var perHostFetches = 2
    /// Seconds without a heartbeat after which an engine counts as dead.
    public var leaseTimeout = defaultLeaseTimeout
    public var heartbeatInterval: TimeInterval = 2
    /// How often the engine looks for work, cancellations and due mirrors.
    public var tickInterval: TimeInterval = 0.1
    /// Whether this engine queues scheduled syncs (the daemon and dashboard do; one-shot CLI runs don't).
    public var runsScheduler = true
    public var policy = SchedulePolicy()
    /// Maintain jobs at once (repacks are disk- and CPU-heavy).
    public var maxMaintain = 1
    /// Thresholds, quiet hours and grace period of git maintenance (`[maintenance]`).
    public var maintenance = MaintenanceConfig()
    /// Space LFS fetches leave free on the home's filesystem (`[storage] disk_reserve`, `--disk-reserve`).
    public var diskReserve = DiskReserve.default
    /// Seconds without a byte from an upstream before a git or LFS transfer is stalled (`stall_timeout`).
    public var stallTimeout = GitTransferLimits.defaultStallTimeout
    /// Fetch in steps from the start (`sync --stepwise`), not only after a cut.
    public var forceSteps = false
    /// Bytes a second for all transfers together (`[engine] max_rate`), and per upstream host (`[hosts."HOST"]
    /// max_rate`); nil and absent hosts: no cap.
    public var maxRate: Int64?
    public var hostRates: [String: Int64] = [:]
    /// Bytes a second an LFS download must keep up over `stallTimeout` seconds, or it is aborted and
    /// resumed with `Range` on a new connection (`[engine] min_rate`, `sync --min-rate`); nil: no limit.
    public var minRate: Int64?
    /// Requests per window each upstream host may get (`[hosts."HOST"] request_budget`, `--host-budget`).
    public var hostBudgets: [String: RequestBudget] = [:]

    public init() {}

    public static let knownKeys = ["max_syncs", "max_checks", "max_lfs", "max_verify", "verify_threads", "per_host_fetches", "lease_timeout",
                                   "retry_base_seconds", "pause_after_failures", "stall_timeout", "max_rate", "min_rate"]

    /// Reads `[engine]` from the home's config.toml; a missing file gives the defaults.
    public static func load(home: Home) throws -> EngineConfig {
        let path = home.root + "/config.toml"
        var config = EngineConfig()
        guard let data = FileManager.default.contents(atPath: path) else { return config }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: String(decoding: data, as: UTF8.self))
        } catch let error as TOMLParseError {
            throw ConfigError.mirrorList(file: path, reason: "line \(error.source.begin.line): \(error.description)")
        }
        config.maintenance = try MaintenanceConfig.load(table: table["maintenance"]?.table, file: path)
        config.diskReserve = try DiskReserve.load(table: table["storage"]?.table, file: path)
        if let hosts = table["hosts"]?.table {
            for host in hosts.keys {
                guard let entry = hosts[host]?.table, Set(entry.keys).isSubset(of: ["max_rate", "request_budget"]) else {
                    throw ConfigError.mirrorList(file: path, reason: "[hosts.\"\(host)\"] takes only max_rate and request_budget, e.g. max_rate = \"20MB/s\", request_budget = \"4000/h\"")
                }
                if let text = entry["max_rate"] {
                    config.hostRates[host.lowercased()] = try rate(text.string, at: "[hosts.\"\(host)\"] max_rate", file: path)
                }
                if let text = entry["request_budget"] {
                    guard let budget = text.string.flatMap(RequestBudget.init) else {
                        throw ConfigError.mirrorList(file: path, reason: "[hosts.\"\(host)\"] request_budget must be requests per window such as \"4000/h\" (units s, m, h, d)")
                    }
                    config.hostBudgets[host.lowercased()] = budget
                }
            }
        }
        guard let engine = table["engine"]?.table else { return config }
        for key in engine.keys {
            guard knownKeys.contains(key) else {
                throw ConfigError.mirrorList(file: path, reason: "unknown key '\(key)' in [engine] (known: \(knownKeys.joined(separator: ", ")))")
            }
            if key == "max_rate" || key == "min_rate" {
                let value = try rate(engine[key]?.string, at: "[engine] \(key)", file: path)
                if key == "max_rate" { config.maxRate = value } else { config.minRate = value }
                continue
            }
            let maximum = key == "retry_base_seconds" ? 86400 : key == "stall_timeout" ? 3600 : 256
            guard let value = engine[key]?.int, value >= 1, value <= maximum else {
                throw ConfigError.mirrorList(file: path, reason: "[engine] \(key) must be a whole number from 1 to \(maximum)")
            }
            switch key {
            case "max_syncs": config.maxSyncs = value
            case "max_checks": config.maxChecks = value
            case "max_lfs": config.maxLFS = value
            case "max_verify": config.maxVerify = value
            case "verify_threads": config.verifyThreads = value
            case "per_host_fetches": config.perHostFetches = value
            case "lease_timeout": config.leaseTimeout = TimeInterval(value)
            case "retry_base_seconds": config.policy.retryBaseSeconds = value
            case "pause_after_failures": config.policy.pauseAfterFailures = value
            case "stall_timeout": config.stallTimeout = TimeInterval(value)
            default: break
            }
        }
        return config
    }

    private static func rate(_ text: String?, at key: String, file: String) throws -> Int64 {
        guard let text, let value = try? AuditOptions.parseRate(text) else {
            throw ConfigError.mirrorList(file: file, reason: "\(key) must be a rate such as \"20MB/s\" (at least 64KiB/s)")
        }
        return value
    }

    /// Sync jobs at once: `maxChecks`, and never fewer than may download.
    var syncJobs: Int { max(maxSyncs, maxChecks) }

    /// Slots per job kind.
    var slots: [JobKind: Int] { [.sync: syncJobs, .lfs: LFSJob.slots(maxLFS: maxLFS), .verify: maxVerify, .maintain: maxMaintain] }
}
