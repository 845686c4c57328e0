#!/usr/bin/env bash
# Builds (debug, with the tests) and fails when the compiler warns about the project's own code (Sources/).
# The project's own modules are compiled afresh every time: an incremental build prints the warnings of
# the files it recompiles only, so a warm .build would otherwise hide old warnings. Dependencies stay cached.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
bin=$($SWIFT build --show-bin-path)
for dir in Sources/*/; do
    module=$(basename "$dir")
    rm -rf "$bin/$module.build"
done
log=$(mktemp)
trap 'rm -f "$log" "$log.warnings"' EXIT
$SWIFT build --build-tests 2>&1 | tee "$log"
grep -E '/Sources/[^:]+:[0-9]+:[0-9]+: warning:' "$log" | sort -u >"$log.warnings" || true
if [ -s "$log.warnings" ]; then
    echo "check-warnings: $(wc -l <"$log.warnings") compiler warning(s) in Sources/; the build must stay warning-free:" >&2
    cat "$log.warnings" >&2
    exit 1
fi
echo "check-warnings: no compiler warnings in Sources/"
