#!/usr/bin/env python3
"""Reads job rows from a MirrorDeck catalog for scripts/bench-engine.sh (read-only, plain sqlite3).

    engine-jobs.py wait DB FIRST_ID COUNT   waits until the COUNT jobs from FIRST_ID on have all ended
                                            (polls a cheap count every 20 ms; exits 1 after 15 minutes)
    engine-jobs.py stats DB FIRST_ID COUNT  prints one line: jobs succeeded first_start last_end span_s
                                            p50_ms p90_ms max_ms sum_ms up_to_date
                                            (span: first claim to last end, by the engine's own clock)
"""
import sqlite3
import sys
import time
from datetime import datetime, timezone


def connect(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    db.execute("PRAGMA busy_timeout = 30000")
    return db


def ts(text):
    return datetime.strptime(text[:23], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()


def wait(db, first, count):
    deadline = time.monotonic() + 900
    sql = "SELECT COUNT(*) FROM job WHERE id >= ? AND id < ? AND state NOT IN ('queued', 'running')"
    while time.monotonic() < deadline:
        (done,) = db.execute(sql, (first, first + count)).fetchone()
        if done >= count:
            return 0
        time.sleep(0.02)
    print(f"engine-jobs: {count} jobs from #{first} did not all end within 15 minutes", file=sys.stderr)
    return 1


def stats(db, first, count):
    rows = db.execute(
        "SELECT state, started_at, ended_at FROM job WHERE id >= ? AND id < ? ORDER BY id", (first, first + count)
    ).fetchall()
    ok = sum(1 for r in rows if r[0] == "succeeded")
    starts = [ts(r[1]) for r in rows if r[1]]
    ends = [ts(r[2]) for r in rows if r[2]]
    durations = sorted((ts(r[2]) - ts(r[1])) * 1000 for r in rows if r[1] and r[2])
    (up_to_date,) = db.execute(
        "SELECT COUNT(*) FROM sync_run WHERE job_id >= ? AND job_id < ? AND result = 'up-to-date'", (first, first + count)
    ).fetchone()
    q = lambda p: durations[min(len(durations) - 1, int(p * len(durations)))] if durations else 0
    span = max(ends) - min(starts) if starts and ends else 0
    print(len(rows), ok, f"{min(starts):.3f}", f"{max(ends):.3f}", f"{span:.4f}",
          f"{q(0.5):.1f}", f"{q(0.9):.1f}", f"{q(1):.1f}", f"{sum(durations):.1f}", up_to_date)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in ("wait", "stats"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    db = connect(sys.argv[2])
    sys.exit({"wait": wait, "stats": stats}[sys.argv[1]](db, int(sys.argv[3]), int(sys.argv[4])))
