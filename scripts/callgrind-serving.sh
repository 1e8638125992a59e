#!/usr/bin/env bash
# User-space instructions per NTP answer, fleetnode against chronyd, counted by callgrind (issue 18).
#
# Instruction counts are repeatable on a loaded machine where CPU time is not: each server runs under
# `valgrind --tool=callgrind` with instrumentation off, serves a warm-up, then instrumentation is switched on
# (callgrind_control -i on) for REQUESTS plain NTP requests (default 4000) from scripts/ntp-burst-client.py
# (bursts of 16 clients on 127.0.0.101-116, half of them in interleaved mode as chrony's `xleave`), switched
# off again and the process stopped. Instructions per answer = collected instructions / answers. chronyd 4.3
# runs with -x (never touches the clock) and without CAP_SYS_TIME; fleetnode is a release build with one
# receive loop (`threads = 1`), as chronyd has one.
#
#   scripts/callgrind-serving.sh [FLEETNODE...]     # default .build/release/fleetnode (swift build -c release)
#   REQUESTS=4000 XLEAVE=0.5 KEEP=1 scripts/callgrind-serving.sh
#   CLIENTS=1 scripts/callgrind-serving.sh   # one request at a time: every batch holds one (a quiet server)
#   scripts/callgrind-serving.sh before/fleetnode after/fleetnode   # several builds against one chronyd run
#
# Prints one line per server and the ratio node / chronyd for each node (lower is better). With KEEP=1 the callgrind
# files stay in the printed directory: `callgrind_annotate --inclusive=no FILE | head -40` shows where the
# instructions go.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [ $# -eq 0 ]; then set -- "$root/.build/release/fleetnode"; fi
requests="${REQUESTS:-4000}"
xleave="${XLEAVE:-0.5}"
clients="${CLIENTS:-16}"
. "$here/callgrind-common.sh"
callgrind_setup callgrind-serving valgrind callgrind_control python3 setpriv objcopy -- "$@"


port_chrony=$((21300 + RANDOM % 500))
port_node=$((port_chrony + 500))

cat > "$work/chrony.conf" <<EOF
port $port_chrony
bindaddress 127.0.0.1
allow 127.0.0.0/8
local stratum 1
cmdport 0
pidfile $work/chronyd.pid
EOF
node_config() {  # node_config PORT: a node with one receive loop on 127.0.0.1:PORT
    cat > "$work/node-$1.toml" <<EOF
[node]
name = "callgrind"
log_level = "warning"
status_socket = "$work/node-$1.sock"
[local]
stratum = 1
[ntp]
listen = ["127.0.0.1:$1"]
threads = 1
${NTP_EXTRA:-}
EOF
}

probe() {  # waits until the server on port $1 answers (under valgrind startup takes seconds)
    python3 - "$1" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    s.sendto(b"\x23" + b"\0" * 39 + b"\x01" * 8, ("127.0.0.1", int(sys.argv[1])))
    try:
        s.recv(2048); sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)
EOF
}

# Sends one request after a short pause, so that a server asleep in select() wakes and callgrind sees the command.
nudge() { (sleep 0.3; python3 -c "import socket,sys; socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(b'\x23'+b'\0'*47,('127.0.0.1',int(sys.argv[1])))" "$1") & }

# measure NAME PORT [WRAPPER... --] COMMAND...: prints "NAME instructions answers interleaved". The wrapper
# (setpriv for chronyd) runs valgrind, so that valgrind counts the server itself.
measure() {
    local name="$1" port="$2"; shift 2
    local out="$work/$name.callgrind" wrapper=()
    if [ "${1:-}" = setpriv ]; then
        while [ "$1" != -- ]; do wrapper+=("$1"); shift; done
        shift
    fi
    LD_PRELOAD="${LD_PRELOAD_FOR:-}" "${wrapper[@]}" valgrind --tool=callgrind --instr-atstart=no --read-var-info=no \
        --callgrind-out-file="$out" "$@" > "$work/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    probe "$port" || { echo "$name did not answer; log:" >&2; cat "$work/$name.log" >&2; exit 1; }
    # Warm-up: first-time paths (lazy binding, table growth) are not what a serving node spends.
    python3 "$here/ntp-burst-client.py" --port "$port" --requests 320 --xleave "$xleave" --first-address 151 > /dev/null
    nudge "$port"; callgrind_control -i on "$pid" > /dev/null
    local result
    result="$(python3 "$here/ntp-burst-client.py" --port "$port" --requests "$requests" --xleave "$xleave" --clients "$clients")"
    nudge "$port"; callgrind_control -i off "$pid" > /dev/null
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    local instructions
    instructions="$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')"
    python3 -c "import json,sys; r=json.loads(sys.argv[2]); print(sys.argv[1], sys.argv[3], r['answered'], r['interleaved'])" \
        "$name" "$result" "$instructions"
}

echo "callgrind-serving: $requests requests, $clients clients a burst, xleave share $xleave, work $work"
chrony_line="$(measure chronyd "$port_chrony" setpriv --bounding-set=-sys_time -- "$chronyd" -x -d -u root -f "$work/chrony.conf")"
lines=("$chrony_line")
index=0
for node in "$@"; do
    index=$((index + 1))
    port=$((port_node + index))
    # Debug info makes valgrind slow to start and is not needed for function names (the symbol table stays).
    objcopy --strip-debug "$node" "$work/fleetnode-$index"
    node_config "$port"
    name="fleetnode"; [ $# -eq 1 ] || name="fleetnode-$index"
    lines+=("$(LD_PRELOAD_FOR="$preload" measure "$name" "$port" "$work/fleetnode-$index" run --config "$work/node-$port.toml")")
done
[ $# -eq 1 ] || { index=0; for node in "$@"; do index=$((index + 1)); echo "fleetnode-$index: $node"; done; }
python3 - "${lines[@]}" <<'EOF'
import sys
rows = [line.split() for line in sys.argv[1:]]
per = {}
for name, instructions, answered, interleaved in rows:
    per[name] = int(instructions) / max(int(answered), 1)
    print(f"{name:12s} {int(instructions):>14,} instructions  {answered:>5} answers ({interleaved} interleaved)  {per[name]:>8,.0f} per answer")
for name in per:
    if name != "chronyd":
        print(f"ratio {name} / chronyd: {per[name] / per['chronyd']:.2f} (lower is better)")
EOF
