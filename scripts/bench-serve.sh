#!/usr/bin/env bash
# Benchmarks `mirrordeck serve` against nginx serving the same files in the same run, and writes the
# "Serving" section of docs/benchmarks.md (between <!-- bench:serve:start --> and <!-- bench:serve:end -->).
#
#   scripts/bench-serve.sh BIN     BIN: the mirrordeck binary to measure (a release build)
#
# (a) 32 concurrent clients (curl) downloading LFS objects of 1–64 MiB through the LFS object URL:
#     mirrordeck's throughput ≥ 1.0 × nginx's (static files, sendfile on), p99 time to first byte ≤ 1.5 × nginx's
# (b) 16 concurrent `git clone --bare` of a ~100 MB mirror: mirrordeck (git upload-pack) ≥ 0.95 × the throughput
#     of nginx + fcgiwrap + git http-backend
# (c) mirrordeck serve's peak RSS during (a) ≤ 100 MB
#
# Both servers serve the very same mirror directory of one MirrorDeck home. Sides alternate each round.
# Knobs: BENCH_SERVE_ROUNDS (3), BENCH_SERVE_REQUESTS (256 object downloads a round), BENCH_SERVE_CLONES (16),
# BENCH_SERVE_REPO_MB (100), BENCH_STRICT=1 to exit 3 on a missed target. Data is cached in bench-work/serve/.
set -euo pipefail
export LC_ALL=C

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: scripts/bench-serve.sh BIN   (BIN: an executable mirrordeck, e.g. .build/release/mirrordeck)" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
for tool in git python3 curl xargs awk; do command -v "$tool" >/dev/null || { echo "bench-serve: '$tool' is missing" >&2; exit 2; }; done
[ -x /usr/sbin/nginx ] && [ -x /usr/sbin/fcgiwrap ] || { echo "bench-serve: nginx and fcgiwrap are needed: run 'make test-deps'" >&2; exit 2; }

WORK=$ROOT/bench-work/serve
DATA=$WORK/data
RUN=$WORK/run
DOC=$ROOT/docs/benchmarks.md
ROUNDS=${BENCH_SERVE_ROUNDS:-3}
REQUESTS=${BENCH_SERVE_REQUESTS:-256}
CLONES=${BENCH_SERVE_CLONES:-16}
REPO_MB=${BENCH_SERVE_REPO_MB:-100}
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0
unset MIRRORDECK_HOME

PIDS=()
cleanup() {
    local p
    # fcgiwrap -c 16 forks its workers: they outlive a parent killed alone.
    for p in "${PIDS[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}
trap cleanup EXIT
trap 'echo "bench-serve: failed at line $LINENO (logs in bench-work/serve/run/)" >&2' ERR
. "$(dirname "${BASH_SOURCE[0]}")/bench/lib.sh"   # say, free_port, wait_port, secs, median, giftless_yaml
wait_port() {
    local i
    for i in $(seq 1 200); do
        python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $1)))" && return 0
        sleep 0.1
    done
    return 1
}

# --- data: a home with two mirrors, "weights" (LFS objects of 1-64 MiB) and "big" (a ~100 MB pack) ---
HOME_DIR=$DATA/home
if [ ! -f "$DATA/ready" ]; then
    say "preparing data (once; cached in bench-work/serve/data)"
    rm -rf "$DATA"
    mkdir -p "$DATA/store" "$DATA/up"
    python3 - "$DATA" "$REPO_MB" <<'EOF'
