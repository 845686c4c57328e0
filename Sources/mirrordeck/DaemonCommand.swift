import ArgumentParser
import Foundation
import Logging
import MirrorCore
import MirrorDaemon
import MirrorServe

struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run the engine and scheduler in the foreground, with /metrics, /healthz and /webhook/github.",
        discussion: """
        Logs go to stderr. SIGTERM or SIGINT stops it cleanly: running jobs go back to the queue and resume \
        on the next start. The webhook secret comes from --webhook-secret-file or MIRRORDECK_WEBHOOK_SECRET, \
        never from the command line. See docs/daemon.md.
        """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Address to listen on, HOST:PORT (port 0 picks a free one).") var listen = "127.0.0.1:9477"
    @Option(name: .customLong("webhook-secret-file"), help: "File holding the GitHub webhook secret.") var webhookSecretFile: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error.") var logLevel = "info"
    @Option(name: .customLong("serve-listen"), help: "Also serve the mirrors to clients (as 'mirrordeck serve') on HOST:PORT.") var serveListen: String?
    @OptionGroup var serve: ServeFlags
    @Option(name: .customLong("maintenance-window"), help: "Quiet hours (local time) for scheduled git maintenance, e.g. 02:00-05:00 (default: [maintenance] window, else any time).")
    var maintenanceWindow: String?
    @Option(name: .customLong("disk-reserve"), help: "Space LFS fetches leave free on the home's filesystem, e.g. 5% or 2GiB (default: [storage] disk_reserve, 5%).")
    var diskReserve: String?
    @Option(name: .customLong("host-budget"), help: "Requests an upstream host may get per window, e.g. github.com=4000/h (repeatable; units s, m, h, d): scheduled checks of its mirrors are spread to fit (default: [hosts.\"HOST\"] request_budget).")
    var hostBudget: [String] = []

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        _ = try Self.parseListen(listen)
        if let serveListen { _ = try serve.options(listen: serveListen) }
        if let maintenanceWindow, MaintenanceWindow(maintenanceWindow) == nil {
            throw ValidationError("invalid --maintenance-window \(Redactor.quote(maintenanceWindow)): use HH:MM-HH:MM in local time, e.g. 02:00-05:00")
        }
        if let diskReserve, DiskReserve(diskReserve) == nil {
            throw ValidationError("invalid --disk-reserve \(Redactor.quote(diskReserve)): use a share such as 5% (at most 50%) or a size such as 2GiB")
        }
        for text in hostBudget where RequestBudget.parseAssignment(text) == nil {
            throw ValidationError("invalid --host-budget \(Redactor.quote(text)): use HOST=REQUESTS/WINDOW, e.g. github.com=4000/h (window s, m, h or d)")
        }
    }

    static func parseListen(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:9477")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:9477") }
        return (host, port)
    }

    func run() async throws {
        StderrLogging.bootstrap(logLevel)
        let logger = Logger(label: "mirrordeck.daemon")
        let (home, catalog) = try global.open()
        var options = DaemonServer.Options()
        (options.host, options.port) = try Self.parseListen(listen)
        if let file = webhookSecretFile {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CLIError(description: "cannot read webhook secret file \(file): check the path and permissions")
            }
            options.webhookSecret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let env = ProcessInfo.processInfo.environment["MIRRORDECK_WEBHOOK_SECRET"], !env.isEmpty {
            options.webhookSecret = env
        }
        if options.webhookSecret?.isEmpty == true {
            throw CLIError(description: "the webhook secret is empty: put a long random string in the file")
        }
        var engineConfig = try EngineConfig.load(home: home)
        if let window = maintenanceWindow.flatMap(MaintenanceWindow.init) { engineConfig.maintenance.window = window }
        if let reserve = diskReserve.flatMap(DiskReserve.init) { engineConfig.diskReserve = reserve }
        for (host, budget) in hostBudget.compactMap(RequestBudget.parseAssignment) { engineConfig.hostBudgets[host] = budget }
        let server = DaemonServer(home: home, catalog: catalog, engineConfig: engineConfig, options: options, logger: logger)
        var serveServer: ServeServer?
        if let serveListen {
            do {
                serveServer = try ServeServer(home: home, catalog: catalog, options: serve.options(listen: serveListen),
                                              logger: Logger(label: "mirrordeck.serve"), registry: server.metrics.registry)
            } catch let error as ServeError {
                throw CLIError(description: error.description)
            }
        }
        try await server.run(services: serveServer.map { [$0.makeService()] } ?? []) { engine in EngineSetup.install(on: engine) }
        serveServer?.shutdown()
    }
}
