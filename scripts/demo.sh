#!/usr/bin/env bash
# make demo: a three-node fleet on this machine's loopback, then the things an operator does with it.
#
#   ./scripts/demo.sh                 runs until Ctrl-C
#   DEMO_SECONDS=60 ./scripts/demo.sh runs the fleet for 60 s after the tour, then stops it
#
# Everything lives in demo-run/ (git-ignored): certificates and keys made now, configurations, state databases,
# logs, the site report. Nodes use their software clock: nothing here steps, slews or reconfigures this
# machine's clock or its time service. On exit (Ctrl-C, DEMO_SECONDS, an error) every process started here is
# stopped by PID, and nothing is left outside demo-run/.
#
# The simulated GPS: one small feeder (scripts/demo-gps-feeder.py) writes each node's NTP shared-memory
# segment as gpsd does for a receiver with PPS, with this machine's clock as true time. gpsd + gpsfake per node
# was not used: gpsfake paces NMEA with its own timer (hundreds of ppm and up to half a second off), so three
# such "GPS" would disagree and outvote each other; and gpsd writes no shared memory for gpsfake's pty. The demo
# and the feeder run in a private IPC namespace, so these segments are not this machine's.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
run="$root/demo-run"

. "$root/scripts/loopback-site.sh"
# A private IPC namespace for the shared-memory "GPS" (the same process: `unshare` execs this script).
site_private_ipc demo "$root/scripts/demo.sh" 40 3 "$@"

start_time=$(date +%s)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
if [ ! -t 1 ]; then say() { printf '\n== %s\n' "$*"; }; fi
indent() { sed 's/^/   /'; }

say "building fleetnode and fleetctl (a first build takes several minutes: 15-40 on 2 cores; later builds seconds)"
build_start=$(date +%s)
# SwiftPM leaves TemporaryDirectory.* folders in TMPDIR: the same folder inside .build (git-ignored) that the
# Makefile gives it, not /tmp (and the same one, so SwiftPM's lock sees a `make` build running beside this one).
buildtmp="$root/.build/tmp"
mkdir -p "$buildtmp"
built=1
: >"$root/.build/demo-build.log"
for product in fleetnode fleetctl; do   # progress every 200 build steps; the whole output in .build/demo-build.log
  TMPDIR="$buildtmp" swift build --product "$product" 2>&1 | tee -a "$root/.build/demo-build.log" |
    awk '/^\[[0-9]+\/[0-9]+\]/ { if (++n % 200 == 0) { print "   step " substr($1, 2, length($1) - 2); fflush() } }' || { built=0; break; }
done
bin="$(TMPDIR="$buildtmp" swift build --show-bin-path)"
if [ $built = 0 ]; then
  grep -E 'error' "$root/.build/demo-build.log" | head -n 5 | indent
  [ -x "$bin/fleetnode" ] && [ -x "$bin/fleetctl" ] || { echo "demo: the build failed (.build/demo-build.log)" >&2; exit 1; }
  echo "   the build failed (.build/demo-build.log): using the binaries of the last successful build"
fi
echo "   built in $(( $(date +%s) - build_start )) s"
tour_start=$(date +%s)

if [ -f "$run/demo.pids" ]; then
  for pid in $(cat "$run/demo.pids"); do
    if kill -0 "$pid" 2>/dev/null; then echo "demo: another demo is running (PID $pid): stop it first" >&2; exit 1; fi
  done
fi
rm -rf "$run"
mkdir -p "$run/tmp" "$run/gps"
chmod 700 "$run"
export TMPDIR="$run/tmp"            # anything that wants a temporary file gets it here, not in /tmp

names=(ntp1 ntp2 ntp3)
addrs=(127.0.0.61 127.0.0.62 127.0.0.63)
ntp_port=11123; ke_port=14460; metrics_port=19123; admin_port=19124
pids=()
feeder=""
sleeper=""
stop_all() {
  local status=$?
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ] || [ -n "$feeder" ]; then
    echo; echo "== stopping the fleet (PIDs ${pids[*]} ${feeder})"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    done
    if [ -n "$feeder" ]; then kill -TERM "$feeder" 2>/dev/null || true; wait "$feeder" 2>/dev/null || true; fi
  fi
  if [ -n "$sleeper" ]; then kill "$sleeper" 2>/dev/null || true; fi
  rm -rf "$run/tmp" "$run/demo.pids"
  exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export FLEETCTL_INVENTORY="$run/fleet.toml"
fleetctl() { "$bin/fleetctl" "$@"; }
status_json() { "$bin/fleetnode" status --socket "$run/$1/status.sock" --json 2>/dev/null; }
stratum_of() {
  status_json "$1" | python3 -c 'import json,sys
try: s=json.load(sys.stdin)["serving"]; print(s["stratum"], s["referenceID"])
except Exception: print("? ?")'
}