import hashlib, os, subprocess, sys
data, repo_mb = sys.argv[1], int(sys.argv[2])
sizes = [1, 2, 4, 8, 16, 32, 64, 3, 6, 12, 24, 48, 1, 2, 5, 10]
pointers = []
for i, mb in enumerate(sizes):
    blob = os.urandom(mb << 20)
    oid = hashlib.sha256(blob).hexdigest()
    d = os.path.join(data, "store", "lfs", "objects", oid[:2], oid[2:4])
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, oid), "wb").write(blob)
    pointers.append((f"w{i:02d}.bin", f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(blob)}\n"))
def fast_import(repo, files):
    subprocess.run(["git", "init", "-q", "--bare", repo], check=True)
    p = subprocess.Popen(["git", "-C", repo, "fast-import", "--quiet"], stdin=subprocess.PIPE)
    w = p.stdin.write
    w(b"commit refs/heads/main\ncommitter Bench <b@example.org> 1700000000 +0000\ndata 4\ndata\n")
    for path, content in files:
        body = content if isinstance(content, bytes) else content.encode()
        w(b"M 100644 inline " + path.encode() + b"\ndata " + str(len(body)).encode() + b"\n" + body + b"\n")
    w(b"\n")
    p.stdin.close()
    assert p.wait() == 0
fast_import(os.path.join(data, "up", "weights.git"), [(".gitattributes", "*.bin filter=lfs diff=lfs merge=lfs -text\n")] + pointers)
fast_import(os.path.join(data, "up", "big.git"), [(f"blob{i:03d}.dat", os.urandom(1 << 20)) for i in range(repo_mb)])
EOF
    GPORT=$(free_port)
    git daemon --reuseaddr --export-all --base-path="$DATA/up" --listen=127.0.0.1 --port="$GPORT" "$DATA/up" &
    PIDS+=($!)
    wait_port "$GPORT"
    "$BIN" add weights "git://127.0.0.1:$GPORT/weights.git" --lfs on --lfs-url "file://$DATA/store" --home "$HOME_DIR" >/dev/null
    "$BIN" add big "git://127.0.0.1:$GPORT/big.git" --home "$HOME_DIR" >/dev/null
    "$BIN" sync --all --home "$HOME_DIR" >/dev/null
    cleanup
    touch "$DATA/ready"
fi
MIRRORS=$HOME_DIR/mirrors

rm -rf "$RUN"
mkdir -p "$RUN"
# --- the two servers ---
NPORT=$(free_port)
mkdir -p "$RUN/nginx"
/usr/sbin/fcgiwrap -c 16 -s "unix:$RUN/nginx/fcgi.sock" &
PIDS+=($!)
for _ in $(seq 1 50); do [ -S "$RUN/nginx/fcgi.sock" ] && break; sleep 0.1; done
cat > "$RUN/nginx/nginx.conf" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 2;
daemon off;
pid $RUN/nginx/nginx.pid;
error_log $RUN/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log $RUN/nginx/access.log;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $RUN/nginx/body;
    fastcgi_temp_path $RUN/nginx/fastcgi;
    proxy_temp_path $RUN/nginx/proxy;
    uwsgi_temp_path $RUN/nginx/uwsgi;
    scgi_temp_path $RUN/nginx/scgi;
    server {
        listen 127.0.0.1:$NPORT;
        location ~ "^/(?<repo>[^/]+)\\.git/info/lfs/objects/(?<a>[0-9a-f]{2})(?<b>[0-9a-f]{2})(?<rest>[0-9a-f]{60})\$" {
            alias $MIRRORS/\$repo.git/lfs/objects/\$a/\$b/\$a\$b\$rest;
            default_type application/octet-stream;
        }
        location / {
            include /etc/nginx/fastcgi_params;
            fastcgi_pass unix:$RUN/nginx/fcgi.sock;
            fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;
            fastcgi_param GIT_PROJECT_ROOT $MIRRORS;
            fastcgi_param GIT_HTTP_EXPORT_ALL "";
            fastcgi_param PATH_INFO \$uri;
            fastcgi_buffering off;
        }
    }
}
EOF
/usr/sbin/nginx -c "$RUN/nginx/nginx.conf" -p "$RUN/nginx" &
PIDS+=($!)
MPORT=$(free_port)
"$BIN" serve --listen "127.0.0.1:$MPORT" --home "$HOME_DIR" 2>"$RUN/serve.log" &
SERVE_PID=$!
PIDS+=($SERVE_PID)
wait_port "$NPORT"
wait_port "$MPORT"

