#!/usr/bin/env bash
# Benchmarks a mirror that has lived through many incremental syncs, before and after `mirrordeck maintain`,
# against a fresh `git clone --mirror` of the same upstream, and writes the "Storage over time" section of
# docs/benchmarks.md (between <!-- bench:storage:start --> and <!-- bench:storage:end -->; other sections
# are kept as they are).
#
#   scripts/bench-storage.sh BIN     BIN: the mirrordeck binary to measure (make bench: a release build)
#
# One upstream gets a commit (a new ~6 KiB file, made with git fast-import) before each of
# BENCH_STORAGE_SYNCS (1000) `mirrordeck sync` runs over git:// (a real `git daemon` on 127.0.0.1). Every
# BENCH_STORAGE_STEP (100) syncs the curve records the mean sync time, the pack count and the mirror's
# disk use. Then, before and after `mirrordeck maintain`, the same run measures: a no-op sync (nothing new
# upstream), `git clone --bare` from the mirror over git://, and `mirrordeck verify`; and the same clone of
# a fresh `git clone --mirror` of the upstream, and its disk use.
#
#   goal: after maintenance, clone time ≤ 1.1 × the fresh mirror's; disk ≤ 1.05 × the fresh mirror's
#
# Knobs (environment): BENCH_STORAGE_SYNCS (1000), BENCH_STORAGE_STEP (100), BENCH_STORAGE_ROUNDS (5, for
# the before/after medians), BENCH_STRICT=1 to exit 3 when a goal is missed. Work lives in
# bench-work/storage/ (gitignored), rebuilt on every run.
set -euo pipefail
export LC_ALL=C

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: scripts/bench-storage.sh BIN   (BIN: an executable mirrordeck, e.g. .build/release/mirrordeck)" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
for tool in git python3 awk sort du; do
    command -v "$tool" >/dev/null || { echo "bench-storage: '$tool' is missing: run 'make test-deps'" >&2; exit 2; }
done
SYNCS=${BENCH_STORAGE_SYNCS:-1000}
STEP=${BENCH_STORAGE_STEP:-100}
ROUNDS=${BENCH_STORAGE_ROUNDS:-5}
WORK=$ROOT/bench-work/storage
RUN=$WORK/run
DOC=${BENCH_DOC:-$ROOT/docs/benchmarks.md}
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0
unset MIRRORDECK_HOME
trap 'echo "bench-storage: failed at line $LINENO (logs in bench-work/storage/run/)" >&2' ERR
trap 'exit 130' INT TERM

. "$(dirname "${BASH_SOURCE[0]}")/bench/lib.sh"   # say, free_port, wait_port, secs, median, giftless_yaml
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.4f", b - a }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
packs() { find "$1/objects/pack" -name '*.pack' | wc -l; }
disk() { du -sb "$1" | cut -f1; }

rm -rf "$RUN"
mkdir -p "$RUN/served" "$RUN/fresh"
HOME_DIR=$RUN/home
UPSTREAM=$RUN/served/lib.git
md() { "$BIN" "$@" --home "$HOME_DIR"; }

# --- upstream and git daemons ---------------------------------------------------------------------------
git init -q --bare -b main "$UPSTREAM"
commit() {  # commit N: one new file of ~6 KiB of poorly compressible text on main
    python3 - "$1" <<'PY' | git -C "$UPSTREAM" fast-import --quiet
import sys
i = int(sys.argv[1])
x = (i * 0x9E3779B97F4A7C15 | 1) & (2**64 - 1)
lines = []
for _ in range(400):
    x ^= (x << 13) & (2**64 - 1); x ^= x >> 7; x ^= (x << 17) & (2**64 - 1)
    lines.append(format(x, "x"))
content = "\n".join(lines) + "\n"
msg = f"commit {i}\n"
out = [f"commit refs/heads/main", f"committer Bench <bench@example.org> {1700000000 + i} +0000", f"data {len(msg)}", msg.rstrip("\n")]
if i > 0:
    out.append("from refs/heads/main^0")
out += [f"M 644 inline data/f{i}.txt", f"data {len(content.encode())}", content]
sys.stdout.write("\n".join(out) + "\n")
PY
}
commit 0
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
serve() {  # serve BASE → prints the port
    local port i
    port=$(free_port)
    "$(git --exec-path)/git-daemon" --reuseaddr --listen=127.0.0.1 --port="$port" --base-path="$1" --export-all \
        --informative-errors >>"$RUN/git-daemon.log" 2>&1 &
    PIDS+=($!)
    for i in $(seq 1 50); do
        if git ls-remote "git://127.0.0.1:$port/$2" >/dev/null 2>&1; then echo "$port"; return 0; fi
        sleep 0.1
    done
    echo "bench-storage: git daemon did not start (see $RUN/git-daemon.log)" >&2
    exit 1
}
UP_PORT=$(serve "$RUN/served" lib.git)
md add lib "git://127.0.0.1:$UP_PORT/lib.git" >/dev/null
md sync lib >/dev/null
MIRROR=$HOME_DIR/mirrors/lib.git
MIRROR_PORT=$(serve "$HOME_DIR/mirrors" lib.git)

# --- the curve: SYNCS incremental syncs -----------------------------------------------------------------
say "$SYNCS incremental syncs of one mirror"
CURVE=""
sum=0
for i in $(seq 1 "$SYNCS"); do
    commit "$i"
    t=$(now)
    md sync lib >/dev/null
    sum=$(awk -v s="$sum" -v d="$(since "$t")" 'BEGIN { print s + d }')
    if [ $((i % STEP)) -eq 0 ]; then
        row="| $i | $(secs "$(awk -v s="$sum" -v n="$STEP" 'BEGIN { print s / n }')") | $(packs "$MIRROR") | $(mib "$(disk "$MIRROR")") |"
        echo "$row"
        CURVE+="$row"$'\n'
        sum=0
    fi
