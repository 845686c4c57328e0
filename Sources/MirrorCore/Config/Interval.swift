/// Parses and formats durations such as `90s`, `30m`, `2h`, `1d`, `1h30m`.
public enum Interval {
    public static let defaultSeconds = 2 * 3600
    public static let minimumSeconds = 10

    /// Parses a duration with units s, m, h, d, w (combinations allowed); throws `ConfigError.invalidInterval`.
    public static func parse(_ text: String, minimum: Int = minimumSeconds) throws -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var total = 0
        var number = ""
        var sawUnit = false
        for ch in trimmed {
            if ch.isASCII, ch.isNumber {
                number.append(ch)
                guard number.count <= 9 else { throw ConfigError.invalidInterval(text) }
                continue
            }
            guard let n = Int(number) else { throw ConfigError.invalidInterval(text) }
            let unit: Int
            switch ch {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            case "w": unit = 7 * 86400
            default: throw ConfigError.invalidInterval(text)
            }
            total += n * unit
            number = ""
            sawUnit = true
        }
        guard sawUnit, number.isEmpty, total >= minimum, total <= 365 * 86400 else {
            throw ConfigError.invalidInterval(text)
        }
        return total
    }

    /// Formats seconds compactly, largest units first: `2h`, `1h30m`, `45s`.
    public static func format(_ seconds: Int) -> String {
        if seconds <= 0 { return "0s" }
        var rest = seconds
        var out = ""
        for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }
}

import Foundation
