import Foundation
import Testing

@Suite("install: completions, man page and make install")
struct InstallTests {
    /// The subcommand names the binary itself reports (swift-argument-parser's help dump), without the
    /// internal ones it hides from help (engine, ssh-session, watch-catalog): completions leave those out.
    func subcommands() throws -> [String] {
        let r = try Shell.run(TestEnv.binary, ["--experimental-dump-help"])
        #expect(r.status == 0, "\(r)")
        let info = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let command = info["command"] as! [String: Any]
        return (command["subcommands"] as! [[String: Any]])
            .filter { ($0["shouldDisplay"] as? Bool) != false }
            .compactMap { $0["commandName"] as? String }.filter { $0 != "help" }
    }

    @Test("completion scripts for bash, zsh and fish parse in their shells and name every subcommand")
    func completions() throws {
        let env = try TestEnv("completions")
        let names = try subcommands()
        #expect(names.contains("sync") && names.contains("daemon") && names.count >= 19)
        let shells: [(shell: String, check: [String])] = [
            ("bash", ["/bin/bash", "-n"]), ("zsh", ["/usr/bin/zsh", "-n"]), ("fish", ["/usr/bin/fish", "--no-execute"]),
        ]
        for (shell, check) in shells {
            let r = try Shell.run(TestEnv.binary, ["--generate-completion-script", shell])
            #expect(r.status == 0, "\(shell): \(r)")
            let file = env.path("completion.\(shell)")
            try r.stdout.write(toFile: file, atomically: true, encoding: .utf8)
            let parsed = try Shell.run(check[0], Array(check.dropFirst()) + [file])
            #expect(parsed.status == 0 && parsed.stderr.isEmpty, "\(shell) -n: \(parsed)")
            for name in names { #expect(r.stdout.contains(name), "\(shell) completion lacks \(name)") }
        }
        let bad = try Shell.run(TestEnv.binary, ["--generate-completion-script", "tcsh"])
        #expect(bad.status != 0 && !bad.stderr.isEmpty)
    }

    @Test("the man page renders with man -l and documents every subcommand the binary has")
    func manPage() throws {
        let page = TestEnv.checkout + "/dist/man/mirrordeck.1"
        let r = try Shell.run("/usr/bin/man", ["-l", "-P", "cat", page], environment: ["MANWIDTH": "100", "LANG": "C.UTF-8"])
        #expect(r.status == 0, "\(r)")
        // groff warnings (bad macros) go to stderr; a clean page has none.
        #expect(r.stderr.isEmpty, "man -l warned: \(r.stderr)")
        #expect(r.stdout.contains("NAME") && r.stdout.contains("mirrordeck"))
        // A subcommand added without `make man` makes the committed page stale: this fails then.
        for name in try subcommands() { #expect(r.stdout.contains("     \(name)"), "man page lacks \(name)") }
    }

    @Test("make install-files DESTDIR=... puts binary, themes, completions, man page and systemd unit under PREFIX")
    func makeInstall() throws {
        let env = try TestEnv("install")
        let dest = env.path("pkgroot")
        let r = try Shell.run("/usr/bin/make", ["-s", "-C", TestEnv.checkout, "install-files", "DESTDIR=\(dest)", "PREFIX=/usr",
                                               "RELEASE_BIN=\(TestEnv.binary)"])
        #expect(r.status == 0, "\(r)")
        let root = dest + "/usr"
        let version = try Shell.run(root + "/bin/mirrordeck", ["--version"])
        #expect(version.status == 0 && !version.stdout.isEmpty, "\(version)")
        let shipped = try FileManager.default.contentsOfDirectory(atPath: TestEnv.checkout + "/themes").filter { $0.hasSuffix(".toml") }
        let installed = try FileManager.default.contentsOfDirectory(atPath: root + "/share/mirrordeck/themes").filter { $0.hasSuffix(".toml") }
        #expect(Set(installed) == Set(shipped) && !shipped.isEmpty)
        for file in ["share/bash-completion/completions/mirrordeck", "share/zsh/site-functions/_mirrordeck",
                     "share/fish/vendor_completions.d/mirrordeck.fish", "share/man/man1/mirrordeck.1"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: root + "/" + file)[.size] as? Int) ?? 0
            #expect(size > 100, "\(file) missing or empty")
        }
        let unit = try String(contentsOfFile: root + "/lib/systemd/system/mirrordeck.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/bin/mirrordeck daemon "))
        #expect(!unit.contains("@BINDIR@"))
    }
}
