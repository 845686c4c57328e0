/// A terminal color as a theme names it; the terminal degrades it to what it can show.
public enum ColorValue: Hashable, Sendable {
    /// The terminal's own foreground or background.
    case `default`
    /// One of the 16 ANSI colors (0–7 normal, 8–15 bright).
    case ansi(Int)
    /// One of the 256 xterm colors.
    case indexed(Int)
    /// A 24-bit color.
    case rgb(UInt8, UInt8, UInt8)
}

/// How a run of text looks: colors and attributes.
public struct TextStyle: Hashable, Sendable {
    public var fg: ColorValue
    public var bg: ColorValue
    public var bold: Bool
    public var underline: Bool
    public var reverse: Bool
    public var dim: Bool
    public var italic: Bool

    public init(fg: ColorValue = .default, bg: ColorValue = .default, bold: Bool = false, underline: Bool = false,
                reverse: Bool = false, dim: Bool = false, italic: Bool = false) {
        self.fg = fg
        self.bg = bg
        self.bold = bold
        self.underline = underline
        self.reverse = reverse
        self.dim = dim
        self.italic = italic
    }

    public static let plain = TextStyle()

    /// This style drawn on top of `base`: colors this style leaves at default come from `base`; attributes add up.
    public func over(_ base: TextStyle) -> TextStyle {
        TextStyle(fg: fg == .default ? base.fg : fg, bg: bg == .default ? base.bg : bg,
                  bold: bold || base.bold, underline: underline || base.underline, reverse: reverse || base.reverse,
                  dim: dim || base.dim, italic: italic || base.italic)
    }

    /// The same style with its background taken from `other` (e.g. the selection bar under a status color).
    public func withBackground(of other: TextStyle) -> TextStyle {
        var s = self
        s.bg = other.bg
        s.reverse = s.reverse || other.reverse
        s.bold = s.bold || other.bold
        s.underline = s.underline || other.underline
        return s
    }

    /// The attributes only, colors dropped (for monochrome terminals).
    public var attributesOnly: TextStyle {
        TextStyle(bold: bold, underline: underline, reverse: reverse, dim: dim, italic: italic)
    }
}
