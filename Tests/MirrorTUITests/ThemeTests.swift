import Foundation
import Testing
@testable import MirrorTUI

@Suite("themes: the shipped files, parsing errors with lines, and color degradation")
struct ThemeTests {
    static let themesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("themes").path

    @Test("every shipped theme parses, styles every role, and the built-in copies match themes/*.toml")
    func shipped() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.themesDir).filter { $0.hasSuffix(".toml") }.sorted()
        #expect(files == ["default.toml", "high-contrast.toml", "light.toml", "monochrome.toml", "solarized-dark.toml"])
        for file in files {
            let text = try String(contentsOfFile: Self.themesDir + "/" + file, encoding: .utf8)
            let theme = try ThemeParser.parse(text, file: file, fallback: nil)
            #expect(theme.name + ".toml" == file)
            #expect(BuiltinThemes.files[theme.name]?.trimmingCharacters(in: .newlines) == text.trimmingCharacters(in: .newlines),
                    "run scripts/gen-themes.py: the built-in copy of \(file) is out of date")
        }
    }

    @Test("a TOML syntax error is reported with its line")
    func syntaxError() {
        let text = "name = \"x\"\n[styles]\nbase = { fg = \"red\" \n"
        #expect(throws: ThemeError.self) { try ThemeParser.parse(text, file: "x.toml") }
        do {
            _ = try ThemeParser.parse(text, file: "x.toml")
        } catch let e as ThemeError {
            #expect(e.line == 3)
            #expect(e.description.hasPrefix("theme x.toml line 3:"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("an unknown color, role or attribute is reported with the line it is on")
    func semanticErrors() {
        func line(_ text: String) -> Int? {
            do { _ = try ThemeParser.parse(text, file: "t.toml"); return nil } catch let e as ThemeError { return e.line } catch { return nil }
        }
        #expect(line("name = \"t\"\n\n[styles]\nbase = {}\nfailed = { fg = \"reed\" }\n") == 5)
        #expect(line("[styles]\nbase = {}\nfaild = { fg = \"red\" }\n") == 3)
        #expect(line("[styles.title]\nfg = \"red\"\nblink = true\n") == 3)
        #expect(line("[palette]\nx = \"#12\"\n") == 2)
        #expect(line("colour = 1\n") == 1)
    }

    @Test("colors parse from names, hex, numbers and the palette")
    func colors() {
        #expect(ThemeParser.color("red", palette: [:]) == .ansi(1))
        #expect(ThemeParser.color("bright-blue", palette: [:]) == .ansi(12))
        #expect(ThemeParser.color("#ff8000", palette: [:]) == .rgb(255, 128, 0))
        #expect(ThemeParser.color("#f80", palette: [:]) == .rgb(255, 136, 0))
        #expect(ThemeParser.color("208", palette: [:]) == .indexed(208))
        #expect(ThemeParser.color("accent", palette: ["accent": .ansi(6)]) == .ansi(6))
        #expect(ThemeParser.color("default", palette: [:]) == .default)
        #expect(ThemeParser.color("#ggg", palette: [:]) == nil)
    }

    @Test("colors degrade truecolor → 256 → 16 → 8 (bright as bold) → none")
    func degrade() {
        let orange = ColorValue.rgb(255, 135, 0)
        #expect(ColorDegrade.cursesColor(orange, mode: .truecolor).number == 0xff8700)
        #expect(ColorDegrade.cursesColor(orange, mode: .indexed256).number == 208)
        #expect(ColorDegrade.cursesColor(.rgb(250, 10, 10), mode: .ansi16).number == 9)
        let eight = ColorDegrade.cursesColor(.rgb(250, 10, 10), mode: .ansi8)
        #expect(eight.number == 1 && eight.bright)
        #expect(ColorDegrade.cursesColor(orange, mode: .mono).number == -1)
        #expect(ColorDegrade.cursesColor(.rgb(128, 128, 128), mode: .indexed256).number == 244)
        #expect(ColorDegrade.cursesColor(.default, mode: .indexed256).number == -1)
    }

    @Test("the color mode follows the terminal, and NO_COLOR turns colors off")
    func detect() {
        #expect(ColorMode.detect(colors: 256, hasColors: true, directColor: false, environment: [:]) == .indexed256)
        #expect(ColorMode.detect(colors: 0x1000000, hasColors: true, directColor: true, environment: [:]) == .truecolor)
        #expect(ColorMode.detect(colors: 8, hasColors: true, directColor: false, environment: [:]) == .ansi8)
        #expect(ColorMode.detect(colors: 0, hasColors: false, directColor: false, environment: [:]) == .mono)
        #expect(ColorMode.detect(colors: 256, hasColors: true, directColor: false, environment: ["NO_COLOR": "1"]) == .mono)
        #expect(ColorMode.detect(colors: 256, hasColors: true, directColor: false, environment: ["NO_COLOR": ""]) == .indexed256)
    }

    @Test("without colors every role keeps attributes that make it stand out")
    func monochrome() {
        let mono = Theme.builtinDefault.resolved(for: .mono)
        #expect(mono[.selection].reverse)
        #expect(mono[.failed].bold)
        #expect(mono[.stale].underline)
        for role in ThemeRole.allCases {
            #expect(mono[role].fg == .default && mono[role].bg == .default)
        }
    }

    @Test("themes load by name from a directory first, then the built-ins; an unknown name lists what exists")
    func locator() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("themes-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "name = \"mine\"\n[styles]\nfailed = { fg = \"magenta\" }\n".write(toFile: dir + "/mine.toml", atomically: true, encoding: .utf8)
        let locator = ThemeLocator(home: nil, environment: ["MIRRORDECK_THEMES_DIR": dir], executable: "/nonexistent/bin/x")
        let mine = try locator.load("mine")
        #expect(mine[.failed].fg == .ansi(5))
        #expect(mine[.title] == Theme.builtinDefault[.title])
        #expect(try locator.load("solarized-dark").name == "solarized-dark")
        #expect(throws: ThemeError.self) { try locator.load("nope") }
        #expect(throws: ThemeError.self) { try locator.load("../etc") }
    }
}
