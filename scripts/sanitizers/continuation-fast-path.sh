#!/usr/bin/env bash
# The ThreadSanitizer false positive of Swift Concurrency's continuation fast path (swiftlang/swift#57803; the
# `race:sScc6resume` entry of tsan.supp), reproduced outside the node (see continuation-fast-path.swift).
# Passes when a continuation resumed before its task awaits is reported without the suppression file and not
# with it, and one resumed after the task suspended is not reported at all (the runtime's annotated path).
# Needs swiftc; a few seconds.
#   scripts/sanitizers/continuation-fast-path.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.build/sanitizer-repro
mkdir -p "$out" .build/tmp
# swiftc writes its macro expansions (swift-generated-sources) to TMPDIR: .build/tmp, never /tmp.
export TMPDIR=$PWD/.build/tmp
swiftc -sanitize=thread -g -Onone scripts/sanitizers/continuation-fast-path.swift -o "$out/continuation-fast-path" \
    2>"$out/continuation-fast-path.build.log" || { cat "$out/continuation-fast-path.build.log"; exit 1; }
export SWIFT_BACKTRACE=enable=no
TSAN_OPTIONS=halt_on_error=1 "$out/continuation-fast-path" early >"$out/early.log" 2>&1 || true
if ! grep -q 'WARNING: ThreadSanitizer: data race' "$out/early.log" || ! grep -q 'Scc6resume' "$out/early.log"; then
    echo "continuation-fast-path: no report for a resume before the await; the reproduction no longer reproduces"
    cat "$out/early.log"; exit 1
fi
echo "resumed before the await, no suppressions: $(grep -m1 SUMMARY "$out/early.log")"
TSAN_OPTIONS=halt_on_error=1:suppressions=$PWD/scripts/sanitizers/tsan.supp "$out/continuation-fast-path" early \
    >"$out/early-suppressed.log" 2>&1 || { echo "continuation-fast-path: reported despite tsan.supp:"; cat "$out/early-suppressed.log"; exit 1; }
echo "resumed before the await, with tsan.supp: no report"
TSAN_OPTIONS=halt_on_error=1 "$out/continuation-fast-path" late >"$out/late.log" 2>&1 \
    || { echo "continuation-fast-path: reported for a resume after the await:"; cat "$out/late.log"; exit 1; }
echo "resumed after the await, no suppressions: no report"
rm -rf "$out"
