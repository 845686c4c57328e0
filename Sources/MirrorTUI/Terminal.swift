import CNCurses

/// The ncurses terminal the dashboard draws on (the dashboard issue builds on this).
public enum Terminal {
    /// The ncurses library version in use, e.g. "ncurses 6.4.20221231".
    public static var libraryVersion: String {
        guard let v = curses_version() else { return "unknown" }
        return String(cString: v)
    }
}
