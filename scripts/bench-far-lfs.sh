#!/usr/bin/env bash
# Benchmarks MirrorDeck's Git LFS fetching over a far link against stock git-lfs, through the same lab proxy
# (scripts/farlink-proxy.py) at 150 ms RTT in the same run, and writes the "Far links: LFS at 150 ms RTT"
# section of docs/benchmarks.md (between <!-- bench:far-lfs:start --> and <!-- bench:far-lfs:end -->).
#
#   scripts/bench-far-lfs.sh BIN     BIN: the mirrordeck binary to measure (a release build)
#   make bench BENCH=far-lfs         the same, after building the release binary
#
# A cold mirror of a repository of 2,000 pointers to 64 KiB objects: `git clone --mirror` + `git lfs fetch
# --all` against `mirrordeck add` + `mirrordeck sync`. Both reach git (git daemon) and LFS (nginx serving the
# object files with keep-alive, giftless's batch API behind it) only through the proxy, which delays every
# byte by BENCH_FAR_LFS_LATENCY ms (75) each way. Target: mirrordeck's throughput ≥ 0.8 × git-lfs's (time
# ratio git ÷ mirrordeck ≥ 0.8). The proxy's log gives each side's connection count.
#
# Data is cached in bench-work/far-lfs/ (gitignored); bench-work/far-lfs/run/ is rebuilt on every run.
# Knobs (environment): BENCH_FAR_LFS_ROUNDS (3, sides interleaved), BENCH_FAR_LFS_COUNT (2000),
# BENCH_FAR_LFS_LATENCY (75), BENCH_FAR_LFS_DOC=0 to only print the table, BENCH_STRICT=1 to exit 3 on a miss.
set -euo pipefail
export LC_ALL=C

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: scripts/bench-far-lfs.sh BIN   (BIN: an executable mirrordeck, e.g. .build/release/mirrordeck)" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
VENV=$ROOT/.venv
for tool in git git-lfs python3 nginx awk; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "bench-far-lfs: '$tool' is missing: run 'make test-deps'" >&2; exit 2; }
done
[ -x "$VENV/bin/gunicorn" ] || { echo "bench-far-lfs: giftless is not installed: run 'WITH_TEST_DEPS=1 scripts/install-deps.sh'" >&2; exit 2; }

WORK=$ROOT/bench-work/far-lfs
DATA=$WORK/data
STORE=$DATA/storage
RUN=$WORK/run
DOC=$ROOT/docs/benchmarks.md
ROUNDS=${BENCH_FAR_LFS_ROUNDS:-3}
COUNT=${BENCH_FAR_LFS_COUNT:-2000}
LATENCY=${BENCH_FAR_LFS_LATENCY:-75}
TARGET=0.8

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0 GIT_LFS_SKIP_SMUDGE=1
unset MIRRORDECK_HOME http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}
trap cleanup EXIT
trap 'echo "bench-far-lfs: failed at line $LINENO (logs in bench-work/far-lfs/run/)" >&2' ERR
trap 'exit 130' INT TERM

. "$(dirname "${BASH_SOURCE[0]}")/bench/lib.sh"   # say, free_port, wait_port, secs, median, giftless_yaml
secs() { awk -v x="$1" 'BEGIN { printf "%.2f s", x }'; }
rate() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.2f MiB/s", b / 1048576 / t }'; }

# --- data (cached): objects in giftless's layout and a bare repository of their pointers ----------------------
SPEC="far-lfs:$COUNT x 64KiB v1"
if [ "$(cat "$DATA/.spec" 2>/dev/null || true)" != "$SPEC" ]; then
    say "generating $COUNT × 64 KiB objects in bench-work/far-lfs/data (once, then cached)"
    rm -rf "$DATA"
    mkdir -p "$STORE" "$DATA/repos"
    python3 - "$ROOT/scripts/bench" "$DATA" "$COUNT" <<'EOF'
import os, sys
sys.path.insert(0, sys.argv[1])
import genrepos
data, count = sys.argv[2], int(sys.argv[3])
pointers = genrepos.lfs_objects(os.path.join(data, "storage", "git", "small"), [64 << 10] * count, sharded=False)
genrepos.pointer_repo(os.path.join(data, "repos", "small.git"), [("objects/%04d.bin" % i, t) for i, (_, t) in enumerate(pointers)], export=True)
EOF
    echo "$SPEC" >"$DATA/.spec"
fi
rm -rf "$RUN"
mkdir -p "$RUN"
BYTES=$(du -sb --apparent-size "$STORE/git/small" | cut -f1)

# --- servers: git daemon, giftless (gunicorn), nginx, and a far-link proxy in front of each -------------------
GIT_PORT=$(free_port)
"$(git --exec-path)/git-daemon" --reuseaddr --listen=127.0.0.1 --port="$GIT_PORT" --base-path="$DATA/repos" --export-all \
    --max-connections=64 >>"$RUN/git-daemon.log" 2>&1 &
