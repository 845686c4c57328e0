import Foundation
import MirrorCore

/// How to run the dashboard (from the command line).
public struct DashboardOptions: Sendable {
    public var home: Home
    public var catalog: Catalog
    public var readOnly = false
    /// Force ASCII (true) or let the locale decide (false).
    public var ascii = false
    public var mouse = false
    /// A theme name or path; nil: `MIRRORDECK_THEME`, else `default`.
    public var theme: String?
    /// Force a color mode instead of detecting one.
    public var colorMode: ColorMode?
    /// The engine settings (the lease timeout decides when no engine is alive).
    public var engineConfig = EngineConfig()
    public var actor: Actor = .local
    /// What queued jobs say started them (`ssh` in an SSH session).
    public var trigger: Trigger = .manual
    /// Who may do what; nil: everything, or nothing with `readOnly`.
    public var policy: ActionPolicy?
    /// Shown in the header when set (an SSH session's user, role and address).
    public var identity: String?
    /// Where queued work runs. `.child(arguments)`: while no other engine is alive, this dashboard runs one in
    /// a child process tied to its life (its running jobs go back to the queue on quit); `arguments` gives
    /// that child's command line (executable first) for the engine id the dashboard chose.
    /// `.detached(ensure)`: `ensure` is called after every enqueue to start an engine that outlives the
    /// dashboard (SSH sessions). `.none`: the dashboard only queues work.
    public var engine: EngineMode = .none
    public var environment = ProcessInfo.processInfo.environment

    public enum EngineMode: Sendable {
        case child(arguments: @Sendable (_ engineId: String) -> [String])
        case detached(ensure: @Sendable () -> Void)
        case none
    }

    public init(home: Home, catalog: Catalog) {
        self.home = home
        self.catalog = catalog
    }
}

nonisolated(unsafe) private var wakeFD: Int32 = -1
nonisolated(unsafe) private var quitSignal: sig_atomic_t = 0

