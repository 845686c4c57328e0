import Foundation
import TOMLKit

/// When git maintenance runs and what it keeps, from `<home>/config.toml`'s `[maintenance]` table
/// (every key optional) and the daemon's `--maintenance-window`.
///
/// ```toml
/// [maintenance]
/// window = "02:00-05:00"  # quiet hours (local time) for scheduled maintenance; default: any time
/// max_packs = 20          # more packs than this after a sync makes maintenance due
/// max_loose = 6700        # more loose objects than this makes it due (git's own gc.auto default)
/// interval = "7d"         # maintenance is due this long after the last one anyway
/// grace = "14d"           # unreachable objects are kept this long before they go
/// ```
public struct MaintenanceConfig: Sendable, Equatable {
    public static let defaultGraceSeconds = 14 * 86400

    public var window: MaintenanceWindow?
    public var maxPacks = 20
    public var maxLoose = 6700
    public var intervalSeconds = 7 * 86400
    public var graceSeconds = defaultGraceSeconds

    public init() {}

    public static let knownKeys = ["window", "max_packs", "max_loose", "interval", "grace"]

    /// Reads a `[maintenance]` table; nil gives the defaults. Errors name the file and the key.
    static func load(table: TOMLTable?, file: String) throws -> MaintenanceConfig {
        var config = MaintenanceConfig()
        guard let table else { return config }
        for key in table.keys {
            guard knownKeys.contains(key) else {
                throw ConfigError.mirrorList(file: file, reason: "unknown key '\(key)' in [maintenance] (known: \(knownKeys.joined(separator: ", ")))")
            }
            switch key {
            case "max_packs", "max_loose":
                guard let value = table[key]?.int, value >= 1, value <= 1_000_000 else {
                    throw ConfigError.mirrorList(file: file, reason: "[maintenance] \(key) must be a whole number from 1 to 1000000")
                }
                if key == "max_packs" { config.maxPacks = value } else { config.maxLoose = value }
            case "window":
                guard let text = table[key]?.string, let window = MaintenanceWindow(text) else {
                    throw ConfigError.mirrorList(file: file, reason: "[maintenance] window must look like \"02:00-05:00\" (local time)")
                }
                config.window = window
            default:
                guard let text = table[key]?.string, let seconds = try? Interval.parse(text, minimum: key == "grace" ? 0 : 3600) else {
                    throw ConfigError.mirrorList(file: file, reason: "[maintenance] \(key) must be a duration such as \"7d\" or \"12h\"\(key == "grace" ? "" : " (at least 1h)")")
                }
                if key == "grace" { config.graceSeconds = seconds } else { config.intervalSeconds = seconds }
            }
        }
        return config
    }
}

/// Quiet hours, local time, `HH:MM-HH:MM`; a window may cross midnight (`22:00-04:00`).
public struct MaintenanceWindow: Sendable, Equatable, CustomStringConvertible {
    /// Minutes after local midnight.
    public var start: Int
    public var end: Int

    /// Parses `02:00-05:00`; nil when it is not two distinct times of day.
    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = Self.minutes(parts[0]), let end = Self.minutes(parts[1]), start != end else { return nil }
        self.start = start
        self.end = end
    }

    private static func minutes(_ text: Substring) -> Int? {
        let hm = text.split(separator: ":", omittingEmptySubsequences: false)
        guard hm.count == 2, hm[0].count == 2, hm[1].count == 2, let h = Int(hm[0]), let m = Int(hm[1]),
              (0...23).contains(h), (0...59).contains(m) else { return nil }
        return h * 60 + m
    }

    /// Whether `date` falls inside the window, in the given time zone (the machine's by default).
    public func contains(_ date: Date, timeZone: TimeZone = .current) -> Bool {
        let seconds = Int(date.timeIntervalSince1970) + timeZone.secondsFromGMT(for: date)
        let minute = ((seconds / 60) % 1440 + 1440) % 1440
        return start < end ? (minute >= start && minute < end) : (minute >= start || minute < end)
    }

    public var description: String {
        String(format: "%02d:%02d-%02d:%02d", start / 60, start % 60, end / 60, end % 60)
    }
}