PIDS+=($!)
wait_port "$GIT_PORT" "$!" || { echo "bench-far-lfs: git daemon did not start" >&2; exit 1; }
giftless_yaml "$STORE" >"$RUN/giftless.yaml"
GL_PORT=$(free_port)
GIFTLESS_CONFIG_FILE=$RUN/giftless.yaml "$VENV/bin/gunicorn" --no-control-socket --workers 4 \
    --bind "127.0.0.1:$GL_PORT" --chdir "$RUN" --log-level warning giftless.wsgi_entrypoint:app >>"$RUN/giftless.log" 2>&1 &
PIDS+=($!)
wait_port "$GL_PORT" "$!" || { echo "bench-far-lfs: giftless did not start (bench-work/far-lfs/run/giftless.log)" >&2; exit 1; }
NGX_PORT=$(free_port)
mkdir -p "$RUN/nginx"
cat >"$RUN/nginx/nginx.conf" <<EOF
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
worker_processes 2;
daemon off;
pid $RUN/nginx/nginx.pid;
error_log $RUN/nginx/error.log;
events { worker_connections 512; }
http {
    log_format lfs '\$request_method \$uri \$status \$body_bytes_sent \$server_protocol \$connection \$connection_requests';
    access_log $RUN/nginx/access.log lfs;
    client_body_temp_path $RUN/nginx/body;
    proxy_temp_path $RUN/nginx/proxy;
    fastcgi_temp_path $RUN/nginx/fastcgi;
    uwsgi_temp_path $RUN/nginx/uwsgi;
    scgi_temp_path $RUN/nginx/scgi;
    keepalive_requests 10000;
    server {
        listen 127.0.0.1:$NGX_PORT;
        location ~ "^/(?<orgrepo>.+)\\.git/info/lfs/objects/storage/(?<oid>[0-9a-f]{64})\$" {
            alias $STORE/\$orgrepo/\$oid;
            default_type application/octet-stream;
        }
        location / {
            proxy_pass http://127.0.0.1:$GL_PORT;
            proxy_set_header Host \$http_host;
            proxy_buffering off;
        }
    }
}
EOF
/usr/sbin/nginx -c "$RUN/nginx/nginx.conf" -p "$RUN/nginx" >>"$RUN/nginx/stdout.log" 2>&1 &
PIDS+=($!)
wait_port "$NGX_PORT" "$!" || { echo "bench-far-lfs: nginx did not start (bench-work/far-lfs/run/nginx/error.log)" >&2; exit 1; }
far_proxy() { # far_proxy TARGET_PORT LOG -> prints the proxy's port
    local port
    port=$(free_port)
    python3 "$ROOT/scripts/farlink-proxy.py" --listen "127.0.0.1:$port" --target "127.0.0.1:$1" --latency "$LATENCY" --log "$2" \
        >>"$RUN/proxy.err" 2>&1 &
    PIDS+=($!)
    wait_port "$port" "$!" || { echo "bench-far-lfs: the far-link proxy did not start" >&2; exit 1; }
    echo "$port"
}
GIT_FAR=$(far_proxy "$GIT_PORT" "$RUN/git-proxy.jsonl")
LFS_FAR=$(far_proxy "$NGX_PORT" "$RUN/lfs-proxy.jsonl")
GIT_URL=git://127.0.0.1:$GIT_FAR/small.git
LFS_URL=http://127.0.0.1:$LFS_FAR/git/small.git/info/lfs
say "git daemon :$GIT_PORT and nginx :$NGX_PORT (giftless :$GL_PORT) behind far-link proxies :$GIT_FAR and :$LFS_FAR, $LATENCY ms each way"
# The RTT a client really sees through the proxy: the time to the first byte of a tiny object request.
RTT_MS=$(curl -s -o /dev/null -w '%{time_starttransfer}' "http://127.0.0.1:$LFS_FAR/nonexistent" | awk '{ printf "%.0f", $1 * 1000 }')

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_START%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    echo "bench-far-lfs: warning: the machine is busy (load average $LOAD_START on $(nproc) cores); results will be noisy" >&2
fi

# --- one side, one round: appends "wall connections batch-requests" to $RUN/<side> -------------------------
connections() { # connections LOG: lines logged so far (one per ended connection)
    if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}
