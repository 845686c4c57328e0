import Foundation

extension Home {
    /// Deletes a mirror's repository: first moved aside atomically (so a crash never leaves a
    /// half-deleted repo under the mirror's name), then removed.
    public func deleteMirrorData(_ name: String) throws {
        let path = mirrorPath(name)
        let fm = FileManager.default
        guard fm.fileExists(atPath: path) else { return }
        let trash = root + "/trash"
        try? fm.createDirectory(atPath: trash, withIntermediateDirectories: true)
        let aside = trash + "/\(Int(Date().timeIntervalSince1970))-\(getpid())-" + name.replacingOccurrences(of: "/", with: "%2F")
        guard rename(path, aside) == 0 else {
            throw ConfigError.homeUnusable(path, reason: "cannot move the repository aside (\(String(cString: strerror(errno))))")
        }
        try? fm.removeItem(atPath: aside)
        if let owner = name.split(separator: "/").first, name.contains("/") {
            _ = rmdir(mirrorsDirectory + "/" + owner)
        }
    }

    /// Finishes deletions a crash interrupted.
    public func emptyTrash() {
        let trash = root + "/trash"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: trash) else { return }
        for entry in entries { try? FileManager.default.removeItem(atPath: trash + "/" + entry) }
    }
}
