import Foundation

/// Compact durations and timestamps, the same in the CLI and the dashboard.
public enum TimeFormat {
    /// A lag or age: `12s`, `4m`, `2h`, `3d`, or `never` for nil.
    public static func lag(_ seconds: TimeInterval?) -> String {
        guard let seconds else { return "never" }
        let s = Int(max(0, seconds))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" }
        if s < 86400 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }

    /// A time until something happens: `in 4m`, `now` when due, `—` when not scheduled.
    public static func until(_ date: Date?, now: Date = Date()) -> String {
        guard let date else { return "—" }
        let s = date.timeIntervalSince(now)
        return s <= 0 ? "due" : "in " + lag(s)
    }

    /// A local wall-clock time, `12:03`, as the dashboard and CLI name the end of a wait.
    public static func clock(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        localtime_r(&t, &parts)
        return String(format: "%02d:%02d", parts.tm_hour, parts.tm_min)
    }

    /// Milliseconds as `850ms`, `2.4s`, `3m12s`.
    public static func duration(ms: Int) -> String {
        if ms < 1000 { return "\(ms)ms" }
        if ms < 60_000 { return "\(Double(ms / 100) / 10)s" }
        return "\(ms / 60_000)m\((ms % 60_000) / 1000)s"
    }

    /// ISO 8601 in UTC with seconds, as JSON carries times.
    public static func iso(_ date: Date?) -> String? {
        guard let date else { return nil }
        return isoFormatter.string(from: date)
    }

    private static var isoFormatter: ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f
    }
}
