# Set-up shared by scripts/callgrind-serving.sh and scripts/callgrind-nts.sh (sourced, not run): checks the
# tools, chronyd and the fleetnode builds to measure, makes the work directory (removed at exit, with every
# process in `pids` stopped, unless KEEP=1) and the preload valgrind 3.19 needs for libdispatch.
#
#   callgrind_setup NAME TOOL... -- FLEETNODE...    # sets chronyd, work, pids, preload

callgrind_cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}

callgrind_setup() {
    local name="$1" tool node
    shift
    local tools=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do tools+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    chronyd="$(command -v chronyd || true)"
    for tool in "${tools[@]}"; do
        command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
    done
    [ -n "$chronyd" ] || { echo "needs chronyd (apt-get install chrony; keep its service stopped)" >&2; exit 1; }
    for node in "$@"; do
        [ -x "$node" ] || { echo "no fleetnode at $node (swift build -c release --product fleetnode)" >&2; exit 1; }
    done
    work="$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")"
    pids=()
    trap callgrind_cleanup EXIT
    # valgrind 3.19 faults on libdispatch's sigsuspend() (a mask in read-only memory, which valgrind rewrites
    # in place): a small preload passes a copy (scripts/valgrind-sigsuspend.c).
    preload=""
    if [ -f "$here/valgrind-sigsuspend.c" ] && command -v cc >/dev/null; then
        cc -shared -fPIC -O2 -o "$work/sigsuspend.so" "$here/valgrind-sigsuspend.c" && preload="$work/sigsuspend.so"
    fi
}
