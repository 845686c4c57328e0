import Foundation

/// How clients near the mirror host reach a mirror through `mirrordeck serve`.
public struct ServedURL: Sendable, Equatable {
    /// `http://HOST:PORT/org/model.git`.
    public var cloneURL: String
    /// The LFS endpoint clients must use when the upstream's `.lfsconfig` names its own `lfs.url`
    /// (git-lfs reads `.lfsconfig` before deriving one from the remote URL); nil when none is needed.
    public var lfsURL: String?

    /// The command to give a user: one line, with `-c lfs.url=…` when the `.lfsconfig` would send git-lfs
    /// to the far upstream (`clone -c` also applies during the checkout that smudges the files).
    public var cloneCommand: String {
        "git clone " + (lfsURL.map { "-c lfs.url=\($0) " } ?? "") + cloneURL
    }

    /// The served URLs of `mirror`, or nil when no server has published its address (`serve.url`).
    public static func of(_ mirror: Mirror, home: Home, catalog: Catalog) -> ServedURL? {
        guard let base = (try? catalog.setting("serve.url")) ?? nil else { return nil }
        let clone = base + "/" + mirror.name + ".git"
        var lfs: String?
        let path = home.mirrorPath(mirror.name)
        if FileManager.default.fileExists(atPath: path + "/HEAD"), let repo = try? LFSRepository.open(path: path),
           let config = repo.fileOnDefaultBranch(".lfsconfig"), LFSConfigFile.endpoint(in: String(decoding: config, as: UTF8.self)) != nil {
            lfs = clone + "/info/lfs"
        }
        return ServedURL(cloneURL: clone, lfsURL: lfs)
    }
}
