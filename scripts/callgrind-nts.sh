#!/usr/bin/env bash
# User-space instructions per NTS-protected NTP response and per NTS-KE session, fleetnode against chronyd 4.3,
# counted by callgrind (issue 18). The NTS companion of scripts/callgrind-serving.sh.
#
# Each server runs under `valgrind --tool=callgrind --instr-atstart=no` with one P-256 self-signed certificate
# made now (openssl, in the work directory: never kept). The client, nts-callgrind-client
# (Benchmarks/NTSCallgrindClient), runs NTS-KE for cookies and a warm-up, then switches the server's
# instrumentation on for REQUESTS NTS requests (default 2000; 16 clients on 127.0.0.101-116 in bursts, each
# request with a cookie never sent before, AEAD_AES_SIV_CMAC_256, no placeholder, every response verified),
# dumps that phase, then counts SESSIONS complete NTS-KE sessions one after the other (default 100: TLS 1.3
# handshake, request, response with 8 cookies, key export, close). Instructions per response and per session
# come from the two dumps.
#
# chronyd 4.3 runs with -x (never touches the clock), without CAP_SYS_TIME, and with `ntsprocesses 0`: its
# NTS-KE sessions in the main process, which callgrind follows (its default forks a helper process that
# callgrind_control would not switch on; the helper does the same TLS and cookie work plus the socket hand-over).
# fleetnode is a release build with one NTP receive loop and one NTS-KE thread.
#
#   swift build -c release --product fleetnode --product nts-callgrind-client
#   scripts/callgrind-nts.sh [FLEETNODE...]        # default .build/release/fleetnode
#   REQUESTS=2000 SESSIONS=100 KEEP=1 scripts/callgrind-nts.sh before/fleetnode after/fleetnode
#   NTS_EXTRA='key_cache = 0' scripts/callgrind-nts.sh   # [nts] lines for every node (here: no key cache)
#   CLIENTS=1 scripts/callgrind-nts.sh   # one request at a time: every batch holds one (a quiet server)
#
# Prints one line per server and phase and the ratios node / chronyd (lower is better). With KEEP=1 the
# callgrind files stay in the printed directory: NAME.callgrind.1 is the NTP phase, NAME.callgrind the NTS-KE
# phase (`callgrind_annotate --inclusive=yes FILE | head -60`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [ $# -eq 0 ]; then set -- "$root/.build/release/fleetnode"; fi
requests="${REQUESTS:-2000}"
sessions="${SESSIONS:-100}"
clients="${CLIENTS:-16}"
client="${NTS_CALLGRIND_CLIENT:-$root/.build/release/nts-callgrind-client}"
[ -x "$client" ] || { echo "no $client (swift build -c release --product nts-callgrind-client)" >&2; exit 1; }
. "$here/callgrind-common.sh"
callgrind_setup callgrind-nts valgrind callgrind_control callgrind_annotate python3 setpriv objcopy openssl -- "$@"

# One P-256 certificate for both servers.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$work/key.pem" -out "$work/cert.pem" -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" > "$work/openssl.log" 2>&1

base=$((22000 + RANDOM % 400))
mkdir -p "$work/chrony"
cat > "$work/chrony.conf" <<EOF
port $base
ntsport $((base + 1))
bindaddress 127.0.0.1
allow 127.0.0.0/8
local stratum 1
ntsserverkey $work/key.pem
ntsservercert $work/cert.pem
ntsdumpdir $work/chrony
ntsprocesses 0
cmdport 0
pidfile $work/chrony/chronyd.pid
EOF
node_config() {  # node_config NTP_PORT KE_PORT
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
[nts]
listen = ["127.0.0.1:$2"]
certificate = "$work/cert.pem"
private_key = "$work/key.pem"
key_file = "$work/nts-cookie-keys-$1"
threads = 1
${NTS_EXTRA:-}
EOF
}

