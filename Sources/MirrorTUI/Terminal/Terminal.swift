import CNCurses
import Foundation

/// Why the terminal could not be opened, phrased for the operator.
public struct TerminalError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// The ncurses screen. Confined to the thread that created it (ncurses is not thread-safe): the
/// dashboard's UI thread. Draws `Canvas` frames, writing only rows that changed since the last frame.
public final class Terminal {
    /// The ncurses library version in use, e.g. "ncurses 6.4.20221231".
    public static var libraryVersion: String {
        guard let v = curses_version() else { return "unknown" }
        return String(cString: v)
    }

    /// Whether the locale's character set is UTF-8 (call after `setlocale`).
    public static var localeIsUTF8: Bool {
        guard let cs = mdk_codeset() else { return false }
        let name = String(cString: cs).uppercased()
        return name == "UTF-8" || name == "UTF8"
    }

    public private(set) var colorMode: ColorMode = .mono
    private var screen: OpaquePointer?
    private var last: Canvas?
    private var pairs: [PairKey: Int32] = [:]
    private var nextPair: Int32 = 1
    private var maxPairs: Int32 = 0
    private var mouse = false
    private var open = false

    struct PairKey: Hashable {
        var fg: Int
        var bg: Int
    }

    /// Sets up the terminal: locale, ncurses, raw keys, short ESC delay, colors (by `forcedMode` or detected),
    /// mouse only when asked.
    public init(forcedMode: ColorMode? = nil, mouse: Bool = false, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw TerminalError(description: "the dashboard needs a terminal on stdin and stdout: run it in a terminal, or use 'mirrordeck list'")
        }
        if environment["ESCDELAY"] == nil { setenv("ESCDELAY", "25", 1) }
        guard let term = environment["TERM"], !term.isEmpty, term != "dumb" else {
            throw TerminalError(description: "TERM is not set (or is 'dumb'): set it, e.g. TERM=xterm-256color")
        }
        screen = mdk_newterm()
        guard let screen else {
            throw TerminalError(description: "this terminal type (TERM=\(term)) is unknown to ncurses: try TERM=xterm-256color or TERM=vt100")
        }
        set_term(screen)
        open = true
        raw()
        noecho()
        nonl()
        keypad(mdk_stdscr(), true)
        nodelay(mdk_stdscr(), true)
        intrflush(mdk_stdscr(), false)
        set_escdelay(25)
        curs_set(0)
        leaveok(mdk_stdscr(), false)
        let hasColors = has_colors()
        if hasColors {
            start_color()
            use_default_colors()
        }
        let direct = tigetflag("RGB") > 0
        colorMode = forcedMode ?? ColorMode.detect(colors: Int(mdk_colors()), hasColors: hasColors, directColor: direct, environment: environment)
        if colorMode != .mono, !hasColors { colorMode = .mono }
        if colorMode == .truecolor, Int(mdk_colors()) < 0x1000000 { colorMode = Int(mdk_colors()) >= 256 ? .indexed256 : .ansi16 }
        if colorMode == .indexed256, Int(mdk_colors()) < 256 { colorMode = Int(mdk_colors()) >= 16 ? .ansi16 : .ansi8 }
        if colorMode == .ansi16, Int(mdk_colors()) < 16 { colorMode = .ansi8 }
        maxPairs = hasColors ? mdk_color_pairs() : 0
        if mouse {
            self.mouse = true
            mousemask(mdk_button1_clicked() | mdk_button1_double_clicked() | mdk_button1_pressed() | mdk_button4_pressed() | mdk_button5_pressed(), nil)
            mouseinterval(200)
        }
    }

    deinit { close() }

    /// Restores the terminal (idempotent).
    public func close() {
        guard open else { return }
        open = false
        curs_set(1)
        endwin()
        if let screen { delscreen(screen) }
        screen = nil
    }

    /// Current size in columns and rows.
    public var size: (width: Int, height: Int) {
        (Int(mdk_getmaxx(mdk_stdscr())), Int(mdk_getmaxy(mdk_stdscr())))
    }

    /// Forgets the colors allocated so far (after a theme change) and repaints everything next frame.
    public func resetColors() {
        pairs.removeAll()
        nextPair = 1
        invalidate()
    }

    /// Forces a full repaint on the next `draw` (Ctrl-L, resize).
    public func invalidate() {
        last = nil
        clearok(mdk_stdscr(), true)
    }

    /// Draws a frame: only rows that differ from the previous frame are handed to ncurses, which in turn
    /// sends only the changed cells. Nothing at all is written when the frame is unchanged.
    /// Returns whether anything was written.
    @discardableResult
    public func draw(_ canvas: Canvas) -> Bool {
        let (w, h) = size
        if last?.width != canvas.width || last?.height != canvas.height || canvas.width != w || canvas.height != h {
            last = nil
        }
        var changed = false
        for y in 0..<min(canvas.height, h) {
            if let last, last.rows[y] == canvas.rows[y] { continue }
            drawRow(canvas.rows[y], y: y, width: min(canvas.width, w), lastRow: y == h - 1)
            changed = true
        }
        let cursorChanged = last?.cursor?.row != canvas.cursor?.row || last?.cursor?.col != canvas.cursor?.col
        guard changed || cursorChanged else { return false }
        if let cur = canvas.cursor {
            curs_set(1)
            move(Int32(cur.row), Int32(cur.col))
        } else {
            curs_set(0)
            move(Int32(max(0, h - 1)), 0)
        }
        refresh()
        last = canvas
        return true
    }

    private func drawRow(_ row: [Cell], y: Int, width: Int, lastRow: Bool) {
        var x = 0
        var buffer: [wchar_t] = []
        buffer.reserveCapacity(width + 1)
        while x < width {
            let style = row[x].style
            let start = x
            buffer.removeAll(keepingCapacity: true)
            // On the last row, leave the bottom-right cell alone: writing it scrolls some terminals.
            let end = lastRow ? width - 1 : width
            while x < end, row[x].style == style {
                if !row[x].filler {
                    for s in row[x].char.unicodeScalars { buffer.append(wchar_t(bitPattern: s.value)) }
                }
                x += 1
            }
            if x == start { break }
            apply(style)
            buffer.append(0)
            _ = buffer.withUnsafeBufferPointer { mdk_put(Int32(y), Int32(start), $0.baseAddress, Int32(buffer.count - 1)) }
        }
    }

    private func apply(_ style: TextStyle) {
        var attrs = mdk_a_normal()
        if style.bold { attrs |= mdk_a_bold() }
        if style.underline { attrs |= mdk_a_underline() }
        if style.reverse { attrs |= mdk_a_reverse() }
        if style.dim { attrs |= mdk_a_dim() }
        if style.italic { attrs |= mdk_a_italic() }
        var pair: Int32 = 0
        if colorMode != .mono {
            let (fg, fgBright) = ColorDegrade.cursesColor(style.fg, mode: colorMode)
            let (bg, _) = ColorDegrade.cursesColor(style.bg, mode: colorMode)
            if fgBright { attrs |= mdk_a_bold() }
            if fg != -1 || bg != -1 { pair = self.pair(fg: fg, bg: bg) }
        }
        _ = mdk_attr_set(attrs, pair)
    }

    private func pair(fg: Int, bg: Int) -> Int32 {
        let key = PairKey(fg: fg, bg: bg)
        if let p = pairs[key] { return p }
        guard nextPair < maxPairs else { return 0 }
        let p = nextPair
        nextPair += 1
        _ = mdk_init_pair(p, Int32(fg), Int32(bg))
        pairs[key] = p
        return p
    }

    /// Reads every key waiting (never blocks).
    public func readKeys() -> [Key] {
        var keys: [Key] = []
        while true {
            var ch: wint_t = 0
            let rc = mdk_get_wch(&ch)
            if rc == ERR { break }
            if rc == mdk_key_code_yes() {
                if let key = functionKey(Int32(ch)) { keys.append(key) }
            } else if let key = Self.decode(UInt32(ch)) {
                keys.append(key)
            }
            if keys.count > 256 { break }
        }
        return keys
    }

    /// A character from get_wch as a key (pure).
    public static func decode(_ value: UInt32) -> Key? {
        switch value {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 0: return nil
        case 1...26: return .ctrl(Character(Unicode.Scalar(value + 96)!))
        case 28...31: return nil
        default:
            guard let scalar = Unicode.Scalar(value) else { return nil }
            return .char(Character(scalar))
        }
    }

    private func functionKey(_ code: Int32) -> Key? {
        switch code {
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_PPAGE: return .pageUp
        case KEY_NPAGE: return .pageDown
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_ENTER: return .enter
        case KEY_BACKSPACE: return .backspace
        case KEY_DC: return .delete
        case KEY_BTAB: return .backTab
        case KEY_RESIZE:
            invalidate()
            return .resize
        case KEY_MOUSE:
            guard mouse else { return nil }
            var y: Int32 = 0, x: Int32 = 0
            var state: mmask_t = 0
            guard mdk_getmouse(&y, &x, &state) == OK else { return nil }
            let kind: MouseEvent.Kind
            if state & mdk_button4_pressed() != 0 { kind = .wheelUp }
            else if mdk_button5_pressed() != 0, state & mdk_button5_pressed() != 0 { kind = .wheelDown }
            else if state & mdk_button1_double_clicked() != 0 { kind = .doubleClick }
            else if state & (mdk_button1_clicked() | mdk_button1_pressed()) != 0 { kind = .click }
            else { return nil }
            return .mouse(MouseEvent(kind: kind, row: Int(y), col: Int(x)))
        default:
            if code >= KEY_F0 + 1, code <= KEY_F0 + 12 { return .function(Int(code - KEY_F0)) }
            return nil
        }
    }
}
