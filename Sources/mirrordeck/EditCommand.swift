import ArgumentParser
import MirrorCore

struct EditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit",
        abstract: "Change a mirror's upstream, interval, LFS mode, LFS endpoint, pruning or TLS checking.",
        discussion: "Only the options given change; the rest stay. The change is recorded in the audit log and takes effect on the next sync; a shorter interval also brings the next scheduled sync forward.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Name of the mirror.") var name: String
    @Option(help: "New upstream URL.") var url: String?
    @Option(help: "How often to sync, e.g. 30m, 2h, 1d.") var interval: String?
    @Option(help: "Fetch Git LFS objects: auto, on or off.") var lfs: String?
    @Option(name: .customLong("lfs-url"), help: "LFS endpoint, when it is not the upstream's ('default' to derive it from the upstream again).") var lfsURL: String?
    @Flag(inversion: .prefixedNo, help: "Delete refs that were deleted upstream.") var prune: Bool?
    @Option(help: "Which upstream refs to mirror: all, heads-tags, or patterns (refs left out are deleted from the mirror on the next sync).")
    var refs: String?
    @Option(name: .customLong("max-rate"), help: "Cap this mirror's git and LFS transfers together, e.g. 5MB/s ('none' to remove the cap).")
    var maxRate: String?
    @Flag(name: .customLong("insecure-tls"), inversion: .prefixedEnableDisable, help: "Do not verify the upstream's TLS certificate.") var insecureTLS: Bool?
    @Flag(name: .customLong("private"), help: "Serve it only to clients with a token (or over SSH).") var makePrivate = false
    @Flag(name: .customLong("public"), help: "Serve it to everyone the server lets in.") var makePublic = false
    @Option(name: .customLong("lfs-keep"), help: "LFS objects to keep: all, refs, tags:N, or ref patterns such as refs/heads/*,!refs/pull/* (applied by 'lfs prune' and 'maintain').")
    var lfsKeep: String?
    @Option(name: .customLong("lfs-archive"), help: "Directory (outside the home) for objects out of --lfs-keep instead of the trash ('none' for the trash).")
    var lfsArchive: String?

    func run() throws {
        try MirrorName.validate(name)
        // Everything given is checked before the catalog is opened: bad input changes nothing.
        if let url { _ = try UpstreamURL(url) }
        let seconds = try interval.map { try Interval.parse($0) }
        let mode = try lfs.map { try LFSMode.parse($0) }
        if let lfsURL, lfsURL != "default" { _ = try UpstreamURL(lfsURL) }
        let filter = try refs.map { try RefFilter.parse($0) }
        let rate: Int64?? = try maxRate.map { $0 == "none" ? nil : try AuditOptions.parseRate($0) }
        let keep = try lfsKeep.map { try LFSKeepPolicy.parse($0) }
        if let lfsArchive, lfsArchive != "none" { try Mirror.validateArchive(lfsArchive) }
        guard !(makePrivate && makePublic) else { throw ValidationError("--private and --public contradict each other: give one") }
        guard url != nil || seconds != nil || mode != nil || lfsURL != nil || prune != nil || filter != nil || rate != nil || insecureTLS != nil || makePrivate || makePublic
                || keep != nil || lfsArchive != nil else {
            throw ValidationError("nothing to change: give --url, --interval, --lfs, --lfs-url, --lfs-keep, --lfs-archive, --prune/--no-prune, --refs, --max-rate, --private/--public or --enable-insecure-tls/--disable-insecure-tls")
        }
        let (home, catalog) = try global.open()
        if let lfsArchive, lfsArchive != "none" { try home.validateArchive(lfsArchive) }
        var mirror = try catalog.mirror(named: name)
        if let url { mirror.upstream = url }
        if let seconds { mirror.intervalSeconds = seconds }
        if let mode { mirror.lfs = mode }
        if let lfsURL { mirror.lfsURL = lfsURL == "default" ? nil : lfsURL }
        if let prune { mirror.prune = prune }
        if let filter { mirror.refFilter = filter }
        if let rate { mirror.maxRate = rate }
        if let insecureTLS { mirror.insecureTLS = insecureTLS }
        if makePrivate || makePublic { mirror.isPrivate = makePrivate }
        if let keep { mirror.lfsKeep = keep }
        if let lfsArchive { mirror.lfsArchive = lfsArchive == "none" ? nil : lfsArchive }
        if try catalog.updateMirror(mirror, actor: .acting) {
            print("changed \(name): upstream \(UpstreamURL.display(mirror.upstream)), every \(Interval.format(mirror.intervalSeconds)), lfs \(mirror.lfs.rawValue)\(mirror.prune ? "" : ", no prune")"
                  + (mirror.lfsKeep == .all ? "" : ", lfs-keep \(mirror.lfsKeep)") + (mirror.lfsArchive.map { ", lfs-archive \($0)" } ?? ""))
        } else {
            print("\(name) unchanged: it already has these settings")
        }
    }
}
