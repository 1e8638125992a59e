#!/usr/bin/env bash
# Checks deploy/ as CI runs it (part of `make test`): the systemd unit and its drop-in, the alerting rules and
# their unit tests, the Grafana dashboard, the example site, the shell scripts. Fails on the first problem.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "check-deploy: $*" >&2; exit 1; }

# systemd-analyze verify: the ExecStart binary is not installed here, which it reports; anything else fails.
if command -v systemd-analyze >/dev/null; then
  out=$(systemd-analyze verify deploy/systemd/fleetnode.service 2>&1 || true)
  other=$(printf '%s\n' "$out" | grep -v -E 'Command /usr/local/bin/fleetnode is not executable' | grep -v '^$' || true)
  [ -z "$other" ] || fail "systemd-analyze verify fleetnode.service: $other"
  # The drop-in, applied on top of the unit.
  unitdir=$(mktemp -d "${TMPDIR:-$PWD/.build}/unit.XXXXXX")
  trap 'rm -rf "$unitdir"' EXIT
  cp deploy/systemd/fleetnode.service "$unitdir/"
  mkdir -p "$unitdir/fleetnode.service.d"
  cp deploy/systemd/fleetnode.service.d/system-clock.conf "$unitdir/fleetnode.service.d/"
  out=$(SYSTEMD_UNIT_PATH="$unitdir:" systemd-analyze verify "$unitdir/fleetnode.service" 2>&1 || true)
  other=$(printf '%s\n' "$out" | grep -v -E 'Command /usr/local/bin/fleetnode is not executable' | grep -v '^$' || true)
  [ -z "$other" ] || fail "systemd-analyze verify with system-clock.conf: $other"
  score=$(systemd-analyze security --offline=true deploy/systemd/fleetnode.service 2>/dev/null | sed -n 's/.*Overall exposure level for fleetnode.service: \([0-9.]*\).*/\1/p')
  echo "check-deploy: fleetnode.service verified; systemd-analyze security exposure $score"
  awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 3.0) }' || fail "exposure $score above 3.0: a hardening line was lost"
else
  fail "systemd-analyze missing (scripts/install-deps.sh test)"
fi

command -v promtool >/dev/null || fail "promtool missing (scripts/install-deps.sh test installs the prometheus package)"
promtool check rules deploy/monitoring/fleetnode-alerts.yml
(cd deploy/monitoring && promtool test rules fleetnode-alerts.test.yml)

python3 - deploy/monitoring/grafana-fleetnode.json deploy/monitoring/fleetnode-alerts.yml <<'PY'
import json, re, sys
dashboard = json.load(open(sys.argv[1]))
rules = open(sys.argv[2]).read()
# Every metric the dashboard and the rules use is one the node exports: named in the node's own sources or in
# the edge libraries it links that count for it (the connection budgets, NTS-KE, the reference clocks).
import glob
exported = set()
paths = [p for folder in ("Node", "NetworkEdges", "NTSKE", "Refclock") for p in glob.glob(f"Sources/{folder}/**/*.swift", recursive=True)]
for path in paths:
    exported |= set(re.findall(r'"(fleetnode_[a-z_]+)"', open(path).read()))
used = set(re.findall(r'fleetnode_[a-z_]+', json.dumps(dashboard) + rules)) - {"fleetnode"}
unknown = sorted(m for m in used if m not in exported)
if unknown:
    sys.exit(f"check-deploy: metrics not exported by the node: {unknown}")
print(f"check-deploy: dashboard ({len(dashboard['panels'])} panels) and rules use {len(used)} exported metrics")
PY

for script in scripts/demo.sh scripts/loopback-site.sh scripts/soak.sh scripts/install-deps.sh scripts/install.sh scripts/check-deploy.sh deploy/certbot/fleetctl-deploy-hook; do bash -n "$script"; done
echo "check-deploy: OK"
