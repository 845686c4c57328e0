/// Terminal display widths of text (East Asian wide characters take two columns, combining marks none),
/// computed in Swift so view-models stay pure and testable.
public enum DisplayWidth {
    /// Columns one scalar takes: 0, 1 or 2.
    public static func of(_ s: Unicode.Scalar) -> Int {
        let v = s.value
        if v < 0x300 { return v < 0x20 || (v >= 0x7f && v < 0xa0) ? 0 : 1 }
        if (0x300...0x36f).contains(v) || (0x200b...0x200f).contains(v) || (0xfe00...0xfe0f).contains(v)
            || (0x1ab0...0x1aff).contains(v) || (0x1dc0...0x1dff).contains(v) || (0x20d0...0x20ff).contains(v) {
            return 0
        }
        if (0x1100...0x115f).contains(v) || (0x2e80...0x303e).contains(v) || (0x3041...0x33ff).contains(v)
            || (0x3400...0x4dbf).contains(v) || (0x4e00...0x9fff).contains(v) || (0xa000...0xa4cf).contains(v)
            || (0xac00...0xd7a3).contains(v) || (0xf900...0xfaff).contains(v) || (0xfe30...0xfe4f).contains(v)
            || (0xff00...0xff60).contains(v) || (0xffe0...0xffe6).contains(v) || (0x1f300...0x1f64f).contains(v)
            || (0x1f900...0x1f9ff).contains(v) || (0x20000...0x3fffd).contains(v) {
            return 2
        }
        return 1
    }

    /// Columns a character takes (its first scalar decides; the rest are combining).
    public static func of(_ c: Character) -> Int {
        guard let first = c.unicodeScalars.first else { return 0 }
        return of(first)
    }

    /// Columns a string takes.
    public static func of(_ text: String) -> Int {
        var w = 0
        for c in text { w += of(c) }
        return w
    }

    /// The longest prefix of `text` that fits in `width` columns, with `ellipsis` when something was cut.
    public static func truncate(_ text: String, to width: Int, ellipsis: String = "…") -> String {
        guard width > 0 else { return "" }
        if of(text) <= width { return text }
        let ew = of(ellipsis)
        guard width > ew else { return String(repeating: ".", count: width) }
        var out = ""
        var used = 0
        for c in text {
            let cw = of(c)
            if used + cw > width - ew { break }
            out.append(c)
            used += cw
        }
        return out + ellipsis
    }

    /// `text` cut or padded with spaces to exactly `width` columns, aligned left or right.
    public static func fit(_ text: String, _ width: Int, right: Bool = false, ellipsis: String = "…") -> String {
        let cut = truncate(text, to: width, ellipsis: ellipsis)
        let pad = String(repeating: " ", count: max(0, width - of(cut)))
        return right ? pad + cut : cut + pad
    }

    /// Words of `text` wrapped into lines of at most `width` columns (long words are split).
    public static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            var lineWidth = 0
            for word in paragraph.split(separator: " ", omittingEmptySubsequences: true) {
                var w = String(word)
                while of(w) > width {
                    if !line.isEmpty { lines.append(line); line = ""; lineWidth = 0 }
                    var head = ""
                    var hw = 0
                    for c in w { if hw + of(c) > width { break }; head.append(c); hw += of(c) }
                    lines.append(head)
                    w.removeFirst(head.count)
                }
                let ww = of(w)
                if ww == 0 { continue }
                if lineWidth == 0 {
                    line = w
                    lineWidth = ww
                } else if lineWidth + 1 + ww <= width {
                    line += " " + w
                    lineWidth += 1 + ww
                } else {
                    lines.append(line)
                    line = w
                    lineWidth = ww
                }
            }
            lines.append(line)
        }
        while lines.count > 1, lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Text safe to draw: control characters become spaces (tabs, newlines) or `?`; with `ascii`,
    /// anything outside ASCII becomes `?` too.
    public static func sanitize(_ text: String, ascii: Bool) -> String {
        var clean = true
        for s in text.unicodeScalars where s.value < 0x20 || s.value == 0x7f || (ascii && s.value > 0x7e) || (s.value >= 0x80 && s.value < 0xa0) {
            clean = false
            break
        }
        if clean { return text }
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if s == "\n" || s == "\t" || s == "\r" { out.append(" ") }
            else if s.value < 0x20 || s.value == 0x7f || (s.value >= 0x80 && s.value < 0xa0) { out.append("?") }
            else if ascii && s.value > 0x7e { out.append("?") }
            else { out.append(s) }
        }
        return String(out)
    }
}
