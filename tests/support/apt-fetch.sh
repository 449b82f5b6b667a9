#!/bin/sh
# apt-fetch.sh DIR URL PROXY-SETTING — runs apt-get update and apt-get
# download of gh-hello with a private apt configuration (nothing of the
# system's apt state is used or touched), through the given proxy setting,
# e.g. 'Acquire::http::Proxy "http://127.0.0.1:3128";'.  The package lands
# in DIR/out.
set -eu
dir=$1 url=$2 proxy=$3
state="$dir/apt-state"
rm -rf "$state" "$dir/out"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/etc/sources.list.d" \
         "$state/etc/preferences.d" "$state/etc/apt.conf.d" "$dir/out"
echo "deb [trusted=yes] $url ./" > "$state/etc/sources.list"
cat > "$state/apt.conf" <<CONF
Dir::State "$state";
Dir::State::status "$state/status";
Dir::Cache "$state/cache";
Dir::Etc "$state/etc";
Dir::Etc::sourcelist "$state/etc/sources.list";
Dir::Etc::sourceparts "$state/etc/sources.list.d";
Dir::Etc::parts "$state/etc/apt.conf.d";
Dir::Etc::preferencesparts "$state/etc/preferences.d";
Debug::NoLocking "true";
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::Retries "0";
$proxy
CONF
touch "$state/status"
export APT_CONFIG="$state/apt.conf"
apt-get -q update > "$dir/update.log" 2>&1 || { cat "$dir/update.log"; exit 1; }
cd "$dir/out"
apt-get -q download gh-hello > "$dir/download.log" 2>&1 || { cat "$dir/download.log"; exit 1; }
ls "$dir/out"
