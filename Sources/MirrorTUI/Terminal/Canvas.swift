/// One screen cell: a character and its style. A wide character's second column holds a `filler`.
public struct Cell: Equatable, Sendable {
    public var char: Character
    public var style: TextStyle
    /// The right half of a wide character: drawn by the cell before it.
    public var filler: Bool

    public init(_ char: Character, _ style: TextStyle, filler: Bool = false) {
        self.char = char
        self.style = style
        self.filler = filler
    }

    public static let blank = Cell(" ", .plain)
}

/// A frame of the dashboard, built by pure view code and handed to the terminal, which writes only the
/// rows that differ from the last frame.
public struct Canvas: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var rows: [[Cell]]
    /// Where the terminal cursor should be shown (text input), or nil to hide it.
    public var cursor: (row: Int, col: Int)? {
        get { cursorRow.map { ($0, cursorCol) } }
        set { cursorRow = newValue?.row; cursorCol = newValue?.col ?? 0 }
    }
    private var cursorRow: Int?
    private var cursorCol = 0

    public init(width: Int, height: Int, fill: TextStyle = .plain) {
        self.width = max(0, width)
        self.height = max(0, height)
        rows = Array(repeating: Array(repeating: Cell(" ", fill), count: max(0, width)), count: max(0, height))
    }

    /// Writes `text` at (row, col) in `style`, clipped at `limit` columns (default: the right edge).
    /// Returns the column after the text.
    @discardableResult
    public mutating func put(_ text: String, row: Int, col: Int, style: TextStyle, limit: Int? = nil) -> Int {
        guard row >= 0, row < height else { return col }
        let end = min(width, limit.map { col + $0 } ?? width)
        var x = col
        for c in text {
            let w = DisplayWidth.of(c)
            if w == 0 { continue }
            if x + w > end { break }
            if x >= 0 {
                clearWide(row: row, col: x)
                rows[row][x] = Cell(c, style)
                if w == 2 {
                    clearWide(row: row, col: x + 1)
                    rows[row][x + 1] = Cell(" ", style, filler: true)
                }
            }
            x += w
        }
        return x
    }

    /// Fills `count` columns from `col` with spaces in `style`.
    public mutating func fill(row: Int, col: Int, count: Int, style: TextStyle) {
        guard row >= 0, row < height else { return }
        let end = min(width, col + count)
        var x = max(0, col)
        while x < end {
            clearWide(row: row, col: x)
            rows[row][x] = Cell(" ", style)
            x += 1
        }
    }

    /// Restyles cells without changing their text (e.g. a selection bar).
    public mutating func restyle(row: Int, col: Int, count: Int, _ transform: (TextStyle) -> TextStyle) {
        guard row >= 0, row < height else { return }
        for x in max(0, col)..<min(width, col + count) { rows[row][x].style = transform(rows[row][x].style) }
    }

    /// Replaces every character outside ASCII (typographic punctuation by its ASCII look-alike, anything
    /// else by `?`), for terminals whose locale is not UTF-8.
    public mutating func asciify() {
        for y in 0..<height {
            for x in 0..<width {
                let cell = rows[y][x]
                if cell.filler {
                    rows[y][x] = Cell("?", cell.style)
                    continue
                }
                guard let scalar = cell.char.unicodeScalars.first, scalar.value >= 128 else { continue }
                let replacement: Character
                switch scalar {
                case "—", "–", "─": replacement = "-"
                case "×": replacement = "x"
                case "·", "│": replacement = "|"
                case "…": replacement = "~"
                case "↑": replacement = "^"
                case "↓": replacement = "v"
                case "←": replacement = "<"
                case "→": replacement = ">"
                case "“", "”": replacement = "\""
                case "‘", "’": replacement = "'"
                default: replacement = "?"
                }
                rows[y][x] = Cell(replacement, cell.style)
            }
        }
    }

    /// The text of a row (fillers skipped), for tests and logs.
    public func text(row: Int) -> String {
        guard row >= 0, row < height else { return "" }
        var s = ""
        for cell in rows[row] where !cell.filler { s.append(cell.char) }
        return s
    }

    /// All rows' text joined by newlines.
    public var text: String { (0..<height).map { text(row: $0) }.joined(separator: "\n") }

    /// Overwriting half of a wide character blanks its other half.
    private mutating func clearWide(row: Int, col: Int) {
        guard col >= 0, col < width else { return }
        if rows[row][col].filler, col > 0 {
            rows[row][col - 1] = Cell(" ", rows[row][col - 1].style)
        } else if col + 1 < width, rows[row][col + 1].filler {
            rows[row][col + 1] = Cell(" ", rows[row][col + 1].style)
        }
    }

    public static func == (a: Canvas, b: Canvas) -> Bool {
        a.width == b.width && a.height == b.height && a.rows == b.rows && a.cursorRow == b.cursorRow && a.cursorCol == b.cursorCol
    }
}
