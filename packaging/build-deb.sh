#!/bin/sh
# Builds the gatehouse .deb from the current work tree.
#
# Needs, once (as root):
#   apt-get install debhelper devscripts
# plus the build dependencies listed in packaging/debian/control
# (`sh packaging/deps.sh` installs them, or use
# `mk-build-deps -i -r packaging/debian/control` from devscripts).
#
# Usage: sh packaging/build-deb.sh [OUTDIR]
#   OUTDIR  where the .deb, .buildinfo and .changes files go
#           (default: build/deb, which `make clean` removes and git ignores)
#
# dpkg-buildpackage needs debian/ at the top of the source tree.  The repo
# keeps it in packaging/debian, so this script copies the work tree (as it is
# now, uncommitted edits included, without .git and build output) into a
# scratch directory and adds debian/ there.  The repo itself is not touched:
# no ./debian left behind, and no `make clean` of your build/ directory.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
outdir=${1:-"$top/build/deb"}

for tool in dpkg-buildpackage dh; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build-deb: '$tool' not found; run: apt-get install debhelper devscripts" >&2
        exit 1
    fi
done

version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)
upstream=${version%%-*}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-deb.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
src="$scratch/gatehouse-$upstream"
mkdir "$src"

# The tree as it is on disk.  Build output and VCS data stay behind.
(cd "$top" && tar -cf - --exclude=./.git --exclude=./build --exclude=./build-asan \
    --exclude=./debian .) | (cd "$src" && tar -xf -)
cp -R "$top/packaging/debian" "$src/debian"

echo "build-deb: building gatehouse $version in $src"
(cd "$src" && dpkg-buildpackage -us -uc -b)

mkdir -p "$outdir"
for f in "$scratch"/*.deb "$scratch"/*.ddeb "$scratch"/*.buildinfo "$scratch"/*.changes; do
    [ -e "$f" ] || continue
    cp "$f" "$outdir/"
    echo "build-deb: wrote $outdir/$(basename "$f")"
done
