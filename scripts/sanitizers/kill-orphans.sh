#!/usr/bin/env bash
# After a sanitizer test run: kills (SIGKILL, by PID) every process still running a program built in
# SCRATCH (its /proc/PID/exe under it: fleetnode, fleetctl, soak-load...) and says how many there were.
# When a sanitizer aborts the test process, the nodes it started would otherwise keep running (and holding
# their ports) after `make sanitize-*` has returned. The test harness kills its children itself on a
# sanitizer abort (ChildProcessReaper); this is the net under it, for anything it missed.
#
# Spared: a test bundle (*.xctest: another run's, in this scratch path) and anything whose parent chain
# holds a process running from SCRATCH (still owned by a live run). Exit status 1 when anything was left.
#   scripts/sanitizers/kill-orphans.sh /path/to/.build-asan
set -uo pipefail
scratch=${1:?usage: kill-orphans.sh SCRATCH_PATH}
scratch=$(cd "$scratch" 2>/dev/null && pwd -P) || exit 0

from_scratch() { # PID: its executable is under $scratch
    local exe
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
    [[ $exe == "$scratch"/* ]]
}

owned_by_live_run() { # PID: an ancestor runs from $scratch
    local pid=$1 parent
    while parent=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null) && [[ -n $parent && $parent -gt 1 ]]; do
        from_scratch "$parent" && return 0
        pid=$parent
    done
    return 1
}

killed=()
for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [[ $pid == "$$" ]] && continue
    from_scratch "$pid" || continue
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
    [[ $exe == *.xctest ]] && continue
    owned_by_live_run "$pid" && continue
    kill -KILL "$pid" 2>/dev/null && killed+=("$pid:${exe#"$scratch"/}")
done
if ((${#killed[@]})); then
    echo "sanitizer: ${#killed[@]} process(es) from $scratch were left running, killed: ${killed[*]}"
    exit 1
fi
echo "sanitizer: no process from $scratch left running"
