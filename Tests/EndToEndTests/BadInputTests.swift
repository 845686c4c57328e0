import Foundation
import Testing

@Suite("bad input gets one clear line, exit 2, and changes nothing")
struct BadInputTests {
    /// Runs a command that must be refused and checks the message, the exit code and that the catalog is unchanged.
    func expectRefused(_ env: TestEnv, _ args: [String], mentions needle: String, stdin: String? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try env.md("export").stdout
        let r = try env.mdArgs(args, stdin: stdin)
        #expect(r.status == 2, "\(args): \(r)", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "one line expected for \(args): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("mirrordeck: error: "), sourceLocation: sourceLocation)
        #expect(r.stderr.contains(needle), "\(args): expected \(needle) in \(r.stderr)", sourceLocation: sourceLocation)
        #expect(try env.md("export").stdout == before, "catalog changed by \(args)", sourceLocation: sourceLocation)
    }

    @Test("invalid and path-escaping mirror names are refused", arguments: [
        ("../x", "'..'"), ("/abs", "absolute path"), ("a/b/c", "more than one '/'"), ("", "empty"),
        (String(repeating: "n", count: 300), "longer than 100"), ("bad\u{07}name", "control characters"),
        ("x/..", "'..'"), ("-flag", "must start with a letter or digit"), ("repo.git", ".git"),
        ("spa ce", "\" \""), ("owner/", "empty part"),
    ])
    func badNames(name: String, mentions: String) throws {
        let env = try TestEnv("names")
        try expectRefused(env, ["add", "--", name, "https://example.org/x.git"], mentions: mentions)
        #expect(!FileManager.default.fileExists(atPath: env.root + "/x"))
        let mirrors = (try? FileManager.default.contentsOfDirectory(atPath: env.home + "/mirrors")) ?? []
        #expect(mirrors.isEmpty)
    }

    @Test("malformed URLs and URLs with passwords are refused", arguments: [
        ("ftp://example.org/x.git", "unsupported scheme"),
        ("https://", "no host"),
        ("https://exa mple.org/x", "spaces"),
        ("relative/path", "absolute path"),
        ("https://example.org:99999/x.git", "port"),
        ("https://example.org", "no repository path"),
        ("https://bob:hunter2@example.org/x.git", "~/.netrc"),
        ("file://host/x.git", "file:// URLs take no host"),
    ])
    func badURLs(url: String, mentions: String) throws {
        let env = try TestEnv("urls")
        try expectRefused(env, ["add", "m", url], mentions: mentions)
    }

    @Test("a password in a URL never appears in the error")
    func passwordNotEchoed() throws {
        let env = try TestEnv("secret")
        let r = try env.md("add", "m", "https://bob:hunter2@example.org/x.git")
        #expect(r.status == 2)
        #expect(!r.stderr.contains("hunter2"))
    }

