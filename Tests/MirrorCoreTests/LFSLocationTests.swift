import Foundation
import Testing
@testable import MirrorCore

@Suite("where a servable copy of an LFS object is")
struct LFSLocationTests {
    static let oid = String(repeating: "ab", count: 32)

    static func write(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test("the mirror's store first, then the archive; bad names, bad oids, symlinks and escapes give nil")
    func location() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/md-loc-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let home = try Home(path: dir + "/home")
        let archive = dir + "/archive"
        let oid = try #require(LFSOID(Self.oid))
        #expect(home.lfsObjectLocation(mirror: "org/model", oid: Self.oid, archive: archive) == nil)

        let archived = Home.lfsArchivePath(archive: archive, mirror: "org/model", oid)
        #expect(archived == archive + "/org/model/lfs/objects/ab/ab/" + Self.oid)
        try Self.write(archived)
        #expect(home.lfsObjectLocation(mirror: "org/model", oid: Self.oid, archive: archive) == archived)
        #expect(home.lfsObjectLocation(mirror: "org/model", oid: Self.oid) == nil, "no archive given: only the store counts")

        let stored = home.lfsObjectPath("org/model", oid)
        try Self.write(stored)
        #expect(home.lfsObjectLocation(mirror: "org/model", oid: Self.oid, archive: archive) == stored)

        #expect(home.lfsObjectLocation(mirror: "../etc", oid: Self.oid, archive: archive) == nil)
        #expect(home.lfsObjectLocation(mirror: "org/model", oid: Self.oid.uppercased(), archive: archive) == nil)
        #expect(home.lfsObjectLocation(mirror: "org/model", oid: "../../" + Self.oid.dropFirst(6), archive: archive) == nil)

        // A symlink in the store (even to a real file elsewhere) is not served.
        let other = String(repeating: "cd", count: 32)
        let outside = dir + "/outside"
        try Self.write(outside)
        let link = home.lfsObjectPath("org/model", try #require(LFSOID(other)))
        try FileManager.default.createDirectory(atPath: (link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: outside)
        #expect(home.lfsObjectLocation(mirror: "org/model", oid: other) == nil)
    }

    @Test("LFS disk use splits a mirror's own bytes from bytes hard-linked with another mirror")
    func diskUsage() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/md-du-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let home = try Home(path: dir)
        let own = try #require(LFSOID(String(repeating: "01", count: 32)))
        let shared = try #require(LFSOID(String(repeating: "02", count: 32)))
        for (oid, size) in [(own, 3000), (shared, 5000)] {
            let path = home.lfsObjectPath("a", oid)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(count: size).write(to: URL(fileURLWithPath: path))
        }
        let linked = home.lfsObjectPath("b", shared)
        try FileManager.default.createDirectory(atPath: (linked as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        #expect(link(home.lfsObjectPath("a", shared), linked) == 0)
        let a = LFSDiskUsage.measure(mirrorPath: home.mirrorPath("a"))
        #expect(a.objects == 2 && a.ownBytes == 3000 && a.sharedBytes == 5000)
        let b = LFSDiskUsage.measure(mirrorPath: home.mirrorPath("b"))
        #expect(b.objects == 1 && b.ownBytes == 0 && b.sharedBytes == 5000)
    }
}
