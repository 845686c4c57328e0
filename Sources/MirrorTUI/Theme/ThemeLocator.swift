import Foundation

/// Finds theme files by name: `--theme` may be a path or a name looked up in (first match wins)
/// `$MIRRORDECK_THEMES_DIR`, `<home>/themes`, `$XDG_CONFIG_HOME/mirrordeck/themes`, the `themes/`
/// folder shipped next to the binary, and finally the built-in copies of the shipped themes.
public struct ThemeLocator: Sendable {
    public var directories: [String]

    public init(home: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                executable: String = CommandLine.arguments.first ?? "") {
        var dirs: [String] = []
        if let d = environment["MIRRORDECK_THEMES_DIR"], !d.isEmpty { dirs.append(d) }
        if let home { dirs.append(home + "/themes") }
        let config = environment["XDG_CONFIG_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? (environment["HOME"].map { $0 + "/.config" })
        if let config { dirs.append(config + "/mirrordeck/themes") }
        let exe = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        // .build/<config>/mirrordeck → the checkout's themes/; <prefix>/bin/mirrordeck → <prefix>/share/mirrordeck/themes.
        dirs.append(exe.appendingPathComponent("../../themes").standardizedFileURL.path)
        dirs.append(exe.appendingPathComponent("../share/mirrordeck/themes").standardizedFileURL.path)
        directories = dirs
    }

    /// Names of every theme available (files and built-ins), sorted.
    public func available() -> [String] {
        var names = Set(BuiltinThemes.files.keys)
        for dir in directories {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where file.hasSuffix(".toml") {
                names.insert(String(file.dropLast(5)))
            }
        }
        return names.sorted()
    }

    /// Loads a theme by name or path. A broken file throws `ThemeError` (with its line); an unknown name
    /// throws too, listing what exists.
    public func load(_ nameOrPath: String) throws -> Theme {
        let isPath = nameOrPath.contains("/") || nameOrPath.hasSuffix(".toml")
        if isPath {
            guard let data = FileManager.default.contents(atPath: nameOrPath) else {
                throw ThemeError(file: nameOrPath, line: nil, reason: "cannot read the file")
            }
            return try ThemeParser.parse(String(decoding: data, as: UTF8.self), file: nameOrPath)
        }
        guard nameOrPath.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), !nameOrPath.isEmpty else {
            throw ThemeError(file: nameOrPath, line: nil, reason: "a theme name holds only letters, digits, - and _")
        }
        for dir in directories {
            let path = dir + "/" + nameOrPath + ".toml"
            if let data = FileManager.default.contents(atPath: path) {
                return try ThemeParser.parse(String(decoding: data, as: UTF8.self), file: path)
            }
        }
        if let text = BuiltinThemes.files[nameOrPath] {
            return try ThemeParser.parse(text, file: "(built-in) \(nameOrPath).toml")
        }
        throw ThemeError(file: nameOrPath, line: nil, reason: "no such theme (available: \(available().joined(separator: ", ")))")
    }
}
