#!/usr/bin/env bash
# make demo: start a node on loopback high ports, query it with our own client (and with chrony's one-shot
# mode when chrony is installed), show its status, then stop it. Nothing here adjusts this machine's clock.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(swift build --show-bin-path)"
run="$PWD/demo-run"
rm -rf "$run"
mkdir -p "$run"
port=11123

cat >"$run/fleetnode.toml" <<CONF
[node]
name = "demo-node"
status_socket = "$run/status.sock"

[local]
stratum = 1            # no GPS here: serve this machine's clock, clearly marked "local" in status

[ntp]
listen = ["127.0.0.1:$port", "[::1]:$port"]

[access]
allow = ["127.0.0.0/8", "::1"]

[nts]
listen = ["127.0.0.1:14460"]
certificate = "$run/cert.pem"
private_key = "$run/key.pem"
key_file = "$run/nts-cookie-keys"
CONF

echo "== a self-signed certificate for NTS-KE (made now, never committed)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -keyout "$run/key.pem" -out "$run/cert.pem" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" 2>/dev/null

echo "== fleetnode check-config"
"$bin/fleetnode" check-config "$run/fleetnode.toml"

echo "== starting fleetnode on 127.0.0.1:$port and [::1]:$port"
"$bin/fleetnode" run --config "$run/fleetnode.toml" 2>"$run/fleetnode.log" &
node=$!
stop() { kill -TERM "$node" 2>/dev/null || true; wait "$node" 2>/dev/null || true; }
trap stop EXIT
for _ in $(seq 1 50); do [ -S "$run/status.sock" ] && break; sleep 0.1; done

echo "== fleetctl query 127.0.0.1:$port"
"$bin/fleetctl" query "127.0.0.1:$port"
echo "== fleetctl query [::1]:$port"
"$bin/fleetctl" query "[::1]:$port"

echo "== fleetctl query --nts (NTS-KE on 14460, then NTS-authenticated NTP)"
"$bin/fleetctl" query 127.0.0.1 --nts --ke-port 14460 --ca "$run/cert.pem"

if command -v chronyd >/dev/null; then
  echo "== chronyd -Q with NTS (one-shot, never sets the clock) against the node"
  setpriv --bounding-set=-sys_time chronyd -Q -t 10 -u root -f /dev/null \
    "server 127.0.0.1 nts ntsport 14460 iburst minpoll -6 maxpoll -6 maxsamples 4" \
    "ntstrustedcerts $run/cert.pem" "pidfile $run/chronyd.pid" 2>&1 | sed 's/^/  chronyd: /'
  echo "== chronyd -Q (plain NTP) against the node"
  # Runs without CAP_SYS_TIME: even a mistake could not touch the clock.
  setpriv --bounding-set=-sys_time chronyd -Q -t 10 -u root -f /dev/null \
    "server 127.0.0.1 port $port iburst minpoll -6 maxpoll -6 maxsamples 4" "pidfile $run/chronyd.pid" 2>&1 | sed 's/^/  chronyd: /'
else
  echo "== chrony is not installed: skipping chronyd -Q"
fi

echo "== fleetnode status"
"$bin/fleetnode" status --socket "$run/status.sock"

echo "== stopping the node (SIGTERM)"
kill -TERM "$node"
wait "$node" && echo "fleetnode exited cleanly"
trap - EXIT

if ! command -v gpsfake >/dev/null; then
  echo "== gpsfake is not installed: skipping the GPS part"
  exit 0
fi

echo "== a GPS-disciplined node: gpsd replays an NMEA log that says the time is 30 s ahead of this machine"
gpsport=12947
python3 - "$run/gps.nmea" <<'PY'
import sys, time, datetime
def sentence(body):
    checksum = 0
    for c in body.encode(): checksum ^= c
    return "$%s*%02X\r\n" % (body, checksum)
start = int(time.time() + 1.7 + 0.5) + 30   # gpsfake needs ~1.7 s to deliver the first second
with open(sys.argv[1], "w") as log:
    for k in range(90):
        t = datetime.datetime.fromtimestamp(start + k, datetime.timezone.utc)
        hms, dmy = t.strftime("%H%M%S.00"), t.strftime("%d%m%y")
        log.write(sentence("GPRMC,%s,A,4807.038,N,01131.000,E,000.0,000.0,%s,,,A" % (hms, dmy)))
        log.write(sentence("GPGGA,%s,4807.038,N,01131.000,E,1,04,0.9,545.4,M,46.9,M,," % hms))
        log.write(sentence("GPZDA,%s,%s,%s,%d,00,00" % (hms, t.strftime("%d"), t.strftime("%m"), t.year)))
PY
# gpsd in a private IPC namespace (it cannot touch this machine's NTP shared memory), stopped by PID.
unshare --ipc timeout -k 2 100 gpsfake -q -n -1 -c 0.3333 -P "$gpsport" "$run/gps.nmea" >"$run/gpsfake.log" 2>&1 &
gps=$!
cat >"$run/gps-node.toml" <<CONF
[node]
name = "demo-gps"
status_socket = "$run/gps-status.sock"

[ntp]
listen = ["127.0.0.1:$((port + 1))"]

[[refclock]]
name = "GPS"
driver = "gpsd"
gpsd = "127.0.0.1:$gpsport"
offset = 0.05
poll = 2
CONF
"$bin/fleetnode" run --config "$run/gps-node.toml" 2>"$run/gps-node.log" &
gpsnode=$!
stopgps() { kill -TERM "$gpsnode" 2>/dev/null || true; kill -KILL -- "-$gps" "$gps" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stopgps EXIT
for _ in $(seq 1 150); do   # selected, and a few updates for a first frequency estimate
  "$bin/fleetnode" status --socket "$run/gps-status.sock" --json 2>/dev/null | grep -qE '"updates" : ([6-9]|[1-9][0-9])' && break
  sleep 0.2
done
echo "== fleetctl query 127.0.0.1:$((port + 1)): stratum 1, reference GPS, offset about +30 s (the GPS's time)"
"$bin/fleetctl" query "127.0.0.1:$((port + 1))"
echo "== fleetnode status (tracking, sources, gpsd)"
echo "   (gpsfake paces sentences with its own timer, so its 'GPS' clock runs hundreds of ppm off true time:"
echo "    the frequency below follows that, up to the 500 ppm limit; a real receiver's PPS does not wander)"
"$bin/fleetnode" status --socket "$run/gps-status.sock" | sed -n '/^Reference ID/,$p'
echo "== gpsd stops: holdover (still serving stratum 1, error bound growing)"
{ kill -KILL -- "-$gps" "$gps"; wait "$gps"; } 2>/dev/null || true
sleep 7
"$bin/fleetnode" status --socket "$run/gps-status.sock" | grep -E "^(Stratum|Selected source|Holdover|Refclock)"
kill -TERM "$gpsnode"
wait "$gpsnode" && echo "fleetnode exited cleanly"
trap - EXIT
