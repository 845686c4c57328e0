#!/usr/bin/env bash
# Benchmarks `mirrordeck verify` (checksum audits of LFS objects) against `openssl dgst -sha256`, `sha256sum`
# and `git lfs fsck --objects` on the same files in the same run, and writes the "Checksum audits" section
# of docs/benchmarks.md (between <!-- bench:audit:start --> and <!-- bench:audit:end -->; other sections are
# kept as they are).
#
#   scripts/bench-audit.sh BIN     BIN: the mirrordeck binary to measure (a release build)
#
# Data: 4 GiB of random LFS objects (48 × 64 MiB, 768 × 1 MiB, 4096 × 64 KiB; BENCH_AUDIT_MB scales it),
# referenced by one commit of pointer files. mirrordeck audits a mirror of it; git-lfs checks a clone of
# the same commit; both object stores are hard links to the same files, so every side reads the same bytes.
#
#   single thread:  mirrordeck verify --threads 1   ≥ 0.9 × openssl dgst -sha256 (one process)
#   all cores:      mirrordeck verify (default)     ≥ 0.85 × cores × openssl single-threaded
#   vs git-lfs:     mirrordeck verify (default)     ≥ 3 × git lfs fsck --objects
#
# Warm: the files are in the page cache (read once first). Cold: before each cold run the data set's pages are
# evicted with posix_fadvise(POSIX_FADV_DONTNEED) file by file (no root needed, nothing else on the machine
# loses its cache); fincore(1) confirms what stayed resident.
#
# Knobs (environment): BENCH_AUDIT_MB (4096), BENCH_AUDIT_ROUNDS (3 warm rounds, sides interleaved),
# BENCH_AUDIT_COLD_ROUNDS (1; 0 skips cold), BENCH_STRICT=1 to exit 3 when a target is missed.
# The data set is cached in bench-work/audit/data (gitignored); bench-work/audit/run is rebuilt every run.
set -euo pipefail
export LC_ALL=C

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: scripts/bench-audit.sh BIN   (BIN: an executable mirrordeck, e.g. .build/release/mirrordeck)" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
for tool in git git-lfs openssl sha256sum python3 fincore awk xargs; do
    command -v "$tool" >/dev/null || { echo "bench-audit: '$tool' is missing: run 'make test-deps'" >&2; exit 2; }
done

WORK=$ROOT/bench-work/audit
DATA=$WORK/data
STORE=$DATA/store
RUN=$WORK/run
DOC=${BENCH_DOC:-$ROOT/docs/benchmarks.md}
SIZE_MB=${BENCH_AUDIT_MB:-4096}
ROUNDS=${BENCH_AUDIT_ROUNDS:-3}
COLD_ROUNDS=${BENCH_AUDIT_COLD_ROUNDS:-1}
CORES=$(nproc)
TARGET_SINGLE=0.9
TARGET_ALL=0.85
TARGET_LFS=3

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0 GIT_LFS_SKIP_SMUDGE=1
unset MIRRORDECK_HOME
trap 'echo "bench-audit: failed at line $LINENO (logs in bench-work/audit/run/)" >&2' ERR
trap 'exit 130' INT TERM

. "$(dirname "${BASH_SOURCE[0]}")/bench/lib.sh"   # say, free_port, wait_port, secs, median, giftless_yaml
gib() { awk -v b="$1" 'BEGIN { printf "%.2f GiB", b / 1073741824 }'; }
rate() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.0f MiB/s", b / 1048576 / t }'; }
machine_cpu() { awk '$1 == "cpu" { print ($2 + $3 + $4 + $7 + $8 + $9) / 100; exit }' /proc/stat; }
# `times` must run in this shell (in a $(…) subshell it would report that subshell's children: none).
children_cpu() { # children_cpu VAR
    times >"$RUN/.times"
    printf -v "$1" '%s' "$(awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); s += p[1] * 60 + p[2] } print s }' "$RUN/.times")"
}
verdict_ge() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "✅ pass" : "❌ FAIL") }'; }
json_path() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[0]
for k in sys.argv[2:]: v=v[k]
print(v)' "$@"; }

