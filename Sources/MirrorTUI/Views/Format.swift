import Foundation
import MirrorCore

/// How the dashboard writes times, sizes and rates. Everything shown with minute resolution or coarser,
/// so an idle dashboard has nothing to repaint between minutes.
public enum Format {
    /// A lag or age: `<1m`, `4m`, `2h`, `3d`, or `never` (nil: no success yet).
    public static func lag(_ seconds: TimeInterval?) -> String {
        guard let seconds else { return "never" }
        if seconds < 60 { return "<1m" }
        return TimeFormat.lag(seconds)
    }

    /// Time until a scheduled run: `in 4m`, `in <1m`, `due`, or `—` when nothing is scheduled.
    public static func until(_ date: Date?, now: Date, dash: String = "—") -> String {
        guard let date else { return dash }
        let s = date.timeIntervalSince(now)
        if s <= 0 { return "due" }
        return "in " + lag(s)
    }

    /// A moment: `14:05` today, `Mar 03` this year, `2024-03-03` before (local time).
    public static func moment(_ date: Date?, now: Date, time: LocalTime = .system, dash: String = "—") -> String {
        guard let date else { return dash }
        let c = time.fields(date)
        let n = time.fields(now)
        if c.year == n.year, c.month == n.month, c.day == n.day { return pad2(c.hour) + ":" + pad2(c.minute) }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        if c.year == n.year { return months[max(0, min(11, c.month - 1))] + " " + pad2(c.day) }
        return String(c.year) + "-" + pad2(c.month) + "-" + pad2(c.day)
    }

    /// The header clock, `HH:MM`.
    public static func clock(_ date: Date, time: LocalTime = .system) -> String {
        let c = time.fields(date)
        return pad2(c.hour) + ":" + pad2(c.minute)
    }

    /// Two digits, zero-padded.
    static func pad2(_ n: Int) -> String { n < 10 && n >= 0 ? "0" + String(n) : String(n) }

    /// A byte count as everywhere in MirrorDeck (`1.5 KiB`).
    public static func size(_ bytes: Int64) -> String { ByteFormat.format(bytes) }

    /// Seconds left: `12s`, `4m`, `1h05m`, `2d`, or `—` when unknown.
    public static func eta(_ seconds: TimeInterval?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0 else { return "—" }
        let s = Int(seconds.rounded(.up))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(pad2(s % 60))s" }
        if s < 86400 { return "\(s / 3600)h\(pad2((s % 3600) / 60))m" }
        return "\(s / 86400)d"
    }

    /// A transfer rate, or `—` while there is none.
    public static func rate(_ bytesPerSecond: Double) -> String {
        bytesPerSecond > 0 ? ByteFormat.rate(bytesPerSecond) : "—"
    }

    /// A fraction as a whole percentage, `0%`–`100%` (99% until really done).
    public static func percent(_ fraction: Double) -> String {
        let f = max(0, min(1, fraction))
        let p = f >= 1 ? 100 : min(99, Int((f * 100).rounded(.down)))
        return "\(p)%"
    }

    /// A count with thousands separators: `10,000`.
    public static func count(_ n: Int) -> String {
        let digits = String(abs(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }
}

/// Calendar fields of a moment from the C library (`localtime_r`, the system's time zone database), not
/// Foundation's Calendar: that loads ICU's calendar and locale data, megabytes of the dashboard's memory
/// for four numbers.
public struct LocalTime: Sendable {
    /// The system's local time zone (`TZ`, else /etc/localtime).
    public static let system = LocalTime(utc: false)
    /// UTC, for tests and reproducible output.
    public static let utc = LocalTime(utc: true)

    let utc: Bool

    public struct Fields: Equatable, Sendable {
        public var year, month, day, hour, minute: Int
    }

    public func fields(_ date: Date) -> Fields {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        _ = utc ? gmtime_r(&t, &parts) : localtime_r(&t, &parts)
        return Fields(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday),
                      hour: Int(parts.tm_hour), minute: Int(parts.tm_min))
    }
}