say "the site's inventory (demo-run/fleet.toml): three nodes on 127.0.0.61-63"
{
  cat <<TOML
# The demo site. fleetctl finds it through FLEETCTL_INVENTORY (or --inventory).
[fleetctl]
database = "$run/admin-host.sqlite"     # sweep history and the rotation journal

[credentials]
certificate = "$run/pki/operator.pem"
private_key = "$run/pki/operator-key.pem"
admin_ca = "$run/pki/admin-ca.pem"
nts_trust_anchors = "$run/pki/site-ca.pem"

[thresholds]
sweep_deadline = 5
rotation_verify_timeout = 60

[[site]]
name = "demo"
TOML
  for i in 0 1 2; do
    siblings=$(for j in 0 1 2; do [ "$j" = "$i" ] || printf '"%s", ' "${names[$j]}"; done)
    cat <<TOML

[[node]]
name = "${names[$i]}"
site = "demo"
admin = "${addrs[$i]}:$admin_port"
admin_server_name = "localhost"
ntp = "${addrs[$i]}:$ntp_port"
nts_ke = "${addrs[$i]}:$ke_port"
nts_server_name = "localhost"
siblings = [${siblings%, }]
TOML
  done
} >"$run/fleet.toml"
fleetctl inventory check --syntax-only | indent

say "a development admin CA, operator certificate and site CA (fleetctl certs init-ca), node certificates (fleetctl certs issue)"
fleetctl certs init-ca --site-ca >"$run/certs.log"
fleetctl certs issue --all --days 30 >>"$run/certs.log"
grep -E '^wrote|: wrote' "$run/certs.log" | sed "s|$run/||" | indent

say "the site's peering key (chrony's key file format, AES128) and the simulated GPS"
python3 -c 'import secrets; print("1 AES128 HEX:" + secrets.token_hex(16).upper())' >"$run/ntp.keys"
chmod 600 "$run/ntp.keys"
python3 "$root/scripts/demo-gps-feeder.py" "$run/gps" "${units[@]}" 2>"$run/gps-feeder.log" &
feeder=$!
echo "   feeder PID $feeder writes NTP shared memory units ${units[*]} (as gpsd does; IPC namespace: $FLEET_SITE_IPC)"

site_name=demo

start_node() {
  local i=$1 n=${names[$1]}
  "$bin/fleetnode" run --config "$run/$n/fleetnode.toml" >"$run/$n/fleetnode.log" 2>&1 &
  pids+=($!)
  echo "${pids[*]} $feeder" >"$run/demo.pids"
  for _ in $(seq 1 100); do [ -S "$run/$n/status.sock" ] && return 0; kill -0 "${pids[-1]}" 2>/dev/null || break; sleep 0.1; done
  echo "demo: $n did not start; its log:" >&2; tail -n 20 "$run/$n/fleetnode.log" >&2; exit 1
}

say "starting ntp1 (it creates the site's NTS cookie master key), then ntp2 and ntp3 with a copy of it"
for i in 0 1 2; do
  mkdir -p "$run/${names[$i]}"
  cp "$run/ntp.keys" "$run/${names[$i]}/ntp.keys"
  site_node_config "$i" >"$run/${names[$i]}/fleetnode.toml"
  "$bin/fleetnode" check-config "$run/${names[$i]}/fleetnode.toml" >/dev/null
done
start_node 0
for _ in $(seq 1 50); do [ -s "$run/ntp1/nts-cookie-keys" ] && break; sleep 0.1; done
for n in ntp2 ntp3; do cp -p "$run/ntp1/nts-cookie-keys" "$run/$n/nts-cookie-keys"; done
start_node 1
start_node 2
for i in 0 1 2; do echo "   ${names[$i]}: PID ${pids[$i]}, NTP ${addrs[$i]}:$ntp_port, NTS-KE :$ke_port, admin :$admin_port, metrics :$metrics_port"; done
for _ in $(seq 1 60); do fleetctl query "${addrs[0]}:$ntp_port" >"$run/first-query.txt" 2>&1 && break; sleep 0.5; done
echo "   ntp1 answers, $(( $(date +%s) - tour_start )) s after the build (fleetctl query):"
indent <"$run/first-query.txt"

say "waiting for the three nodes to lock to their GPS and cross-check it with their siblings"
t0=$(date +%s)
for _ in $(seq 1 120); do
  ok=1
  for n in "${names[@]}"; do [ "$(stratum_of "$n")" = "1 GPS" ] || ok=0; done
  [ $ok = 1 ] && fleetctl health >/dev/null 2>&1 && break
  sleep 1
