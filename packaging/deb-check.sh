#!/bin/sh
# make deb-check: the package as an administrator meets it, on this machine.
#
#  1. builds the .deb (packaging/build-deb.sh: dpkg-buildpackage -b, which
#     works as root without network) and runs lintian --pedantic on it:
#     any tag that no override explains fails the check;
#  2. installs it with apt-get (its dependencies come from Debian);
#  3. starts the daemon as the unit does: under systemd with systemctl
#     when systemd is PID 1; otherwise emulated from the installed unit
#     file itself: its ExecStartPre, then its ExecStart under setpriv with
#     the unit's CapabilityBoundingSet, NoNewPrivileges, UMask and
#     RuntimeDirectory, and a NOTIFY_SOCKET that must hear READY=1;
#  4. checks it runs as "gatehouse" with the ssl-cert group, answers over
#     TLS with a key readable only through ssl-cert, and logs to a file it
#     owns;
#  5. reloads, as ExecReload does, with a new key (again root:ssl-cert
#     0640): the new certificate is served; then a bad drop-in: the reload
#     fails and the old configuration serves;
#  6. rotates the logs with logrotate -f: the new file is written;
#  7. stops it (STOPPING=1), purges the package and lists what is left.
#
# It installs and purges a real package, so it runs only as root and only
# when no gatehouse package is installed already; otherwise it says why
# and does nothing.
set -eu

