#!/usr/bin/env bash
# make install: scripts/install.sh BIN_DIR DESTDIR PREFIX SYSCONFDIR UNITDIR
# Copies the release binaries, the systemd unit (PREFIX substituted; the system-clock drop-in as an inactive
# .example), the sysusers file, an example configuration (never over an existing one), the certbot hook,
# the alerting rules, the dashboard and the docs. Creates the fleetnode user when installing to / as root.
# Enables and starts nothing: that is `systemctl enable --now fleetnode`, after editing the configuration.
set -euo pipefail
bin=$1 destdir=$2 prefix=$3 sysconfdir=$4 unitdir=$5
cd "$(dirname "$0")/.."
d() { printf '%s%s' "$destdir" "$1"; }

install -d "$(d "$prefix/bin")" "$(d "$prefix/lib/fleetctl")" "$(d "$prefix/share/doc/fleetnode")" \
  "$(d "$prefix/share/fleetnode/monitoring")" "$(d "$unitdir/fleetnode.service.d")" "$(d /usr/lib/sysusers.d)"
# Stripped (97 MB -> 23 MB each, measured): symbols stay in the build folder for symbolising a backtrace.
install -m 0755 -s "$bin/fleetnode" "$bin/fleetctl" "$(d "$prefix/bin")/"
install -m 0755 deploy/certbot/fleetctl-deploy-hook "$(d "$prefix/lib/fleetctl")/"
sed -e "s|/usr/local/bin/|$prefix/bin/|g" -e "s|/usr/local/share/doc/|$prefix/share/doc/|g" \
  deploy/systemd/fleetnode.service >"$(d "$unitdir/fleetnode.service")"
chmod 0644 "$(d "$unitdir/fleetnode.service")"
install -m 0644 deploy/systemd/fleetnode.service.d/system-clock.conf "$(d "$unitdir/fleetnode.service.d/system-clock.conf.example")"
install -m 0644 deploy/systemd/fleetnode.sysusers.conf "$(d /usr/lib/sysusers.d/fleetnode.conf)"
install -m 0644 README.md deploy/raspberry-pi.md "$(d "$prefix/share/doc/fleetnode")/"
install -m 0644 deploy/monitoring/fleetnode-alerts.yml deploy/monitoring/grafana-fleetnode.json deploy/monitoring/README.md "$(d "$prefix/share/fleetnode/monitoring")/"
"$bin/fleetnode" --help >"$(d "$prefix/share/doc/fleetnode")/fleetnode.txt" 2>&1 || true
"$bin/fleetctl" --help >"$(d "$prefix/share/doc/fleetnode")/fleetctl.txt" 2>&1 || true

install -d -m 0750 "$(d "$sysconfdir/fleetnode")"
if [ -e "$(d "$sysconfdir/fleetnode/fleetnode.toml")" ]; then
  echo "install: $sysconfdir/fleetnode/fleetnode.toml exists: kept (the example is $prefix/share/doc/fleetnode/fleetnode.toml.example)"
else
  install -m 0640 deploy/examples/fleetnode.toml "$(d "$sysconfdir/fleetnode/fleetnode.toml")"
fi
install -m 0644 deploy/examples/fleetnode.toml "$(d "$prefix/share/doc/fleetnode/fleetnode.toml.example")"

if [ -z "$destdir" ] && [ "$(id -u)" -eq 0 ]; then
  if ! getent passwd fleetnode >/dev/null; then
    if command -v systemd-sysusers >/dev/null && [ -d /run/systemd/system ]; then systemd-sysusers fleetnode.conf
    else useradd --system --home-dir /var/lib/fleetnode --no-create-home --shell /usr/sbin/nologin --user-group fleetnode
         getent group dialout >/dev/null && usermod -a -G dialout fleetnode; fi
  fi
  chown -R root:fleetnode "$sysconfdir/fleetnode"
  [ -d /run/systemd/system ] && systemctl daemon-reload || true
fi
echo "install: $prefix/bin/{fleetnode,fleetctl}, $unitdir/fleetnode.service, $sysconfdir/fleetnode/fleetnode.toml"
echo "next: edit $sysconfdir/fleetnode/fleetnode.toml, fleetnode check-config it, then systemctl enable --now fleetnode"
