#!/bin/sh
# Installs what Gatehouse needs from Debian's packages: to build (and run),
# or with --test also what the test suites drive (real clients and servers,
# the fuzzer's compiler).  Idempotent and quick when everything is there; as
# a non-root user it only prints the command to run.
set -eu

BUILD="gcc make libc6-dev pkg-config libssl-dev libmaxminddb-dev zlib1g-dev \
libconfig-dev libc-ares-dev libpcre2-dev libcrypt-dev libsystemd-dev libnghttp2-dev libbrotli-dev \
libzstd-dev libldap-dev libkrb5-dev libhiredis-dev"
# check: the test framework; curl, apt-utils, dpkg-dev, apache2-utils
# (htpasswd), openssl and stunnel4: the real clients, repositories, password
# files and TLS servers the integration suites use; clang and
# libclang-rt-14-dev: libFuzzer; procps: ps for the tests' process checks;
# chromium: a real browser through the gateway (headless);
# libmaxmind-db-writer-perl: writes the geo tests' .mmdb at run time;
# sslscan: audits the default TLS settings in the TLS suite; python3: its
# http.server is the apt test's mirror (it answers 304 without validators);
# nftables and iproute2: the transparent gateway's tests build a router in
# network namespaces and load the shipped rules into it;
# prometheus: its promtool checks /metrics (the package is 96 MB, most of
# it the server and its web assets; Debian ships promtool only there);
# sarg: reads the squid-format access log; debhelper, lintian, logrotate
# and ssl-cert: make deb-check builds, lints, installs, rotates and purges
# the package.
# nghttp2-client (nghttp, h2load) and python3-h2 (the frame-level client
# tests/support/h2client.py) speak HTTP/2 to the front door; brotli, zstd
# and python3-brotli decode the compression tests' bodies independently.
# python3-grpcio: the gRPC echo service and client behind an HTTP/2 pool
# (tests/support/grpc_echo.py).
# slapd and ldap-utils: the directory suite's LDAP server, which it starts
# itself on a generated tree (installed unconfigured: no system database,
# no service); krb5-kdc, krb5-admin-server (kadmin.local) and krb5-user
# (kinit): the negotiate suite's realm and KDC in a temporary directory.
# redis-server: the fleet suite's shared store, which it starts itself in a
# temporary directory (the package's own service is not used).
TEST="check curl openssl procps clang libclang-rt-14-dev apache2-utils apt-utils dpkg-dev stunnel4 \
chromium libmaxmind-db-writer-perl sslscan python3 nftables iproute2 \
prometheus sarg debhelper lintian logrotate ssl-cert nghttp2-client python3-h2 \
brotli zstd python3-brotli slapd ldap-utils krb5-kdc krb5-admin-server krb5-user \
python3-grpcio redis-server"

want=$BUILD
[ "${1:-}" = "--test" ] && want="$BUILD $TEST"

missing=""
for p in $want; do
    if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "gatehouse: missing packages. Run as root:" >&2
    echo "  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
echo "gatehouse: installing$missing"
export DEBIAN_FRONTEND=noninteractive
case " $missing " in
*" slapd "*) echo "slapd slapd/no_configuration boolean true" | debconf-set-selections ;;
esac
apt-get install -y -q $missing || { apt-get update -q && apt-get install -y -q $missing; }
