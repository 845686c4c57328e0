#!/usr/bin/env bash
# Dashboard benchmark: a generated catalog of 10,000 mirrors and 200,000 runs, plus five real mirrors
# of local upstreams, opened in a real pty (200×50) by scripts/bench/tui-pty.py. Measures the time to the
# first full frame, peak RSS (of the dashboard and, on its own row, of its engine child), key → screen latency (p50/p99 over 500 keys) while 4 syncs and a verify run,
# CPU and bytes written while idle for 10 s, and bytes written per second while one progress bar moves.
# Writes the "bench:tui" section of docs/benchmarks.md (other sections are kept).
#
#   scripts/bench-tui.sh [BINARY]     (make bench BENCH=tui builds the release binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/release/mirrordeck}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
WORK=${BENCH_WORK:-$PWD/bench-work}/tui
MIRRORS=${BENCH_TUI_MIRRORS:-10000}
RUNS=${BENCH_TUI_RUNS:-200000}
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.org GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.org
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
[ -x "$BIN" ] || { echo "bench-tui: $BIN not found (make release)" >&2; exit 2; }
mkdir -p "$WORK/up"

# Upstreams for real jobs (cached): incompressible data, so each sync moves real bytes for a while.
make_upstream() {  # name, MiB
    local name=$1 mib=$2 work="$WORK/work-$1" bare="$WORK/up/$1.git"
    [ -d "$bare" ] && return
    rm -rf "$work"
    git init -q -b main "$work"
    for i in $(seq 1 "$mib"); do
        head -c $((1024 * 1024)) /dev/urandom > "$work/part-$i.dat"
        if [ $((i % 8)) -eq 0 ] || [ "$i" -eq "$mib" ]; then git -C "$work" add -A && git -C "$work" commit -q -m "part $i"; fi
    done
    git init -q --bare -b main "$bare"
    git -C "$work" push -q "$bare" --all
    rm -rf "$work"
}
echo "bench-tui: upstreams in $WORK/up"
make_upstream p1 48
for s in s1 s2 s3 s4; do make_upstream $s 32; done

HOME_DIR="$WORK/home"
rm -rf "$HOME_DIR"
"$BIN" list --home "$HOME_DIR" >/dev/null
t0=$(date +%s.%N)
python3 scripts/bench/tui-catalog.py "$HOME_DIR/catalog.sqlite" "$MIRRORS" "$RUNS"
echo "bench-tui: catalog generated in $(echo "$(date +%s.%N) - $t0" | bc) s"
# The upstreams are served by git daemon on 127.0.0.1, as a mirror's upstream is remote: the server side builds
# each pack. (Over file:// libgit2's local transport would build the pack inside the fetching process, which
# no fetch from a real upstream does.)
GITD_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
git daemon --reuseaddr --listen=127.0.0.1 --port="$GITD_PORT" --base-path="$WORK/up" --export-all "$WORK/up" &
GITD_PID=$!
trap 'kill $GITD_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$GITD_PORT) 2>/dev/null && break; sleep 0.1; done
for m in p1 s1 s2 s3 s4; do
    "$BIN" add --home "$HOME_DIR" "bench/$m" "git://127.0.0.1:$GITD_PORT/$m.git" --interval 1d --lfs off >/dev/null
