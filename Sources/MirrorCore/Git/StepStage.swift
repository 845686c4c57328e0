import CGit2
import Foundation

/// Where a stepwise fetch negotiates from: `<mirror>/mirrordeck-steps`, a bare repository whose objects are
/// the mirror's (through `objects/info/alternates`) and whose only refs are the fetch's steps, the newest
/// first (`refs/steps/999985/OID` for step 14; step 0 holds the branch tips the mirror served when the
/// steps began).
///
/// libgit2 1.5 offers the upstream the commits it has in batches of 20, ordered by the name of the last ref
/// pointing at each, and stops at the first batch the upstream knows something of. In the mirror itself
/// the served tags would decide that order, and each step would bring again everything since whatever 20
/// commits came first. Here, the newest steps come first, so each step's pack holds only what is new.
///
/// Packs a step brings are moved into the mirror's `objects/pack` as soon as the step is complete (the
/// `.pack` first, the `.idx` last, so a kill leaves nothing the mirror would use half); the mirror keeps
/// them alive under its own hidden refs (`FetchSteps.hiddenPrefix`) until its served refs take over.
final class StepStage {
    let repo: GitRepository
    let mirrorPath: String

    static func path(mirror: String) -> String { mirror + "/mirrordeck-steps" }

    static func exists(mirror: String) -> Bool { FileManager.default.fileExists(atPath: path(mirror: mirror) + "/HEAD") }

    /// Opens the mirror's stage, creating it when missing, and finishes moving packs a killed step left.
    init(mirror: String) throws {
        mirrorPath = mirror
        let path = Self.path(mirror: mirror)
        GitRepository.removeStaleFiles(path: path)
        repo = try GitRepository.openOrCreateMirror(path: path)
        let alternates = path + "/objects/info/alternates"
        let objects = (mirror as NSString).standardizingPath + "/objects\n"
        if (try? String(contentsOfFile: alternates, encoding: .utf8)) != objects {
            try FileManager.default.createDirectory(atPath: path + "/objects/info", withIntermediateDirectories: true)
            try objects.write(toFile: alternates, atomically: true, encoding: .utf8)
        }
        try adoptPacks()
    }

    private static let refPrefix = "refs/steps/"
    /// Step numbers count down in ref names, so that the newest step sorts first.
    private static let lastStep = 999_999

    /// The steps kept so far: step number → oids.
    func steps() throws -> [Int: [String]] {
        var out: [Int: [String]] = [:]
        for (name, oid) in try repo.refs(glob: Self.refPrefix + "*") {
            guard let key = Int(name.dropFirst(Self.refPrefix.count).prefix { $0 != "/" }) else { continue }
            out[Self.lastStep - key, default: []].append(oid)
        }
        return out
    }

    /// Records step `step` as having brought `oids`.
    func record(step: Int, oids: [String]) throws {
        for oid in oids {
            try repo.writeRef(Self.refPrefix + String(format: "%06d", Self.lastStep - step) + "/" + oid, oid: oid)
        }
    }

    /// Moves the packs fetched into the stage into the mirror's `objects/pack`.
    func adoptPacks() throws {
        let fm = FileManager.default
        let from = Self.path(mirror: mirrorPath) + "/objects/pack/", to = mirrorPath + "/objects/pack/"
        let files = (try? fm.contentsOfDirectory(atPath: from)) ?? []
        for idx in files where idx.hasPrefix("pack-") && idx.hasSuffix(".idx") {
            let base = String(idx.dropLast(4))
            for ext in [".pack", ".rev", ".idx"] where fm.fileExists(atPath: from + base + ext) {
                guard rename(from + base + ext, to + base + ext) == 0 else {
                    throw GitError.repository(path: mirrorPath, message: "cannot move \(base + ext) into objects/pack: \(String(cString: strerror(errno)))")
                }
            }
        }
        var odb: OpaquePointer?
        if git_repository_odb(&odb, repo.handle) == 0, let odb {
            _ = git_odb_refresh(odb)
            git_odb_free(odb)
        }
    }

    /// Removes the stage (once the mirror's served refs hold everything it fetched).
    static func remove(mirror: String) {
        try? FileManager.default.removeItem(atPath: path(mirror: mirror))
    }
}
