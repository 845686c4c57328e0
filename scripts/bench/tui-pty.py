#!/usr/bin/env python3
"""Drives the MirrorDeck dashboard in a real pty and measures it (see scripts/bench-tui.sh).
Usage: tui-pty.py BINARY HOME RESULT.json"""
import fcntl
import json
import os
import pty
import select
import sqlite3
import statistics
import struct
import subprocess
import sys
import termios
import time

BIN, HOME, OUT = sys.argv[1:4]
COLS, ROWS = 200, 50
CATALOG = os.path.join(HOME, "catalog.sqlite")
result = {"cols": COLS, "rows": ROWS}


def sql(q):
    c = sqlite3.connect(f"file:{CATALOG}?mode=ro", uri=True, timeout=30)
    try:
        return c.execute(q).fetchall()
    finally:
        c.close()


t_spawn = time.monotonic()
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8")
    env.pop("NO_COLOR", None)
    os.execve(BIN, [BIN, "--home", HOME], env)

buf = bytearray()
log = []  # (time, bytes)


def pump(timeout):
    """Reads what is there within `timeout` seconds; returns bytes read."""
    r, _, _ = select.select([fd], [], [], max(0, timeout))
    if not r:
        return 0
    try:
        data = os.read(fd, 65536)
    except OSError:
        return -1
    buf.extend(data)
    log.append((time.monotonic(), len(data)))
    return len(data)


def read_until(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        pump(0.05)
    return pred()


def quiet(gap, limit):
    """Reads until nothing arrives for `gap` seconds (at most `limit` seconds); returns the last byte's time."""
    end = time.monotonic() + limit
    last = time.monotonic()
    while time.monotonic() < end:
        n = pump(gap)
        if n == 0:
            return last
        last = time.monotonic()
    return last


def cpu_ticks():
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])