wait_for() {  # wait_for NTP_PORT KE_PORT: until the server answers NTP and accepts TCP (valgrind starts slowly)
    python3 - "$1" "$2" <<'EOF'
import socket, sys, time
ntp, ke = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
deadline = time.monotonic() + 180
while time.monotonic() < deadline:
    s.sendto(b"\x23" + b"\0" * 47, ("127.0.0.1", ntp))
    try:
        s.recv(2048)
        break
    except socket.timeout:
        pass
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", ke), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.5)
sys.exit(1)
EOF
}

total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }'; }

# measure NAME NTP_PORT KE_PORT [setpriv ... --] COMMAND...: prints "NAME ntp_instructions responses ke_instructions sessions"
measure() {
    local name="$1" ntp="$2" ke="$3"; shift 3
    local out="$work/$name.callgrind" wrapper=()
    if [ "${1:-}" = setpriv ]; then
        while [ "$1" != -- ]; do wrapper+=("$1"); shift; done
        shift
    fi
    LD_PRELOAD="${LD_PRELOAD_FOR:-}" "${wrapper[@]}" valgrind --tool=callgrind --instr-atstart=no --read-var-info=no \
        --callgrind-out-file="$out" ${VALGRIND_OPTS_NTS:-} "$@" > "$work/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    wait_for "$ntp" "$ke" || { echo "$name did not come up; log:" >&2; cat "$work/$name.log" >&2; exit 1; }
    local result
    result="$("$client" --ke-port "$ke" --ntp-port "$ntp" --trust "$work/cert.pem" --callgrind-pid "$pid" \
        --requests "$requests" --sessions "$sessions" --clients "$clients")" || { echo "$name: client failed; log:" >&2; tail -20 "$work/$name.log" >&2; exit 1; }
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    python3 -c "import json,sys; r=json.loads(sys.argv[2]); print(sys.argv[1], sys.argv[3], r['authenticated'], sys.argv[4], r['sessions'], r['naks'] + r['failed'], r['sessionsFailed'])" \
        "$name" "$result" "$(total "$out.1")" "$(total "$out")"
}

echo "callgrind-nts: $requests NTS requests, $sessions NTS-KE sessions, work $work"
lines=("$(measure chronyd "$base" "$((base + 1))" setpriv --bounding-set=-sys_time -- "$chronyd" -x -d -u root -f "$work/chrony.conf")")
index=0
for node in "$@"; do
    index=$((index + 1))
    ntp=$((base + 10 * index))
    objcopy --strip-debug "$node" "$work/fleetnode-$index"
    node_config "$ntp" "$((ntp + 1))"
    name="fleetnode"; [ $# -eq 1 ] || name="fleetnode-$index"
    lines+=("$(LD_PRELOAD_FOR="$preload" measure "$name" "$ntp" "$((ntp + 1))" "$work/fleetnode-$index" run --config "$work/node-$ntp.toml")")
done
[ $# -eq 1 ] || { index=0; for node in "$@"; do index=$((index + 1)); echo "fleetnode-$index: $node"; done; }
python3 - "${lines[@]}" <<'EOF'
import sys
rows = [line.split() for line in sys.argv[1:]]
ntp, ke = {}, {}
for name, ntp_instr, responses, ke_instr, sessions, ntp_bad, ke_bad in rows:
    ntp[name] = int(ntp_instr) / max(int(responses), 1)
    ke[name] = int(ke_instr) / max(int(sessions), 1)
    print(f"{name:12s} NTS NTP {int(ntp_instr):>14,} instructions {responses:>5} responses ({ntp_bad} failed) {ntp[name]:>9,.0f} per response")
    print(f"{name:12s} NTS-KE  {int(ke_instr):>14,} instructions {sessions:>5} sessions  ({ke_bad} failed) {ke[name]:>9,.0f} per session")
for name in ntp:
    if name != "chronyd":
        print(f"ratio {name} / chronyd: NTS NTP per response {ntp[name] / ntp['chronyd']:.2f}, NTS-KE per session {ke[name] / ke['chronyd']:.2f} (lower is better)")
EOF
