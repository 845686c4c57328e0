import ArgumentParser
import Foundation
import MirrorCore

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a mirror (and its data unless --keep-data).",
        discussion: "Asks for confirmation on a terminal; pass --yes when running without one.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Name of the mirror.") var name: String
    @Flag(name: .customLong("keep-data"), help: "Keep the repository on disk; adding the name again reuses it.") var keepData = false
    @Flag(name: .shortAndLong, help: "Do not ask for confirmation.") var yes = false

    func run() throws {
        try MirrorName.validate(name)
        let (home, catalog) = try global.open()
        let mirror = try catalog.mirror(named: name)
        if !yes {
            guard TTY.stdin else {
                throw CLIError(description: "refusing to remove \(Redactor.quote(name)) without confirmation: pass --yes")
            }
            let what = keepData ? "remove mirror \(name) (its data stays in \(home.mirrorPath(name)))"
                                : "remove mirror \(name) and DELETE its data in \(home.mirrorPath(name))"
            print("\(what)? Type the name to confirm: ", terminator: "")
            guard readLine(strippingNewline: true) == name else {
                throw CLIError(description: "not confirmed: nothing was removed")
            }
        }
        guard let lock = try FileLock.tryAcquire(path: home.lockPath(mirror.name)) else {
            throw CLIError(description: GitError.busy(name: name).description, code: Exit.syncFailed)
        }
        try catalog.removeMirror(named: name, actor: .acting, keptData: keepData)
        if !keepData { try home.deleteMirrorData(name) }
        withExtendedLifetime(lock) {}
        print(keepData ? "removed \(name); data kept in \(home.mirrorPath(name))" : "removed \(name) and its data")
    }
}
