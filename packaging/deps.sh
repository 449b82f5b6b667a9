#!/bin/sh
# Installs what Gatehouse needs to build and test, from Debian's packages.
# Idempotent and quick when everything is there; as a non-root user it only
# prints the command to run.
set -eu

PACKAGES="gcc make libc6-dev pkg-config libssl-dev libmaxminddb-dev zlib1g-dev \
libconfig-dev libc-ares-dev libpcre2-dev libcrypt-dev check curl openssl procps clang libclang-rt-14-dev \
apache2-utils apt-utils dpkg-dev stunnel4"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "gatehouse: missing build dependencies. Run as root:" >&2
    echo "  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
echo "gatehouse: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q $missing || { apt-get update -q && apt-get install -y -q $missing; }