# --- the data set (cached) -------------------------------------------------------------------------------
SPEC="v1 $SIZE_MB"
if [ "$(cat "$DATA/.spec" 2>/dev/null)" != "$SPEC" ]; then
    say "generating $SIZE_MB MiB of LFS objects in bench-work/audit/data (cached for later runs)"
    rm -rf "$DATA"
    mkdir -p "$STORE"
    python3 "$ROOT/scripts/bench/genrepos.py" lfs-audit "$DATA" "$SIZE_MB"
    echo "$SPEC" >"$DATA/.spec"
fi
COUNT=$(find "$STORE" -type f | wc -l)
BYTES=$(find "$STORE" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }')
find "$STORE" -type f -print0 | sort -z >"$WORK/files0"

rm -rf "$RUN"
mkdir -p "$RUN"
HOME_MD=$RUN/home
say "setting up: a mirror and a git-lfs clone of $COUNT objects ($(gib "$BYTES")), both hard-linked to one store"
"$BIN" add --home "$HOME_MD" big "$DATA/up.git" >/dev/null
# The objects are put in place before the first sync; its LFS fetch finds each one there, verifies it and
# records it present (nothing crosses a network), which also warms the page cache.
mkdir -p "$HOME_MD/mirrors/big.git/lfs"
cp -al "$STORE" "$HOME_MD/mirrors/big.git/lfs/objects"
"$BIN" sync --home "$HOME_MD" big >"$RUN/sync.out" 2>&1
"$BIN" lfs status --home "$HOME_MD" big --json >"$RUN/status.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["objects_present"] == int(sys.argv[2]) == s["objects_total"] else 1)' \
    "$RUN/status.json" "$COUNT" || { echo "bench-audit: the mirror does not hold all $COUNT objects (bench-work/audit/run/status.json)" >&2; exit 1; }
git clone -q "$DATA/up.git" "$RUN/clone"
mkdir -p "$RUN/clone/.git/lfs"
cp -al "$STORE" "$RUN/clone/.git/lfs/objects"

evict() { # drops the data set's pages from the page cache (only this data set's)
    python3 - "$WORK/files0" <<'PY'
import os, sys
for path in open(sys.argv[1], "rb").read().split(b"\0"):
    if path:
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
PY
}
resident() { # percent of the data set's bytes in the page cache
    xargs -0 fincore -b -n -o RES <"$WORK/files0" | awk -v t="$BYTES" '{ s += $1 } END { printf "%.1f", 100 * s / t }'
}
warm() { xargs -0 cat <"$WORK/files0" >/dev/null; }

# --- the sides --------------------------------------------------------------------------------------------
# Each appends "wall client_cpu machine_cpu" to $RUN/<mode>.<side>.
timed() {
    local out=$1 t0 t1 c0 c1 m0 m1
    shift
    children_cpu c0; m0=$(machine_cpu); t0=$EPOCHREALTIME
    "$@"
    t1=$EPOCHREALTIME; m1=$(machine_cpu); children_cpu c1
    awk -v a="$t0" -v b="$t1" -v c0="$c0" -v c1="$c1" -v m0="$m0" -v m1="$m1" 'BEGIN { printf "%.4f %.3f %.2f\n", b - a, c1 - c0, m1 - m0 }' >>"$out"
}
md_verify() { # md_verify OUT JSON [ARGS...]
    local out=$1 json=$2
    shift 2
    timed "$out" "$BIN" verify --home "$HOME_MD" big --json "$@" >"$json" 2>>"$RUN/verify.err"
    [ "$(json_path "$json" result)" = clean ] && [ "$(json_path "$json" audit lfs objects_checked)" = "$COUNT" ] &&
        [ "$(json_path "$json" audit lfs bytes_checked)" = "$BYTES" ] ||
        { echo "bench-audit: mirrordeck verify did not check all $COUNT objects clean ($json)" >&2; exit 1; }
    # The audit's own duration (from its run in the catalog), without process start and job hand-over.
    awk -v ms="$(json_path "$json" audit duration_ms)" 'BEGIN { printf "%.4f\n", ms / 1000 }' >>"$out.audit"
}
side() { # side NAME MODE ROUND
    local name=$1 mode=$2 r=$3 out=$RUN/$2.$1
    case $name in
        md1) md_verify "$out" "$RUN/$mode-md1-$r.json" --threads 1 ;;
        mdN) md_verify "$out" "$RUN/$mode-mdN-$r.json" ;;
        openssl) timed "$out" sh -c "xargs -0 openssl dgst -sha256 <'$WORK/files0' >'$RUN/openssl.out'" ;;
        opensslN) timed "$out" sh -c "xargs -0 -P $CORES -n 64 openssl dgst -sha256 <'$WORK/files0' >'$RUN/opensslN.out'" ;;
        sha256sum) timed "$out" sh -c "xargs -0 sha256sum <'$WORK/files0' >'$RUN/sha256sum.out'" ;;
        lfsfsck) timed "$out" git -C "$RUN/clone" lfs fsck --objects >"$RUN/lfsfsck.out" 2>&1 ;;
    esac
}
SIDES=(md1 mdN openssl opensslN sha256sum lfsfsck)

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_START%% *}" -v n="$CORES" 'BEGIN { exit !(l > n / 2) }'; then
    echo "bench-audit: warning: the machine is busy (load average $LOAD_START on $CORES cores); results will be noisy" >&2
