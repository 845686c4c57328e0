#!/usr/bin/env bash
# Benchmarks MirrorDeck over a far, cutting link (issue 12, "Far upstreams": section Measure) against plain
# git + git-lfs, in one run on this machine, and writes the "Far links" section of docs/benchmarks.md
# (between <!-- bench:far:start --> and <!-- bench:far:end -->; other sections are kept as they are).
#
#   scripts/bench-far.sh BIN     BIN: the mirrordeck binary to measure (make bench: .build/release/mirrordeck)
#
# Every byte goes through the lab's far-link proxy (scripts/farlink-proxy.py) at 150 ms RTT (--latency 75
# each way) and 20 MB/s a connection, in front of one nginx that serves, as a hosting site does, git smart
# HTTP (git http-backend through fcgiwrap), the LFS batch API (giftless) and the LFS object files (static,
# with Range). The repository URL is http://127.0.0.1:PROXY/git/far.git; both clients derive the LFS
# endpoint from it (…/far.git/info/lfs).
#
# (a) Cold mirror of a generated repository (100 MB packed, 40 tags, 3 branches, incompressible blobs spread
#     over the history) plus 1 GiB of LFS objects, through a proxy that cuts every connection after a random
#     8–24 MB: BENCH_FAR_TRIES (10) tries a side, sides interleaved. git side: `git clone --mirror URL D &&
#     git -C D lfs fetch --all`; mirrordeck side: `mirrordeck add far URL && mirrordeck sync far`.
#     A try succeeds when the command exits 0, the mirror's refs and HEAD equal the upstream's and every LFS
#     object is in lfs/objects with its size. Goal: mirrordeck 10/10.
# (b) Time to complete: the median of mirrordeck's successful tries in (a) ÷ the median of the same
#     mirrordeck transfer through the same proxy without cuts (BENCH_FAR_CLEAN_TRIES runs). Goal ≤ 1.5.
# (c) BENCH_FAR_SMALL_COUNT (200) up-to-date mirrors behind the same link without cuts: `mirrordeck sync --all`
#     ÷ `xargs -P 8 git -C M fetch --prune`, medians of BENCH_FAR_ROUNDS (5) interleaved rounds. Goal ≤ 0.5.
#
# Each try starts from an empty mirror directory (a new home for mirrordeck) and runs in a process group of
# its own, killed when it ends or after BENCH_FAR_TRY_TIMEOUT seconds (a timeout counts as a failure). Every
# server, proxy and try is stopped when the script exits, also on errors and Ctrl-C.
# Afterwards scripts/bench-far-lfs.sh BIN runs when it exists (LFS at 150 ms RTT), unless BENCH_FAR_SKIP_LFS_PART=1.
#
# Knobs (environment; the defaults are the issue's): BENCH_FAR_TRIES (10), BENCH_FAR_REPO_MB (100),
# BENCH_FAR_LFS_MB (1024), BENCH_FAR_TAGS (40), BENCH_FAR_SMALL_COUNT (200), BENCH_FAR_CLEAN_TRIES (3),
# BENCH_FAR_ROUNDS (5), BENCH_FAR_LATENCY_MS (75), BENCH_FAR_RATE (20000000 bytes/s),
# BENCH_FAR_CUT (8000000-24000000 bytes), BENCH_FAR_TRY_TIMEOUT (3600 s), BENCH_STRICT=1 to exit 3 when a
# goal is missed (default: report it and exit 0).
# Data are cached in bench-work/far/data (gitignored); bench-work/far/run/ is rebuilt on every run and keeps
# every try's output and the proxies' per-connection logs.
set -euo pipefail
export LC_ALL=C

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: scripts/bench-far.sh BIN   (BIN: an executable mirrordeck, e.g. .build/release/mirrordeck)" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
VENV=$ROOT/.venv
for tool in git git-lfs python3 curl awk setsid; do
    command -v "$tool" >/dev/null || { echo "bench-far: '$tool' is missing: run 'make test-deps'" >&2; exit 2; }
done
[ -x /usr/sbin/nginx ] && [ -x /usr/sbin/fcgiwrap ] || { echo "bench-far: nginx and fcgiwrap are needed: run 'make test-deps'" >&2; exit 2; }
[ -x "$VENV/bin/gunicorn" ] || { echo "bench-far: giftless is not installed: run 'make test-deps' (makes .venv)" >&2; exit 2; }

WORK=$ROOT/bench-work/far
DATA=$WORK/data
RUN=$WORK/run
DOC=$ROOT/docs/benchmarks.md
PROXY=$ROOT/scripts/farlink-proxy.py

