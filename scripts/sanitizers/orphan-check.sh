#!/usr/bin/env bash
# Checks that a sanitizer abort of the test process leaves no node running: runs, under `make sanitize-asan`,
# the one test that starts a node and then makes AddressSanitizer abort the test process (a use after free),
# and checks that the run failed with that report and that kill-orphans.sh found nothing left (the test
# harness's ChildProcessReaper killed the node from the sanitizer's death callback).
#   scripts/sanitizers/orphan-check.sh        (after a first `make sanitize-asan` build)
set -uo pipefail
cd "$(dirname "$0")/../.."
log=.build/orphan-check.log
mkdir -p .build
FLEET_SANITIZER_ABORT_CHECK=1 make sanitize-asan FILTER='ChildProcessReaperTests.testNodeDiesWhenAddressSanitizerAbortsTheTestProcess' >"$log" 2>&1
status=$?
fail() { echo "orphan-check: $1 (log: $log)"; tail -n 30 "$log"; exit 1; }
[[ $status -ne 0 ]] || fail "the run passed: the test did not abort"
grep -q 'heap-use-after-free' "$log" || fail "no use-after-free report"
grep -q 'orphan-check: node [0-9]* running' "$log" || fail "the node did not start"
grep -q 'sanitizer: no process from .* left running' "$log" || fail "processes were left running"
echo "orphan-check: the test process aborted on its use after free; its node ($(grep -o 'node [0-9]* running' "$log" | head -1)) was killed with it; nothing left"
rm -f "$log"
