import ArgumentParser
import Foundation
import MirrorCore

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Print the mirror list as TOML, for 'import' elsewhere.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let (_, catalog) = try global.open()
        print(MirrorList.render(try catalog.mirrors()), terminator: "")
    }
}
