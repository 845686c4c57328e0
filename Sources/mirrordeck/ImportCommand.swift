import ArgumentParser
import Foundation
import MirrorCore

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add or update mirrors from a TOML mirror list (see docs/configuration.md).",
        discussion: "The whole file is checked first; on any error nothing is changed.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The TOML file ('-' for standard input).") var file: String

    func run() throws {
        let text: String
        if file == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CLIError(description: "cannot read \(file): check the path and permissions")
            }
            text = String(decoding: data, as: UTF8.self)
        }
        let mirrors = try MirrorList.parse(text, file: file)
        let (_, catalog) = try global.open()
        let result = try catalog.apply(mirrors, actor: .acting)
        print("imported \(mirrors.count) mirrors: \(result.added.count) added, \(result.updated.count) updated, \(result.unchanged.count) unchanged")
    }
}
