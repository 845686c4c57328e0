import ArgumentParser
import Foundation
import MirrorCore

/// `mirrordeck`: keeps git and Git LFS mirrors in sync, with a dashboard, a CLI and a daemon.
struct MirrorDeck: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "mirrordeck",
        abstract: "Keep git and Git LFS mirrors in sync and watch them.",
        discussion: "Exit codes: 0 ok, 1 a sync failed, 2 bad usage or input. Home: --home > MIRRORDECK_HOME > $XDG_DATA_HOME/mirrordeck.",
        version: version,
        subcommands: [DashboardCommand.self, AddCommand.self, EditCommand.self, RemoveCommand.self, ListCommand.self, ShowCommand.self,
                      SyncCommand.self, ImportCommand.self, ExportCommand.self,
                      JobsCommand.self, CancelCommand.self, PauseCommand.self, ResumeCommand.self,
                      LogCommand.self, EventsCommand.self, DaemonCommand.self, ServeCommand.self,
                      AccessCommand.self, SSHSessionCommand.self, EngineCommand.self, LFSCommand.self, VerifyCommand.self, MaintainCommand.self,
                      WatchCatalogCommand.self],
        defaultSubcommand: DashboardCommand.self
    )
}

extension MirrorDeck {
    /// `mirrordeck --home DIR list` means `mirrordeck list --home DIR`: a leading `--home` (the one option
    /// every subcommand shares) moves behind the subcommand, and behind a nested one (`access grant`).
    static func homeAfterSubcommand(_ args: [String]) -> [String] {
        var rest = args
        var home: [String] = []
        if rest.first == "--home", rest.count >= 2 {
            home = Array(rest.prefix(2))
            rest.removeFirst(2)
        } else if let first = rest.first, first.hasPrefix("--home=") {
            home = [first]
            rest.removeFirst()
        }
        guard !home.isEmpty else { return args }
        var path = 0
        var commands = configuration.subcommands
        while path < rest.count, let sub = commands.first(where: { $0._commandName == rest[path] }) {
            path += 1
            commands = sub.configuration.subcommands
        }
        return Array(rest.prefix(path)) + home + Array(rest.dropFirst(path))
    }
}

/// Exit statuses shared by every subcommand.
enum Exit {
    static let syncFailed = ExitCode(1)
    static let badInput = ExitCode(2)
}

@main
enum Main {
    static func main() async {
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try MirrorDeck.parseAsRoot(MirrorDeck.homeAfterSubcommand(Array(CommandLine.arguments.dropFirst())))
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let error as ExitCode {
            exit(error.rawValue)
        } catch let error as ConfigError {
            fail(error.description, code: Exit.badInput)
        } catch let error as CatalogError {
            if case .database = error { fail(error.description, code: Exit.syncFailed) }
            fail(error.description, code: Exit.badInput)
        } catch let error as GitError {
            fail(error.description, code: Exit.syncFailed)
        } catch let error as CLIError {
            fail(error.description, code: error.code)
        } catch {
            let code = MirrorDeck.exitCode(for: error)
            let message = MirrorDeck.fullMessage(for: error)
            if code == .success {
                print(message)
                exit(0)
            }
            // Argument errors: one line, with where to read the usage.
            let lines = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            var first = lines.first ?? "invalid usage"
            if first.hasPrefix("Error: ") { first.removeFirst("Error: ".count) }
            let helpCommand = lines.first { $0.hasPrefix("See '") }
                .flatMap { line -> String? in
                    let parts = line.split(separator: "'")
                    return parts.count >= 2 ? String(parts[1]) : nil
                } ?? "mirrordeck --help"
            // The dashboard is the default subcommand: unknown words land there, but the root's help is the one to read.
            let help = helpCommand == "mirrordeck dashboard --help" && !CommandLine.arguments.dropFirst().contains("dashboard")
                ? "mirrordeck --help" : helpCommand
            fail("\(first); see '\(help)'", code: Exit.badInput)
        }
    }

    static func fail(_ message: String, code: ExitCode) -> Never {
        FileHandle.standardError.write(Data("mirrordeck: error: \(message)\n".utf8))
        exit(code.rawValue)
    }
}

/// A CLI-level failure with its exit code.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    var code: ExitCode = Exit.badInput
}
