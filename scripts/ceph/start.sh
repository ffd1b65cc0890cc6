#!/usr/bin/env bash
# Starts a throw-away single-node Ceph cluster (one mon, one bluestore OSD on a sparse file, one radosgw) in DIR,
# without systemd, and an S3 user on it. For tests and benchmarks of @zotjs/storage-s3.
#
#   scripts/ceph/start.sh DIR        (DIR must not exist or be empty)
#
# Prints, and writes to DIR/s3.env, the S3 endpoint and credentials:
#   S3_ENDPOINT=http://127.0.0.1:PORT  S3_ACCESS_KEY=...  S3_SECRET_KEY=...  S3_REGION=default
# Stop it with scripts/ceph/stop.sh DIR: it ends exactly the daemons started here (PIDs in DIR/run/*.pid).
#
# Needs the Debian packages ceph-mon ceph-osd radosgw ceph-common (scripts/install-system-deps.sh) and root
# (the OSD opens its block file with O_DIRECT as the ceph daemons' usual user would; root keeps it simple).
# Several clusters may run at once in different folders: every port is picked free, every path is under DIR.
set -euo pipefail

dir="${1:?usage: start.sh DIR}"
osd_size="${CEPH_OSD_SIZE:-20G}"
mkdir -p "$dir"
if [ -n "$(ls -A "$dir")" ]; then
  echo "ceph: $dir is not empty" >&2
  exit 1
fi
dir="$(cd "$dir" && pwd)"
started=$(date +%s%N)

for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "ceph: $tool not found: install ceph-mon ceph-osd radosgw ceph-common (scripts/install-system-deps.sh)" >&2
    exit 2
  }
done

# Four free TCP ports on 127.0.0.1 (mon v2, mon v1, radosgw; the OSD binds its own in the range below).
read -r mon_port mon1_port rgw_port osd_port_min < <(node -e '
  const net = require("net");
  const servers = [];
  const next = () => new Promise((res) => { const s = net.createServer(); s.listen(0, "127.0.0.1", () => { servers.push(s); res(s.address().port); }); });
  (async () => { const ports = []; for (let i = 0; i < 4; i++) ports.push(await next()); servers.forEach((s) => s.close()); console.log(ports.join(" ")); })();
')

mkdir -p "$dir/mon" "$dir/osd" "$dir/rgw" "$dir/run" "$dir/log"
fsid="$(uuidgen)"
conf="$dir/ceph.conf"
cat >"$conf" <<EOF
[global]
fsid = $fsid
mon initial members = a
mon host = [v2:127.0.0.1:$mon_port,v1:127.0.0.1:$mon1_port]
public addr = 127.0.0.1
ms bind ipv6 = false
ms bind port min = $osd_port_min
ms bind port max = $((osd_port_min + 100))
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $dir/\$name.keyring
run dir = $dir/run
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$cluster-\$name.asok
log file = $dir/log/\$name.log
# One OSD: pools of size 1, few placement groups (radosgw creates about 7 pools), placement within one host.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
# A nearly full disk must not stop the mon; proposals every 0.1 s make radosgw's first start fast.
mon data avail crit = 0
mon data avail warn = 0
paxos propose interval = 0.1
mon osd full ratio = 0.99
mon osd backfillfull ratio = 0.98
mon osd nearfull ratio = 0.97
[mon]
mon data = $dir/mon
[osd]
osd data = $dir/osd
osd objectstore = bluestore
bluestore block path = $dir/osd-block
bluestore block create = true
bluestore block size = $osd_size
bluestore fsck on mkfs = false
bluestore fsck on mount = false
osd memory target = 1073741824
osd crush update on start = true
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw data = $dir/rgw
# Deleted objects give their space back after a minute, not two hours.
rgw gc obj min wait = 60
rgw gc processor period = 60
rgw dns name = 127.0.0.1
EOF

c=(-c "$conf")
log() { echo "ceph: $*" >&2; }
fail() {
  log "$*"
  for f in "$dir"/log/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done
  exit 1
}

# Keys: the mon's, the admin's (imported into the mon keyring so the admin can talk to the new mon).
ceph-authtool --create-keyring "$dir/mon.a.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool --create-keyring "$dir/client.admin.keyring" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool "$dir/mon.a.keyring" --import-keyring "$dir/client.admin.keyring" >/dev/null

monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port,v1:127.0.0.1:$mon1_port]" "$dir/monmap" >/dev/null
ceph-mon "${c[@]}" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.a.keyring" || fail "ceph-mon --mkfs failed"
ceph-mon "${c[@]}" -i a || fail "ceph-mon did not start"

# The OSD: registered with the mon, then its store made and started.
osd_uuid="$(uuidgen)"
osd_key="$(ceph-authtool --gen-print-key)"
echo "{\"cephx_secret\": \"$osd_key\"}" >"$dir/osd-secret.json"
osd_id="$(ceph "${c[@]}" --connect-timeout 20 osd new "$osd_uuid" -i "$dir/osd-secret.json")" || fail "ceph osd new failed"
ceph-authtool --create-keyring "$dir/osd.$osd_id.keyring" --name "osd.$osd_id" --add-key "$osd_key" >/dev/null
ceph-osd "${c[@]}" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >"$dir/log/osd-mkfs.out" 2>&1 || fail "ceph-osd --mkfs failed"
ceph-osd "${c[@]}" -i "$osd_id" 2>>"$dir/log/osd-start.out" || fail "ceph-osd did not start"

# radosgw: its own key, then the daemon (its launcher returns before the pid file exists).
ceph "${c[@]}" auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' >"$dir/client.rgw.a.keyring"
radosgw "${c[@]}" -n client.rgw.a || fail "radosgw did not start"

wait_for() { # what, seconds, command...
  local what="$1" limit="$2"
  shift 2
  local deadline=$(($(date +%s) + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out waiting for $what"
    sleep 0.1
  done
}
wait_for "the OSD to come up" 60 bash -c "ceph ${c[*]} osd stat --format json | grep -q '\"num_up_osds\":1'"
wait_for "radosgw's pid file" 60 test -s "$dir/run/client.rgw.a.pid"
wait_for "radosgw to answer" 90 curl -sf -o /dev/null "http://127.0.0.1:$rgw_port/"

access_key="zot$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
secret_key="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
radosgw-admin "${c[@]}" -n client.admin user create --uid zot --display-name "zot-ts tests" \
  --access-key "$access_key" --secret-key "$secret_key" >/dev/null || fail "radosgw-admin user create failed"

cat >"$dir/s3.env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$rgw_port
S3_ACCESS_KEY=$access_key
S3_SECRET_KEY=$secret_key
S3_REGION=default
EOF

# The first bucket creation takes about 2 s (radosgw creates its data pools): pay it here, not in a test.
probe="/probe-$$"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
{ node "$here/s3-request.mjs" "$dir/s3.env" PUT "$probe" && node "$here/s3-request.mjs" "$dir/s3.env" DELETE "$probe"; } ||
  fail "the probe bucket could not be made"

cat "$dir/s3.env"
log "ready in $(( ($(date +%s%N) - started) / 1000000 )) ms ($dir)"