say() { echo "deb-check: $*"; }
die() { echo "deb-check: FAILED: $*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
    say "skipped: it installs and purges the gatehouse package, so it runs as root only"
    exit 0
fi
if dpkg-query -W -f '${Status}' gatehouse 2>/dev/null | grep -q "installed"; then
    say "skipped: a gatehouse package is installed on this machine; deb-check would purge it"
    exit 0
fi
for t in dpkg-buildpackage dh lintian logrotate setpriv openssl curl python3; do
    command -v "$t" >/dev/null 2>&1 || die "'$t' is missing: run 'sh packaging/deps.sh --test'"
done
getent group ssl-cert >/dev/null || die "no ssl-cert group: install the ssl-cert package"

top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build/deb-check"
work=$(mktemp -d /tmp/gh-deb-check.XXXXXX)
chmod 0755 "$work"
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    [ -n "${npid:-}" ] && kill "$npid" 2>/dev/null || true
    rm -f /etc/gatehouse/conf.d/50-deb-check.conf /etc/gatehouse/conf.d/60-broken.conf
    # a failed run takes away what it installed
    if [ -n "${installed:-}" ] && dpkg-query -W -f '${Status}' gatehouse 2>/dev/null | grep -q installed; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -q gatehouse > /dev/null 2>&1 || true
    fi
    rm -rf "$work" /etc/ssl/gh-deb-check
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. build and lintian ----
rm -rf "$out"
sh "$top/packaging/build-deb.sh" "$out" > "$work/build.log" 2>&1 || { tail -40 "$work/build.log"; die "the package did not build"; }
deb=$(ls "$out"/gatehouse_*.deb | head -1)
say "built $(basename "$deb")"
lintian --pedantic --display-info --suppress-tags-from-file /dev/null "$deb" > "$work/lintian.log" 2>&1 || true
if grep -E '^[EWIPX]: ' "$work/lintian.log"; then
    die "lintian --pedantic has tags (above) that no override explains"
fi
say "lintian --pedantic: clean (overrides: $(grep -c '^gatehouse:' "$top/packaging/debian/gatehouse.lintian-overrides"))"

# ---- 2. install ----
installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb" > "$work/install.log" 2>&1 || { tail -20 "$work/install.log"; die "apt-get install"; }
say "installed; the daemon's account: $(id gatehouse)"
id -nG gatehouse | grep -qw ssl-cert || die "gatehouse is not in the ssl-cert group"
[ "$(stat -c '%U:%G %a' /var/log/gatehouse)" = "gatehouse:adm 2750" ] || die "/var/log/gatehouse is $(stat -c '%U:%G %a' /var/log/gatehouse)"
man -w gatehouse >/dev/null && man -w gatehouse.conf >/dev/null || die "man pages missing"
[ -e /usr/share/doc/gatehouse/README.md.gz ] || [ -e /usr/share/doc/gatehouse/README.md ] || die "README not installed"
grep -q '\.\./www\|make run' /etc/gatehouse/gatehouse.conf && die "the installed gatehouse.conf speaks of ../www or make run"
/usr/sbin/gatehouse -t -q -c /etc/gatehouse/gatehouse.conf || die "the shipped configuration fails -t"

# ---- 3. configure as an administrator would, and start as the unit does ----
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(port); P2=$(port); P3=$(port)
sed -i -e "s/127.0.0.1:3128/127.0.0.1:$P1/" -e "s/127.0.0.1:8080/127.0.0.1:$P2/" \
    -e 's|access = "stdout";|access = "/var/log/gatehouse/access.log";|' /etc/gatehouse/gatehouse.conf
mkcert() { # $1: name; a key root:ssl-cert 0640, as Debian keeps them
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
        -addext subjectAltName=DNS:localhost -keyout /etc/ssl/gh-deb-check/site.key \
        -out /etc/ssl/gh-deb-check/site.pem 2>/dev/null
    chown root:ssl-cert /etc/ssl/gh-deb-check/site.key
    chmod 0640 /etc/ssl/gh-deb-check/site.key
    chmod 0644 /etc/ssl/gh-deb-check/site.pem
    openssl x509 -noout -fingerprint -sha256 -in /etc/ssl/gh-deb-check/site.pem | cut -d= -f2
}
mkdir -p /etc/ssl/gh-deb-check
chmod 0755 /etc/ssl/gh-deb-check
fp1=$(mkcert)
cat > /etc/gatehouse/conf.d/50-deb-check.conf <<EOF
listeners = ( { name = "site-tls"; mode = "reverse"; listen = [ "127.0.0.1:$P3" ]; routes = "site";
                tls = { certificates = ( { cert = "/etc/ssl/gh-deb-check/site.pem";
                                           key = "/etc/ssl/gh-deb-check/site.key"; } ); }; } );
EOF
unit=/lib/systemd/system/gatehouse.service
key() { sed -n "s/^$1=//p" "$unit" | head -1; }
served_fp() {
    echo | openssl s_client -connect "127.0.0.1:$P3" -servername localhost 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256 | cut -d= -f2
}
mainpid() { if [ -n "$pid" ]; then echo "$pid"; else systemctl show -p MainPID --value gatehouse; fi; }

if [ "$(ps -p 1 -o comm=)" = systemd ]; then
    # the package's postinst may have started it on the shipped file
    # already: restart, so it runs on the one configured above
    say "systemd is PID 1: systemctl restart"
    systemctl restart gatehouse || { journalctl -u gatehouse --no-pager | tail -20; die "systemctl restart"; }
else
    say "no systemd (PID 1 is $(ps -p 1 -o comm=)): running the unit's commands as it would"
    caps=$(key CapabilityBoundingSet | tr 'A-Z' 'a-z' | sed -e 's/cap_/+/g' -e 's/ /,/g')
    [ "$(key NoNewPrivileges)" = yes ] && nnp=--no-new-privs || nnp=
    [ "$(key Type)" = notify ] || die "the unit is not Type=notify"
    mkdir -p /run/gatehouse && chmod "$(key RuntimeDirectoryMode)" /run/gatehouse
    sh -c "$(key ExecStartPre)" || die "ExecStartPre: $(key ExecStartPre)"
    # the NOTIFY_SOCKET systemd would give: a datagram socket that records what it hears
    python3 - "$work/notify.sock" "$work/notify.log" <<'PY' &
import socket, sys
import os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)  # as systemd's own: the daemon speaks after dropping root
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        msg = s.recv(4096).decode()
        log.write(msg.replace("\n", " ") + "\n")
        if "STOPPING=1" in msg:
            break
PY
    npid=$!
    for i in $(seq 50); do [ -S "$work/notify.sock" ] && break; sleep 0.1; done
    ( umask "$(key UMask)"; exec env NOTIFY_SOCKET="$work/notify.sock" RUNTIME_DIRECTORY=/run/gatehouse \
        setpriv --bounding-set=-all,"$caps" --inh-caps=-all $nnp $(key ExecStart) ) > "$work/daemon.log" 2>&1 &
    pid=$!
    for i in $(seq 100); do grep -q READY=1 "$work/notify.log" 2>/dev/null && break; sleep 0.1; done
    grep -q READY=1 "$work/notify.log" || { cat "$work/daemon.log"; die "no READY=1 from the daemon"; }
    say "READY=1 received, with the bounding set $caps"
