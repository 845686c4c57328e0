import Foundation

/// A real terminal for screen tests: a tmux server of its own (one socket per test) running one command
/// in a detached session of a given size. Tests send keys and read the screen with capture-pane,
/// polling until it shows what they expect — never sleeping a fixed time.
final class Tmux: @unchecked Sendable {
    let socket: String
    let target = "dash"

    /// Starts `command` in a `width`×`height` window with `environment` added (TERM defaults to xterm-256color).
    init(_ command: [String], width: Int = 120, height: Int = 30, environment: [String: String] = [:]) throws {
        socket = "mdtest-\(getpid())-\(UUID().uuidString.prefix(8))"
        var env = ["TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "", "NO_COLOR": ""]
        for (k, v) in environment { env[k] = v }
        let envArgs = env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let r = try Shell.run("/usr/bin/tmux", ["-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", target,
                                                "-x", "\(width)", "-y", "\(height)", "--", "/usr/bin/env"] + envArgs + command
                              + [";", "set-option", "-g", "remain-on-exit", "on", ";", "set-option", "-g", "status", "off"])
        guard r.status == 0 else { throw TestFailure.message("tmux new-session failed: \(r)") }
    }

    deinit {
        _ = try? Shell.run("/usr/bin/tmux", ["-L", socket, "kill-server"])
    }

    @discardableResult
    private func tmux(_ args: [String]) throws -> String {
        let r = try Shell.run("/usr/bin/tmux", ["-L", socket] + args)
        guard r.status == 0 else { throw TestFailure.message("tmux \(args.joined(separator: " ")) failed: \(r)") }
        return r.stdout
    }

    /// The screen's text, one line per row.
    func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", target]) }

    /// The screen and the scrollback above it, wrapped lines joined (what a program printed on exit).
    func screenWithHistory() throws -> String { try tmux(["capture-pane", "-p", "-J", "-S", "-200", "-t", target]) }

    /// The screen with its SGR escape sequences (colors and attributes).
    func screenWithEscapes() throws -> String { try tmux(["capture-pane", "-p", "-e", "-t", target]) }

    /// Sends keys by tmux name (`Enter`, `Escape`, `Down`, `C-c`, or literal words).
    func send(_ keys: String...) throws { try tmux(["send-keys", "-t", target] + keys) }

    /// Types text literally.
    func type(_ text: String) throws { try tmux(["send-keys", "-t", target, "-l", text]) }

    func resize(width: Int, height: Int) throws {
        try tmux(["resize-window", "-t", target, "-x", "\(width)", "-y", "\(height)"])
    }

    /// The pid of the command in the pane (tmux runs it through env, which execs it).
    func pid() throws -> Int32 {
        guard let pid = Int32(try tmux(["display-message", "-p", "-t", target, "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TestFailure.message("tmux gave no pane pid")
        }
        return pid
    }

    /// Whether the command has exited.
    var exited: Bool { ((try? tmux(["display-message", "-p", "-t", target, "#{pane_dead}"])) ?? "1").hasPrefix("1") }

    /// Polls until `condition` holds for the screen; returns that screen. On timeout the last screen is in the error.
    @discardableResult
    func waitFor(_ what: String, timeout: TimeInterval = 10, _ condition: (String) -> Bool) throws -> String {
        var last = ""
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            last = try screen()
            if condition(last) { return last }
            usleep(30_000)  // a poll interval, not a wait for an outcome: capture-pane costs a process spawn
        }
        throw TestFailure.message("timed out after \(timeout)s waiting for: \(what)\n--- screen ---\n\(last)\n--------------")
    }

    /// Polls until the screen contains `text`.
    @discardableResult
    func waitFor(_ text: String, timeout: TimeInterval = 10) throws -> String {
        try waitFor("screen to show \"\(text)\"", timeout: timeout) { $0.contains(text) }
    }

    /// The screen line that contains `text` (first match), or "".
    func line(containing text: String, in screen: String) -> String {
        screen.split(separator: "\n", omittingEmptySubsequences: false).first { $0.contains(text) }.map(String.init) ?? ""
    }

    /// The mirror table: the screen above the jobs panel (the events strip below it names mirrors too).
    func table(in screen: String) -> String {
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
        let end = lines.firstIndex { $0.contains("─ Jobs") || $0.contains("- Jobs") } ?? lines.endIndex
        return lines[..<end].joined(separator: "\n")
    }
}
