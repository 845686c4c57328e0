import ArgumentParser
import Foundation
import Logging
import MirrorCore
import MirrorTUI

struct DashboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "The full-screen dashboard (what 'mirrordeck' alone opens).",
        discussion: """
        Shows every mirror's lag, status and LFS progress, the jobs and the latest events, live. Keys act on \
        the selected or marked mirrors (press ? inside for all of them; docs/keys.md). When no daemon is \
        alive the dashboard runs the engine itself, in a child process tied to its life (so heavy or \
        crashing fetches never stall the screen); on quit, jobs it was running go back to the queue and \
        resume on the next start. Themes: themes/*.toml, docs/themes.md.
        """)

    @OptionGroup var global: GlobalOptions
    @Flag(name: .customLong("read-only"), help: "Watch only: every action is disabled and no engine is started.") var readOnly = false
    @Option(help: "Theme name or path to a .toml file (default: MIRRORDECK_THEME, else 'default').") var theme: String?
    @Flag(help: "Draw with ASCII only (also automatic when the locale is not UTF-8).") var ascii = false
    @Flag(help: "Enable the mouse: click selects, double-click opens, wheel scrolls.") var mouse = false
    @Option(help: "Colors: auto, truecolor, 256, 16, 8 or mono (NO_COLOR also turns them off).") var color = "auto"
    @Option(name: .customLong("log-file"), help: "Append the embedded engine's log (and the dashboard's) to this file.") var logFile: String?

    func validate() throws {
        guard color == "auto" || ColorMode.parse(color) != nil else {
            throw ValidationError("--color must be auto, truecolor, 256, 16, 8 or mono")
        }
    }

    func run() throws {
        // Refuse before touching the home: without a terminal nothing should be created or changed.
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw CLIError(description: "the dashboard needs a terminal on stdin and stdout: run it in a terminal, or use 'mirrordeck list'")
        }
        let (home, catalog) = try global.open()
        // Nothing may write to the terminal behind ncurses' back: logs go to a file or nowhere.
        let logHandle = logFile.flatMap(FileLogHandler.open)
        LoggingSystem.bootstrap { label -> LogHandler in
            guard let logHandle else { return SwiftLogNoOpLogHandler() }
            return FileLogHandler(label: label, handle: logHandle)
        }
        var options = DashboardOptions(home: home, catalog: catalog)
        options.readOnly = readOnly
        options.theme = theme
        options.ascii = ascii
        options.mouse = mouse
        options.colorMode = color == "auto" ? nil : ColorMode.parse(color)
        options.engineConfig = try EngineConfig.load(home: home)
        let logPath = logFile
        options.engine = .child(arguments: { id in EngineCommand.childArguments(home: home, engineId: id, logFile: logPath) })
        let farewell: String?
        do {
            farewell = try Dashboard.run(options)
        } catch let error as TerminalError {
            throw CLIError(description: error.description)
        }
        if let farewell { print(farewell) }
    }
}

/// Writes log lines to a file (the dashboard owns the terminal); the dashboard and its engine child share it.
struct FileLogHandler: LogHandler {
    let label: String
    let handle: FileHandle
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    /// Opens `path` for appending (created 0600): every write lands at the end, whichever process makes it.
    static func open(_ path: String) -> FileHandle? {
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        return fd < 0 ? nil : FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let line = "\(TimeFormat.iso(Date()) ?? "") \(event.level) \(label): \(event.message)\n"
        handle.write(Data(line.utf8))
    }
}
