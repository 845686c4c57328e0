/// Human-readable byte counts and rates, the same everywhere in the UI.
public enum ByteFormat {
    /// `512 B`, `1.5 KiB`, `12.3 MiB`, `4.0 GiB`.
    public static func format(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var unit = 0
        while abs(value) >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        return value >= 100 ? "\(Int(value.rounded())) \(units[unit])" : "\((value * 10).rounded() / 10) \(units[unit])"
    }

    /// `3.2 MiB/s`.
    public static func rate(_ bytesPerSecond: Double) -> String {
        format(Int64(bytesPerSecond.isFinite ? bytesPerSecond : 0)) + "/s"
    }
}
