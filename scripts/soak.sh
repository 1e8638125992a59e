#!/usr/bin/env bash
# make soak: a long run of one node under honest load and an attacker, with both key rotations in the middle,
# sampled every 10 s and judged at the end (memory and descriptors flat, no authentication failure, every error
# counter that rose explained). Issue 14, "Soak".
#
#   ./scripts/soak.sh                      30 minutes (SOAK_MINUTES=30)
#   SOAK_SECONDS=90 ./scripts/soak.sh      the smoke run (`make soak-check`)
#
# The site: two fleetnode processes on loopback (ntp1 127.0.0.71 is the node under test, ntp2 127.0.0.72 its
# sibling), each with a simulated GPS (scripts/demo-gps-feeder.py writing NTP shared memory in a private IPC
# namespace, as in the demo), siblings peering every second with an AES-CMAC key, NTS (certificates from
# `fleetctl certs`), the admin API and metrics. Then:
#   1. the attacker (scripts/connection-attacker.py) holds SOAK_ATTACK_ADDRESSES x SOAK_ATTACK_PER_ADDRESS (100 x 4)
#      trickling, reconnecting NTS-KE connections from 127.1.x.x from now to the end;
#   2. the node's lossless rate under that attack: a short ladder of offered rates, half plain NTP and half
#      NTS-protected NTP (soak-load measure; skipped when SOAK_RATE is given); half of it is the soak's load;
#   3. the load (soak-load run): the plain + NTS requests, good NTS-KE clients (2 sessions/s) and a chrony-like
#      NTS probe client that verifies every response (5/s);
#   4. at 45 % of the run: `fleetctl rotate cookie --yes` (cookie_lifetime SOAK_COOKIE_LIFETIME, default 60 s,
#      shorter for short runs) and then `fleetctl rotate symmetric --yes`, through the real fleetctl;
#   5. scripts/soak-monitor.py samples ntp1 every SOAK_INTERVAL (10) s: RSS, descriptors, threads, CPU, load
#      average, its counters (fleetnode status --json), the clients' counters, into samples.csv, then judges the
#      run (verdict.txt, exit status) and plots it (soak.png, gnuplot).
# Everything lives in .build/soak-run (git-ignored; TMPDIR too), kept after the run for reading; every process
# started here is stopped by PID on any way out. SOAK_BUILD=release uses a release build (default: debug);
# SOAK_BIN=DIR uses the binaries in DIR as they are; SOAK_RUN_DIR moves the run's folder.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

. "$root/scripts/loopback-site.sh"
# A private IPC namespace for the shared-memory "GPS" (the same process: `unshare` execs this script).
site_private_ipc soak "$root/scripts/soak.sh" 50 2 "$@"

minutes=${SOAK_MINUTES:-30}
seconds=${SOAK_SECONDS:-$(( minutes * 60 ))}
interval=${SOAK_INTERVAL:-10}
[ "$seconds" -lt 120 ] && [ -z "${SOAK_INTERVAL:-}" ] && interval=5
lifetime=${SOAK_COOKIE_LIFETIME:-$(( seconds / 8 < 60 ? (seconds / 8 < 10 ? 10 : seconds / 8) : 60 ))}
pool_refresh=$(( lifetime / 4 < 2 ? 2 : (lifetime / 4 > 10 ? 10 : lifetime / 4) ))
attack_addresses=${SOAK_ATTACK_ADDRESSES:-100}
attack_per_address=${SOAK_ATTACK_PER_ADDRESS:-4}
build=${SOAK_BUILD:-debug}
say() { printf '\n== %s\n' "$*"; }

buildtmp="$root/.build/tmp"
mkdir -p "$buildtmp"
if [ -n "${SOAK_BIN:-}" ]; then
  bin=$SOAK_BIN   # already built (a test runs this inside its own SwiftPM run)
else
  say "building fleetnode, fleetctl and soak-load ($build build; a first build takes 15-40 min on 2 cores)"
  for product in fleetnode fleetctl soak-load; do
    TMPDIR="$buildtmp" swift build -c "$build" --product "$product" >"$root/.build/soak-build.log" 2>&1 ||
      { tail -n 30 "$root/.build/soak-build.log"; echo "soak: the build failed (.build/soak-build.log)" >&2; exit 1; }
  done
  bin="$(TMPDIR="$buildtmp" swift build -c "$build" --show-bin-path)"
fi
for tool in fleetnode fleetctl soak-load; do
  [ -x "$bin/$tool" ] || { echo "soak: no $bin/$tool" >&2; exit 1; }