done
# Nothing is due while the benchmark runs: only the jobs it queues itself.
python3 - "$HOME_DIR/catalog.sqlite" <<'PY'
import sqlite3, sys
from datetime import datetime, timedelta, timezone
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE mirror_state SET next_run_at = ? WHERE next_run_at IS NOT NULL",
          ((datetime.now(timezone.utc) + timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S.000"),))
c.commit()
PY

RESULT="$WORK/result.json"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
python3 scripts/bench/tui-pty.py "$BIN" "$HOME_DIR" "$RESULT" >/dev/null
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
cat "$RESULT"

# The docs section.
python3 - "$RESULT" "$BIN" "$MIRRORS" "$RUNS" "$LOAD_START" "$LOAD_END" <<'PY'
import json, os, platform, re, subprocess, sys, datetime
r = json.load(open(sys.argv[1]))
binary, mirrors, runs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
load_start, load_end = sys.argv[5], sys.argv[6]
config = "release" if "/release/" in binary else ("debug" if "/debug/" in binary else "unknown")
def sh(cmd):
    try: return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception: return ""
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip() or platform.processor()
cores = os.cpu_count()
ncurses = sh("dpkg-query -W -f='${Version}' libncursesw6 2>/dev/null") or "unknown"
commit = sh("git rev-parse --short HEAD")
dirty = " with uncommitted changes" if sh("git status --porcelain -- Sources") else ""
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
def verdict(ok): return "✅ pass" if ok else "❌ FAIL"
ff, rss = r.get("first_frame_ms"), r.get("peak_rss_kib", 0) / 1024
cross = r.get("cross_process_ms") or []
seen = sorted(x for x in cross if x is not None)
cross_ok = bool(cross) and len(seen) == len(cross) and seen[-1] <= 1000
cross_text = (f"{seen[len(seen) // 2]:.0f} ms, {seen[-1]:.0f} ms" if seen else "not seen") + ("" if len(seen) == len(cross) else f" ({len(cross) - len(seen)} not seen within 5 s)")
child_peak = r.get("engine_child_peak_rss_kib")
children = r.get("engine_child_pids") or []
child_peak_text = (f"{child_peak / 1024:.1f} MiB" if child_peak else "no engine child seen") + \
    ("" if len(children) <= 1 else f" (of the last of {len(children)} children: it was restarted)")
sum_text = f"{r.get('peak_sum_sampled_kib', 0) / 1024:.1f} MiB; {(r.get('peak_rss_kib', 0) + (child_peak or 0)) / 1024:.1f} MiB"
left = r.get("engine_child_left_running")
child_left = "" if left is None else (" The engine child was still running afterwards (a bug)." if left else " No engine process was left running.")
rows = [
    ("time to first full frame", f"{ff} ms" if ff is not None else "not reached", "≤ 300 ms", ff is not None and ff <= 300),
    ("peak RSS of the dashboard (VmHWM, with 4 syncs + 1 verify running in its engine child)",
     f"{rss:.1f} MiB (VmHWM before any job: {r.get('idle_hwm_kib', 0) / 1024:.1f} MiB)", "≤ 60 MB", rss * 1.048576 <= 60),
    ("peak RSS of the engine child (VmHWM, `mirrordeck engine`, where those jobs run)", child_peak_text, "(reported)", True),
    ("dashboard + engine child: peak of the sampled sum; sum of the two peaks", sum_text, "(for information)", True),
    ("key → screen p50 / p99 (500 keys, 4 syncs + 1 verify running)", f"{r['key_p50_ms']} / {r['key_p99_ms']} ms (max {r['key_max_ms']})", "p99 ≤ 50 ms", r["key_p99_ms"] <= 50),
    ("CPU while idle for 10 s", f"{r['idle_cpu_percent']} %", "≤ 0.5 %", r["idle_cpu_percent"] <= 0.5),
    ("engine child's CPU while idle for those 10 s", f"{r.get('engine_child_idle_cpu_percent', 'n/a')} %", "(reported)", True),
    ("bytes written while idle for 10 s", f"{r['idle_bytes']} B", "0", r["idle_bytes"] == 0),
    ("bytes written by the once-a-minute repaint (clock, lags)", f"{r.get('minute_repaint_bytes')} B", "(reported)", True),
    ("RSS while idle (before any job)", f"{r.get('idle_rss_kib', 0) / 1024:.1f} MiB", "≤ 60 MB", r.get('idle_rss_kib', 0) * 1.024 / 1000 <= 60),
    ("engine child's RSS while idle", f"{r.get('engine_child_idle_rss_kib', 0) / 1024:.1f} MiB", "(reported)", True),
    ("another process's change → screen (5 pauses by the CLI; median, max)", cross_text, "≤ 1 s", cross_ok),
    ("bytes written per second while one progress bar moves", f"{r['progress_bytes_per_second']} B/s over {r['progress_seconds']} s", "(reported)", True),
]
farewell = re.sub(r"\x1b(\[[?0-9;]*[A-Za-z]|[=>])", "", r.get("farewell", "")).strip()
jobs_start = ", ".join(f"{n} {k}" for k, n in r.get("jobs_running_at_start", [])) or "none"
jobs_end = ", ".join(f"{n} {k}" for k, n in r.get("jobs_running_at_end", [])) or "none"
lines = [
    "<!-- bench:tui:start -->",
    "## Dashboard",
    "",
    f"Measured {now} by `scripts/bench-tui.sh`: binary `{os.path.relpath(binary)}` (**{config} build**), work tree at commit "
    f"{commit}{dirty}; {cpu}, {cores} cores; ncurses {ncurses}; kernel {platform.release()}; load average "
    f"(1/5/15 min) {load_start} at start, {load_end} at the end.",
    "",
    f"The catalog holds {mirrors:,} generated mirrors (3 % failed, 1 % paused, 6 % stale, some with LFS counts) and "
    f"{runs:,} sync runs, plus five real mirrors of local upstreams (`bench/p1`, 48 MiB; `bench/s1`–`s4`, 32 MiB each, "
    "served by `git daemon` on 127.0.0.1, so, as with any remote upstream, the server builds the packs). The dashboard runs in a real pty of "
    f"{r['cols']}×{r['rows']} with TERM=xterm-256color, driven by `scripts/bench/tui-pty.py`; no daemon runs, so the dashboard "
    "runs the engine itself, in its child process `mirrordeck engine --scheduler --parent-pid …` (since engine-child): the jobs "
    "below run there, and its memory is measured on its own rows.",
    "",
    "| measurement | result | target | verdict |",
    "| --- | ---: | ---: | --- |",
]
for name, value, target, ok in rows:
    lines.append(f"| {name} | {value} | {target} | {verdict(ok)} |")
lines += [
    "",
    "How each is taken:",
    "",
    "- **First frame**: from `fork()` to the last byte of the first burst of output that holds both the table rows and the footer "
    f"({r['first_frame_bytes']:,} bytes); this includes process start, opening the catalog, loading all mirrors and drawing.",
    "- **Idle**: after the screen has been still for 2 s, the benchmark waits for the next minute boundary and records the "
    "bytes of the once-a-minute repaint (the header clock and the lags are shown to the minute), then measures 10 s inside "
    "that minute: CPU is `utime + stime` of the dashboard process (all threads) as a percentage of one core, and the "
    "same for the engine child beside it; bytes are everything the pty received.",
    "- **Another process's change**: `mirrordeck pause` of a mirror on screen, run from outside five times; from the "
    "CLI's exit (its commit is done) to the last byte of the screen update that follows (the row, the header's paused "
    "count and the events strip). The dashboard notices through `PRAGMA data_version`, read ten times a second.",
    f"- **Progress bar**: `:sync bench/p1` in the dashboard, then the bytes written per second while that one job runs.",
    f"- **Key → screen**: 500 keys (`j`/`k` in runs of 50, so the selection moves and the table scrolls), each timed from the "
    "write to the last byte of the resulting screen update. Jobs running when the keys started: "
    f"{jobs_start}; when they ended: {jobs_end}. Updates the live progress causes can land in the same window and count.",
    f"- **Quit**: `q` with those jobs running took {r['quit_seconds']} s; {r['jobs_requeued']} job(s) were back in the queue "
    f"afterwards;{child_left} The dashboard said: “{farewell}”",
    "- **RSS**: VmHWM and VmRSS from `/proc`; the engine child is found as the dashboard's child running `mirrordeck engine`, "
    "and the sum is sampled every 10 keys and during the progress bar (the two peaks need not coincide, so their sum is an upper "
    "bound). About 35 MiB of the dashboard's RSS is file-backed: the mapped code of the binary (which also carries the "
    "daemon's HTTP stack), the Swift runtime and Foundation. ICU is never loaded: local times come from `localtime_r` and "
    "catalog dates from MirrorDeck's own parser (Foundation's Calendar cost 3.8 MiB). The anonymous part was 13 MiB for this "
    "home when last profiled: the 10,000 mirrors are one decoded list, shared by the table's two orders (a row is 48 "
    "bytes pointing into it). A reload compares the catalog's rows with that list as it reads them and sends only the rows "
    "that changed (while jobs run, only their mirrors' rows are read), so a second copy of the list is built only when "
    "mirrors are added or removed; SQLite's page caches are let go after each full reload. The engine's work — libgit2 "
    "indexing the incoming packs, the transfers, the audit's read buffers, pack files read through 32 MiB windows — "
    "lands in the engine child, which maps the same code; before the engine moved out of the dashboard, the dashboard's own "
    "peak with these jobs was 86.1 MiB (run of f076b56). Mirrors of `file://` upstreams cost more: libgit2's local transport "
    "builds the pack inside the fetching process (its delta search holds a window of 10 objects with their delta indexes, "
    "some 20 MiB per fetch for 1 MiB objects); measured that way the in-process peak was 120 MiB (run of f076b56).",
    "<!-- bench:tui:end -->",
]
section = "\n".join(lines)
path = "docs/benchmarks.md"
text = open(path).read() if os.path.exists(path) else ""
pattern = re.compile(r"<!-- bench:tui:start -->.*?<!-- bench:tui:end -->", re.S)
text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
print(section)
PY