    @Test("duplicate names, bad intervals and LFS modes are refused")
    func duplicatesAndOptions() throws {
        let env = try TestEnv("dups")
        #expect(try env.md("add", "m", "https://example.org/x.git").status == 0)
        try expectRefused(env, ["add", "m", "https://example.org/y.git"], mentions: "already exists")
        try expectRefused(env, ["add", "n", "https://example.org/y.git", "--interval", "soon"], mentions: "invalid interval")
        try expectRefused(env, ["add", "n", "https://example.org/y.git", "--interval", "5s"], mentions: "at least 10s")
        try expectRefused(env, ["add", "n", "https://example.org/y.git", "--lfs", "maybe"], mentions: "auto, on or off")
        try expectRefused(env, ["sync", "nosuch"], mentions: "no mirror named")
        try expectRefused(env, ["sync"], mentions: "exactly one")
        try expectRefused(env, ["add", "onlyname"], mentions: "Missing expected argument")
        let unknown = try Shell.run(TestEnv.binary, ["frobnicate"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr == "mirrordeck: error: Unexpected argument 'frobnicate'; see 'mirrordeck --help'\n")
        try expectRefused(env, ["remove", "m"], mentions: "pass --yes")
    }

    @Test("a mirror list with an unknown key, a bad entry or bad TOML changes nothing")
    func badMirrorLists() throws {
        let env = try TestEnv("toml")
        #expect(try env.md("add", "keep", "https://example.org/keep.git").status == 0)
        let good = "[[mirror]]\nname = \"a\"\nupstream = \"https://example.org/a.git\"\n"
        try expectRefused(env, ["import", "-"], mentions: "unknown key 'intervall'",
                          stdin: good + "\n[[mirror]]\nname = \"b\"\nupstream = \"https://example.org/b.git\"\nintervall = \"2h\"\n")
        try expectRefused(env, ["import", "-"], mentions: "invalid mirror name", stdin: good + "\n[[mirror]]\nname = \"../b\"\nupstream = \"https://example.org/b.git\"\n")
        try expectRefused(env, ["import", "-"], mentions: "line", stdin: "[[mirror]\nname = \n")
        try expectRefused(env, ["import", "-"], mentions: "unknown top-level key 'mirrors'", stdin: "[[mirrors]]\nname = \"a\"\n")
        try expectRefused(env, ["import", "-"], mentions: "listed twice", stdin: good + "\n" + good)
        try expectRefused(env, ["import", "/nonexistent/list.toml"], mentions: "cannot read")
    }

    @Test("an unusable home is refused with a one-line error")
    func unusableHome() throws {
        let env = try TestEnv("home")
        let file = env.path("afile")
        FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        let r = try Shell.run(TestEnv.binary, ["list", "--home", file])
        #expect(r.status == 2)
        #expect(r.stderr.contains("not a directory"))
        if getuid() != 0 {
            let locked = env.path("locked")
            try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o500])
            let r2 = try Shell.run(TestEnv.binary, ["list", "--home", locked])
            #expect(r2.status == 2)
            #expect(r2.stderr.contains("not readable and writable"))
        }
        let r3 = try Shell.run(TestEnv.binary, ["list", "--home", file + "/sub"])
        #expect(r3.status == 2)
        #expect(r3.stderr.split(separator: "\n").count == 1)
    }

    @Test("edit changes only what is given; bad values and unknown mirrors change nothing")
    func editMirror() throws {
        let env = try TestEnv("edit")
        #expect(try env.md("add", "tool", "git://example.org/tool.git", "--interval", "1d", "--lfs-url", "https://lfs.example.org/tool").status == 0)
        let before = try env.sql("SELECT * FROM mirror")
        for (args, message) in [(["--interval", "5s"], "interval"), (["--url", "https://u:pw@example.org/x.git"], "password"),
                                (["--lfs", "sometimes"], "auto, on or off"), ([], "nothing to change")] {
            let r = try env.mdArgs(["edit", "tool"] + args)
            #expect(r.status == 2 && r.stderr.split(separator: "\n").count == 1 && r.stderr.contains(message), "\(args): \(r)")
            #expect(!r.stderr.contains("pw@"), "no password in the error")
        }
        let unknown = try env.md("edit", "nosuch", "--interval", "1h")
        #expect(unknown.status == 2 && unknown.stderr.contains("no mirror named"))
        #expect(try env.sql("SELECT * FROM mirror") == before)

        // A shorter interval takes effect now: the next run moves from a day away to 10 minutes after the last check.
        try env.sqlWrite("UPDATE mirror_state SET last_check_at = datetime('now'), next_run_at = datetime('now', '+1 day')")
        let r = try env.md("edit", "tool", "--interval", "10m", "--lfs", "off")
        #expect(r.status == 0 && r.stdout.contains("changed tool"), "\(r)")
        #expect(try env.sql("SELECT interval_seconds, lfs, lfs_url, prune FROM mirror") == [["600", "off", "https://lfs.example.org/tool", "1"]])
        let minutes = try env.sql("SELECT CAST(round((julianday(next_run_at) - julianday('now')) * 1440) AS INTEGER) FROM mirror_state")
        #expect(minutes == [["10"]], "next run in \(minutes) minutes")
        #expect(try env.md("edit", "tool", "--interval", "10m").stdout.contains("unchanged"))
        #expect(try env.sql("SELECT message FROM event WHERE action = 'edit'") == [["changed interval 10m, lfs off"]])
    }

    @Test("--home may come before the subcommand, also a nested one")
    func homeBeforeSubcommand() throws {
        let env = try TestEnv("home-first")
        #expect(try Shell.run(TestEnv.binary, ["--home", env.home, "add", "tool", "git://example.org/tool.git"]).status == 0)
        let list = try Shell.run(TestEnv.binary, ["--home=\(env.home)", "list", "--json"])
        #expect(list.status == 0 && list.stdout.contains("\"tool\""), "\(list)")
        let status = try Shell.run(TestEnv.binary, ["--home", env.home, "lfs", "status", "tool"])
        #expect(status.status == 0, "\(status)")
        let bogus = try Shell.run(TestEnv.binary, ["--home", env.home, "frob"])
        #expect(bogus.status == 2 && bogus.stderr.split(separator: "\n").count == 1, "\(bogus)")
        #expect(try env.sql("SELECT name FROM mirror") == [["tool"]])
    }

    @Test("import then export round-trips the mirror list")
    func importExportRoundTrip() throws {
        let env = try TestEnv("roundtrip")
        let list = """
        [[mirror]]
        name = "org/model"
        upstream = "https://example.org/org/model.git"
        interval = "30m"
        lfs = "on"

        [[mirror]]
        name = "tool"
        upstream = "git://example.org/tool.git"
        interval = "1d"
        lfs = "off"
        prune = false
        """
        let r = try env.md("import", "-", stdin: list)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("2 added"))
        let exported = try env.md("export").stdout
        let env2 = try TestEnv("roundtrip2")
        #expect(try env2.md("import", "-", stdin: exported).status == 0)
        #expect(try env2.md("export").stdout == exported)
        // Importing again changes nothing; a changed interval is an update.
        #expect(try env.md("import", "-", stdin: exported).stdout.contains("2 unchanged"))
        let changed = exported.replacingOccurrences(of: "interval = \"30m\"", with: "interval = \"1h\"")
        #expect(try env.md("import", "-", stdin: changed).stdout.contains("1 updated"))
    }
}