done

run="${SOAK_RUN_DIR:-$root/.build/soak-run}"
if [ -f "$run/soak.pids" ]; then
  for pid in $(cat "$run/soak.pids"); do
    if kill -0 "$pid" 2>/dev/null; then echo "soak: another soak is running (PID $pid): stop it first" >&2; exit 1; fi
  done
fi
rm -rf "$run"
mkdir -p "$run/tmp" "$run/gps"
chmod 700 "$run"
export TMPDIR="$run/tmp"

names=(ntp1 ntp2)
addrs=(${SOAK_ADDRESSES:-127.0.0.71 127.0.0.72})   # SOAK_ADDRESSES: two other loopback addresses (two soaks at once)
ntp_port=11323; ke_port=14660; metrics_port=19323; admin_port=19324
pids=()
helpers=()
stop_all() {
  local status=$?
  trap - EXIT INT TERM
  touch "$run/stop" 2>/dev/null || true
  for pid in "${helpers[@]}" "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${helpers[@]}" "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$run/tmp" "$run/soak.pids"
  exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
remember() { echo "${pids[*]} ${helpers[*]}" >"$run/soak.pids"; }

export FLEETCTL_INVENTORY="$run/fleet.toml"
fleetctl() { "$bin/fleetctl" "$@"; }
status_json() { "$bin/fleetnode" status --socket "$run/$1/status.sock" --json 2>/dev/null; }

{
  cat <<TOML
[fleetctl]
database = "$run/admin-host.sqlite"

[credentials]
certificate = "$run/pki/operator.pem"
private_key = "$run/pki/operator-key.pem"
admin_ca = "$run/pki/admin-ca.pem"
nts_trust_anchors = "$run/pki/site-ca.pem"

[thresholds]
sweep_deadline = 10
rotation_verify_timeout = 120
cookie_lifetime = $lifetime

[[site]]
name = "soak"
TOML
  for i in 0 1; do
    cat <<TOML

[[node]]
name = "${names[$i]}"
site = "soak"
admin = "${addrs[$i]}:$admin_port"
admin_server_name = "localhost"
ntp = "${addrs[$i]}:$ntp_port"
nts_ke = "${addrs[$i]}:$ke_port"
nts_server_name = "localhost"
siblings = ["${names[$(( 1 - i ))]}"]
TOML
  done
} >"$run/fleet.toml"
fleetctl inventory check --syntax-only >/dev/null
fleetctl certs init-ca --site-ca >"$run/certs.log"
fleetctl certs issue --all --days 30 >>"$run/certs.log"
python3 -c 'import secrets; print("1 AES128 HEX:" + secrets.token_hex(16).upper())' >"$run/ntp.keys"
chmod 600 "$run/ntp.keys"
python3 "$root/scripts/demo-gps-feeder.py" "$run/gps" "${units[@]}" 2>"$run/gps-feeder.log" &
helpers+=($!)

site_name=soak
for i in 0 1; do
  n=${names[$i]}
  mkdir -p "$run/$n"
  cp "$run/ntp.keys" "$run/$n/ntp.keys"
  site_node_config "$i" >"$run/$n/fleetnode.toml"
  "$bin/fleetnode" check-config "$run/$n/fleetnode.toml" >/dev/null
done

start_node() {
  local n=${names[$1]}
  "$bin/fleetnode" run --config "$run/$n/fleetnode.toml" >"$run/$n/fleetnode.log" 2>&1 &
  pids+=($!)
  remember
  for _ in $(seq 1 100); do [ -S "$run/$n/status.sock" ] && return 0; kill -0 "${pids[-1]}" 2>/dev/null || break; sleep 0.1; done
  echo "soak: $n did not start; its log:" >&2; tail -n 20 "$run/$n/fleetnode.log" >&2; exit 1
}
say "starting the site: ntp1 (under test) and ntp2, with the same NTS cookie key"
start_node 0
for _ in $(seq 1 50); do [ -s "$run/ntp1/nts-cookie-keys" ] && break; sleep 0.1; done
cp -p "$run/ntp1/nts-cookie-keys" "$run/ntp2/nts-cookie-keys"
start_node 1
echo "   ntp1 PID ${pids[0]}, ntp2 PID ${pids[1]}; NTP :$ntp_port, NTS-KE :$ke_port, admin :$admin_port, metrics :$metrics_port"
t0=$(date +%s)
for _ in $(seq 1 120); do
  ok=1
  for n in "${names[@]}"; do
    status_json "$n" | python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if s["serving"]["stratum"] == 1 and all(x["replies"] >= 2 for x in s["siblings"]) else 1)' 2>/dev/null || ok=0
  done
  [ $ok = 1 ] && fleetctl health >/dev/null 2>&1 && break
  sleep 1
