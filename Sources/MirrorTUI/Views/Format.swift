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
    public static func moment(_ date: Date?, now: Date, calendar: Calendar = .current, dash: String = "—") -> String {
        guard let date else { return dash }
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        let n = calendar.dateComponents([.year, .month, .day], from: now)
        if c.year == n.year, c.month == n.month, c.day == n.day {
            return String(format: "%02d:%02d", c.hour ?? 0, c.minute ?? 0)
        }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        if c.year == n.year { return String(format: "%@ %02d", months[max(0, (c.month ?? 1) - 1)], c.day ?? 1) }
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 1, c.day ?? 1)
    }

    /// The header clock, `HH:MM`.
    public static func clock(_ date: Date, calendar: Calendar = .current) -> String {
        let c = calendar.dateComponents([.hour, .minute], from: date)
        return String(format: "%02d:%02d", c.hour ?? 0, c.minute ?? 0)
    }

    /// A byte count as everywhere in MirrorDeck (`1.5 KiB`).
    public static func size(_ bytes: Int64) -> String { ByteFormat.format(bytes) }

    /// Seconds left: `12s`, `4m`, `1h05m`, `2d`, or `—` when unknown.
    public static func eta(_ seconds: TimeInterval?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0 else { return "—" }
        let s = Int(seconds.rounded(.up))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        if s < 86400 { return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m" }
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