# The object URLs, in a fixed shuffled order.
python3 - "$HOME_DIR/catalog.sqlite" "$REQUESTS" > "$RUN/objects.txt" <<'EOF'
import random, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(
    "SELECT o.oid, o.size FROM lfs_object o JOIN mirror m ON m.id = o.mirror_id WHERE m.name = 'weights' AND o.state = 'present'").fetchall()
assert rows, "no LFS objects present in the weights mirror"
random.seed(7)
for i in range(int(sys.argv[2])):
    print(rows[i % len(rows)][0])
EOF
OBJECT_BYTES=$(python3 -c "
import sqlite3,sys
rows=dict(sqlite3.connect('$HOME_DIR/catalog.sqlite').execute(\"SELECT o.oid,o.size FROM lfs_object o JOIN mirror m ON m.id=o.mirror_id WHERE m.name='weights'\").fetchall())
print(sum(rows[l.strip()] for l in open('$RUN/objects.txt')))")

# downloads PORT TAG → "seconds p99_ttfb_ms ok_count"
downloads() {
    local port=$1 tag=$2 start end
    start=$(date +%s.%N)
    sed "s|^|http://127.0.0.1:$port/weights.git/info/lfs/objects/|" "$RUN/objects.txt" \
        | xargs -P 32 -n 1 curl -s -o /dev/null -w '%{http_code} %{time_starttransfer} %{size_download}\n' > "$RUN/dl-$tag.txt"
    end=$(date +%s.%N)
    python3 - "$RUN/dl-$tag.txt" "$start" "$end" "$OBJECT_BYTES" <<'EOF'
import math, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ok = [r for r in rows if r[0] == "200"]
got = sum(int(float(r[2])) for r in ok)
if got != int(sys.argv[4]):
    sys.exit(f"bytes {got} != {sys.argv[4]}")
ttfb = sorted(float(r[1]) for r in ok)
p99 = ttfb[min(len(ttfb) - 1, math.ceil(len(ttfb) * 0.99) - 1)]
print(f"{float(sys.argv[3]) - float(sys.argv[2]):.3f} {p99 * 1000:.1f} {len(ok)}")
EOF
}
# clones PORT TAG → seconds
clones() {
    local port=$1 tag=$2 start end i
    rm -rf "$RUN/clones"
    mkdir -p "$RUN/clones"
    start=$(date +%s.%N)
    for i in $(seq 1 "$CLONES"); do
        git clone -q --bare "http://127.0.0.1:$port/big.git" "$RUN/clones/c$i.git" &
    done
    wait $(jobs -p | grep -v -e "^$SERVE_PID\$" || true) 2>/dev/null || true
    end=$(date +%s.%N)
    for i in $(seq 1 "$CLONES"); do
        [ "$(git --git-dir="$RUN/clones/c$i.git" rev-parse main)" = "$(git --git-dir="$MIRRORS/big.git" rev-parse main)" ] \
            || { echo "clone $i from $tag is incomplete" >&2; exit 1; }
    done
    rm -rf "$RUN/clones"
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", e - s }'
}

say "(a) $REQUESTS downloads by 32 clients ($((OBJECT_BYTES >> 20)) MiB a round), (b) $CLONES concurrent clones of big.git; $ROUNDS rounds"
: > "$RUN/a.txt"
: > "$RUN/b.txt"
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order="nginx md"; else order="md nginx"; fi
    for side in $order; do
        port=$NPORT; [ $side = md ] && port=$MPORT
        echo "a $side $(downloads $port $side$r)" | tee -a "$RUN/a.txt"
    done
    for side in $order; do
        port=$NPORT; [ $side = md ] && port=$MPORT
        echo "b $side $(clones $port $side$r)" | tee -a "$RUN/b.txt"
    done
done
RSS_KB=$(awk '/VmHWM/ { print $2 }' /proc/$SERVE_PID/status)

read -r A_MD A_NG TTFB_MD TTFB_NG <<<"$(python3 - "$RUN/a.txt" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def side(name):
    r = [x for x in rows if x[1] == name]
    return statistics.mean(float(x[2]) for x in r), statistics.median(float(x[3]) for x in r)
(tm, pm), (tn, pn) = side("md"), side("nginx")
print(f"{tm:.3f} {tn:.3f} {pm:.1f} {pn:.1f}")
EOF
)"
read -r B_MD B_NG <<<"$(awk '$2 == "md" { tm += $3; nm++ } $2 == "nginx" { tn += $3; nn++ } END { printf "%.3f %.3f\n", tm / nm, tn / nn }' "$RUN/b.txt")"
RATIO_A=$(awk -v a="$A_NG" -v b="$A_MD" 'BEGIN { printf "%.2f", a / b }')
RATIO_TTFB=$(awk -v a="$TTFB_MD" -v b="$TTFB_NG" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
RATIO_B=$(awk -v a="$B_NG" -v b="$B_MD" 'BEGIN { printf "%.2f", a / b }')
RSS_MB=$(awk -v k="$RSS_KB" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }')
ok() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { print ((dir == ">=" ? v >= t : v <= t) ? "met" : "**missed**") }'; }
MB_A=$(awk -v b="$OBJECT_BYTES" -v t="$A_MD" 'BEGIN { printf "%.0f", b / t / 1e6 }')
NB_A=$(awk -v b="$OBJECT_BYTES" -v t="$A_NG" 'BEGIN { printf "%.0f", b / t / 1e6 }')

cat > "$RUN/section.md" <<EOF
## Serving

\`scripts/bench-serve.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), $(/usr/sbin/nginx -v 2>&1 | sed 's/.*: //'), $(git --version)):
\`mirrordeck serve\` (release build) and nginx serve the same mirror directory; the clients (curl, git) run on
the same two cores. Sides alternate; $ROUNDS rounds; means of the rounds (p99 TTFB: the median round's).

| measure | mirrordeck serve | nginx | ratio | target |
|---|---:|---:|---:|---|
| (a) 32 clients, $REQUESTS downloads of 1–64 MiB objects: wall | ${A_MD} s (${MB_A} MB/s) | ${A_NG} s (${NB_A} MB/s) | ${RATIO_A} × nginx's throughput | ≥ 1.0: $(ok "$RATIO_A" 1.0 ">=") |
| (a) p99 time to first byte | ${TTFB_MD} ms | ${TTFB_NG} ms | ${RATIO_TTFB} × | ≤ 1.5: $(ok "$RATIO_TTFB" 1.5 "<=") |
| (b) $CLONES concurrent \`git clone --bare\` of a ${REPO_MB} MB mirror (nginx: fcgiwrap + git http-backend) | ${B_MD} s | ${B_NG} s | ${RATIO_B} × its throughput | ≥ 0.95: $(ok "$RATIO_B" 0.95 ">=") |
| (c) server peak RSS during (a) and (b) | ${RSS_MB} MB | | | ≤ 100 MB: $(ok "$RSS_MB" 100 "<=") |

Every round's numbers: $(tr '\n' ';' < "$RUN/a.txt" | sed 's/;/; /g') $(tr '\n' ';' < "$RUN/b.txt" | sed 's/;/; /g')
EOF
python3 "$ROOT/scripts/bench/splice.py" "$DOC" serve "$RUN/section.md"
cat "$RUN/section.md"
if [ "${BENCH_STRICT:-}" = 1 ] && grep -q '\*\*missed\*\*' "$RUN/section.md"; then exit 3; fi