done
[ $ok = 1 ] || { echo "soak: the site did not settle in 120 s" >&2; fleetctl health >&2 || true; exit 1; }
echo "   settled after $(( $(date +%s) - t0 )) s (stratum 1 on GPS, siblings answering, fleetctl health OK)"

export SOAK_NTP="${addrs[0]}:$ntp_port" SOAK_KE="${addrs[0]}:$ke_port" SOAK_CA="$run/pki/site-ca.pem" SOAK_SERVER_NAME=localhost
export SOAK_POOL_REFRESH=$pool_refresh
# The attacker from now to the end: the lossless rate is measured under attack, as the soak runs.
python3 "$root/scripts/connection-attacker.py" "$ke_port" "$attack_addresses" "$attack_per_address" "$(( seconds + 300 ))" tls "${addrs[0]}" \
  >"$run/attacker.jsonl" 2>"$run/attacker.log" &
helpers+=($!)
remember
sleep 3
if [ -n "${SOAK_RATE:-}" ]; then
  rate=$SOAK_RATE
  echo "   offered load: SOAK_RATE=$rate requests/s"
else
  say "ntp1's lossless rate under attack (half plain, half NTS; 3-s steps, at most 1 % loss)"
  "$bin/soak-load" measure | tee "$run/measure.txt" | sed 's/^/   /'
  lossless=$(awk '/^lossless/ { print $2 }' "$run/measure.txt")
  [ "${lossless:-0}" -gt 0 ] || { echo "soak: no lossless rate measured" >&2; exit 1; }
  rate=$(( lossless / 2 ))
  echo "   offered load: half of $lossless = $rate requests/s"
fi

say "the soak: $seconds s, $rate requests/s, attacker ${attack_addresses}x${attack_per_address} connections, rotations at 45 %"
start=$(date +%s.%N)
SOAK_RATE=$rate SOAK_SECONDS=$seconds "$bin/soak-load" run >"$run/load.jsonl" 2>"$run/load.log" &
load_pid=$!
helpers+=($load_pid)
python3 "$root/scripts/soak-monitor.py" sample "$run" "${pids[0]}" "$bin/fleetnode" "$run/ntp1/status.sock" "$interval" "${addrs[0]}:$ntp_port" 2>"$run/monitor.log" &
monitor_pid=$!
helpers+=($monitor_pid)
remember
event() { echo "$(python3 -c "import time; print(round(time.time() - $start, 1))") $*" >>"$run/events.txt"; echo "   [$(date -u +%H:%M:%S)] $*"; }

sleep $(( seconds * 45 / 100 )) & helpers+=($!)
wait $! || true   # (a wait, unlike a foreground sleep, lets SIGTERM stop the soak at once)
event "cookie rotation: start"
if fleetctl rotate cookie --yes >"$run/rotate-cookie.log" 2>&1; then event "cookie rotation: done"; else event "cookie rotation: FAILED (exit $?)"; fi
event "symmetric rotation: start"
if fleetctl rotate symmetric --yes >"$run/rotate-symmetric.log" 2>&1; then event "symmetric rotation: done"; else event "symmetric rotation: FAILED (exit $?)"; fi
tail -n 2 "$run/rotate-cookie.log" "$run/rotate-symmetric.log" | sed 's/^/   /'
fleetctl keys --all 2>/dev/null | grep -E '^== |^Sibling' | sed 's/^/   /' || true

wait "$load_pid" || echo "   soak-load exited with $?"
touch "$run/stop"
wait "$monitor_pid" || true
echo "   soak ended at $(date -u +%H:%M:%S); ntp1 log lines at warning or above: $(grep -ciE 'warning|error|critical' "$run/ntp1/fleetnode.log" || true)"
grep -q FAILED "$run/events.txt" && rotation_failed=1 || rotation_failed=0

say "verdict"
verdict=0
python3 "$root/scripts/soak-monitor.py" report "$run" | sed 's/^/   /' || true
grep -q "^VERDICT: PASS" "$run/verdict.txt" || verdict=1
if [ $rotation_failed = 1 ]; then echo "   a rotation failed: see $run/rotate-*.log"; verdict=1; fi
echo "   files: $run/{samples.csv,counters.jsonl,verdict.txt,soak.png,load.jsonl,attacker.jsonl,events.txt}"
exit $verdict
