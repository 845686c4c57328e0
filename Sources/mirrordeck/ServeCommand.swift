import ArgumentParser
import Foundation
import Logging
import MirrorCore
import MirrorServe

/// Options `serve` and `daemon --serve-listen` share.
struct ServeFlags: ParsableArguments {
    @Option(name: .customLong("public-url"), help: "The URL clients reach this server at (default http://LISTEN).") var publicURL: String?
    @Option(help: "anonymous (everyone reads public mirrors) or tokens (every request needs a token).") var auth = "anonymous"
    @Flag(name: .customLong("no-pull-through"), help: "Do not fetch LFS objects from upstream when a client asks for one not here yet.")
    var noPullThrough = false
    @Option(name: .customLong("header-timeout"), help: "Seconds a client has to send its request head.") var headerTimeout: Double = 20
    @Option(name: .customLong("idle-timeout"), help: "Seconds a connection may sit idle.") var idleTimeout: Double = 120
    @Option(name: .customLong("max-connections"), help: "Open client connections at most.") var maxConnections = 20_000
    @Flag(name: .customLong("no-access-log"), help: "No combined-format request lines on stderr (the catalog still logs every request).")
    var noAccessLog = false

    func options(listen: String) throws -> ServeOptions {
        var options = ServeOptions()
        (options.host, options.port) = try DaemonCommand.parseListen(listen)
        guard let mode = ServeOptions.Auth(rawValue: auth) else { throw ValidationError("--auth must be anonymous or tokens") }
        options.auth = mode
        if let publicURL {
            do {
                options.publicURL = try ServeOptions.validatePublicURL(publicURL)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        options.pullThrough = !noPullThrough
        guard headerTimeout > 0, headerTimeout <= 3600, idleTimeout > 0, idleTimeout <= 86400 else {
            throw ValidationError("--header-timeout and --idle-timeout must be positive numbers of seconds")
        }
        guard (1...1_000_000).contains(maxConnections) else { throw ValidationError("--max-connections must be from 1 to 1000000") }
        options.headerTimeout = headerTimeout
        options.idleTimeout = idleTimeout
        options.maxConnections = maxConnections
        options.logToStderr = !noAccessLog
        return options
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve every mirror read-only to git and git-lfs clients over HTTP (clone, fetch, LFS batch API).",
        discussion: """
        Clients clone http://HOST:PORT/NAME.git and 'git lfs pull' from it; pushes are refused. LFS objects a \
        mirror references but does not hold yet are fetched from upstream as clients ask (pull-through). \
        Every request is logged to the catalog and as a combined-format line on stderr. See docs/serve.md.
        """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Address to listen on, HOST:PORT (port 0 picks a free one).") var listen = "127.0.0.1:8080"
    @OptionGroup var serve: ServeFlags
    @Flag(help: "Also answer /metrics on this listener.") var metrics = false
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error.") var logLevel = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        _ = try serve.options(listen: listen)
    }

    func run() async throws {
        StderrLogging.bootstrap(logLevel)
        var options = try serve.options(listen: listen)
        options.exposeMetrics = metrics
        let (home, catalog) = try global.open()
        let server: ServeServer
        do {
            server = try ServeServer(home: home, catalog: catalog, options: options, logger: Logger(label: "mirrordeck.serve"))
        } catch let error as ServeError {
            throw CLIError(description: error.description)
        }
        try await server.run()
    }
}

/// Logging for the long-running commands (daemon, serve): stderr, at the level given (checked in validate).
enum StderrLogging {
    static func bootstrap(_ levelText: String) {
        let level = Logger.Level(rawValue: levelText) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
