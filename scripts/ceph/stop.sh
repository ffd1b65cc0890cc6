#!/usr/bin/env bash
# Stops the Ceph cluster that scripts/ceph/start.sh started in DIR: exactly its daemons, by the PIDs in
# DIR/run/*.pid (each checked to still be a ceph daemon using DIR's config), SIGTERM then SIGKILL after 10 s.
#
#   scripts/ceph/stop.sh DIR           stop, then remove DIR
#   scripts/ceph/stop.sh --keep DIR    stop, keep DIR (logs, data)
set -uo pipefail

keep=0
if [ "${1:-}" = "--keep" ]; then
  keep=1
  shift
fi
dir="${1:?usage: stop.sh [--keep] DIR}"
[ -d "$dir" ] || exit 0
dir="$(cd "$dir" && pwd)"

pids=()
# radosgw first (a client of the others), then the OSD, then the mon.
for name in client.rgw.a osd.0 mon.a; do
  file="$dir/run/$name.pid"
  [ -s "$file" ] || continue
  pid="$(cat "$file")"
  # Only a process whose command line names this cluster's config: a reused PID is left alone.
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/ceph.conf"; then
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  fi
done

deadline=$(($(date +%s) + 10))
for pid in "${pids[@]}"; do
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      kill -KILL "$pid" 2>/dev/null
      break
    fi
    sleep 0.05
  done
done
for pid in "${pids[@]}"; do
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
done

[ "$keep" = 1 ] || rm -rf "$dir"
