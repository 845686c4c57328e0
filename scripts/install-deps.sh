#!/usr/bin/env bash
# Installs what MirrorDeck needs to build and test, only when something is missing:
# Debian packages (build and test tools) and Python packages in the project-local venv (.venv).
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs="pkg-config libgit2-dev libcurl4-openssl-dev libncurses-dev libsqlite3-dev zlib1g-dev"
test_pkgs="git git-lfs nginx-light fcgiwrap tmux openssh-server openssh-client procps python3-venv man-db groff-base zsh fish tinyproxy"
want="$build_pkgs ${WITH_TEST_DEPS:+$test_pkgs}"

missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing Debian packages:$missing"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ -n "${WITH_TEST_DEPS:-}" ]; then
    # The test venv: pinned versions in scripts/requirements-test.txt.
    if [ ! -x .venv/bin/python ] || ! cmp -s scripts/requirements-test.txt .venv/.requirements; then
        echo "preparing the test venv (.venv)"
        python3 -m venv .venv
        .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements-test.txt
        cp scripts/requirements-test.txt .venv/.requirements
    fi
fi
