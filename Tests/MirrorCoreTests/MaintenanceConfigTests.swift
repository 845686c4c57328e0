import Foundation
import Testing
@testable import MirrorCore

@Suite("maintenance window, thresholds and config")
struct MaintenanceConfigTests {
    static let utc = TimeZone(identifier: "UTC")!

    static func at(_ hour: Int, _ minute: Int) -> Date {
        Date(timeIntervalSince1970: TimeInterval(20_000 * 86400 + hour * 3600 + minute * 60))
    }

    @Test("a window holds from its start up to, not including, its end; one may cross midnight")
    func windows() throws {
        let night = try #require(MaintenanceWindow("02:00-05:00"))
        #expect(night.description == "02:00-05:00")
        #expect(!night.contains(Self.at(1, 59), timeZone: Self.utc))
        #expect(night.contains(Self.at(2, 0), timeZone: Self.utc))
        #expect(night.contains(Self.at(4, 59), timeZone: Self.utc))
        #expect(!night.contains(Self.at(5, 0), timeZone: Self.utc))
        let late = try #require(MaintenanceWindow("22:30-01:00"))
        #expect(late.contains(Self.at(23, 0), timeZone: Self.utc))
        #expect(late.contains(Self.at(0, 30), timeZone: Self.utc))
        #expect(!late.contains(Self.at(12, 0), timeZone: Self.utc))
    }

    @Test("malformed windows are refused", arguments: ["", "2-5", "02:00", "02:00-02:00", "24:00-05:00", "02:60-05:00", "2:00-05:00", "02:00-05:00-06:00"])
    func badWindows(text: String) {
        #expect(MaintenanceWindow(text) == nil)
    }

    @Test("[maintenance] in config.toml sets window, thresholds and grace; bad keys name themselves")
    func configFile() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/md-maint-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let home = try Home(path: dir)
        #expect(try EngineConfig.load(home: home).maintenance == MaintenanceConfig())
        try """
            [maintenance]
            window = "01:00-04:30"
            max_packs = 5
            grace = "0s"
            interval = "2d"
            """.write(toFile: dir + "/config.toml", atomically: true, encoding: .utf8)
        let config = try EngineConfig.load(home: home).maintenance
        #expect(config.window == MaintenanceWindow("01:00-04:30"))
        #expect(config.maxPacks == 5 && config.maxLoose == 6700)
        #expect(config.graceSeconds == 0 && config.intervalSeconds == 2 * 86400)
        for bad in ["max_packs = 0", "window = \"soon\"", "grace = \"forever\"", "colour = 1"] {
            try "[maintenance]\n\(bad)\n".write(toFile: dir + "/config.toml", atomically: true, encoding: .utf8)
            #expect(throws: ConfigError.self, "\(bad)") { try EngineConfig.load(home: home) }
        }
    }

    @Test("more packs or loose objects than the thresholds make maintenance due, with the reason")
    func dueReasons() {
        var stats = GitStorageStats()
        let config = MaintenanceConfig()
        stats.packs = 20
        #expect(stats.dueReason(config: config) == nil)
        stats.packs = 21
        #expect(stats.dueReason(config: config) == "21 packs (more than 20)")
        stats.packs = 1
        stats.looseObjects = 6701
        #expect(stats.dueReason(config: config) == "6701 loose objects (more than 6700)")
    }
}

@Suite("when a repack recomputes deltas")
struct RepackDeltaRuleTests {
    /// Imports `commits` commits on main (each a new file) into the bare repo at `path` in one
    /// `git fast-import` run: one new pack.
    static func importCommits(_ path: String, from start: Int, count: Int) throws {
        var text = ""
        for i in start..<(start + count) {
            let message = "commit \(i)"
            let content = (0..<40).map { "line \($0) of file \(i)" }.joined(separator: "\n") + "\n"
            text += "commit refs/heads/main\ncommitter T <t@example.org> \(1_700_000_000 + i) +0000\ndata \(message.utf8.count)\n\(message)\n"
            if i > 0 && i == start { text += "from refs/heads/main^0\n" }
            text += "M 100644 inline f\(i).txt\ndata \(content.utf8.count)\n\(content)\n"
        }
        let file = NSTemporaryDirectory() + "/fi-\(UUID().uuidString)"
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        try FastImport().git(["-C", path, "-c", "fastimport.unpackLimit=0", "fast-import", "--quiet"], stdin: file)
    }

    @Test("most objects in small incremental packs: -f; one large pack and a few incremental ones: deltas reused")
    func rule() throws {
        let dir = NSTemporaryDirectory() + "md-repack-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let big = dir + "/big.git", small = dir + "/small.git"
        try FastImport().git(["init", "-q", "--bare", big])
        try FastImport().git(["init", "-q", "--bare", small])
        try Self.importCommits(big, from: 0, count: 100)
        for i in 100..<103 { try Self.importCommits(big, from: i, count: 1) }
        for i in 0..<12 { try Self.importCommits(small, from: i, count: 1) }

        let bigStats = GitStorageStats.read(path: big, bytes: false)
        #expect(bigStats.packs == 4 && bigStats.largestPackObjects == 300 && bigStats.packedObjects == 309, "\(bigStats)")
        #expect(bigStats.recomputeDeltasReason == nil)
        #expect(!GitMaintenance(path: big, graceSeconds: 0).commands()[2].contains("-f"))

        let smallStats = GitStorageStats.read(path: small, bytes: false)
        #expect(smallStats.packs == 12 && smallStats.packedObjects == 36 && smallStats.largestPackObjects == 3, "\(smallStats)")
        #expect(smallStats.recomputeDeltasReason?.hasPrefix("91 % of the packed objects sit outside the largest pack, in 11 smaller pack(s)") == true)
        #expect(GitMaintenance(path: small, graceSeconds: 0).commands()[2].contains("-f"))
        #expect(GitStorageStats().recomputeDeltasReason == nil, "no packs, nothing to decide")
    }
}
