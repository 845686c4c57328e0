import MirrorCore

/// The characters the dashboard draws with: Unicode when the locale is UTF-8, plain ASCII otherwise.
public struct Glyphs: Sendable {
    public var ascii: Bool
    public var hline: String
    public var ellipsis: String
    public var sortAscending: String
    public var sortDescending: String
    public var mark: String
    public var separator: String
    public var barFull: String
    public var barEmpty: String
    /// Eighths of a cell, for smooth progress bars (empty for ASCII).
    public var barPartials: [String]
    public var arrow: String
    public var cursor: String
    /// Box corners and sides: top-left, top-right, bottom-left, bottom-right, vertical.
    public var box: (String, String, String, String, String)

    public static let unicode = Glyphs(ascii: false, hline: "─", ellipsis: "…", sortAscending: "▲", sortDescending: "▼",
                                       mark: "◆", separator: "·", barFull: "█", barEmpty: "░",
                                       barPartials: ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"], arrow: "→", cursor: "▸",
                                       box: ("┌", "┐", "└", "┘", "│"))
    public static let plain = Glyphs(ascii: true, hline: "-", ellipsis: "~", sortAscending: "^", sortDescending: "v",
                                     mark: "*", separator: "|", barFull: "#", barEmpty: ".", barPartials: [], arrow: "->", cursor: ">",
                                     box: ("+", "+", "+", "+", "|"))

    /// The glyph for a mirror's status.
    public func status(_ status: MirrorStatus) -> String {
        if ascii {
            switch status {
            case .ok: return "+"
            case .failed: return "X"
            case .syncing: return "~"
            case .fetchingLFS: return "v"
            case .verifying: return "%"
            case .queued: return "."
            case .paused: return "="
            case .idle: return "o"
            }
        }
        switch status {
        case .ok: return "●"
        case .failed: return "✗"
        case .syncing: return "↻"
        case .fetchingLFS: return "⇣"
        case .verifying: return "◎"
        case .queued: return "◌"
        case .paused: return "‖"
        case .idle: return "○"
        }
    }

    /// A bar `width` cells wide, `fraction` full, as (filled part, empty part).
    public func bar(_ fraction: Double, width: Int) -> (String, String) {
        guard width > 0 else { return ("", "") }
        let f = min(1, max(0, fraction.isFinite ? fraction : 0))
        if barPartials.isEmpty {
            let full = Int((f * Double(width)).rounded(.down))
            return (String(repeating: barFull, count: full), String(repeating: barEmpty, count: width - full))
        }
        let eighths = Int((f * Double(width) * 8).rounded(.down))
        let full = eighths / 8
        let part = eighths % 8
        var filled = String(repeating: barFull, count: full)
        var used = full
        if part > 0, used < width {
            filled += barPartials[part]
            used += 1
        }
        return (filled, String(repeating: barEmpty, count: width - used))
    }
}
