import Foundation
import TOMLKit

/// A color theme: a style for every `ThemeRole`, loaded from a TOML file in `themes/`.
public struct Theme: Sendable, Equatable {
    public var name: String
    public var description: String
    public var styles: [ThemeRole: TextStyle]

    /// The style of `role` (roles a theme leaves out come from the built-in default).
    public subscript(_ role: ThemeRole) -> TextStyle {
        styles[role] ?? Theme.builtinDefault.styles[role] ?? .plain
    }

    /// The theme as a terminal in `mode` shows it: without colors every role keeps the attributes it
    /// needs to stand out.
    public func resolved(for mode: ColorMode) -> Theme {
        guard mode == .mono else { return self }
        var out = self
        for role in ThemeRole.allCases {
            let own = self[role].attributesOnly
            out.styles[role] = own.over(role.monochrome)
        }
        return out
    }

    /// The built-in default (the same text as themes/default.toml), used when no theme file can be read.
    public static let builtinDefault: Theme = {
        do {
            return try ThemeParser.parse(BuiltinThemes.files["default"]!, file: "default.toml", fallback: nil)
        } catch {
            fatalError("the built-in default theme does not parse: \(error)")
        }
    }()
}

/// A theme file that cannot be used, with the line to fix.
public struct ThemeError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var line: Int?
    public var reason: String

    public var description: String {
        "theme \(file)" + (line.map { " line \($0)" } ?? "") + ": \(reason)"
    }
}

/// Reads theme TOML: `name`, `description`, an optional `[palette]` of named colors, and `[styles]` with
/// one entry per role (`fg`, `bg`, `bold`, `underline`, `reverse`, `dim`, `italic`).
public enum ThemeParser {
    static let styleKeys: Set<String> = ["fg", "bg", "bold", "underline", "reverse", "dim", "italic"]
    static let named: [String: Int] = [
        "black": 0, "red": 1, "green": 2, "yellow": 3, "blue": 4, "magenta": 5, "cyan": 6, "white": 7,
        "bright-black": 8, "gray": 8, "grey": 8, "bright-red": 9, "bright-green": 10, "bright-yellow": 11,
        "bright-blue": 12, "bright-magenta": 13, "bright-cyan": 14, "bright-white": 15,
    ]

    /// Parses theme text; roles the file leaves out come from `fallback`.
    public static func parse(_ text: String, file: String, fallback: Theme? = Theme.builtinDefault) throws -> Theme {
        let lines = KeyLines(text)
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ThemeError(file: file, line: error.source.begin.line, reason: error.description)
        }
        func fail(_ path: String, _ reason: String) -> ThemeError {
            ThemeError(file: file, line: lines.line(of: path), reason: reason)
        }
        for key in table.keys where !["name", "description", "palette", "styles"].contains(key) {
            throw fail(key, "unknown key '\(key)' (expected name, description, [palette], [styles])")
        }
        var theme = Theme(name: table["name"]?.string ?? (file as NSString).lastPathComponent.replacingOccurrences(of: ".toml", with: ""),
                          description: table["description"]?.string ?? "", styles: fallback?.styles ?? [:])
        if table["name"] != nil, table["name"]?.string == nil { throw fail("name", "name must be a string") }

