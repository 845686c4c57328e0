/// Turns theme colors into what a terminal can show: truecolor → 256 → 16 → 8 (bright as bold) → none.
public enum ColorDegrade {
    /// xterm's default RGB values of the 16 ANSI colors.
    static let ansiRGB: [(Int, Int, Int)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
    ]
    static let cubeLevels = [0, 95, 135, 175, 215, 255]

    /// The RGB value of an xterm 256-color index.
    public static func rgb(ofIndex n: Int) -> (Int, Int, Int) {
        let i = max(0, min(255, n))
        if i < 16 { return ansiRGB[i] }
        if i >= 232 {
            let g = 8 + (i - 232) * 10
            return (g, g, g)
        }
        let c = i - 16
        return (cubeLevels[c / 36], cubeLevels[(c / 6) % 6], cubeLevels[c % 6])
    }

    /// The nearest xterm 256-color index (cube or gray ramp; never the 16 ANSI slots, whose values vary).
    public static func index256(r: Int, g: Int, b: Int) -> Int {
        func level(_ v: Int) -> Int {
            var best = 0
            for (i, l) in cubeLevels.enumerated() where abs(l - v) < abs(cubeLevels[best] - v) { best = i }
            return best
        }
        let (ri, gi, bi) = (level(r), level(g), level(b))
        let cube = 16 + 36 * ri + 6 * gi + bi
        let cubeDist = distance((r, g, b), (cubeLevels[ri], cubeLevels[gi], cubeLevels[bi]))
        let avg = (r + g + b) / 3
        let grayIndex = max(0, min(23, (avg - 8 + 5) / 10))
        let gv = 8 + grayIndex * 10
        let grayDist = distance((r, g, b), (gv, gv, gv))
        return grayDist < cubeDist ? 232 + grayIndex : cube
    }

    /// The nearest of the 16 ANSI colors.
    public static func ansi16(r: Int, g: Int, b: Int) -> Int {
        var best = 0
        var bestDist = Int.max
        for (i, c) in ansiRGB.enumerated() {
            let d = distance((r, g, b), c)
            if d < bestDist {
                best = i
                bestDist = d
            }
        }
        return best
    }

    static func distance(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Int {
        // Weighted for the eye (green matters most).
        let dr = a.0 - b.0, dg = a.1 - b.1, db = a.2 - b.2
        return 3 * dr * dr + 4 * dg * dg + 2 * db * db
    }

    /// A color as a curses color number for `mode` (-1: the terminal's default), and whether it needs
    /// bold to look bright (8-color terminals).
    public static func cursesColor(_ color: ColorValue, mode: ColorMode) -> (number: Int, bright: Bool) {
        switch mode {
        case .mono:
            return (-1, false)
        case .truecolor:
            switch color {
            case .default: return (-1, false)
            case let .ansi(n): return (n, false)
            case let .indexed(n):
                let (r, g, b) = rgb(ofIndex: n)
                return (r << 16 | g << 8 | b, false)
            case let .rgb(r, g, b): return (Int(r) << 16 | Int(g) << 8 | Int(b), false)
            }
        case .indexed256:
            switch color {
            case .default: return (-1, false)
            case let .ansi(n): return (n, false)
            case let .indexed(n): return (n, false)
            case let .rgb(r, g, b): return (index256(r: Int(r), g: Int(g), b: Int(b)), false)
            }
        case .ansi16, .ansi8:
            let n: Int
            switch color {
            case .default: return (-1, false)
            case let .ansi(a): n = a
            case let .indexed(i):
                if i < 16 { n = i } else {
                    let (r, g, b) = rgb(ofIndex: i)
                    n = ansi16(r: r, g: g, b: b)
                }
            case let .rgb(r, g, b): n = ansi16(r: Int(r), g: Int(g), b: Int(b))
            }
            if mode == .ansi8, n >= 8 { return (n - 8, true) }
            return (n, false)
        }
    }
}
