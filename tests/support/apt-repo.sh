#!/bin/sh
# apt-repo.sh DIR — builds a tiny Debian repository in DIR: one package,
# gh-hello_1.0_all.deb, indexed by apt-ftparchive (flat layout, trusted=yes).
set -eu
dir=$1
mkdir -p "$dir/pkg/DEBIAN" "$dir/pkg/usr/share/doc/gh-hello" "$dir/repo"
cat > "$dir/pkg/DEBIAN/control" <<CTRL
Package: gh-hello
Version: 1.0
Architecture: all
Maintainer: Gatehouse tests <tests@gatehouse.invalid>
Description: a package for gatehouse's apt tests
CTRL
# some bytes worth checking
head -c 200000 /dev/urandom > "$dir/pkg/usr/share/doc/gh-hello/noise"
dpkg-deb --build --root-owner-group "$dir/pkg" "$dir/repo/gh-hello_1.0_all.deb" > /dev/null
cd "$dir/repo"
apt-ftparchive packages . > Packages
gzip -9 -k Packages
apt-ftparchive release . > Release
chmod -R a+rX "$dir"
