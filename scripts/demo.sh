#!/usr/bin/env bash
# The offline demo: generates a few local upstream repositories, mirrors them into a demo home,
# and shows the result. Everything lives under .demo/ (gitignored); nothing is left running.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/debug/mirrordeck}
DEMO=${MIRRORDECK_DEMO_DIR:-$PWD/.demo}
HOME_DIR="$DEMO/home"
UP="$DEMO/upstreams"
export GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@example.org GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@example.org

make_upstream() {  # name, commits
    local name=$1 commits=$2 work="$DEMO/work/$1"
    [ -d "$UP/$name.git" ] && return
    git init -q -b main "$work"
    for i in $(seq 1 "$commits"); do
        echo "$name change $i" > "$work/file$((i % 5)).txt"
        git -C "$work" add -A && git -C "$work" commit -q -m "$name: change $i"
    done
    git -C "$work" branch -q dev
    git -C "$work" tag -a v1.0 -m "release 1.0"
    git init -q --bare -b main "$UP/$name.git"
    git -C "$work" push -q "$UP/$name.git" --all
    git -C "$work" push -q "$UP/$name.git" --tags
}

mkdir -p "$UP" "$DEMO/work"
for spec in "tools/cli:12" "tools/docs:4" "models/tiny-llm:8" "models/vision:6" "datasets/corpus:20" "infra:3"; do
    make_upstream "${spec%%:*}" "${spec##*:}"
done

if [ ! -f "$HOME_DIR/catalog.sqlite" ]; then
    cat > "$DEMO/mirrors.toml" <<TOML
[[mirror]]
name = "tools/cli"
upstream = "file://$UP/tools/cli.git"
interval = "5m"

[[mirror]]
name = "tools/docs"
upstream = "file://$UP/tools/docs.git"
interval = "1h"

[[mirror]]
name = "models/tiny-llm"
upstream = "file://$UP/models/tiny-llm.git"
interval = "30m"

[[mirror]]
name = "models/vision"
upstream = "file://$UP/models/vision.git"
interval = "2h"

[[mirror]]
name = "datasets/corpus"
upstream = "file://$UP/datasets/corpus.git"
interval = "1d"

[[mirror]]
name = "infra"
upstream = "file://$UP/infra.git"
interval = "2h"

[[mirror]]
name = "broken/gone"
upstream = "file://$UP/does-not-exist.git"
interval = "10m"
TOML
    "$BIN" import --home "$HOME_DIR" "$DEMO/mirrors.toml"
fi

# Upstream moves on: one new commit in tools/cli each time the demo runs.
work="$DEMO/work/tools/cli"
echo "demo run $(date +%s)" > "$work/CHANGELOG"
git -C "$work" add -A && git -C "$work" commit -q -m "tools/cli: demo run"
git -C "$work" push -q "$UP/tools/cli.git" main

echo
"$BIN" sync --home "$HOME_DIR" --all || true
echo
"$BIN" list --home "$HOME_DIR"
echo
"$BIN" show --home "$HOME_DIR" tools/cli
echo
echo "demo home: $HOME_DIR   (try: $BIN list --home $HOME_DIR)"
