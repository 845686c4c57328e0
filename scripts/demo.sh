#!/usr/bin/env bash
# The offline demo: builds a dozen local upstream repositories (some with Git LFS objects, one that keeps
# getting new commits, one broken), registers them in a fresh demo home (one paused), and opens the
# dashboard on it. Everything lives under .demo/ (gitignored). Quitting the dashboard stops everything the
# demo started: the commit loop is killed on exit, and the dashboard's embedded engine stops with it.
#
#   scripts/demo.sh [BINARY]        (make demo builds first, then runs this)
#   MIRRORDECK_DEMO_DIR=/tmp/d scripts/demo.sh   # somewhere else
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/debug/mirrordeck}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
DEMO=${MIRRORDECK_DEMO_DIR:-$PWD/.demo}
HOME_DIR="$DEMO/home"
UP="$DEMO/upstreams"
WORK="$DEMO/work"
export GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@example.org GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@example.org
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

[ -x "$BIN" ] || { echo "demo: $BIN not found: run 'make demo' (it builds first)" >&2; exit 2; }

LOOP_PID=""
cleanup() {
    if [ -n "$LOOP_PID" ] && kill -0 "$LOOP_PID" 2>/dev/null; then
        kill "$LOOP_PID" 2>/dev/null || true
        wait "$LOOP_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT INT TERM HUP

# make_upstream NAME COMMITS [LFS_OBJECTS [LFS_KIB]]: a repository with history on main, a dev branch and a
# tag, pushed to a bare upstream; with LFS_OBJECTS, that many files committed as Git LFS pointers whose
# objects sit in the bare repo's lfs/objects (a local upstream's LFS store is read directly).
make_upstream() {
    local name=$1 commits=$2 lfs=${3:-0} kib=${4:-256} work="$WORK/$1" bare="$UP/$1.git"
    [ -d "$bare" ] && return
    git init -q -b main "$work"
    for i in $(seq 1 "$commits"); do
        printf '%s change %s\n' "$name" "$i" > "$work/file$((i % 7)).txt"
        git -C "$work" add -A && git -C "$work" commit -q -m "$name: change $i"
    done
    if [ "$lfs" -gt 0 ]; then
        mkdir -p "$work/assets" "$DEMO/lfs-tmp"
        printf '*.bin filter=lfs diff=lfs merge=lfs -text\n' > "$work/.gitattributes"
        for i in $(seq 1 "$lfs"); do
            local blob="$DEMO/lfs-tmp/blob" oid size
            head -c $((kib * 1024 + i * 1000)) /dev/urandom > "$blob"
            oid=$(sha256sum "$blob" | cut -d' ' -f1)
            size=$(stat -c %s "$blob")
            mkdir -p "$bare.lfs/${oid:0:2}/${oid:2:2}"
            mv "$blob" "$bare.lfs/${oid:0:2}/${oid:2:2}/$oid"
            printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %s\n' "$oid" "$size" > "$work/assets/model-$i.bin"
        done
        git -C "$work" add -A && git -C "$work" commit -q -m "$name: add $lfs LFS assets"
    fi
    git -C "$work" branch -q dev
    git -C "$work" tag -a v1.0 -m "release 1.0"
    git init -q --bare -b main "$bare"
    git -C "$work" push -q "$bare" --all
    git -C "$work" push -q "$bare" --tags
    if [ -d "$bare.lfs" ]; then
        mkdir -p "$bare/lfs"
        mv "$bare.lfs" "$bare/lfs/objects"
    fi
}

# A larger repository, so a sync takes long enough to watch its progress bar.
make_big_upstream() {
    local name=$1 mib=$2 work="$WORK/$1" bare="$UP/$1.git"
    [ -d "$bare" ] && return
    git init -q -b main "$work"
    for i in $(seq 1 "$mib"); do
        head -c $((1024 * 1024)) /dev/urandom > "$work/part-$i.dat"
        git -C "$work" add -A && git -C "$work" commit -q -m "$name: part $i"
    done
    git init -q --bare -b main "$bare"
    git -C "$work" push -q "$bare" --all
}

echo "demo: preparing upstreams in $UP (cached between runs)"
mkdir -p "$UP/tools" "$UP/models" "$UP/datasets" "$UP/web" "$UP/infra" "$WORK"
make_upstream tools/cli 40
make_upstream tools/docs 6
make_upstream tools/lint 12
make_upstream models/tiny-llm 8 4 512
make_upstream models/vision 6 6 256
make_upstream models/speech 5 3 1024
make_upstream web/site 25
make_upstream web/api 18
make_upstream infra/terraform 9
make_upstream infra/ansible 4
make_upstream datasets/corpus 3 8 128
make_big_upstream datasets/archive 24
rm -rf "$DEMO/lfs-tmp"

# A fresh home each run: every mirror's first sync happens live in the dashboard.
rm -rf "$HOME_DIR"
mkdir -p "$HOME_DIR"
cat > "$DEMO/mirrors.toml" <<TOML
[[mirror]]
name = "tools/cli"
upstream = "file://$UP/tools/cli.git"
interval = "10s"

[[mirror]]
name = "tools/docs"
upstream = "file://$UP/tools/docs.git"
interval = "1h"

[[mirror]]
name = "tools/lint"
upstream = "file://$UP/tools/lint.git"
interval = "30m"

[[mirror]]
name = "models/tiny-llm"
upstream = "file://$UP/models/tiny-llm.git"
interval = "30m"
lfs = "on"

[[mirror]]
name = "models/vision"
upstream = "file://$UP/models/vision.git"
interval = "2h"
lfs = "on"

[[mirror]]
name = "models/speech"
upstream = "file://$UP/models/speech.git"
interval = "6h"
lfs = "auto"

[[mirror]]
name = "web/site"
upstream = "file://$UP/web/site.git"
interval = "15m"

[[mirror]]
name = "web/api"
upstream = "file://$UP/web/api.git"
interval = "15m"

[[mirror]]
name = "infra/terraform"
upstream = "file://$UP/infra/terraform.git"
interval = "1h"

[[mirror]]
name = "infra/ansible"
upstream = "file://$UP/infra/ansible.git"
interval = "1d"

[[mirror]]
name = "datasets/corpus"
upstream = "file://$UP/datasets/corpus.git"
interval = "1d"
lfs = "on"

[[mirror]]
name = "datasets/archive"
upstream = "file://$UP/datasets/archive.git"
interval = "1d"

[[mirror]]
name = "broken/gone"
upstream = "file://$UP/does-not-exist.git"
interval = "10m"
TOML
"$BIN" import --home "$HOME_DIR" "$DEMO/mirrors.toml"
"$BIN" pause --home "$HOME_DIR" infra/ansible --reason "demo: frozen until the migration is done"

# tools/cli keeps moving: a new commit every 7 seconds while the demo runs, so its lag and syncs move.
(
    sleeper=""
    trap 'kill $sleeper 2>/dev/null; exit 0' TERM INT
    work="$WORK/tools/cli"
    n=0
    while true; do
        sleep 7 &
        sleeper=$!
        wait $sleeper || exit 0
        n=$((n + 1))
        echo "demo commit $n at $(date +%T)" >> "$work/CHANGELOG"
        git -C "$work" add -A >/dev/null 2>&1 && git -C "$work" commit -q -m "tools/cli: live change $n" >/dev/null 2>&1
        git -C "$work" push -q "$UP/tools/cli.git" main >/dev/null 2>&1 || true
    done
) &
LOOP_PID=$!

if [ ! -t 0 ] || [ ! -t 1 ]; then
    echo "demo: not on a terminal; the demo home is ready: $BIN --home $HOME_DIR"
    "$BIN" list --home "$HOME_DIR"
    exit 0
fi
echo "demo: opening the dashboard (q quits; ? lists every key)"
status=0
"$BIN" --home "$HOME_DIR" || status=$?
echo "demo: stopped the commit loop; nothing is left running. The demo home stays in $HOME_DIR"
exit $status