# Knobs, with the issue's values as defaults.
TRIES=${BENCH_FAR_TRIES:-10}
REPO_MB=${BENCH_FAR_REPO_MB:-100}
LFS_MB=${BENCH_FAR_LFS_MB:-1024}
TAGS=${BENCH_FAR_TAGS:-40}
SMALL_COUNT=${BENCH_FAR_SMALL_COUNT:-200}
CLEAN_TRIES=${BENCH_FAR_CLEAN_TRIES:-3}
ROUNDS=${BENCH_FAR_ROUNDS:-5}
LATENCY=${BENCH_FAR_LATENCY_MS:-75}
RATE=${BENCH_FAR_RATE:-20000000}
CUT=${BENCH_FAR_CUT:-8000000-24000000}
TRY_TIMEOUT=${BENCH_FAR_TRY_TIMEOUT:-3600}
PARALLEL=8                      # xargs -P of the git side of (c); mirrordeck's own default --parallel
TARGET_TIME=1.5                 # (b) with cuts ≤ 1.5 × without
TARGET_SMALL=0.5                # (c) mirrordeck ≤ 0.5 × xargs -P 8 git fetch
for k in TRIES REPO_MB LFS_MB TAGS SMALL_COUNT CLEAN_TRIES ROUNDS RATE TRY_TIMEOUT; do
    [[ ${!k} =~ ^[0-9]+$ ]] && [ "${!k}" -gt 0 ] || { echo "bench-far: BENCH_FAR_$k must be a positive integer, not '${!k}'" >&2; exit 2; }
done
[[ $LATENCY =~ ^[0-9]+$ ]] || { echo "bench-far: BENCH_FAR_LATENCY_MS must be an integer, not '$LATENCY'" >&2; exit 2; }
[[ $CUT =~ ^[0-9]+(-[0-9]+)?$ ]] || { echo "bench-far: BENCH_FAR_CUT must be MIN-MAX bytes, not '$CUT'" >&2; exit 2; }

# Plain, reproducible git: no user or system config, never a prompt.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0 GIT_LFS_SKIP_SMUDGE=1
unset MIRRORDECK_HOME

# Everything started here runs in a process group of its own (setsid: the child is not a group leader, so it
# is the leader of the new group and its pid is the group's id); cleanup ends the whole group, workers too.
GROUPS_STARTED=()
stop_group() { # stop_group PID: TERM to the group, KILL to whatever is left after 5 s
    local g=$1 i
    kill -TERM -- "-$g" 2>/dev/null || return 0
    for i in $(seq 1 50); do kill -0 -- "-$g" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$g" 2>/dev/null || true
    wait "$g" 2>/dev/null || true
}
cleanup() {
    local g
    for g in "${GROUPS_STARTED[@]}"; do stop_group "$g"; done
    GROUPS_STARTED=()
}
trap cleanup EXIT
trap 'echo "bench-far: failed at line $LINENO (logs in bench-work/far/run/)" >&2' ERR
trap 'exit 130' INT TERM

. "$(dirname "${BASH_SOURCE[0]}")/bench/lib.sh"   # say, free_port, wait_port, secs, median, giftless_yaml
start_group() { # start_group LOG CMD...: starts CMD in a new process group; $STARTED is its pid
    setsid "${@:2}" >>"$1" 2>&1 </dev/null &
    STARTED=$!
    GROUPS_STARTED+=("$STARTED")
}
secs() { awk -v x="$1" 'BEGIN { if (x < 10) printf "%.3f s", x; else if (x < 1000) printf "%.1f s", x; else printf "%.0f s", x }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t ? "✅ pass" : "❌ FAIL") }'; }
last_line() { tr '\r' '\n' <"$1" 2>/dev/null | sed '/^[[:space:]]*$/d' | tail -n1; }
cell() { printf '%s' "$1" | tr '\t\n' '  ' | sed 's/|/\\|/g; s/`/'"'"'/g' | cut -c1-300; }   # safe in a table cell

# --- data (cached) ---------------------------------------------------------------------------------------
GEN_HASH=$(cat "$ROOT/scripts/bench/genfar.py" "$ROOT/scripts/bench/genrepos.py" | sha256sum | cut -c1-16)
SPEC="far repo:${REPO_MB}MB lfs:${LFS_MB}MiB tags:$TAGS gen:$GEN_HASH"
mkdir -p "$DATA/repos"
if [ "$(cat "$DATA/.spec" 2>/dev/null || true)" != "$SPEC" ]; then
    say "generating the far upstream ($SPEC) in bench-work/far/data (once, then cached)"
    rm -rf "$DATA/repos/far.git" "$DATA/storage" "$DATA/.spec"
    python3 "$ROOT/scripts/bench/genfar.py" "$DATA" "$REPO_MB" "$LFS_MB" "$TAGS"
    echo "$SPEC" >"$DATA/.spec"
fi
if [ "$(cat "$DATA/repos/small/.generator" 2>/dev/null || true)" != "$GEN_HASH" ]; then
    rm -rf "$DATA/repos/small"
    mkdir -p "$DATA/repos/small"
    echo "$GEN_HASH" >"$DATA/repos/small/.generator"