        var palette: [String: ColorValue] = [:]
        if let p = table["palette"] {
            guard let pt = p.table else { throw fail("palette", "[palette] must be a table of name = color") }
            for key in pt.keys {
                guard let value = pt[key]?.string ?? pt[key]?.int.map(String.init) else {
                    throw fail("palette.\(key)", "palette color '\(key)' must be a string like \"#1e90ff\" or a number 0-255")
                }
                guard let color = color(value, palette: [:]) else {
                    throw fail("palette.\(key)", "'\(value)' is not a color (use #rrggbb, 0-255, a color name, or default)")
                }
                palette[key] = color
            }
        }
        guard let stylesValue = table["styles"] else {
            if fallback == nil { throw ThemeError(file: file, line: nil, reason: "no [styles] table") }
            return theme
        }
        guard let styles = stylesValue.table else { throw fail("styles", "[styles] must be a table") }
        let roleNames = ThemeRole.allCases.map(\.rawValue)
        for key in styles.keys {
            guard let role = ThemeRole(rawValue: key) else {
                let near = roleNames.first { $0.hasPrefix(String(key.prefix(3))) }
                throw fail("styles.\(key)", "unknown role '\(key)'" + (near.map { " (did you mean '\($0)'?)" } ?? "") + "; see docs/themes.md")
            }
            guard let entry = styles[key]?.table else {
                throw fail("styles.\(key)", "style '\(key)' must be a table like { fg = \"red\", bold = true }")
            }
            var style = TextStyle()
            for attr in entry.keys {
                let path = "styles.\(key).\(attr)"
                guard styleKeys.contains(attr) else {
                    throw fail(path, "unknown attribute '\(attr)' in '\(key)' (expected fg, bg, bold, underline, reverse, dim, italic)")
                }
                if attr == "fg" || attr == "bg" {
                    guard let value = entry[attr]?.string ?? entry[attr]?.int.map(String.init) else {
                        throw fail(path, "\(key).\(attr) must be a color string or a number 0-255")
                    }
                    guard let c = color(value, palette: palette) else {
                        throw fail(path, "'\(value)' is not a color (use #rrggbb, 0-255, a color name, a [palette] name, or default)")
                    }
                    if attr == "fg" { style.fg = c } else { style.bg = c }
                } else {
                    guard let flag = entry[attr]?.bool else { throw fail(path, "\(key).\(attr) must be true or false") }
                    switch attr {
                    case "bold": style.bold = flag
                    case "underline": style.underline = flag
                    case "reverse": style.reverse = flag
                    case "dim": style.dim = flag
                    default: style.italic = flag
                    }
                }
            }
            theme.styles[role] = style
        }
        if fallback == nil, let missing = ThemeRole.allCases.first(where: { theme.styles[$0] == nil }) {
            throw ThemeError(file: file, line: nil, reason: "role '\(missing.rawValue)' is missing")
        }
        return theme
    }

    /// A color from text: `default`, a name, `#rgb`, `#rrggbb`, `0`–`255`, or a palette entry.
    public static func color(_ text: String, palette: [String: ColorValue]) -> ColorValue? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t == "default" || t == "none" { return .default }
        if let n = named[t] { return .ansi(n) }
        if let p = palette[text] ?? palette[t] { return p }
        if t.hasPrefix("#") {
            let hex = Array(t.dropFirst())
            guard hex.allSatisfy({ $0.isHexDigit }) else { return nil }
            if hex.count == 6, let v = Int(String(hex), radix: 16) {
                return .rgb(UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff))
            }
            if hex.count == 3, let v = Int(String(hex), radix: 16) {
                let r = (v >> 8) & 0xf, g = (v >> 4) & 0xf, b = v & 0xf
                return .rgb(UInt8(r * 17), UInt8(g * 17), UInt8(b * 17))
            }
            return nil
        }
        var digits = t
        if digits.hasPrefix("color") { digits.removeFirst(5) }
        if let n = Int(digits), (0...255).contains(n) { return n < 16 ? .ansi(n) : .indexed(n) }
        return nil
    }
}

/// Where each key of a TOML file is written, so errors found after parsing can name a line.
struct KeyLines {
    private var lines: [String: Int] = [:]

    init(_ text: String) {
        var table = ""
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || line.isEmpty { continue }
            if line.hasPrefix("[") {
                let name = line.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).components(separatedBy: "#")[0]
                    .trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
                table = name
                record(table, i + 1)
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            let path = table.isEmpty ? key : table + "." + key
            record(path, i + 1)
            // Inline tables: `role = { fg = "red", bold = true }`.
            let rest = line[line.index(after: eq)...]
            if let open = rest.firstIndex(of: "{") {
                for part in rest[rest.index(after: open)...].split(separator: ",") {
                    guard let e = part.firstIndex(of: "=") else { continue }
                    let inner = part[..<e].trimmingCharacters(in: .whitespaces)
                    record(path + "." + inner, i + 1)
                }
            }
        }
    }

    private mutating func record(_ path: String, _ line: Int) {
        if lines[path] == nil { lines[path] = line }
    }

    /// The line of `path` (or of its nearest recorded parent).
    func line(of path: String) -> Int? {
        var p = path
        while true {
            if let l = lines[p] { return l }
            guard let dot = p.lastIndex(of: ".") else { return nil }
            p = String(p[..<dot])
        }
    }
}