done
echo "   settled after $(( $(date +%s) - t0 )) s"

say "fleetctl health: every node, inside (admin API) and outside (NTP, NTS-KE, NTS), cookies and sibling keys"
fleetctl health | indent || true

say "an NTS-authenticated query (fleetctl query --nts): TLS 1.3 key exchange on :$ke_port, then NTP with NTS fields"
fleetctl query "${addrs[1]}" --nts --ke-port "$ke_port" --ca "$run/pki/site-ca.pem" --server-name localhost | indent
echo "   AEAD 15 is AEAD_AES_SIV_CMAC_256 (RFC 5297 AES-SIV with CMAC, 256-bit key): every request and answer"
echo "   is authenticated with keys from the TLS session, and the cookie is sealed under the site's master key."
if command -v chronyd >/dev/null; then
  echo "   chrony is installed: chronyd -Q (one-shot, no CAP_SYS_TIME, never sets the clock) with NTS against ntp2:"
  setpriv --bounding-set=-sys_time chronyd -Q -t 10 -u root -f /dev/null \
    "server ${addrs[1]} nts ntsport $ke_port iburst minpoll -6 maxpoll -6 maxsamples 4" \
    "ntstrustedcerts $run/pki/site-ca.pem" "pidfile $run/chronyd.pid" "ntsdumpdir $run" 2>&1 | sed 's/^/   chronyd: /' || true
fi

say "ntp3's GPS fails (its feeder stops: an unplugged antenna, a dead gpsd)"
touch "$run/gps/${units[2]}.off"
t0=$(date +%s)
for _ in $(seq 1 90); do
  read -r stratum ref <<<"$(stratum_of ntp3)"
  [ "$stratum" = 2 ] && break
  sleep 1
done
echo "   after $(( $(date +%s) - t0 )) s ntp3 serves stratum $stratum, following its sibling $ref"
fleetctl health | indent || true
fleetctl health -v ntp3 2>/dev/null | grep -iE 'WARN|CRIT|GPS|sibling' | head -n 6 | indent || true
echo "   its GPS comes back:"
rm -f "$run/gps/${units[2]}.off"
for _ in $(seq 1 90); do [ "$(stratum_of ntp3)" = "1 GPS" ] && break; sleep 1; done
echo "   ntp3: stratum $(stratum_of ntp3)"

say "a symmetric-key rotation across the three nodes (fleetctl rotate symmetric --yes)"
t0=$(date +%s)
fleetctl rotate symmetric --yes 2>&1 | indent || echo "   rotation did not finish: fleetctl rotate status says where it stopped"
echo "   $(( $(date +%s) - t0 )) s; the siblings now send and accept the new key:"
fleetctl keys --all 2>/dev/null | grep -E '^== |^Sibling' | indent || true

say "the HTML site report (fleetctl report)"
for _ in $(seq 1 10); do fleetctl health >/dev/null 2>&1 && break; sleep 1; done
fleetctl report -o "$run/site-report.html" | tail -n 5 | indent || true
echo "   written: $run/site-report.html"

say "where everything is"
cat <<TXT
   nodes        ntp1 127.0.0.61, ntp2 127.0.0.62, ntp3 127.0.0.63 (PIDs ${pids[*]}; GPS feeder $feeder)
   ports        NTP $ntp_port/udp, NTS-KE $ke_port/tcp, admin API $admin_port/tcp (mutual TLS), metrics $metrics_port/tcp (GET /metrics)
   configs      demo-run/ntpN/fleetnode.toml     logs  demo-run/ntpN/fleetnode.log
   state        demo-run/ntpN/state.sqlite       certificates and keys  demo-run/pki/
   report       demo-run/site-report.html
   fleetctl     export FLEETCTL_INVENTORY=$run/fleet.toml
                $bin/fleetctl health            (or: tracking ntp1, sources -v ntp2, gps ntp3, rotate status, report -o F)
   status       $bin/fleetnode status --socket $run/ntp1/status.sock
   metrics      curl -s http://127.0.0.61:$metrics_port/metrics | grep ^fleetnode_stratum
   the tour took $(( $(date +%s) - tour_start )) s after the build
TXT

if [ "${DEMO_SECONDS:-0}" -gt 0 ] 2>/dev/null; then
  echo "   the fleet runs for ${DEMO_SECONDS} s (DEMO_SECONDS), then stops"
  sleep "$DEMO_SECONDS" & sleeper=$!; wait $sleeper || true
else
  echo "   the fleet runs until Ctrl-C"
  sleep infinity & sleeper=$!; wait $sleeper || true
fi