fi
python3 "$ROOT/scripts/bench/genrepos.py" small "$DATA/repos/small" "$SMALL_COUNT"
UPSTREAM=$DATA/repos/far.git
LFS_STORE=$DATA/storage/git/far
LFS_COUNT=$(find "$LFS_STORE" -type f | wc -l)
file_bytes() { find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { printf "%d\n", s }'; }
LFS_BYTES=$(file_bytes "$LFS_STORE")
PACK_BYTES=$(file_bytes "$UPSTREAM/objects/pack")
COMMITS=$(git -C "$UPSTREAM" rev-list --all --count)
N_TAGS=$(git -C "$UPSTREAM" for-each-ref refs/tags | wc -l)
N_BRANCHES=$(git -C "$UPSTREAM" for-each-ref refs/heads | wc -l)
LARGEST=$(find "$LFS_STORE" -type f -printf '%s\n' | sort -g | tail -n1)
refs_of() { git -C "$1" for-each-ref --format='%(objectname) %(refname)'; echo "HEAD $(git -C "$1" symbolic-ref HEAD)"; }
refs_of "$UPSTREAM" >"$DATA/far.refs"

rm -rf "$RUN"
mkdir -p "$RUN"

# --- servers: giftless, fcgiwrap + git http-backend, nginx in front; two far-link proxies ----------------
say "starting giftless, fcgiwrap, nginx and the far-link proxies"
giftless_yaml "$DATA/storage" 7200 >"$RUN/giftless.yaml"
GL_PORT=$(free_port)
# Sync workers (giftless 0.6.2's lazy authenticator set-up races in threaded ones); the batch API is all
# they answer here: nginx serves the object files.
GIFTLESS_CONFIG_FILE=$RUN/giftless.yaml start_group "$RUN/giftless.log" "$VENV/bin/gunicorn" --no-control-socket \
    --workers 8 --timeout 600 --bind "127.0.0.1:$GL_PORT" --chdir "$RUN" --log-level warning giftless.wsgi_entrypoint:app
wait_port "$GL_PORT" "$STARTED" || { echo "bench-far: giftless did not start (bench-work/far/run/giftless.log)" >&2; exit 1; }
mkdir -p "$RUN/nginx"
start_group "$RUN/nginx/fcgiwrap.log" /usr/sbin/fcgiwrap -c 16 -s "unix:$RUN/nginx/fcgi.sock"
for i in $(seq 1 50); do [ -S "$RUN/nginx/fcgi.sock" ] && break; sleep 0.1; done
NGX_PORT=$(free_port)
cat >"$RUN/nginx/nginx.conf" <<EOF
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
worker_processes 2;
daemon off;
pid $RUN/nginx/nginx.pid;
error_log $RUN/nginx/error.log;
events { worker_connections 1024; }
http {
    log_format far '\$request_method \$uri \$status \$body_bytes_sent "\$http_range" \$request_time';
    access_log $RUN/nginx/access.log far;
    client_body_temp_path $RUN/nginx/body;
    proxy_temp_path $RUN/nginx/proxy;
    fastcgi_temp_path $RUN/nginx/fastcgi;
    uwsgi_temp_path $RUN/nginx/uwsgi;
    scgi_temp_path $RUN/nginx/scgi;
    server {
        listen 127.0.0.1:$NGX_PORT backlog=1024;
        # LFS object files, straight from giftless's storage, with Range.
        location ~ "^/(?<orgrepo>.+)\\.git/info/lfs/objects/storage/(?<oid>[0-9a-f]{64})\$" {
            alias $DATA/storage/\$orgrepo/\$oid;
            default_type application/octet-stream;
        }
        # The LFS batch API: giftless.
        location ~ ^/.+\\.git/info/lfs/ {
            proxy_pass http://127.0.0.1:$GL_PORT;
            proxy_set_header Host \$http_host;
            proxy_buffering off;
        }
        # git smart HTTP.
        location ~ ^/git(/.*)\$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_pass unix:$RUN/nginx/fcgi.sock;
            fastcgi_param SCRIPT_FILENAME $(git --exec-path)/git-http-backend;
            fastcgi_param GIT_PROJECT_ROOT $DATA/repos;
            fastcgi_param GIT_HTTP_EXPORT_ALL "";
            fastcgi_param PATH_INFO \$1;
            fastcgi_buffering off;
        }
    }
}
EOF
start_group "$RUN/nginx/stdout.log" /usr/sbin/nginx -c "$RUN/nginx/nginx.conf" -p "$RUN/nginx"
wait_port "$NGX_PORT" "$STARTED" || { echo "bench-far: nginx did not start (bench-work/far/run/nginx/error.log)" >&2; exit 1; }
start_proxy() { # start_proxy NAME [OPTIONS...]: sets ${NAME}_PORT
    local name=$1 port attempt
    shift
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        start_group "$RUN/proxy-$name.err" python3 "$PROXY" --listen "127.0.0.1:$port" --target "127.0.0.1:$NGX_PORT" \
            --rate "$RATE" --latency "$LATENCY" --log "$RUN/proxy-$name.log" "$@"
        if wait_port "$port" "$STARTED"; then printf -v "${name}_PORT" '%s' "$port"; return 0; fi
    done
    echo "bench-far: the $name proxy did not start (bench-work/far/run/proxy-$name.err)" >&2
    exit 1
}
start_proxy CUT --cut-after "$CUT"
start_proxy CLEAN
: >>"$RUN/proxy-CUT.log"
: >>"$RUN/proxy-CLEAN.log"
CUT_URL=http://127.0.0.1:$CUT_PORT/git/far.git
CLEAN_URL=http://127.0.0.1:$CLEAN_PORT/git/far.git
git ls-remote "$CLEAN_URL" >/dev/null 2>"$RUN/ls-remote.err" ||
    { echo "bench-far: git ls-remote through the proxy failed: $(last_line "$RUN/ls-remote.err")" >&2; exit 1; }
