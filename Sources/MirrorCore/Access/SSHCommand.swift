/// The strict grammar of commands an SSH client may send (`ssh host COMMAND`), parsed without any shell.
///
/// A command is words separated by spaces, made only of letters, digits and `. _ / : = @ + , -` (and `* !`,
/// which ref patterns of `--lfs-keep` need: no shell is involved, so they mean nothing else).
/// Anything else — quotes, `$`, backticks, `;`, `|`, `&`, redirections, newlines, NUL, over 1024 bytes —
/// is refused before any word is looked at.
public struct SSHCommand: Sendable, Equatable {
    public static let maxLength = 1024

    /// What the command does, as `mirrordeck` arguments (without `--home`), or a built-in.
    public enum Action: Sendable, Equatable {
        case cli([String])
        case whoami
        case help
    }

    public let words: [String]
    public let permission: Permission
    public let action: Action

    private struct Spec {
        var permission: Permission
        var flags: Set<String> = []
        var valueFlags: Set<String> = []
        var minArgs = 0
        var maxArgs = 0
        var cli: String
    }

    private static let specs: [String: Spec] = [
        "status": Spec(permission: .view, flags: ["--json"], cli: "list"),
        "list": Spec(permission: .view, flags: ["--json"], cli: "list"),
        "show": Spec(permission: .view, flags: ["--json"], minArgs: 1, maxArgs: 1, cli: "show"),
        "jobs": Spec(permission: .view, flags: ["--json", "--all"], cli: "jobs"),
        "events": Spec(permission: .view, flags: ["--json"], valueFlags: ["--since", "--mirror", "--limit"], cli: "events"),
        "log": Spec(permission: .view, flags: ["--json"], minArgs: 1, maxArgs: 1, cli: "log"),
        "sync": Spec(permission: .sync, flags: ["--all", "--stale", "--json", "--wait"], maxArgs: 64, cli: "sync"),
        "verify": Spec(permission: .verify, flags: ["--all", "--json", "--repair", "--wait"],
                       valueFlags: ["--threads", "--max-rate", "--since"], maxArgs: 64, cli: "verify"),
        "pause": Spec(permission: .pause, valueFlags: ["--reason"], minArgs: 1, maxArgs: 1, cli: "pause"),
        "resume": Spec(permission: .resume, minArgs: 1, maxArgs: 1, cli: "resume"),
        "cancel": Spec(permission: .cancel, minArgs: 1, maxArgs: 1, cli: "cancel"),
        "add": Spec(permission: .add, flags: ["--no-prune", "--private"], valueFlags: ["--interval", "--lfs", "--lfs-url", "--lfs-keep", "--refs", "--max-rate"], minArgs: 2, maxArgs: 2, cli: "add"),
        "edit": Spec(permission: .edit, flags: ["--prune", "--no-prune", "--private", "--public"], valueFlags: ["--url", "--interval", "--lfs", "--lfs-url", "--lfs-keep", "--refs", "--max-rate"],
                     minArgs: 1, maxArgs: 1, cli: "edit"),
        "remove": Spec(permission: .remove, flags: ["--yes", "--keep-data"], minArgs: 1, maxArgs: 1, cli: "remove"),
        "access": Spec(permission: .access, flags: ["--json"], minArgs: 1, maxArgs: 1, cli: "access"),
    ]

    /// Command names, for help texts.
    public static var commandNames: [String] { (Array(specs.keys) + ["whoami", "help"]).sorted() }

    /// Parses `text`; throws `AccessError.refused` with a one-line reason.
    public init(_ text: String) throws {
        guard text.utf8.count <= Self.maxLength else { throw AccessError.refused("command longer than \(Self.maxLength) bytes") }
        for scalar in text.unicodeScalars {
            let ok = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
                || " ._/:=@+,-*!".unicodeScalars.contains(scalar)
            guard ok else {
                let shown = scalar.value < 0x20 || scalar.value == 0x7f ? "control character \\u{\(String(scalar.value, radix: 16))}" : "'\(scalar)'"
                throw AccessError.refused("\(shown) is not allowed in commands (no shell is involved; see 'help')")
            }
        }
        let words = text.split(separator: " ").map(String.init)
        guard let name = words.first else { throw AccessError.refused("empty command; try 'help'") }
        self.words = words
        if name == "whoami" || name == "help" {
            guard words.count == 1 else { throw AccessError.refused("'\(name)' takes no arguments") }
            permission = .view
            action = name == "whoami" ? .whoami : .help
            return
        }
        guard let spec = Self.specs[name] else { throw AccessError.refused("unknown command '\(name)'; try 'help'") }
        var args: [String] = []
        var out: [String] = []
        var i = 1
        var wait = false
        while i < words.count {
            let word = words[i]
            if word.hasPrefix("-") {
                if spec.flags.contains(word) {
                    if word == "--wait" { wait = true } else { out.append(word) }
                } else if spec.valueFlags.contains(word) {
                    guard i + 1 < words.count, !words[i + 1].hasPrefix("-") else { throw AccessError.refused("'\(word)' needs a value") }
                    out += [word, words[i + 1]]
                    i += 1
                } else {
                    throw AccessError.refused("'\(name)' has no option '\(word)'; try 'help'")
                }
            } else {
                args.append(word)
            }
            i += 1
        }
        guard args.count >= spec.minArgs, args.count <= spec.maxArgs else {
            throw AccessError.refused("'\(name)' takes \(spec.minArgs == spec.maxArgs ? "\(spec.minArgs)" : "\(spec.minArgs)–\(spec.maxArgs)") argument(s); try 'help'")
        }
        if name == "access", args != ["list"] { throw AccessError.refused("over SSH, 'access' only lists grants: 'access list'") }
        if (name == "sync" || name == "verify") && !wait { out.append("--no-wait") }
        permission = spec.permission
        action = .cli([spec.cli] + args + out)
    }

    /// The grammar, for `help`.
    public static let helpText = """
    MirrorDeck over SSH: ssh HOST COMMAND

      whoami                                   your user, role and address
      status [--json]                          every mirror (same as list)
      show NAME [--json]                       one mirror in detail
      jobs [--all] [--json]                    queued and running jobs
      events [--since 1h] [--mirror NAME] [--limit N] [--json]
      log NAME [--json]                        a mirror's runs and events
      sync NAME...|--all|--stale [--wait]      operator: queue syncs (--wait follows them)
      verify NAME...|--all [--repair] [--threads N] [--max-rate 200MB/s] [--since 7d] [--wait]
                                               operator: queue audits
      pause NAME [--reason WORD]               operator
      resume NAME                              operator
      cancel JOB|NAME                          operator
      add NAME URL [--interval 2h] [--lfs auto|on|off] [--lfs-url URL] [--lfs-keep POLICY] [--no-prune] [--refs FILTER] [--max-rate RATE] [--private]   admin
      edit NAME [--url URL] [--interval 2h] [--lfs MODE] [--lfs-url URL|default] [--lfs-keep POLICY] [--prune|--no-prune] [--refs FILTER] [--max-rate RATE|none] [--private|--public]   admin
                                               POLICY: all, refs, tags:N, or refs/heads/*,!refs/pull/*
                                               (--lfs-archive is set on the host itself, not over SSH)
      remove NAME --yes [--keep-data]          admin
      access list [--json]                     admin

    Git (any role, read-only): git clone ssh://USER@HOST/NAME.git and git lfs pull work as they are;
    pushes are refused.

    Words may use letters, digits and . _ / : = @ + , - * ! only; anything else is refused.
    Exit codes: 0 ok, 1 a job failed, 2 refused or bad input.
    """
}
