import Foundation
import Testing

@Suite("the catalog under concurrent writers")
struct CatalogConcurrencyTests {
    @Test("two processes doing 500 add/sync operations each never see 'database is locked'")
    func twoWriters() throws {
        let env = try TestEnv("concurrent")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        _ = try Upstream(env: env, servedRoot: daemon.root, name: "lib")
        for w in ["a", "b"] {
            #expect(try env.md("add", "own-\(w)", daemon.url("lib")).status == 0)
        }
        let script = """
        set -e
        for i in $(seq 1 250); do
            "$BIN" add --home "$HOME_DIR" "w$W-$i" "$URL" >/dev/null
            "$BIN" sync --home "$HOME_DIR" "own-$W" >/dev/null
        done
        """
        let workers = try ["a", "b"].map { w in
            try Shell.start("/bin/bash", ["-c", script], environment: [
                "BIN": TestEnv.binary, "HOME_DIR": env.home, "W": w, "URL": daemon.url("lib"),
            ])
        }
        for worker in workers {
            let r = worker.wait()
            #expect(r.status == 0, "\(r)")
            #expect(!r.stderr.contains("locked"), "\(r.stderr)")
        }
        let list = try env.json(env.md("list", "--json")) as! [[String: Any]]
        #expect(list.count == 502)
        for w in ["a", "b"] {
            let show = try env.json(env.md("show", "own-\(w)", "--json")) as! [String: Any]
            #expect(show["status"] as? String == "ok")
            let log = try env.md("show", "own-\(w)")
            #expect(log.status == 0)
        }
        // Every sync left exactly one successful run and every add one event: count them in the catalog.
        let counts = try env.sql("""
            SELECT (SELECT count(*) FROM sync_run WHERE result IN ('updated','up-to-date')),
                   (SELECT count(*) FROM sync_run WHERE result NOT IN ('updated','up-to-date')),
                   (SELECT count(*) FROM event WHERE action = 'add')
            """)
        #expect(counts == [["500", "0", "502"]])
    }
}
