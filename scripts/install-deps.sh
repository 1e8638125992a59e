#!/usr/bin/env bash
# Installs what building and testing need on Debian 12, only what is missing.
#
# The test peers (chrony, gpsd, ntpsec-ntpdig) are installed with their services kept from starting: a
# policy-rc.d that answers 101 is in place during the install (and removed afterwards if this script put it
# there), so no system time daemon is started and this machine's clock is never touched.
set -euo pipefail

packages=(pkg-config openssl libssl-dev nettle-dev libgps-dev libsqlite3-dev iproute2 chrony ntpsec-ntpdig gpsd gpsd-clients python3-prometheus-client chromium python3-pil)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { [ $created_policy -eq 1 ] && $sudo rm -f /usr/sbin/policy-rc.d; true; }
trap cleanup EXIT

echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"

# Packages may ship enabled units; make sure no time daemon runs (we never want one adjusting this clock).
for unit in chrony chronyd gpsd gpsd.socket; do
  $sudo systemctl disable --now "$unit" >/dev/null 2>&1 || true
done
