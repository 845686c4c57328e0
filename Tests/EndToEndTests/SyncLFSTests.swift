import Foundation
import Testing

@Suite("a sync brings LFS objects through the engine")
struct SyncLFSTests {
    @Test("sync queues the LFS job itself when new commits bring pointers, follows it, and is a no-op the second time")
    func syncFetchesLFS() throws {
        let env = try TestEnv("sync-lfs")
        let server = try LFSServer.start(env: env)
        let up = try LFSUpstream(env: env, servedRoot: server.gitRoot, name: "model", lfsURL: server.endpoint("model"))
        let a = try up.add("weights/a.bin", LFSUpstream.random(200_000))
        let b = try up.add("b.bin", LFSUpstream.random(30_000))
        try up.commit("weights")
        try up.push(["--all"])

        try env.md("add", "model", server.url("model"))
        let first = try env.md("sync", "model", "--json")
        #expect(first.status == 0, "\(first)")
        let reports = try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as! [[String: Any]]
        #expect(reports.map { $0["kind"] as? String } == ["sync", "lfs"])
        for oid in [a, b] {
            let path = env.mirrorPath("model") + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)"
            #expect(FileManager.default.fileExists(atPath: path), "object \(oid) placed by the LFS job")
        }
        let jobs = try env.sql("SELECT kind, state, trigger FROM job ORDER BY id")
        #expect(jobs == [["sync", "succeeded", "manual"], ["lfs", "succeeded", "manual"]])
        let show = try env.json(env.md("show", "model", "--json")) as! [String: Any]
        #expect(show["lfs_objects_present"] as? Int == 2 && show["lfs_objects_total"] as? Int == 2)

        // Nothing new upstream: no LFS job at all.
        let second = try env.md("sync", "model", "--json")
        #expect(second.status == 0)
        let again = try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as! [[String: Any]]
        #expect(again.map { $0["kind"] as? String } == ["sync"])
        #expect(again.first?["result"] as? String == "up-to-date")

        // A new commit with a new object: the next sync fetches just that one.
        let c = try up.add("c.bin", LFSUpstream.random(10_000))
        try up.commit("more")
        try up.push(["--all"])
        let third = try env.md("sync", "model")
        #expect(third.status == 0, "\(third)")
        #expect(third.stdout.contains("ok      model: LFS 3/3 objects present"), "\(third.stdout)")
        #expect(server.downloads(of: c).count == 1)
        #expect(server.downloads(of: a).count == 1, "old objects are not fetched again")
    }
}