done

# --- before / after maintenance ------------------------------------------------------------------------
measure() {  # measure LABEL REPO_URL → sets NOOP CLONE VERIFY (medians)
    local r t noop=() clone=() verify=()
    for r in $(seq 1 "$ROUNDS"); do
        t=$(now); md sync lib >/dev/null; noop+=("$(since "$t")")
        rm -rf "$RUN/clone.git"
        t=$(now); git clone -q --bare "$2" "$RUN/clone.git"; clone+=("$(since "$t")")
    done
    for r in 1 2; do
        t=$(now); md verify lib >/dev/null; verify+=("$(since "$t")")
    done
    NOOP=$(printf '%s\n' "${noop[@]}" | median)
    CLONE=$(printf '%s\n' "${clone[@]}" | median)
    VERIFY=$(printf '%s\n' "${verify[@]}" | median)
    echo "$1: no-op sync $(secs "$NOOP"), clone $(secs "$CLONE"), verify $(secs "$VERIFY")"
}
say "before maintenance"
PACKS_BEFORE=$(packs "$MIRROR")
DISK_BEFORE=$(disk "$MIRROR")
measure before "git://127.0.0.1:$MIRROR_PORT/lib.git"
B_NOOP=$NOOP B_CLONE=$CLONE B_VERIFY=$VERIFY
say "maintenance"
t=$(now)
md maintain lib
MAINTAIN=$(since "$t")
PACKS_AFTER=$(packs "$MIRROR")
DISK_AFTER=$(disk "$MIRROR")
say "after maintenance"
measure after "git://127.0.0.1:$MIRROR_PORT/lib.git"
A_NOOP=$NOOP A_CLONE=$CLONE A_VERIFY=$VERIFY
say "fresh git clone --mirror"
git clone -q --mirror "git://127.0.0.1:$UP_PORT/lib.git" "$RUN/fresh/lib.git"
FRESH_DISK=$(disk "$RUN/fresh/lib.git")
FRESH_PORT=$(serve "$RUN/fresh" lib.git)
clone=()
for r in $(seq 1 "$ROUNDS"); do
    rm -rf "$RUN/clone.git"
    t=$(now); git clone -q --bare "git://127.0.0.1:$FRESH_PORT/lib.git" "$RUN/clone.git"; clone+=("$(since "$t")")
done
FRESH_CLONE=$(printf '%s\n' "${clone[@]}" | median)
echo "fresh: clone $(secs "$FRESH_CLONE"), disk $(mib "$FRESH_DISK")"
git -C "$MIRROR" fsck --full --no-progress >/dev/null
[ "$(git -C "$MIRROR" for-each-ref)" = "$(git -C "$RUN/fresh/lib.git" for-each-ref)" ]

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN { print (r <= g ? "✅" : "❌") }'; }
CLONE_RATIO=$(ratio "$A_CLONE" "$FRESH_CLONE")
DISK_RATIO=$(ratio "$DISK_AFTER" "$FRESH_DISK")
BUILD="release build"
case "$BIN" in *"/debug/"*) BUILD="debug build (sync, maintain and verify times are slower than a release build's)" ;; esac
{
cat <<EOF2
## Storage over time

\`scripts/bench-storage.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end,
$(git --version), mirrordeck $BUILD): one mirror, $SYNCS incremental syncs over git:// of an upstream that
got one commit (a new ~6 KiB file) before each; then \`mirrordeck maintain\`; medians of $ROUNDS rounds.

| after N syncs | mean sync time (last $STEP) | packs | mirror on disk |
| ---: | ---: | ---: | ---: |
$CURVE
| | before maintenance | after maintenance | fresh \`git clone --mirror\` |
| --- | ---: | ---: | ---: |
| packs | $PACKS_BEFORE | $PACKS_AFTER | $(packs "$RUN/fresh/lib.git") |
| disk | $(mib "$DISK_BEFORE") | $(mib "$DISK_AFTER") | $(mib "$FRESH_DISK") |
| no-op sync | $(secs "$B_NOOP") | $(secs "$A_NOOP") | — |
| \`git clone --bare\` from it (git://) | $(secs "$B_CLONE") | $(secs "$A_CLONE") | $(secs "$FRESH_CLONE") |
| \`mirrordeck verify\` | $(secs "$B_VERIFY") | $(secs "$A_VERIFY") | — |

\`mirrordeck maintain\` took $(secs "$MAINTAIN") ($PACKS_BEFORE packs → $PACKS_AFTER, with a bitmap and a commit-graph).

| goal | measured | result |
| --- | ---: | --- |
| clone after maintenance ≤ 1.1 × fresh mirror's | $CLONE_RATIO × | $(verdict "$CLONE_RATIO" 1.1) |
| disk after maintenance ≤ 1.05 × fresh mirror's | $DISK_RATIO × | $(verdict "$DISK_RATIO" 1.05) |

After maintenance the mirror passed \`git fsck --full\` and its refs equalled the fresh mirror's. The
maintained mirror carries a reachability bitmap and a commit-graph that the fresh clone has not; they
count in its disk use.
EOF2
} >"$RUN/section.md"
python3 "$ROOT/scripts/bench/splice.py" "$DOC" storage "$RUN/section.md"
say "results written to docs/benchmarks.md (Storage over time)"
cat "$RUN/section.md"
if [ -n "${BENCH_STRICT:-}" ] && grep -q "❌" "$RUN/section.md"; then exit 3; fi