def status(key, of=None):
    try:
        with open(f"/proc/{of or pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def engine_child():
    """The pid of the dashboard's engine child (`mirrordeck engine`, a child of the dashboard), or None."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) != pid or fields[0] in "ZX":
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            if len(argv) > 1 and argv[1] == b"engine":
                return int(entry)
        except (OSError, IndexError, ValueError):
            continue
    return None


child_pids = set()
peak_sum_kib = 0


def sample_sum():
    """Samples the RSS of the dashboard plus its engine child; keeps the peak of the sum."""
    global peak_sum_kib
    child = engine_child()
    if child:
        child_pids.add(child)
    total = status("VmRSS") + (status("VmRSS", child) if child else 0)
    peak_sum_kib = max(peak_sum_kib, total)
    return child


def cpu_ticks_of(p):
    try:
        with open(f"/proc/{p}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return int(parts[11]) + int(parts[12])
    except OSError:
        return 0


def typed(text):
    os.write(fd, text.encode())


# 1. First full frame: the footer (the last row drawn) has arrived.
ok = read_until(lambda: b"quit" in buf and b"repo-0" in buf, 30)
t_first = quiet(0.02, 5)
result["first_frame_ms"] = round((t_first - t_spawn) * 1000, 1) if ok else None
result["first_frame_bytes"] = len(buf)

# 2. Idle: wait until the screen is still. The clock and lags change once a minute: measure that repaint
# on its own, then 10 s of nothing happening inside the same minute.
quiet(2.0, 30)
wall = time.time()
next_minute = (int(wall) // 60 + 1) * 60
while time.time() < next_minute - 0.3:
    pump(min(0.5, next_minute - 0.3 - time.time()))
before = len(buf)
t0 = time.monotonic()
while time.monotonic() - t0 < 1.5:
    pump(0.1)
result["minute_repaint_bytes"] = len(buf) - before
quiet(1.0, 10)
idle_child = sample_sum()
ticks0, bytes0, t0 = cpu_ticks(), len(buf), time.monotonic()
child_ticks0 = cpu_ticks_of(idle_child) if idle_child else 0
while time.monotonic() - t0 < 10:
    pump(0.5)
dt = time.monotonic() - t0
hz = os.sysconf("SC_CLK_TCK")
result["idle_seconds"] = round(dt, 2)
result["idle_cpu_percent"] = round((cpu_ticks() - ticks0) / hz / dt * 100, 3)
result["idle_bytes"] = len(buf) - bytes0
result["idle_rss_kib"] = status("VmRSS")
result["idle_hwm_kib"] = status("VmHWM")
result["engine_child_pid_idle"] = idle_child
if idle_child:
    result["engine_child_idle_cpu_percent"] = round((cpu_ticks_of(idle_child) - child_ticks0) / hz / dt * 100, 3)
    result["engine_child_idle_rss_kib"] = status("VmRSS", idle_child)

# 2b. A change made by another process (the CLI pausing a mirror shown on screen): from the CLI's exit
# (its commit is done) to the last byte of the screen update that follows.
cross = []
for name in ["core/repo-00000", "core/repo-00008", "core/repo-00016", "core/repo-00024", "core/repo-00032"]:
    quiet(0.3, 5)
    before = len(buf)
    subprocess.run([BIN, "pause", "--home", HOME, name], check=True, capture_output=True)
    t = time.monotonic()
    read_until(lambda: len(buf) > before, 5)
    end = quiet(0.05, 5)
    cross.append((end - t) * 1000 if len(buf) > before else None)
result["cross_process_ms"] = [round(x, 1) if x is not None else None for x in cross]

# 3. One progress bar: sync one larger mirror and count bytes written per second while it runs.
typed(":sync bench/p1\r")
read_until(lambda: sql("SELECT count(*) FROM job JOIN mirror ON mirror.id = job.mirror_id WHERE name = 'bench/p1' AND state = 'running'")[0][0] > 0, 20)
start_bytes, t0 = len(buf), time.monotonic()
while time.monotonic() - t0 < 5:
    pump(0.2)
    sample_sum()
    if sql("SELECT count(*) FROM job JOIN mirror ON mirror.id = job.mirror_id WHERE name = 'bench/p1' AND state = 'running'")[0][0] == 0:
        break
dt = time.monotonic() - t0
result["progress_seconds"] = round(dt, 2)
result["progress_bytes_per_second"] = round((len(buf) - start_bytes) / dt) if dt > 0 else None
read_until(lambda: sql("SELECT count(*) FROM job WHERE state IN ('queued','running')")[0][0] == 0, 120)
quiet(0.5, 5)

# 4. Key → screen while 4 syncs and a verify run.
typed(":sync bench/s1 bench/s2 bench/s3 bench/s4\r")
quiet(0.05, 1)
typed(":verify bench/p1\r")
read_until(lambda: sql("SELECT count(*) FROM job WHERE state = 'running'")[0][0] >= 5, 20)
result["jobs_running_at_start"] = sql("SELECT kind, count(*) FROM job WHERE state = 'running' GROUP BY kind")
quiet(0.05, 1)
latencies = []
for i in range(500):
    pump(0)  # drain
    while pump(0) > 0:
        pass
    key = "j" if (i // 50) % 2 == 0 else "k"
    t = time.monotonic()
    typed(key)
    first = None
    while time.monotonic() - t < 2:
        n = pump(0.003 if first else 0.5)
        if n > 0 and first is None:
            first = time.monotonic()
        elif n == 0 and first is not None:
            break
    end = log[-1][0] if first is not None else None
    latencies.append((end - t) * 1000 if end else 2000.0)
    if i % 10 == 0:
        sample_sum()  # outside the timed window
result["jobs_running_at_end"] = sql("SELECT kind, count(*) FROM job WHERE state = 'running' GROUP BY kind")
lat = sorted(latencies)
result["key_samples"] = len(lat)
result["key_p50_ms"] = round(statistics.median(lat), 2)
result["key_p99_ms"] = round(lat[int(len(lat) * 0.99) - 1], 2)
result["key_max_ms"] = round(lat[-1], 2)
result["peak_rss_kib"] = status("VmHWM")
# The engine runs in a child of the dashboard: its peak is reported beside the dashboard's, not hidden.
end_child = sample_sum()
result["engine_child_pids"] = sorted(child_pids)
result["engine_child_peak_rss_kib"] = status("VmHWM", end_child) if end_child else None
result["peak_sum_sampled_kib"] = peak_sum_kib

# 5. Quit: running jobs go back to the queue.
t = time.monotonic()
typed("q")
exit_status = None
while time.monotonic() - t < 60:
    pump(0.1)
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        exit_status = st
        break
result["quit_seconds"] = round(time.monotonic() - t, 2)
if end_child:
    # Reparented to init once the dashboard is gone; a zombie no longer runs.
    def child_runs():
        try:
            with open(f"/proc/{end_child}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
        except OSError:
            return False
    waited = time.monotonic()
    while child_runs() and time.monotonic() - waited < 15:
        time.sleep(0.05)
    result["engine_child_left_running"] = child_runs()
result["exit_status"] = exit_status
result["jobs_requeued"] = sql("SELECT count(*) FROM job WHERE state = 'queued'")[0][0]
tail = bytes(buf[-400:]).decode("utf-8", "replace")
result["farewell"] = tail.strip().splitlines()[-1] if tail.strip() else ""
with open(OUT, "w") as f:
    json.dump(result, f, indent=2)
print(json.dumps(result, indent=2))
