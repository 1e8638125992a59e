# Sourced by scripts/demo.sh and scripts/soak.sh, which both run a small site of real nodes on loopback.

# Re-executes the calling script in a private IPC namespace (once: FLEET_SITE_IPC tells the second run), so
# the shared-memory "GPS" segments are not this machine's; sets `units` to COUNT SHM units, 0 and up there,
# SHARED_BASE and up of this machine's when no namespace can be made.
#   site_private_ipc LABEL SCRIPT SHARED_BASE COUNT "$@"
site_private_ipc() {
  local label=$1 script=$2 base=$3 count=$4 k
  shift 4
  if [ -z "${FLEET_SITE_IPC:-}" ]; then
    if unshare --ipc true 2>/dev/null; then
      FLEET_SITE_IPC=private exec unshare --ipc "$script" "$@"
    elif unshare --user --map-root-user --ipc true 2>/dev/null; then
      FLEET_SITE_IPC=private exec unshare --user --map-root-user --ipc "$script" "$@"
    fi
    echo "$label: cannot create a private IPC namespace (unshare --ipc); using SHM units $base-$(( base + count - 1 )) of this machine" >&2
    export FLEET_SITE_IPC=shared
  fi
  units=()
  for (( k = 0; k < count; k++ )); do
    if [ "$FLEET_SITE_IPC" = private ]; then units+=("$k"); else units+=("$(( base + k ))"); fi
  done
}

# The fleetnode.toml of node $1 (GPS as NTP shared memory, siblings over AES-CMAC key 1, NTS, admin API,
# metrics), on stdout. The caller sets run, names, addrs, units, ntp_port, ke_port, admin_port, metrics_port
# (and site_name).
site_node_config() {
  local i=$1 n=${names[$1]} a=${addrs[$1]}
  cat <<TOML
# ${n} of the ${site_name:-loopback} site: GPS (NTP shared memory, as gpsd writes it), siblings over AES-CMAC, NTS, admin API.
[node]
name = "$n"
status_socket = "$run/$n/status.sock"

[ntp]
listen = ["$a:$ntp_port"]
threads = 1

[access]
allow = ["127.0.0.0/8"]

[keys]
file = "$run/$n/ntp.keys"

[[refclock]]
name = "GPS"
driver = "shm"
unit = ${units[$i]}
poll = 2

[nts]
listen = ["$a:$ke_port"]
certificate = "$run/pki/nodes/$n/nts.pem"
private_key = "$run/pki/nodes/$n/nts-key.pem"
key_file = "$run/$n/nts-cookie-keys"
rotate_interval = 0                 # the site rotates its cookie keys with fleetctl rotate cookie
ntp_server = "$a"
ntp_port = $ntp_port

[admin]
listen = "$a:$admin_port"
certificate = "$run/pki/nodes/$n/admin.pem"
private_key = "$run/pki/nodes/$n/admin-key.pem"
client_ca = "$run/pki/admin-ca.pem"

[state]
database = "$run/$n/state.sqlite"
flush_interval = 1

[metrics]
listen = "$a:$metrics_port"
TOML
  for j in "${!addrs[@]}"; do
    [ "$j" = "$i" ] && continue
    cat <<TOML

[[sibling]]
address = "${addrs[$j]}:$ntp_port"
key = 1
accept = [1]
minpoll = 0
maxpoll = 0
TOML
  done
}
