import ArgumentParser
import Foundation
import MirrorCore

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The MirrorDeck home (default: MIRRORDECK_HOME, else $XDG_DATA_HOME/mirrordeck).")
    var home: String?

    /// Opens the home and its catalog.
    func open() throws -> (Home, Catalog) {
        let home = try Home(path: Home.resolve(flag: home))
        let catalog = try Catalog(home: home)
        return (home, catalog)
    }
}

/// Terminal facts the output code needs.
enum TTY {
    static var stdout: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stdin: Bool { isatty(STDIN_FILENO) == 1 }
}
