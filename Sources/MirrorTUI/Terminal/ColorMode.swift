/// How many colors the terminal can show; themes degrade to it.
public enum ColorMode: String, Sendable, CaseIterable {
    case truecolor
    case indexed256 = "256"
    case ansi16 = "16"
    case ansi8 = "8"
    case mono

    /// Picks the mode from what the terminal reports and the environment.
    /// - Parameters:
    ///   - colors: curses' COLORS (0 without color support).
    ///   - directColor: whether the terminfo entry has direct (24-bit) colors.
    ///   - environment: NO_COLOR disables color entirely.
    public static func detect(colors: Int, hasColors: Bool, directColor: Bool, environment: [String: String]) -> ColorMode {
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return .mono }
        guard hasColors, colors >= 8 else { return .mono }
        if directColor || colors >= 0x1000000 { return .truecolor }
        if colors >= 256 { return .indexed256 }
        if colors >= 16 { return .ansi16 }
        return .ansi8
    }

    /// The `--color` option's values.
    public static func parse(_ text: String) -> ColorMode? {
        switch text.lowercased() {
        case "truecolor", "24bit", "direct": return .truecolor
        case "256": return .indexed256
        case "16": return .ansi16
        case "8": return .ansi8
        case "mono", "none", "monochrome": return .mono
        default: return nil
        }
    }
}
