#!/usr/bin/env python3
"""Fills a MirrorDeck catalog (already created and migrated by mirrordeck) with N generated mirrors and
M sync runs, for the dashboard benchmark. The mirrors point at addresses that are never contacted: their
next run is days away, so the scheduler leaves them alone. Usage: tui-catalog.py CATALOG MIRRORS RUNS"""
import random
import sqlite3
import sys
from datetime import datetime, timedelta, timezone

path, n_mirrors, n_runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(42)
now = datetime.now(timezone.utc)


def ts(d):
    return d.strftime("%Y-%m-%d %H:%M:%S.") + f"{d.microsecond // 1000:03d}"


db = sqlite3.connect(path, timeout=60)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=OFF")
owners = ["core", "infra", "ml", "web", "data", "tools", "mobile", "sec"]
intervals = [600, 1800, 3600, 7200, 21600, 86400]
with db:
    for i in range(n_mirrors):
        name = f"{owners[i % len(owners)]}/repo-{i:05d}"
        interval = rng.choice(intervals)
        created = now - timedelta(days=90)
        cur = db.execute(
            "INSERT INTO mirror (name, upstream, interval_seconds, lfs, prune, insecure_tls, created_at) VALUES (?,?,?,?,1,0,?)",
            (name, f"https://git.example.org/{name}.git", interval, rng.choice(["auto", "auto", "on", "off"]), ts(created)))
        mid = cur.lastrowid
        r = rng.random()
        if r < 0.03:
            status, fails, fresh = "failed", rng.randint(1, 6), now - timedelta(seconds=interval * rng.uniform(2, 10))
            error = "upstream https://git.example.org/" + name + ".git answered 503: try again later or check the server"
        elif r < 0.04:
            status, fails, fresh, error = "paused", 10, now - timedelta(days=rng.randint(3, 30)), "paused after 10 consecutive failures"
        elif r < 0.10:
            status, fails, fresh, error = "ok", 0, now - timedelta(seconds=interval * rng.uniform(1.6, 5)), None
        else:
            status, fails, fresh, error = "ok", 0, now - timedelta(seconds=interval * rng.uniform(0.05, 1.2)), None
        lfs_total = rng.choice([0, 0, 0, 4, 20, 120])
        lfs_present = lfs_total if rng.random() < 0.8 else rng.randint(0, lfs_total)
        db.execute(
            """INSERT INTO mirror_state (mirror_id, status, fresh_as_of, last_check_at, last_success_at, last_failure_at,
               behind, consecutive_failures, next_run_at, last_error, paused_reason, head_ref, ref_count, disk_bytes,
               lfs_objects_present, lfs_objects_total, lfs_bytes_present, lfs_bytes_total)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (mid, status, ts(fresh), ts(fresh), ts(fresh), ts(now - timedelta(hours=1)) if fails else None,
             rng.randint(1, 5) if fails else 0, fails,
             None if status == "paused" else ts(now + timedelta(days=rng.uniform(2, 9))),
             error, error if status == "paused" else None, "refs/heads/main", rng.randint(3, 400),
             rng.randint(50_000, 2_000_000_000), lfs_present, lfs_total, lfs_present * 5_000_000, lfs_total * 5_000_000))
    mids = [r[0] for r in db.execute("SELECT id FROM mirror")]
    rows = []
    for k in range(n_runs):
        mid = mids[k % len(mids)]
        start = now - timedelta(seconds=rng.uniform(60, 90 * 86400))
        dur = rng.randint(20, 30_000)
        result = rng.choices(["up-to-date", "updated", "failed"], [70, 25, 5])[0]
        rows.append((mid, "schedule", "scheduler", ts(start), ts(start + timedelta(milliseconds=dur)), dur, result,
                     rng.randint(0, 5_000_000) if result == "updated" else 0, rng.randint(0, 900) if result == "updated" else 0,
                     rng.randint(0, 4) if result == "updated" else 0, 0, "connection reset by peer" if result == "failed" else None))
        if len(rows) >= 20_000:
            db.executemany("""INSERT INTO sync_run (mirror_id, trigger, actor, started_at, ended_at, duration_ms, result,
                              bytes_received, objects_received, refs_updated, refs_deleted, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)""", rows)
            rows = []
    if rows:
        db.executemany("""INSERT INTO sync_run (mirror_id, trigger, actor, started_at, ended_at, duration_ms, result,
                          bytes_received, objects_received, refs_updated, refs_deleted, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)""", rows)
    for k in range(500):
        db.execute("INSERT INTO event (at, actor, source, action, mirror, message) VALUES (?,?,?,?,?,?)",
                   (ts(now - timedelta(minutes=500 - k)), "scheduler", "local", "sync", f"core/repo-{k:05d}", "up to date (12 refs)"))
print(f"catalog: {n_mirrors} mirrors, {n_runs} runs")
