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
