#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real (container clients, OpenLDAP, htpasswd, Chromium
# for the Swagger UI and OpenID Connect login tests, redis-server for shared sessions and API keys, ...).
# Idempotent: checks for each package's main binary first, so it costs a few milliseconds when all are present.
# Not root: prints what is missing and exits 0, so a developer can still build and run the unit tests.
set -euo pipefail

# package:binary pairs; the binary proves the package is installed without asking dpkg.
checks=(
  skopeo:skopeo
  podman:podman
  buildah:buildah
  umoci:umoci
  slapd:slapd
  ldap-utils:ldapsearch
  apache2-utils:htpasswd
  openssl:openssl
  curl:curl
  jq:jq
  chromium:chromium
  # Shared session and API-key stores (several replicas); tests start their own redis-server by hand.
  redis-server:redis-server
  # Stock dockerd and containerd, started by hand by the token-service tests (docker login, push, pull).
  docker.io:dockerd
  containerd:containerd
  # What the benchmark's smoke run (bench/test/smoke.test.mjs) compares against and loads with.
  docker-registry:docker-registry
  nginx:nginx
  wrk:wrk
  # A single-node Ceph (mon, OSD, RADOS Gateway) for the S3 storage tests (scripts/ceph/start.sh).
  ceph-mon:ceph-mon
  ceph-osd:ceph-osd
  radosgw:radosgw
  ceph-common:ceph
)

has_binary() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}

missing=()
for pair in "${checks[@]}"; do
  pkg="${pair%%:*}"
  bin="${pair#*:}"
  has_binary "$bin" || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: system packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing system packages: ${missing[*]}"
  echo "setup: install them (as root) with:"
  echo "  echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections"
  echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
  echo "setup: tests that need them will be skipped"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: missing system packages: ${missing[*]} (no apt-get here: install them with your package manager)"
  exit 0
fi

echo "setup: installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Without this preseed slapd's postinst builds a default database and may prompt for an admin password.
if command -v debconf-set-selections >/dev/null 2>&1; then
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
fi
# Packages are installed for their programs, never as services: docker-registry's would take port 5000 (the
# registry's own default), nginx's port 80 and redis-server's 6379. A policy-rc.d that refuses every start does that, on machines
# with or without systemd; one put here for the install is removed afterwards.
policy=/usr/sbin/policy-rc.d
own_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=true
fi
status=0
apt-get update -qq || status=$?
if [ "$status" -eq 0 ]; then
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/zot-ts-apt-install.log 2>&1 || status=$?
fi
if [ "$own_policy" = true ]; then rm -f "$policy"; fi
if [ "$status" -ne 0 ]; then
  tail -n 40 /tmp/zot-ts-apt-install.log
  echo "setup: apt-get install failed (full log: /tmp/zot-ts-apt-install.log)"
  exit 1
fi
echo "setup: system packages installed"
