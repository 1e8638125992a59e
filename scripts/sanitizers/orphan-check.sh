#!/usr/bin/env bash
# Checks that a sanitizer abort of the test process leaves no node running: runs, under `make sanitize-asan`,
# the one test that starts a node and then makes AddressSanitizer abort the test process (a use after free),
# and checks that the run failed with that report and that kill-orphans.sh found nothing left (the test
# harness's ChildProcessReaper killed the node from the sanitizer's death callback); then the same with the
# callback off (FLEET_CHILD_REAPER=off), where the node must be left and the Makefile's sweep must kill it.
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

# The same without the harness's death callback (FLEET_CHILD_REAPER=off): the node outlives the test process
# and the Makefile's sweep (kill-orphans.sh) must find and kill it.
FLEET_CHILD_REAPER=off FLEET_SANITIZER_ABORT_CHECK=1 make sanitize-asan FILTER='ChildProcessReaperTests.testNodeDiesWhenAddressSanitizerAbortsTheTestProcess' >"$log" 2>&1
[[ $? -ne 0 ]] || fail "the run without the reaper passed"
grep -q 'sanitizer: 1 process(es) from .* were left running, killed: [0-9]*:[^ ]*/fleetnode' "$log" || fail "without the reaper the sweep did not find the node"
echo "orphan-check: without the death callback the node was left running, and the sweep killed it: $(grep -o 'killed: .*' "$log")"
rm -f "$log"
