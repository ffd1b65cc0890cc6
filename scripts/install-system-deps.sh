#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real (container clients, OpenLDAP, htpasswd, Chromium
# for the Swagger UI test, ...).
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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/zot-ts-apt-install.log 2>&1 || {
  tail -n 40 /tmp/zot-ts-apt-install.log
  echo "setup: apt-get install failed (full log: /tmp/zot-ts-apt-install.log)"
  exit 1
}
echo "setup: system packages installed"