say "nginx :$NGX_PORT (git http-backend, giftless :$GL_PORT, objects); proxies: with cuts :$CUT_PORT, without :$CLEAN_PORT"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
busy() { awk -v l="${1%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; }
if busy "$LOAD_START"; then
    echo "bench-far: warning: the machine is busy (load average $LOAD_START on $(nproc) cores); results will be noisy" >&2
fi

# --- the link as the proxy makes it --------------------------------------------------------------------------
# Time to first byte of a 1-byte Range request (one round trip plus nginx), and one connection's throughput
# on an LFS object of up to 16 MiB (curl, 30 s at most), both through the proxy without cuts.
PROBE_OID=$(find "$LFS_STORE" -type f -size -16385k -printf '%s %f\n' | sort -g | tail -n1 | cut -d' ' -f2)
[ -n "$PROBE_OID" ] || PROBE_OID=$(find "$LFS_STORE" -type f -printf '%s %f\n' | sort -g | head -n1 | cut -d' ' -f2)
PROBE_URL=http://127.0.0.1:$CLEAN_PORT/git/far.git/info/lfs/objects/storage/$PROBE_OID
PROBE_CONNECT=0 PROBE_TTFB=0 PROBE_BYTES=0 PROBE_TIME=0 PROBE_SPEED=0
read -r PROBE_CONNECT PROBE_TTFB < <(curl -s -o /dev/null -r 0-0 -w '%{time_connect} %{time_starttransfer}\n' "$PROBE_URL" || true) || true
read -r PROBE_BYTES PROBE_TIME PROBE_SPEED < <(curl -s -o /dev/null --max-time 30 -w '%{size_download} %{time_total} %{speed_download}\n' "$PROBE_URL" || true) || true
RTT_MS=$(awk -v a="$PROBE_CONNECT" -v b="$PROBE_TTFB" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
LINK_MBPS=$(awk -v s="$PROBE_SPEED" 'BEGIN { printf "%.2f", s / 1e6 }')
say "link: request to first byte ${RTT_MS} ms; one connection ${LINK_MBPS} MB/s ($PROBE_BYTES bytes in ${PROBE_TIME} s)"

# --- one try of one side ----------------------------------------------------------------------------------
# run_group TIMEOUT OUT ERR SCRIPT: runs SCRIPT (bash) in a process group of its own, with a watchdog that
# ends the group after TIMEOUT s; afterwards anything the script left running in its group is killed too.
# Sets RC, WALL and TIMED_OUT.
run_group() {
    local t0 t1 pid wpid
    t0=$EPOCHREALTIME
    setsid bash -c "$4" >"$2" 2>"$3" </dev/null &
    pid=$!
    GROUPS_STARTED+=("$pid")
    setsid bash -c "sleep $1; kill -TERM -- -$pid; sleep 10; kill -KILL -- -$pid" >/dev/null 2>&1 </dev/null &
    wpid=$!
    GROUPS_STARTED+=("$wpid")
    RC=0
    wait "$pid" || RC=$?
    t1=$EPOCHREALTIME
    kill -KILL -- "-$wpid" 2>/dev/null || true
    wait "$wpid" 2>/dev/null || true
    kill -KILL -- "-$pid" 2>/dev/null || true
    GROUPS_STARTED=("${GROUPS_STARTED[@]:0:${#GROUPS_STARTED[@]}-2}")
    WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    TIMED_OUT=$(awk -v w="$WALL" -v t="$1" -v rc="$RC" 'BEGIN { print ((rc == 143 || rc == 137) && w >= t ? 1 : 0) }')
}
# check_mirror DIR: empty when DIR is a complete mirror (refs and HEAD as upstream, every LFS object with its
# size), otherwise one line saying what is wrong.
check_mirror() {
    local dir=$1 count bytes
    [ -d "$dir" ] || { echo "no mirror at $dir"; return; }
    if ! refs_of "$dir" 2>/dev/null | cmp -s - "$DATA/far.refs"; then
        echo "refs differ from upstream's ($(refs_of "$dir" 2>/dev/null | diff - "$DATA/far.refs" | grep -c '^[<>]' || true) lines)"
        return
    fi
    count=$(find "$dir/lfs/objects" -type f 2>/dev/null | wc -l)
    bytes=$(file_bytes "$dir/lfs/objects")
    [ "$count" -eq "$LFS_COUNT" ] && [ "$bytes" -eq "$LFS_BYTES" ] ||
        echo "LFS: $count of $LFS_COUNT objects, $bytes of $LFS_BYTES bytes in lfs/objects"
}
# link_stats LOG FROM: client connections the proxy logged after line FROM: "connections cut MB-down"
link_stats() {
    sleep 0.5   # the proxy logs a connection when both of its directions have ended
    tail -n +"$(($2 + 1))" "$1" | python3 -c '
import json, sys
n = cut = down = 0
for line in sys.stdin:
    try: c = json.loads(line)
    except ValueError: continue
    if not c.get("up"):
        continue  # a connection that sent nothing: a port probe, not a client
    n += 1; cut += c.get("how") == "cut"; down += c.get("down", 0)
print(n, cut, "%.1f" % (down / 1e6))'
}
md_error() { # md_error OUT ERR: the last error mirrordeck reported (its JSON), else its last line of stderr
    python3 - "$1" <<'EOF' 2>/dev/null || last_line "$2"
import json, sys
d = json.load(open(sys.argv[1]))
errors = ["%s: %s" % (e.get("kind") or "sync", e["error"]) for e in d if e.get("error")]
if not errors:
    sys.exit(1)
print(errors[-1].strip().splitlines()[-1])
EOF
}
# one_try PHASE N SIDE URL PROXYLOG: one cold mirror; appends a line to $RUN/tries.tsv:
# phase try side outcome wall rc connections cut MB-down last-line
one_try() {
    local phase=$1 n=$2 side=$3 url=$4 plog=$5 tag dir from script outcome line conns cuts mbdown
    tag=$phase-$n-$side
    from=$(wc -l <"$plog")
    if [ "$side" = mirrordeck ]; then
        dir=$RUN/$tag-home
        rm -rf "$dir"
        script=$(printf '%q add --home %q far %q >/dev/null && exec %q sync --home %q far --json' "$BIN" "$dir" "$url" "$BIN" "$dir")
    else
        dir=$RUN/$tag.git
        rm -rf "$dir"
        script=$(printf 'git clone --mirror %q %q && exec git -C %q lfs fetch --all' "$url" "$dir" "$dir")
    fi
    sync
    run_group "$TRY_TIMEOUT" "$RUN/$tag.out" "$RUN/$tag.err" "$script"
    [ "$side" = mirrordeck ] && dir=$dir/mirrors/far.git
    if [ "$TIMED_OUT" = 1 ]; then
        outcome=timeout
        line="timed out after $TRY_TIMEOUT s (killed); last: $(last_line "$RUN/$tag.err")"
    elif [ "$RC" -ne 0 ]; then
        outcome=failed
        if [ "$side" = mirrordeck ]; then line=$(md_error "$RUN/$tag.out" "$RUN/$tag.err"); else line=$(last_line "$RUN/$tag.err"); fi
        line="exit $RC: ${line:-(no output)}"
    else
        line=$(check_mirror "$dir")
        if [ -z "$line" ]; then outcome=ok; else outcome=incomplete; fi
    fi
    read -r conns cuts mbdown < <(link_stats "$plog" "$from")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$phase" "$n" "$side" "$outcome" "$WALL" "$RC" \
        "$conns" "$cuts" "$mbdown" "$(cell "$line")" >>"$RUN/tries.tsv"
    printf '  %-5s try %2s %-10s %-10s %9s  %s\n' "$phase" "$n" "$side" "$outcome" "$(secs "$WALL")" "${line:0:160}"
    rm -rf "$RUN/$tag-home" "$RUN/$tag.git"
}
: >"$RUN/tries.tsv"

# --- (a) cold mirrors through the cutting proxy --------------------------------------------------------------
say "(a) $TRIES tries a side through the cutting proxy (cuts after $CUT bytes), sides interleaved"
for ((t = 1; t <= TRIES; t++)); do
    if ((t % 2)); then order="mirrordeck git"; else order="git mirrordeck"; fi
    for side in $order; do one_try cut "$t" "$side" "$CUT_URL" "$RUN/proxy-CUT.log"; done
done

# --- (b) the same mirrordeck transfer without cuts -----------------------------------------------------------
say "(b) $CLEAN_TRIES mirrordeck runs through the same proxy without cuts"
for ((t = 1; t <= CLEAN_TRIES; t++)); do one_try clean "$t" mirrordeck "$CLEAN_URL" "$RUN/proxy-CLEAN.log"; done

# --- (c) up-to-date mirrors behind the link ---------------------------------------------------------------------
say "(c) $SMALL_COUNT up-to-date mirrors behind the link without cuts: setting up"
HOME_C=$RUN/home-small
GITM=$RUN/git-small
mkdir -p "$GITM"
NAMES=()
for ((i = 0; i < SMALL_COUNT; i++)); do NAMES+=("$(printf 'r%03d' "$i")"); done
for n in "${NAMES[@]}"; do
    printf '[[mirror]]\nname = "%s"\nupstream = "http://127.0.0.1:%s/git/small/%s.git"\ninterval = "2h"\n\n' "$n" "$CLEAN_PORT" "$n"
done >"$RUN/small.toml"
"$BIN" import --home "$HOME_C" "$RUN/small.toml" >"$RUN/small-import.out"
"$BIN" sync --all --home "$HOME_C" >"$RUN/small-initial.out" 2>&1 ||
    { echo "bench-far: the initial mirrordeck sync of the small mirrors failed (bench-work/far/run/small-initial.out)" >&2; exit 1; }
printf '%s\n' "${NAMES[@]}" |
    xargs -P "$PARALLEL" -I{} git clone -q --mirror "http://127.0.0.1:$CLEAN_PORT/git/small/{}.git" "$GITM/{}.git"
md_small() { "$BIN" sync --all --home "$HOME_C" >"$RUN/small-md.out" 2>&1; }
git_small() { printf '%s\0' "$GITM"/*.git | xargs -0 -P "$PARALLEL" -I{} git -C {} fetch --prune >>"$RUN/small-git.log" 2>&1; }
SMALL_NOT_UP=0
timed_small() { # timed_small SIDE: appends the wall time to $RUN/small.SIDE
    local t0 t1 ok
    t0=$EPOCHREALTIME
    "$1" || echo "  $1 exited $?"
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }' >>"$RUN/small.$1"
    if [ "$1" = md_small ]; then
        ok=$(grep -c ': up to date' "$RUN/small-md.out" || true)
        [ "$ok" -eq "$SMALL_COUNT" ] || { SMALL_NOT_UP=$((SMALL_NOT_UP + SMALL_COUNT - ok)); echo "  mirrordeck: only $ok of $SMALL_COUNT up to date"; }
    fi
}
say "(c) one warm-up pass, then $ROUNDS interleaved rounds"
md_small || true
git_small || true
: >"$RUN/small.md_small"
: >"$RUN/small.git_small"
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then order="md_small git_small"; else order="git_small md_small"; fi
    for side in $order; do timed_small "$side"; done
    printf '  round %d: mirrordeck %s, xargs -P %d git fetch %s\n' "$r" "$(secs "$(tail -n1 "$RUN/small.md_small")")" \
        "$PARALLEL" "$(secs "$(tail -n1 "$RUN/small.git_small")")"
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
cleanup

# --- results ---------------------------------------------------------------------------------------------------
count_ok() { awk -F'\t' -v p="$1" -v s="$2" '$1 == p && $3 == s && $4 == "ok" { n++ } END { print n + 0 }' "$RUN/tries.tsv"; }
times_ok() { awk -F'\t' -v p="$1" -v s="$2" '$1 == p && $3 == s && $4 == "ok" { print $5 }' "$RUN/tries.tsv"; }
MD_OK=$(count_ok cut mirrordeck)
GIT_OK=$(count_ok cut git)
CLEAN_OK=$(count_ok clean mirrordeck)
M_CUT=$(times_ok cut mirrordeck | median)
M_GITCUT=$(times_ok cut git | median)
M_CLEAN=$(times_ok clean mirrordeck | median)
V_A=$([ "$MD_OK" -eq "$TRIES" ] && echo "✅ pass" || echo "❌ FAIL")
if [ -n "$M_CUT" ] && [ -n "$M_CLEAN" ]; then
    R_TIME=$(ratio "$M_CUT" "$M_CLEAN")
    V_B=$(verdict "$R_TIME" "$TARGET_TIME")
    B_CELLS="$(secs "$M_CUT") | $(secs "$M_CLEAN") | $R_TIME"
else
    R_TIME="n/a"
    V_B="❌ FAIL: $([ -z "$M_CUT" ] && echo "no mirrordeck try completed through the cuts" || echo "no run without cuts completed")"
    B_CELLS="$([ -n "$M_CUT" ] && secs "$M_CUT" || echo "—") | $([ -n "$M_CLEAN" ] && secs "$M_CLEAN" || echo "—") | n/a"
fi
M_SMD=$(median <"$RUN/small.md_small")
M_SGIT=$(median <"$RUN/small.git_small")
R_SMALL=$(ratio "$M_SMD" "$M_SGIT")
V_C=$(verdict "$R_SMALL" "$TARGET_SMALL")
[ "$SMALL_NOT_UP" -eq 0 ] || V_C="❌ FAIL: $SMALL_NOT_UP syncs were not up to date"
samples() { awk '{ printf "%s%.3f", (NR > 1 ? ", " : ""), $1 }' "$1"; }

# The knobs, and whether this run used the issue's values (those that differ are listed in $RUN/scaled).
: >"$RUN/scaled"
knob_row() { # knob_row NAME VALUE DEFAULT MEANING
    printf '| `%s` | %s | %s | %s |\n' "$1" "$2" "$3" "$4"
    [ "$2" = "$3" ] || echo "$1" >>"$RUN/scaled"
}
KNOBS=$(
    knob_row BENCH_FAR_TRIES "$TRIES" 10 "tries a side in (a)"
    knob_row BENCH_FAR_REPO_MB "$REPO_MB" 100 "MB of incompressible blobs in the repository"
    knob_row BENCH_FAR_LFS_MB "$LFS_MB" 1024 "MiB of LFS objects"
    knob_row BENCH_FAR_TAGS "$TAGS" 40 "annotated tags"
    knob_row BENCH_FAR_SMALL_COUNT "$SMALL_COUNT" 200 "up-to-date mirrors in (c)"
    knob_row BENCH_FAR_CLEAN_TRIES "$CLEAN_TRIES" 3 "mirrordeck runs without cuts in (b)"
    knob_row BENCH_FAR_ROUNDS "$ROUNDS" 5 "rounds of (c)"
    knob_row BENCH_FAR_LATENCY_MS "$LATENCY" 75 "proxy delay each way (RTT = 2 ×)"
    knob_row BENCH_FAR_RATE "$RATE" 20000000 "proxy rate cap, bytes/s each way of each connection"
    knob_row BENCH_FAR_CUT "$CUT" 8000000-24000000 "a connection is cut after this many bytes from the server"
    knob_row BENCH_FAR_TRY_TIMEOUT "$TRY_TIMEOUT" 3600 "seconds before a try is killed and counted as failed"
)
SCALED=$(paste -sd' ' "$RUN/scaled")
SCALE_NOTE=""
if [ -s "$RUN/scaled" ]; then
    SCALE_NOTE="
**A scaled-down run, not the benchmark's result:** $(sed 's/.*/`&`/' "$RUN/scaled" | paste -sd, | sed 's/,/, /g') differ from the
issue's values (see the knobs below); \`make bench BENCH=far\` with no knobs set measures the issue's case.
"
fi

TRY_ROWS=$(awk -F'\t' -v OFS=' | ' '
    function s(x) { return x < 10 ? sprintf("%.3f s", x) : sprintf("%.1f s", x) }
    { out = ($4 == "ok" ? "✅ ok" : "❌ " $4)
      printf "| %s | %s | %s | %s | %s | %s / %s | %s | %s |\n", ($1 == "cut" ? "with cuts" : "without cuts"), $2, $3, out, s($5), $7, $8, $9, ($10 == "" ? "" : "`" $10 "`") }' "$RUN/tries.tsv")

CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
OS=$( (. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}") || true)
FSTYPE=$(findmnt -no FSTYPE -T "$WORK" 2>/dev/null || echo "?")
LIBGIT2_PATH=$( (ldd "$BIN" 2>/dev/null || true) | awk '/libgit2/ && !p { print $3; p = 1 }')
LIBGIT2=$([ -n "$LIBGIT2_PATH" ] && basename "$(readlink -f "$LIBGIT2_PATH")" || echo "?")
MD_VERSION=$("$BIN" --version 2>/dev/null || echo "?")
REV="binary built $(date -u -r "$BIN" '+%Y-%m-%d %H:%M UTC'); work tree at commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")"
[ -z "$(git -C "$ROOT" status --porcelain -- Sources Package.swift scripts/farlink-proxy.py 2>/dev/null)" ] || REV="$REV with uncommitted changes in Sources/ or the proxy"
if [ -n "$(find "$ROOT/Sources" "$ROOT/Package.swift" -newer "$BIN" -print -quit 2>/dev/null)" ]; then
    REV="$REV; **the binary is older than the sources** (\`make bench\` rebuilds it first)"
fi
GIFTLESS_V=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("giftless"))' 2>/dev/null || echo "?")
BUSY_NOTE=""
if busy "$LOAD_START" || busy "$LOAD_END"; then
    BUSY_NOTE="
**Other work was running on this machine during this run** (see the load averages): times are noisier than usual."
fi
MB() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
MIB() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

LINK_NOTE=""
if awk -v m="$LINK_MBPS" -v r="$RATE" 'BEGIN { exit !(m * 1e6 < r / 2) }'; then
    LINK_NOTE=" **That is well under the \`--rate\` of $(MB "$RATE") MB/s**: every time here is for the link as measured, slower
than its settings say, for both sides."
    if grep -q 'await asyncio.sleep(args.latency' "$PROXY"; then
        LINK_NOTE="$LINK_NOTE This proxy waits out its latency for each chunk before it reads the next, so a connection
carries at most one chunk (≤ 64 KiB) per $LATENCY ms whatever the rate cap."
    fi
fi
SECTION=$RUN/far.md
cat >"$SECTION" <<EOF
## Far links

Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`scripts/bench-far.sh\` (issue 12, "Far upstreams"): mirrordeck $MD_VERSION, $REV.
$SCALE_NOTE
| machine | |
| --- | --- |
| CPU | $CPU, $(nproc) cores (\`nproc\`) |
| memory | $MEM |
| kernel / OS | $(uname -sr) / $OS |
| storage of \`bench-work/\` | $FSTYPE |
| git / git-lfs | $(git --version | sed 's/^git version //') / $(git lfs version | cut -d' ' -f1 | sed 's|git-lfs/||') |
| libgit2 (linked by mirrordeck) | $LIBGIT2 |
| server | $(/usr/sbin/nginx -v 2>&1 | sed 's/.*: //'): git http-backend (fcgiwrap), giftless $GIFTLESS_V (batch API), object files |
| load average (1/5/15 min) | $LOAD_START at start, $LOAD_END at the end |
$BUSY_NOTE

| goal | mirrordeck | other side | ratio | target | result |
| --- | ---: | ---: | ---: | ---: | --- |
| (a) cold mirrors completed through cuts every $CUT bytes, of $TRIES tries | $MD_OK / $TRIES | git + git-lfs: $GIT_OK / $TRIES | | $TRIES / $TRIES | $V_A |
| (b) time to complete with cuts ÷ without (medians of completed runs) | $B_CELLS | ≤ $TARGET_TIME | $V_B |
| (c) $SMALL_COUNT up-to-date mirrors: \`sync --all\` ÷ \`xargs -P $PARALLEL git fetch --prune\` | $(secs "$M_SMD") | $(secs "$M_SGIT") | $R_SMALL | ≤ $TARGET_SMALL | $V_C |

In (b) the mirrordeck column is the median time of its completed tries through the cuts, the other the
median of $CLEAN_TRIES runs of the same transfer through the same link without cuts ($CLEAN_OK of them completed).

### The link and the upstream

All traffic goes through \`scripts/farlink-proxy.py\` (TCP, one per mode) in front of one nginx on 127.0.0.1
that serves git smart HTTP (\`git http-backend\`), the LFS batch API (giftless, which hands out links back
through the same proxy) and the LFS object files with \`Range\`, as a hosting site does; both clients derive
the LFS endpoint from the repository URL. Proxy settings: \`--latency $LATENCY --rate $RATE\`, plus
\`--cut-after $CUT\` for the cutting one. Measured through the proxy without cuts before the tries: a 1-byte
request answered in ${RTT_MS} ms (one round trip and nginx), and one connection downloaded $(MIB "${PROBE_BYTES:-0}") MiB at
$LINK_MBPS MB/s (curl).$LINK_NOTE

\`far.git\` (\`scripts/bench/genfar.py\`): $COMMITS commits, $N_BRANCHES branches and $N_TAGS annotated tags, $(MB "$PACK_BYTES") MB packed
(one pack with a bitmap); incompressible blobs spread over the history (each tag adds about $(awk -v a="$REPO_MB" -v b="$TAGS" 'BEGIN { printf "%.1f", a / b }') MB) and
$LFS_COUNT LFS pointers along it, to $(MIB "$LFS_BYTES") MiB of LFS objects (4 of $(MIB "$LARGEST") MiB, the rest 1–8 MiB).

| knob | this run | issue's value | what |
| --- | --- | --- | --- |
$KNOBS

### Every try

A try is a cold mirror into an empty directory (mirrordeck: a new home): git side \`git clone --mirror URL D &&
git -C D lfs fetch --all\` (git-lfs's defaults: 8 transfers, its own retries and resume), mirrordeck side
\`mirrordeck add far URL && mirrordeck sync far --json\` (its defaults; the sync queues the LFS job itself).
It counts as ok when the command exits 0, the mirror's refs and HEAD equal the upstream's, and all
$LFS_COUNT LFS objects are in \`lfs/objects\` with their sizes. Sides alternate which goes first; a try is killed
after $TRY_TIMEOUT s. Connections / cut: the proxy's connections during the try and how many it cut; MB: bytes
it passed from the server. The last column is the last line of the error (mirrordeck: the error of its JSON
report; git: the last line of its output).

| link | try | side | outcome | time | connections / cut | MB from server | last line of the error |
| --- | ---: | --- | --- | ---: | ---: | ---: | --- |
$TRY_ROWS

### (c) Up-to-date mirrors behind the link

$SMALL_COUNT small upstreams (\`genrepos.py small\`: 5 + 2 commits and a tag each) served over smart HTTP through the
proxy without cuts; mirrors registered with \`mirrordeck import\` and synced once, the git side \`git clone
--mirror\` copies. One warm-up pass, then $ROUNDS rounds, order alternating; nothing changes upstream.

| side | command | median wall | samples (s) |
| --- | --- | ---: | --- |
| mirrordeck | \`mirrordeck sync --all\` (default \`--parallel 8\`) | $(secs "$M_SMD") | $(samples "$RUN/small.md_small") |
| git | \`xargs -P $PARALLEL git -C M fetch --prune\` | $(secs "$M_SGIT") | $(samples "$RUN/small.git_small") |
EOF
mkdir -p "$(dirname "$DOC")"
python3 "$ROOT/scripts/bench/splice.py" "$DOC" far "$SECTION"

say "summary (details in docs/benchmarks.md, Far links; logs in bench-work/far/run/)"
[ -z "$SCALED" ] || echo "  scaled-down run (knobs:$SCALED)"
printf '  (a) completed through cuts: mirrordeck %d/%d, git + git-lfs %d/%d   target %d/%d  %s\n' "$MD_OK" "$TRIES" "$GIT_OK" "$TRIES" "$TRIES" "$TRIES" "$V_A"
printf '  (b) with cuts ÷ without: %s   target ≤ %s  %s\n' "$R_TIME" "$TARGET_TIME" "$V_B"
printf '  (c) %d up-to-date mirrors: mirrordeck %s, git %s, ratio %s   target ≤ %s  %s\n' "$SMALL_COUNT" "$(secs "$M_SMD")" "$(secs "$M_SGIT")" "$R_SMALL" "$TARGET_SMALL" "$V_C"
echo "  (total: ${SECONDS} s)"

MISSED=0
printf '%s\n' "$V_A" "$V_B" "$V_C" | grep -q FAIL && MISSED=1

# The LFS half of the far-link measurements, when its script is there: one `make bench BENCH=far` runs both.
if [ -z "${BENCH_FAR_SKIP_LFS_PART:-}" ] && [ -x "$ROOT/scripts/bench-far-lfs.sh" ]; then
    say "scripts/bench-far-lfs.sh"
    "$ROOT/scripts/bench-far-lfs.sh" "$BIN"
fi

if [ "${BENCH_STRICT:-}" = 1 ] && [ "$MISSED" = 1 ]; then
    echo "bench-far: a goal was missed (BENCH_STRICT=1)" >&2
    exit 3
fi
