import ArgumentParser
import MirrorCore

struct AddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a mirror of an upstream repository.",
        discussion: "NAME is \"repo\" or \"owner/repo\". URL is https://, http://, git://, ssh://, file://, user@host:path, or an absolute path. Never put a password in the URL: use ~/.netrc or an SSH key.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Name of the mirror (\"repo\" or \"owner/repo\").") var name: String
    @Argument(help: "Upstream URL.") var url: String
    @Option(help: "How often to sync, e.g. 30m, 2h, 1d.") var interval: String = "2h"
    @Option(help: "Fetch Git LFS objects: auto, on or off.") var lfs: String = "auto"
    @Option(name: .customLong("lfs-url"), help: "LFS endpoint, when it is not the upstream's.") var lfsURL: String?
    @Flag(name: .customLong("no-prune"), help: "Keep refs that were deleted upstream.") var noPrune = false
    @Option(help: "Which upstream refs to mirror: all, heads-tags (branches and tags, no refs/pull/*), or patterns like 'refs/heads/*,!refs/heads/tmp/*'.")
    var refs: String = "all"
    @Option(name: .customLong("max-rate"), help: "Cap this mirror's git and LFS transfers together, e.g. 5MB/s (host and global caps: config.toml).")
    var maxRate: String?
    @Flag(name: .customLong("insecure-tls"), help: "Do not verify the upstream's TLS certificate.") var insecureTLS = false
    @Flag(name: .customLong("private"), help: "Serve this mirror only to clients with a token (or over SSH); others are told it does not exist.")
    var isPrivate = false
    @Option(name: .customLong("lfs-keep"), help: "LFS objects to keep: all (default), refs, tags:N (newest N tags and every branch), or ref patterns such as refs/heads/*,!refs/pull/*.")
    var lfsKeep: String?
    @Option(name: .customLong("lfs-archive"), help: "Directory (outside the home) where objects out of --lfs-keep go instead of the trash; they stay servable there.")
    var lfsArchive: String?

    func run() throws {
        var mirror = Mirror(name: name, upstream: url)
        try MirrorName.validate(name)
        _ = try UpstreamURL(url)
        mirror.intervalSeconds = try Interval.parse(interval)
        mirror.lfs = try LFSMode.parse(lfs)
        mirror.lfsURL = lfsURL
        mirror.prune = !noPrune
        mirror.refFilter = try RefFilter.parse(refs)
        mirror.maxRate = try maxRate.map { try AuditOptions.parseRate($0) }
        mirror.insecureTLS = insecureTLS
        mirror.isPrivate = isPrivate
        if let lfsKeep { mirror.lfsKeep = try LFSKeepPolicy.parse(lfsKeep) }
        mirror.lfsArchive = lfsArchive
        _ = try mirror.validated()
        let (home, catalog) = try global.open()
        if let lfsArchive { try home.validateArchive(lfsArchive) }
        let added = try catalog.addMirror(mirror, actor: .acting)
        print("added \(added.name) ← \(UpstreamURL.display(added.upstream)) (every \(Interval.format(added.intervalSeconds)), lfs \(added.lfs.rawValue)\(added.lfsKeep == .all ? "" : ", lfs-keep \(added.lfsKeep)")); repository: \(home.mirrorPath(added.name))")
    }
}