fi

say "warm cache: $ROUNDS rounds, sides interleaved (the order rotates each round)"
warm
for s in "${SIDES[@]}"; do : >"$RUN/warm.$s"; done
WARM_RES=$(resident)
: >"$RUN/warm.md1.audit"; : >"$RUN/warm.mdN.audit"; : >"$RUN/cold.md1.audit"; : >"$RUN/cold.mdN.audit"
for ((r = 1; r <= ROUNDS; r++)); do
    n=${#SIDES[@]}
    for ((i = 0; i < n; i++)); do side "${SIDES[$(((i + r - 1) % n))]}" warm "$r"; done
    line="  round $r:"
    for s in "${SIDES[@]}"; do line+=" $s $(tail -1 "$RUN/warm.$s" | cut -d' ' -f1)"; done
    echo "$line"
done
# Every side saw every object: openssl's and sha256sum's digests are the file names.
python3 - "$COUNT" "$RUN/openssl.out" "$RUN/sha256sum.out" <<'PY'
import re, sys
count = int(sys.argv[1])
for path in sys.argv[2:]:
    good = bad = 0
    for line in open(path):
        m = re.match(r"SHA2-256\((.+)\)= ([0-9a-f]{64})$", line.strip())
        name, digest = (m.group(1), m.group(2)) if m else (line.strip()[66:], line.strip()[:64])
        if name.rsplit("/", 1)[-1] == digest:
            good += 1
        else:
            bad += 1
    if good != count or bad:
        raise SystemExit(f"bench-audit: {path}: {good} of {count} objects hash to their names, {bad} do not")
PY
grep -q "Git LFS fsck OK" "$RUN/lfsfsck.out" || { echo "bench-audit: git lfs fsck did not pass (bench-work/audit/run/lfsfsck.out)" >&2; exit 1; }

COLD_RES="—"
if [ "$COLD_ROUNDS" -gt 0 ]; then
    say "cold cache: $COLD_ROUNDS round(s); the data set's pages are evicted before every run"
    for s in "${SIDES[@]}"; do : >"$RUN/cold.$s"; done
    for ((r = 1; r <= COLD_ROUNDS; r++)); do
        for s in "${SIDES[@]}"; do
            evict
            COLD_RES=$(resident)
            side "$s" cold "$r"
        done
        line="  round $r:"
        for s in "${SIDES[@]}"; do line+=" $s $(tail -1 "$RUN/cold.$s" | cut -d' ' -f1)"; done
        echo "$line"
    done
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- results ----------------------------------------------------------------------------------------------
col() { awk -v c="$2" '{ print $c }' "$1" | median; }
samples() { awk '{ printf "%s%.2f", (NR > 1 ? ", " : ""), $1 }' "$1"; }
tput_() { awk -v b="$BYTES" -v t="$1" 'BEGIN { printf "%.1f", b / 1048576 / t }'; } # MiB/s
declare -A T TP
for mode in warm cold; do
    [ "$mode" = cold ] && [ "$COLD_ROUNDS" -eq 0 ] && continue
    for s in "${SIDES[@]}"; do
        T[$mode.$s]=$(col "$RUN/$mode.$s" 1)
        TP[$mode.$s]=$(tput_ "${T[$mode.$s]}")
    done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
row_for() { # row_for MODE
    local m=$1
    local single all lfs
    single=$(ratio "${TP[$m.md1]}" "${TP[$m.openssl]}")
    all=$(awk -v a="${TP[$m.mdN]}" -v o="${TP[$m.openssl]}" -v n="$CORES" 'BEGIN { printf "%.2f", a / (n * o) }')
    lfs=$(ratio "${TP[$m.mdN]}" "${TP[$m.lfsfsck]}")
    echo "| $m | single thread: \`verify --threads 1\` ÷ \`openssl dgst -sha256\` | ${TP[$m.md1]} MiB/s | ${TP[$m.openssl]} MiB/s | $single | ≥ $TARGET_SINGLE | $(verdict_ge "$single" "$TARGET_SINGLE") |"
    echo "| $m | all cores: \`verify\` ÷ ($CORES × openssl single-threaded) | ${TP[$m.mdN]} MiB/s | $CORES × ${TP[$m.openssl]} MiB/s | $all | ≥ $TARGET_ALL | $(verdict_ge "$all" "$TARGET_ALL") |"
    echo "| $m | \`verify\` ÷ \`git lfs fsck --objects\` | ${TP[$m.mdN]} MiB/s | ${TP[$m.lfsfsck]} MiB/s | $lfs | ≥ $TARGET_LFS | $(verdict_ge "$lfs" "$TARGET_LFS") |"
    local a1 aN cpu
    a1=$(tput_ "$(col "$RUN/$m.md1.audit" 1)")
    aN=$(tput_ "$(col "$RUN/$m.mdN.audit" 1)")
    cpu=$(awk -v o="$(col "$RUN/$m.openssl" 2)" -v c="$(col "$RUN/$m.md1" 2)" 'BEGIN { printf "%.2f", o / c }')
    echo "| $m | single thread, the audit's own duration ÷ openssl | $a1 MiB/s | ${TP[$m.openssl]} MiB/s | $(ratio "$a1" "${TP[$m.openssl]}") | (info) | |"
    echo "| $m | all cores, the audit's own duration ÷ ($CORES × openssl) | $aN MiB/s | $CORES × ${TP[$m.openssl]} MiB/s | $(awk -v a="$aN" -v o="${TP[$m.openssl]}" -v n="$CORES" 'BEGIN { printf "%.2f", a / (n * o) }') | (info) | |"
    echo "| $m | single thread, CPU time: openssl's ÷ \`verify --threads 1\`'s | | | $cpu | (info) | |"
}
detail_rows() { # detail_rows MODE
    local m=$1 s label
    for s in "${SIDES[@]}"; do
        case $s in
            md1) label="\`mirrordeck verify big --threads 1\`" ;;
            mdN) label="\`mirrordeck verify big\` (default: $CORES threads)" ;;
            openssl) label="\`openssl dgst -sha256\` over all files (one process at a time, via xargs)" ;;
            opensslN) label="\`xargs -P $CORES -n 64 openssl dgst -sha256\`" ;;
            sha256sum) label="\`sha256sum\` over all files" ;;
            lfsfsck) label="\`git lfs fsck --objects\` in a clone" ;;
        esac
        echo "| $m | $label | $(secs "${T[$m.$s]}") | ${TP[$m.$s]} MiB/s | $(col "$RUN/$m.$s" 2) s | $(col "$RUN/$m.$s" 3) s | $(samples "$RUN/$m.$s") |"
    done
}
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$ROOT" status --porcelain -- Sources 2>/dev/null | grep -q . && echo " with uncommitted changes in Sources/" || true)
version=$("$BIN" --version 2>/dev/null || echo "?")
CPU=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
SHA_NI=$(grep -qw sha_ni /proc/cpuinfo && echo "SHA-NI available" || echo "no SHA-NI")
MD_JSON=$RUN/warm-mdN-1.json
GIT_OBJECTS=$(json_path "$MD_JSON" audit git objects_checked)
BUSY_NOTE=""
if awk -v l="${LOAD_START%% *}" -v n="$CORES" 'BEGIN { exit !(l > n) }'; then
    BUSY_NOTE="**The machine was busy** (load average $LOAD_START on $CORES cores, from other work): every side got a