batches() { # batch requests nginx has logged so far
    grep -c '^POST .*/objects/batch ' "$RUN/nginx/access.log" 2>/dev/null || true
}
timed() { # timed SIDE CMD...
    local side=$1 t0 t1 c0 c1 b0 b1
    shift
    c0=$(connections "$RUN/lfs-proxy.jsonl"); b0=$(batches)
    t0=$EPOCHREALTIME
    "$@"
    t1=$EPOCHREALTIME
    sleep 0.5 # the proxy logs a connection when it ends, just after the client exits
    c1=$(connections "$RUN/lfs-proxy.jsonl"); b1=$(batches)
    awk -v a="$t0" -v b="$t1" -v c="$((c1 - c0))" -v n="$((b1 - b0))" 'BEGIN { printf "%.3f %d %d\n", b - a, c, n }' >>"$RUN/$side"
}
md_side() {
    local home=$RUN/md-$1
    "$BIN" add --home "$home" small "$GIT_URL" --lfs-url "$LFS_URL" >/dev/null &&
        "$BIN" sync --home "$home" small --json >"$RUN/md-$1.json" 2>"$RUN/md-$1.err"
}
git_side() {
    local dir=$RUN/git-$1.git
    git clone -q --mirror "$GIT_URL" "$dir" && git -C "$dir" config lfs.url "$LFS_URL" &&
        git -C "$dir" lfs fetch --all >"$RUN/git-$1.out" 2>&1
}
check() { # check OBJECTS_DIR: every object there, hashing to its name
    local n
    n=$(find "$1" -type f | wc -l)
    [ "$n" -eq "$COUNT" ] || { echo "bench-far-lfs: $1 holds $n objects, not $COUNT" >&2; exit 1; }
    find "$1" -type f -print0 | xargs -0 sha256sum | awk '{ n = split($2, p, "/"); if ($1 != p[n]) bad++ } END { exit bad > 0 }' ||
        { echo "bench-far-lfs: an object in $1 does not hash to its name" >&2; exit 1; }
}
: >"$RUN/mirrordeck"
: >"$RUN/git-lfs"
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then timed mirrordeck md_side "$r"; timed git-lfs git_side "$r"; else timed git-lfs git_side "$r"; timed mirrordeck md_side "$r"; fi
    check "$RUN/md-$r/mirrors/small.git/lfs/objects"
    check "$RUN/git-$r.git/lfs/objects"
    printf '  round %d: mirrordeck %s s (%s connections, %s batch requests), git-lfs %s s (%s connections, %s batch requests)\n' "$r" \
        $(tail -1 "$RUN/mirrordeck") $(tail -1 "$RUN/git-lfs")
    rm -rf "$RUN/md-$r" "$RUN/git-$r.git"
done

# --- results ----------------------------------------------------------------------------------------------
col() { awk -v c="$2" '{ print $c }' "$1" | median; }
MD=$(col "$RUN/mirrordeck" 1); GL=$(col "$RUN/git-lfs" 1)
MD_CONN=$(col "$RUN/mirrordeck" 2); GL_CONN=$(col "$RUN/git-lfs" 2)
MD_BATCH=$(col "$RUN/mirrordeck" 3); GL_BATCH=$(col "$RUN/git-lfs" 3)
RATIO=$(awk -v a="$GL" -v b="$MD" 'BEGIN { printf "%.2f", a / b }')
VERDICT=$(awk -v r="$RATIO" -v t="$TARGET" 'BEGIN { print (r >= t ? "✅ pass" : "❌ FAIL") }')
samples() { awk '{ printf "%s%.2f", (NR > 1 ? ", " : ""), $1 }' "$1"; }
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
version=$("$BIN" --version 2>/dev/null || echo "?")
CPU=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)

cat >"$RUN/section.md" <<EOF
## Far links: LFS at 150 ms RTT

Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`scripts/bench-far-lfs.sh\` (mirrordeck $version, commit $commit) on
$CPU, $(nproc) cores; load average $LOAD_START at start, $LOAD_END at the end. Client side: $(git lfs version | cut -d' ' -f1)
(\`git lfs fetch --all\`, its defaults) against \`mirrordeck sync\` (its defaults; libcurl $(curl --version | sed -n 1p | cut -d' ' -f2)).

| machine | mirrordeck | git-lfs | throughput ratio | target | result |
| --- | ---: | ---: | ---: | ---: | --- |
| $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) | $(secs "$MD") ($(rate "$BYTES" "$MD")) | $(secs "$GL") ($(rate "$BYTES" "$GL")) | $RATIO × | ≥ $TARGET × | $VERDICT |

A cold mirror of a repository of $COUNT pointers to 64 KiB objects: \`mirrordeck add\` + \`mirrordeck sync\` against
\`git clone --mirror\` + \`git lfs fetch --all\`. Both reach the upstream only through \`scripts/farlink-proxy.py
--latency $LATENCY\` (every byte delayed $LATENCY ms each way; a request's first byte came back after $RTT_MS ms): git
daemon behind one proxy, and behind another $(/usr/sbin/nginx -v 2>&1 | sed 's/.*: //') serving the object files (HTTP/1.1,
keep-alive) in front of giftless's batch API. Times are wall-clock medians of $ROUNDS rounds, sides interleaved
(samples: mirrordeck $(samples "$RUN/mirrordeck"); git-lfs $(samples "$RUN/git-lfs")); ratio = git-lfs time ÷
mirrordeck time. Both object stores were checked after each round: $COUNT objects, each hashing to its name.
Per run (median): connections through the LFS proxy, mirrordeck $MD_CONN, git-lfs $GL_CONN; batch requests (nginx's
log), mirrordeck $MD_BATCH, git-lfs $GL_BATCH.
EOF
if [ "${BENCH_FAR_LFS_DOC:-1}" != 0 ]; then
    python3 "$ROOT/scripts/bench/splice.py" "$DOC" far-lfs "$RUN/section.md"
    say "results written to docs/benchmarks.md (Far links: LFS at 150 ms RTT)"
fi
cat "$RUN/section.md"
if [ -n "${BENCH_STRICT:-}" ] && grep -q "❌" "$RUN/section.md"; then exit 3; fi
