#!/usr/bin/env bash
# The LeakSanitizer report of OpenSSL per-thread state lost at exit, reproduced deterministically outside
# the node (see openssl-exit-race.c), and its fix: initialising OpenSSL without its exit cleanup, as
# fleetnode and fleetctl do first thing (OpenSSLExitCleanup). Passes when the program leaks with OpenSSL's
# default exit cleanup and does not without it. Needs clang (the Swift toolchain's) and libssl-dev.
#   scripts/sanitizers/openssl-exit-race.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.build/sanitizer-repro
mkdir -p "$out"
CC=${CC:-clang}
"$CC" -fsanitize=address -g -O0 scripts/sanitizers/openssl-exit-race.c -lcrypto -lpthread -o "$out/openssl-exit-race" \
    2>"$out/openssl-exit-race.build.log" || { cat "$out/openssl-exit-race.build.log"; exit 1; }
export SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=1
if "$out/openssl-exit-race" 2>"$out/with-cleanup.log"; then
    echo "openssl-exit-race: no leak with OpenSSL's exit cleanup; the reproduction no longer reproduces"; exit 1
fi
grep -q 'LeakSanitizer: detected memory leaks' "$out/with-cleanup.log" || { cat "$out/with-cleanup.log"; exit 1; }
echo "with OpenSSL's exit cleanup: $(grep SUMMARY "$out/with-cleanup.log")"
if ! "$out/openssl-exit-race" no-exit-cleanup 2>"$out/without-cleanup.log"; then
    echo "openssl-exit-race: still a report without the exit cleanup:"; cat "$out/without-cleanup.log"; exit 1
fi
echo "without it (OPENSSL_INIT_NO_ATEXIT, as fleetnode and fleetctl): no report"
rm -rf "$out"
