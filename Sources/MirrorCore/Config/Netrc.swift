import Foundation

/// Credentials from `~/.netrc` (or `$NETRC`), the one place MirrorDeck reads http(s) passwords from.
struct Netrc {
    struct Entry {
        var login: String
        var password: String
    }

    private var machines: [String: Entry] = [:]
    private var fallback: Entry?

    /// Reads the netrc file; a missing or unreadable file yields no entries.
    static func load(environment: [String: String] = ProcessInfo.processInfo.environment) -> Netrc {
        let path = environment["NETRC"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.netrc")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return Netrc() }
        return Netrc(parsing: text)
    }

    init() {}

    /// Parses netrc tokens: `machine`, `default`, `login`, `password`.
    init(parsing text: String) {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).map(String.init)
        var i = 0
        var machine: String?
        var isDefault = false
        var login = ""
        var password = ""
        func flush() {
            guard !login.isEmpty || !password.isEmpty else { return }
            let entry = Entry(login: login, password: password)
            if let m = machine { machines[m] = entry } else if isDefault { fallback = entry }
        }
        while i < tokens.count {
            switch tokens[i] {
            case "machine":
                flush(); machine = i + 1 < tokens.count ? tokens[i + 1] : nil; isDefault = false; login = ""; password = ""; i += 2
            case "default":
                flush(); machine = nil; isDefault = true; login = ""; password = ""; i += 1
            case "login":
                login = i + 1 < tokens.count ? tokens[i + 1] : ""; i += 2
            case "password":
                password = i + 1 < tokens.count ? tokens[i + 1] : ""; i += 2
            default:
                i += 1
            }
        }
        flush()
    }

    /// The credentials for `host`, falling back to the `default` entry.
    func entry(for host: String) -> Entry? {
        machines[host] ?? fallback
    }
}
