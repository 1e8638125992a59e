#!/usr/bin/env bash
# Installs, on Debian 12, only what is missing for one purpose, and says what and why before it does:
#
#   scripts/install-deps.sh build   libraries the build links against
#   scripts/install-deps.sh demo    build + python3 (the demo's simulated GPS feeder); never a time daemon
#   scripts/install-deps.sh test    demo + the real peers and tools the tests talk to (chrony, ntpdig, gpsd, ...)
#   scripts/install-deps.sh bench   test + gnuplot (`make soak` plots its curves); not for `make demo` or `make test`
#
# Never harms this machine's time service:
# - every install runs with a policy-rc.d answering 101 (removed afterwards if this script put it there), and the
#   units of packages it installed are disabled, so no daemon starts and nothing adjusts this machine's clock;
# - before installing, apt is asked what it would do (`apt-get -s`); if it would REMOVE any package (chrony
#   conflicts with systemd-timesyncd, ntp and ntpsec: installing it removes them), this script refuses and
#   says so, unless CI=true (a throw-away CI machine) or FLEET_ALLOW_TIME_SERVICE_REMOVAL=yes (you decided).
# - `demo` never installs chrony: the demo uses chronyd only where it is already installed.
set -euo pipefail

purpose=${1:-test}
declare -A why=(
  [pkg-config]="build: finds the C libraries below"
  [openssl]="build: the openssl tool"
  [libssl-dev]="build: TLS 1.3 for NTS-KE and the admin API (OpenSSL 3)"
  [nettle-dev]="build: AES-SIV-CMAC (NTS) and AES-CMAC (symmetric keys), as chrony uses"
  [libgps-dev]="build: the gpsd client library (reference clocks)"
  [libsqlite3-dev]="build: the node's state database and the admin host's database (SQLite)"
  [python3]="demo: the simulated GPS feeder (writes NTP shared memory, as gpsd does)"
  [iproute2]="test: network namespaces for port-123 tests (ip netns)"
  [chrony]="test: a real NTP/NTS peer and client; REPLACES systemd-timesyncd (see above)"
  [ntpsec-ntpdig]="test: a second real NTP client (ntpdig)"
  [gpsd]="test: real gpsd replaying NMEA logs (gpsfake), its service kept disabled"
  [gpsd-clients]="test: gpsfake, gpspipe"
  [python3-prometheus-client]="test: parses /metrics with the official Prometheus parser"
  [chromium]="test: renders the HTML site report headless to check its plots"
  [python3-pil]="test: checks the rendered report's pixels"
  [prometheus]="test: promtool checks deploy/monitoring/fleetnode-alerts.yml (its service kept disabled)"
  [systemd]="test: systemd-analyze verify checks deploy/systemd/fleetnode.service"
  [gnuplot-nox]="bench: make soak plots memory, descriptors and answered rate (PNG)"
)
build=(pkg-config openssl libssl-dev nettle-dev libgps-dev libsqlite3-dev)
demo=("${build[@]}" python3)
test=("${demo[@]}" iproute2 chrony ntpsec-ntpdig gpsd gpsd-clients python3-prometheus-client chromium python3-pil prometheus systemd)
case "$purpose" in
  build) packages=("${build[@]}") ;;
  demo) packages=("${demo[@]}") ;;
  test) packages=("${test[@]}") ;;
  bench) packages=("${test[@]}" gnuplot-nox) ;;
  *) echo "usage: $0 build|demo|test|bench" >&2; exit 64 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps ($purpose): everything is installed"
  exit 0
fi

echo "install-deps ($purpose): about to install, with apt-get, only what is missing:"
for p in "${missing[@]}"; do printf '  %-26s %s\n' "$p" "${why[$p]:-}"; done

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -q >/dev/null

# What apt would remove to install these (chrony: systemd-timesyncd, ntp, ntpsec, openntpd).
removals=$(LC_ALL=C apt-get -s install --no-install-recommends "${missing[@]}" 2>/dev/null | awk '/^Remv /{print $2}' | tr '\n' ' ')
if [ -n "$removals" ]; then
  active=""
  for unit in systemd-timesyncd chrony ntp ntpsec openntpd; do
    systemctl is-active --quiet "$unit" 2>/dev/null && active+="$unit "
  done
  if [ "${CI:-}" = "true" ] || [ "${FLEET_ALLOW_TIME_SERVICE_REMOVAL:-}" = "yes" ]; then
    echo "install-deps: apt will REMOVE: $removals(allowed: CI=${CI:-} FLEET_ALLOW_TIME_SERVICE_REMOVAL=${FLEET_ALLOW_TIME_SERVICE_REMOVAL:-})"
  else
    running=""
    [ -n "$active" ] && running="this machine's running time service: $active
"
    cat >&2 <<MSG
install-deps: refusing. Installing ${missing[*]}
would make apt REMOVE: $removals
${running}chrony (a test peer only) conflicts with systemd-timesyncd, ntp and ntpsec; removing them would leave this
machine with no time service. Nothing was installed or removed.
  - to only see the demo: make demo (it never installs chrony)
  - to run the tests here anyway: FLEET_ALLOW_TIME_SERVICE_REMOVAL=yes make test
    (chrony is then installed with its service disabled: this machine keeps no time service running)
  - on a throw-away CI machine: CI=true make test
MSG
    exit 1
  fi
fi

created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { [ $created_policy -eq 1 ] && $sudo rm -f /usr/sbin/policy-rc.d; true; }
trap cleanup EXIT

DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"

# Units of the daemons this script just installed: never left enabled or running (no time daemon here).
for p in "${missing[@]}"; do
  case "$p" in
    chrony) units="chrony chronyd" ;;
    gpsd) units="gpsd gpsd.socket" ;;
    prometheus) units="prometheus" ;;
    *) continue ;;
  esac
  for unit in $units; do $sudo systemctl disable --now "$unit" >/dev/null 2>&1 || true; done
done
echo "install-deps ($purpose): done"