/// The full-screen dashboard: one UI thread drawing catalog snapshots and turning keys into actions.
public enum Dashboard {
    /// Runs until the operator quits; returns what to print after the screen is restored.
    public static func run(_ options: DashboardOptions) throws -> String? {
        setlocale(LC_ALL, "")
        HeapTrim.configure()
        let glyphs: Glyphs = !options.ascii && Terminal.localeIsUTF8 ? .unicode : .plain

        var startupMessage: DashboardState.Message?
        let locator = ThemeLocator(home: options.home.root, environment: options.environment)
        let themeName = options.theme ?? options.environment["MIRRORDECK_THEME"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        var theme: Theme
        do {
            theme = try locator.load(themeName)
        } catch {
            theme = .builtinDefault
            startupMessage = .init(text: "using the default theme: " + Self.shortThemeError(error), isError: true)
        }

        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw TerminalError(description: "cannot create a pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let (readFD, writeFD) = (fds[0], fds[1])
        defer { close(readFD); close(writeFD); wakeFD = -1 }
        wakeFD = writeFD
        let wake: @Sendable () -> Void = { var b: UInt8 = 1; _ = write(writeFD, &b, 1) }

        let loader = try CatalogLoader(home: options.home, catalog: options.catalog, wake: wake)
        let keeper: EngineKeeper?
        let ensureEngine: @Sendable () -> Void
        switch options.engine {
        case let .child(arguments):
            keeper = options.readOnly ? nil
                : EngineKeeper(catalog: options.catalog, config: options.engineConfig, arguments: arguments)
            ensureEngine = {}
        case let .detached(ensure):
            keeper = nil
            ensureEngine = ensure
        case .none:
            keeper = nil
            ensureEngine = {}
        }
        let policy: ActionPolicy = options.readOnly ? ReadOnlyPolicy() : options.policy ?? FullAccess()
        let dispatcher = ActionDispatcher(home: options.home, catalog: options.catalog, actor: options.actor,
                                          policy: policy, trigger: options.trigger)
        dispatcher.onEnqueue = { keeper?.poke(); ensureEngine(); loader.poke() }
        loader.onChange = { keeper?.poke() }

        let terminal = try Terminal(forcedMode: options.colorMode, mouse: options.mouse, environment: options.environment)
        defer { terminal.close() }
        installSignalHandlers()
        var renderer = Renderer(theme: theme.resolved(for: terminal.colorMode), glyphs: glyphs)
        let size = terminal.size
        var state = DashboardState(width: size.width, height: size.height, policy: policy, actor: options.actor)
        state.homePath = options.home.root
        state.identity = options.identity
        state.themeName = theme.name
        state.message = startupMessage

        loader.start()
        // The engine child starts once the first frame is on screen: spawning it sooner made its start-up
        // compete with loading and drawing for the same cores.
        var keeperStarted = false
        // The first frame waits (briefly) for the first snapshot, so it is complete, not empty.
        var pfd = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, 3000)

        var lastDraw = Date.distantPast
        var dirty = true
        var immediate = true
        var minute = Int(Date().timeIntervalSince1970 / 60)
        var quit = false
        while !quit {
            let (snapshot, loadError) = loader.take()
            if let snapshot {
                state.apply(snapshot)
                dirty = true
            }
            if let loadError { state.message = .init(text: loadError, isError: true); dirty = true }
            let engineId = keeper?.engineId
            if engineId != state.ownEngineId { state.ownEngineId = engineId; dirty = true }
            let now = Date()
            let m = Int(now.timeIntervalSince1970 / 60)
            if m != minute {
                minute = m
                state.tick(now)
                dirty = true
            }
            if dirty, immediate || now.timeIntervalSince(lastDraw) >= 0.1 {
                state.now = now
                terminal.draw(renderer.render(state))
                lastDraw = now
                dirty = false
                immediate = false
                if !keeperStarted {
                    keeperStarted = true
                    keeper?.start()
                }
            }
            var timeout: Int32
            if dirty {
                timeout = Int32(max(1, (0.1 - Date().timeIntervalSince(lastDraw)) * 1000))
            } else {
                let next = Double(minute + 1) * 60
                timeout = Int32(max(1, (next - Date().timeIntervalSince1970) * 1000 + 5))
            }
            var fdset = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0), pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fdset, 2, timeout)
            if fdset[1].revents != 0 {
                var buf = [UInt8](repeating: 0, count: 64)
                while read(readFD, &buf, buf.count) > 0 {}
            }
            if quitSignal != 0 { break }
            if fdset[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { break }
            for key in terminal.readKeys() {
                if key == .resize {
                    let s = terminal.size
                    state.resize(width: s.width, height: s.height)
                }
                for effect in state.handle(key) {
                    switch effect {
                    case .quit:
                        quit = true
                    case let .perform(action):
                        let outcome = dispatcher.perform(action)
                        state.message = .init(text: outcome.text, isError: outcome.isError)
                        if case let .add(mirror) = action, !outcome.isError { state.focus(name: mirror.name) }
                        loader.poke()
                    case let .loadDetail(name):
                        loader.setDetail(name)
                    case let .setTheme(name):
                        do {
                            let t = try locator.load(name)
                            renderer.theme = t.resolved(for: terminal.colorMode)
                            state.themeName = t.name
                            terminal.resetColors()
                            state.message = .init(text: "theme \(t.name)" + (terminal.colorMode == .mono ? " (this terminal shows no colors)" : ""), isError: false)
                        } catch {
                            state.message = .init(text: "theme unchanged: " + Self.shortThemeError(error), isError: true)
                        }
                    case .redraw:
                        terminal.invalidate()
                    }
                }
                dirty = true
                immediate = true
                if quit { break }
            }
        }

        // Quit: stop our engine; its running jobs go back to the queue.
        let running = keeper?.runningJobIds.count ?? 0
        if running > 0 {
            state.message = .init(text: "stopping: \(running) running job\(running == 1 ? "" : "s") go\(running == 1 ? "es" : "") back to the queue…", isError: false)
            terminal.draw(renderer.render(state))
        }
        if keeperStarted { keeper?.stop() }
        loader.stop()
        terminal.close()
        let queued = (try? options.catalog.activeJobs(limit: 100_000))?.count ?? 0
        let live = try? options.catalog.liveEngine()
        if running > 0 {
            return "\(running) job\(running == 1 ? " was" : "s were") running in the dashboard's engine: \(running == 1 ? "it is" : "they are") back in the queue and will resume on the next start of mirrordeck (or when 'mirrordeck daemon' runs)."
        }
        if queued > 0 && live == nil {
            return "\(queued) job\(queued == 1 ? " is" : "s are") queued: \(queued == 1 ? "it runs" : "they run") on the next start of mirrordeck (or when 'mirrordeck daemon' runs)."
        }
        return nil
    }

    /// A theme error for the one-line message: the file's name (not its whole path), line and reason.
    static func shortThemeError(_ error: Error) -> String {
        guard let e = error as? ThemeError else { return "\(error)" }
        var short = e
        short.file = (e.file as NSString).lastPathComponent
        return short.description
    }

    private static func installSignalHandlers() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            quitSignal = 1
            if wakeFD >= 0 {
                var b: UInt8 = 113
                _ = write(wakeFD, &b, 1)
            }
        }
        for sig in [SIGTERM, SIGHUP, SIGINT, SIGQUIT] {
            signal(sig, handler)
        }
    }
}