fi
mp=$(mainpid)
curl -sf -o /dev/null "http://127.0.0.1:$P2/" || die "the daemon does not answer on its port after READY=1"
user=$(ps -o user= -p "$mp"); groups=$(sed -n 's/^Groups:\t*//p' "/proc/$mp/status")
say "running as $user, groups: $groups"
[ "$user" = gatehouse ] || die "the daemon runs as $user"
echo " $groups " | grep -q " $(getent group ssl-cert | cut -d: -f3) " || die "the daemon lost the ssl-cert group"
[ "$(served_fp)" = "$fp1" ] || die "the TLS listener does not serve the first certificate"
curl -sf -o /dev/null "http://127.0.0.1:$P2/" && sleep 0.3
[ "$(stat -c '%U:%G' /var/log/gatehouse/access.log)" = "gatehouse:adm" ] || die "access.log is $(stat -c '%U:%G' /var/log/gatehouse/access.log)"

# ---- 5. reload: a new key readable only through ssl-cert; then a bad file ----
reload() {
    if [ -z "$pid" ]; then systemctl reload gatehouse; else RUNTIME_DIRECTORY=/run/gatehouse sh -c "$(key ExecReload | sed "s/\$MAINPID/$pid/")"; fi
}
fp2=$(mkcert)
reload || die "the reload with the new key failed"
[ "$(served_fp)" = "$fp2" ] || die "the reload did not bring the new certificate"
say "reloaded: the new certificate is served (key root:ssl-cert 0640)"
echo 'pools = { broken' > /etc/gatehouse/conf.d/60-broken.conf
if reload 2> "$work/reload.err"; then die "a reload of a broken file succeeded"; fi
rm -f /etc/gatehouse/conf.d/60-broken.conf
say "a broken drop-in: the reload fails ($(head -1 "$work/reload.err"))"
curl -sf -o /dev/null "http://127.0.0.1:$P2/" || die "the daemon stopped serving after a refused reload"

# ---- 6. rotate ----
logrotate -f /etc/logrotate.d/gatehouse || die "logrotate"
# the reopen (SIGUSR1) is asynchronous: ask again until a line lands in
# the new file (at most 10 s)
for i in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$P2/rotated" || true
    grep -q '/rotated' /var/log/gatehouse/access.log 2>/dev/null && break
    sleep 0.2
done
grep -q '/rotated' /var/log/gatehouse/access.log || die "after rotation the new access.log is not written"
[ -e /var/log/gatehouse/access.log.1 ] || die "logrotate left no access.log.1"
say "rotated: access.log.1 kept, the new access.log written ($(stat -c '%U:%G %a' /var/log/gatehouse/access.log))"

# ---- 7. stop, purge, what is left ----
if [ -z "$pid" ]; then
    systemctl stop gatehouse
else
    kill -TERM "$pid"; wait "$pid" || die "the daemon exited non-zero on SIGTERM"; pid=""
    wait "$npid" 2>/dev/null || true; npid=""
    grep -q STOPPING=1 "$work/notify.log" || die "no STOPPING=1"
    say "stopped: $(tr '\n' '|' < "$work/notify.log")"
fi
rm -f /etc/gatehouse/conf.d/50-deb-check.conf
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q gatehouse > "$work/purge.log" 2>&1 || { tail -20 "$work/purge.log"; die "apt-get purge"; }
rm -rf /run/gatehouse
left=$(ls -d /etc/gatehouse /var/log/gatehouse /var/cache/gatehouse /usr/share/doc/gatehouse \
    /usr/share/gatehouse /usr/sbin/gatehouse /lib/systemd/system/gatehouse.service \
    /etc/logrotate.d/gatehouse 2>/dev/null || true)
say "purged; left behind: ${left:-nothing} (the gatehouse account stays, as Debian recommends)"
[ -z "$left" ] || die "purge left files behind"
say "all checks passed"
