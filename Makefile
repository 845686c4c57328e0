# MirrorDeck — build, test, demo, bench.
SWIFT ?= swift
BIN := .build/debug/mirrordeck
RELEASE_BIN := .build/release/mirrordeck

.PHONY: all build release deps test-deps test demo bench clean

all: build

deps:
	@scripts/install-deps.sh

test-deps:
	@WITH_TEST_DEPS=1 scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Installs what the tests need (Debian packages, the .venv), builds, and runs every test.
test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Builds and runs MirrorDeck on a self-contained offline demo home (nothing is left running).
demo: build
	@scripts/demo.sh $(BIN)

# Benchmarks against git, git-lfs, openssl and friends in the same run; results go to docs/benchmarks.md.
# BENCH=git|lfs|audit|tui|engine|serve|storage runs one part (storage is not in the default set: it takes minutes of syncs).
BENCH ?= git lfs audit tui engine serve
bench: test-deps release
	@for part in $(BENCH); do \
		script=scripts/bench.sh; [ $$part = git ] || script=scripts/bench-$$part.sh; \
		if [ -x $$script ]; then echo "== bench: $$part"; $$script $(RELEASE_BIN) || exit 1; fi; \
	done

clean:
	rm -rf .build
