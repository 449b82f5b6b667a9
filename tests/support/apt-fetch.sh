#!/bin/sh
# apt-fetch.sh DIR URL PROXY-SETTING — one machine's apt through a proxy:
# apt-get update, then apt-get install of gh-hello into a root of its own
# (DIR/root), with a private apt and dpkg state: nothing of the system's apt
# or dpkg state is used or touched.  PROXY-SETTING is apt configuration,
# e.g. 'Acquire::http::Proxy "http://127.0.0.1:3128";'.  The package file
# apt fetched is copied to DIR/out, and the installed file is checked.
set -eu
dir=$1 url=$2 proxy=$3
state="$dir/apt-state"
rm -rf "$state" "$dir/out" "$dir/root"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/etc/sources.list.d" \
         "$state/etc/preferences.d" "$state/etc/apt.conf.d" "$state/log" \
         "$state/dpkg/info" "$state/dpkg/updates" "$state/dpkg/triggers" "$dir/out" "$dir/root"
echo "deb [trusted=yes] $url ./" > "$state/etc/sources.list"
cat > "$state/apt.conf" <<CONF
Dir::State "$state";
Dir::State::status "$state/dpkg/status";
Dir::Cache "$state/cache";
Dir::Etc "$state/etc";
Dir::Etc::sourcelist "$state/etc/sources.list";
Dir::Etc::sourceparts "$state/etc/sources.list.d";
Dir::Etc::parts "$state/etc/apt.conf.d";
Dir::Etc::preferencesparts "$state/etc/preferences.d";
Dir::Log "$state/log";
DPkg::Options { "--root=$dir/root"; "--admindir=$state/dpkg"; "--log=$state/dpkg.log";
                "--force-not-root"; "--force-bad-path"; };
Debug::NoLocking "true";
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::Retries "0";
$proxy
CONF
touch "$state/dpkg/status"
export APT_CONFIG="$state/apt.conf"
apt-get -q update > "$dir/update.log" 2>&1 || { cat "$dir/update.log"; exit 1; }
# apt prints warnings to the log and still exits 0: an index it could not
# use must fail the run
if grep -E '^(W|E):' "$dir/update.log"; then exit 1; fi
apt-get -q -y install gh-hello > "$dir/install.log" 2>&1 || { cat "$dir/install.log"; exit 1; }
test -s "$dir/root/usr/share/doc/gh-hello/noise" || { echo "gh-hello is not installed"; exit 1; }
cp "$state/cache/archives/gh-hello_1.0_all.deb" "$dir/out/"
ls "$dir/out"