fraction of a core, so the wall-clock ratios say more about the scheduler than about the tools; the CPU-time
rows are the steadier guide, and the all-cores row cannot show a speed-up when no core is free."
elif awk -v l="${LOAD_START%% *}" -v n="$CORES" 'BEGIN { exit !(l > n / 2) }'; then
    BUSY_NOTE="The machine was not idle (load average $LOAD_START on $CORES cores at the start, from other work): some
of the run shared the cores, which costs the all-cores rows most; the CPU-time rows are the steadier guide."
fi
SCALE_NOTE=""
[ "$SIZE_MB" != 4096 ] && SCALE_NOTE=" (scaled down from the issue's 4 GiB with BENCH_AUDIT_MB=$SIZE_MB)"

{
cat <<EOF
## Checksum audits

Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`scripts/bench-audit.sh\` (mirrordeck $version, commit $commit$dirty) on
$CPU ($SHA_NI), $CORES cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), storage of \`bench-work/\`:
$(df -T "$WORK" | awk 'NR == 2 { print $2 }'); load average $LOAD_START at start, $LOAD_END at the end.
Tools: $(openssl version), $(sha256sum --version | head -1), $(git lfs version | cut -d' ' -f1).

Data: $COUNT random LFS objects, $(gib "$BYTES")$SCALE_NOTE: 64 MiB, 1 MiB and 64 KiB objects (three quarters of
the bytes in the large ones), referenced by one commit of pointer files. Every side reads the same files:
the mirror's \`lfs/objects\` and the git-lfs clone's \`.git/lfs/objects\` are hard links to one store. Throughput
is the data set's bytes ÷ wall-clock time of the whole command (process start, mirrordeck's pointer scan,
its git audit of the $GIT_OBJECTS git objects and its catalog writes included).

$BUSY_NOTE

| cache | comparison | mirrordeck | other | ratio | target | result |
| --- | --- | ---: | ---: | ---: | ---: | --- |
$(row_for warm)
$( [ "$COLD_ROUNDS" -gt 0 ] && row_for cold)

The target rows time whole commands. The "(info)" rows show the audit's own duration as its run records
it (without process start, the job hand-over to the engine and the CLI's polling, about 0.2–0.3 s a
command), and CPU time per byte, which a busy machine disturbs less than wall-clock time.

Warm: the data set was read once first ($WARM_RES % of it resident in the page cache); medians of $ROUNDS rounds, the
order of the sides rotating each round. Cold: before each run the data set's pages were evicted with
\`posix_fadvise(POSIX_FADV_DONTNEED)\` file by file ($COLD_RES % resident afterwards, by \`fincore\`);
$COLD_ROUNDS round(s). Every \`verify\` reported \`clean\` with all $COUNT objects and $BYTES bytes checked; openssl's and
sha256sum's digests were checked against the file names, and \`git lfs fsck\` printed "Git LFS fsck OK".

| cache | side | median wall | throughput | client CPU | machine CPU | samples (s) |
| --- | --- | ---: | ---: | ---: | ---: | --- |
$(detail_rows warm)
$( [ "$COLD_ROUNDS" -gt 0 ] && detail_rows cold)

Client CPU is user + sys time of the measured command; machine CPU is the busy time of all cores meanwhile
(other work on the machine included). mirrordeck reads each file in 4 MiB sequential chunks after
\`posix_fadvise(SEQUENTIAL)\` and hashes with swift-crypto (BoringSSL's SHA-256); with more than one thread,
objects are handed out largest first.
EOF
} | sed '/^$/N;/^\n$/D' >"$RUN/section.md"
python3 "$ROOT/scripts/bench/splice.py" "$DOC" audit "$RUN/section.md"
say "results written to docs/benchmarks.md (Checksum audits)"
cat "$RUN/section.md"
if [ -n "${BENCH_STRICT:-}" ] && grep -q "❌" "$RUN/section.md"; then exit 3; fi
