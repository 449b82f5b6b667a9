# bench/lib.sh — what the bench scripts share: ports, the run directory,
# the configurations of bench/conf/ rendered with ports, the peers started
# and stopped by their process ids, CPU time and RSS read from /proc, and
# the arithmetic and verdicts of the reports. Sourced from the repository
# root, never run on its own.
# shellcheck shell=bash

# Squid and HAProxy live in /usr/sbin, which a user's PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"

BENCH_PORT_BASE=${BENCH_PORT_BASE:-18080}
ORIGIN_PORT=$BENCH_PORT_BASE
GH_REV_PORT=$((BENCH_PORT_BASE + 1))
GH_FWD_PORT=$((BENCH_PORT_BASE + 2))
NGINX_PORT=$((BENCH_PORT_BASE + 3))
HAPROXY_PORT=$((BENCH_PORT_BASE + 4))
SQUID_PORT=$((BENCH_PORT_BASE + 5))
TINYPROXY_PORT=$((BENCH_PORT_BASE + 6))
HAPROXY_TCP_PORT=$((BENCH_PORT_BASE + 7)) # HAProxy as a TCP relay (scenario 4)

RUN=${BENCH_RUN:-$PWD/build/bench-run}
BULK_MB=${BENCH_BULK_MB:-1024}
# shellcheck disable=SC2034  # used by bench/run.sh
CLK_TCK=$(getconf CLK_TCK)

# calc EXPR — awk arithmetic.
calc() { awk "BEGIN { CONVFMT = \"%.10g\"; printf \"%s\", ($1) }"; }

# ratio A B — "A/B×", or "–".
ratio() {
    if [ -n "$1" ] && [ -n "$2" ] && [ "$(calc "($2 > 0)")" = 1 ]; then calc "sprintf(\"%.2f×\", $1 / $2)"; else printf '–'; fi
}

# fmt1 VALUE — one decimal, or "–".
fmt1() { if [ -n "$1" ]; then calc "sprintf(\"%.1f\", $1)"; else printf '–'; fi; }

# median_of TARGET KEY — the median of the "TARGET KEY VALUE" rows of $RES
# (cache.sh and tls.sh), or nothing.
median_of() {
    awk -F'\t' -v t="$1" -v k="$2" '$1 == t && $2 == k { print $3 }' "$RES" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# at_least G P FACTOR GCPU PCPU GOP POP — the verdict for gatehouse's rate G
# against FACTOR × the peer's P: "holds" on the rates; or, for FACTOR 1 when
# neither used 95% of its core (GCPU, PCPU: the load generator set the
# rate), on rates within 3% and no more CPU per operation (GOP, POP).
at_least() {
    local g=$1 p=$2 f=$3 gc=$4 pc=$5 go=$6 po=$7
    if [ -z "$g" ] || [ -z "$p" ]; then printf '**missed** (no result)'; return; fi
    if [ "$(calc "($g >= $f * $p)")" = 1 ]; then printf 'holds'; return; fi
    if [ "$f" = 1 ] && [ -n "$go" ] && [ -n "$po" ] &&
        [ "$(calc "($gc < 95 && $pc < 95 && $g >= 0.97 * $p && $go <= $po)")" = 1 ]; then
        printf 'holds: client-bound, equal rate within 3%%, CPU per operation %s' "$(ratio "$go" "$po")"
        return
    fi
    printf '**missed**'
}

# Layout (issue 22): where the proxy, the origin and the load generator run.
#   free  — no pinning: the scheduler places everything (the default: on
#           2 cores it is the layout in which going direct runs at least
#           1.5x faster than any proxy, see bench/results/findings.md);
#   split — the proxy alone on CPU 1, wrk and the origin on CPU 0 (issue 9's
#           layout: CPU 0 saturates first, so every row is client-bound);
#   wrk0  — wrk alone on CPU 0, the origin and the proxy on CPU 1.
# BENCH_PIN=1 (the old knob) means split, BENCH_PIN=0 free.
if [ -n "${BENCH_PIN:-}" ] && [ -z "${BENCH_LAYOUT:-}" ]; then
    if [ "$BENCH_PIN" = 1 ]; then BENCH_LAYOUT=split; else BENCH_LAYOUT=free; fi
fi
LAYOUT=${BENCH_LAYOUT:-free}
PROXY_CPU="" LOAD_CPU="" ORIGIN_CPU=""
case $LAYOUT in
free) ;;
split) PROXY_CPU=1 LOAD_CPU=0 ORIGIN_CPU=0 ;;
wrk0) PROXY_CPU=1 LOAD_CPU=0 ORIGIN_CPU=1 ;;
*) printf 'bench: BENCH_LAYOUT=%s: one of free, split, wrk0\n' "$LAYOUT" >&2; exit 1 ;;
esac
if [ "$LAYOUT" != free ] && { [ "$(nproc)" -lt 2 ] || ! command -v taskset >/dev/null; }; then
    LAYOUT=free PROXY_CPU="" LOAD_CPU="" ORIGIN_CPU=""
fi
if [ "$LAYOUT" = free ]; then PINNED=0; else PINNED=1; fi

# layout_note — one line for a report's notes: where everything ran.
layout_note() {
    case $LAYOUT in
    free) printf -- '- Layout "free": nothing pinned; the scheduler placed the proxy, the origin and wrk.\n' ;;
    split) printf -- '- Layout "split": the proxy alone on CPU 1, the origin and the load generator on CPU 0.\n' ;;
    wrk0) printf -- '- Layout "wrk0": the load generator alone on CPU 0, the origin and the proxy on CPU 1.\n' ;;
    esac
}

declare -A PIDS=()   # name -> pid of every process this script started
# shellcheck disable=SC2034  # used by bench/run.sh
declare -A SKIP=()   # peer -> why it takes no part in this run

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

# pin CPU CMD... — run CMD on CPU (unpinned when CPU is empty).
pin() {
    local cpu=$1
    shift
    if [ -n "$cpu" ]; then taskset -c "$cpu" "$@"; else "$@"; fi
}

# The peers' packages and the command that shows each is installed.
PEER_PKGS="nginx:nginx haproxy:haproxy squid:squid tinyproxy:tinyproxy wrk:wrk curl:curl taskset:util-linux"

# install_peers — installs from Debian the packages whose commands are
# missing; services are kept from starting (policy-rc.d) so that nothing but
# this script listens. A package that cannot be installed leaves its peer out.
install_peers() {
    local missing="" pair cmd pkg created=0
    for pair in $PEER_PKGS; do
        cmd=${pair%%:*}
        pkg=${pair#*:}
        command -v "$cmd" >/dev/null || missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        die "missing packages; run as root: apt-get update && apt-get install -y$missing"
    fi
    say "bench: installing$missing"
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created=1
    fi
    apt-get update -qq || say "bench: apt-get update failed; trying the cached lists"
    # shellcheck disable=SC2086  # $missing is a list of words
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null; then
        for pkg in $missing; do
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null ||
                say "bench: could not install $pkg"
        done
    fi
    [ "$created" = 1 ] && rm -f /usr/sbin/policy-rc.d
    return 0
}

# raise_fd_limit — room for 10,000 client connections and their upstreams:
# up to 65536 descriptors, or the hard limit where it cannot be raised (a
# container without CAP_SYS_RESOURCE). Sets NOFILE, used in the configurations.
raise_fd_limit() {
    NOFILE=65536
    if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$NOFILE" ]; then
        ulimit -Hn "$NOFILE" 2>/dev/null || NOFILE=$(ulimit -Hn)
    fi
    ulimit -n "$NOFILE"
}

# prepare_run_dir — a fresh run directory with the origin's files and the
# rendered configurations. Daemons that drop privileges write logs there,
# hence the sticky world-writable logs/ and tmp/.
prepare_run_dir() {
    rm -rf "$RUN/conf" "$RUN/logs" "$RUN/tmp"
    mkdir -p "$RUN/conf" "$RUN/logs" "$RUN/tmp" "$RUN/www"
    chmod 755 "$RUN" "$RUN/www"
    chmod 1777 "$RUN/logs" "$RUN/tmp"
    head -c 1024 /dev/zero | tr '\0' 'a' >"$RUN/www/1k"
    head -c 65536 /dev/zero | tr '\0' 'b' >"$RUN/www/64k"
    head -c 1048576 /dev/zero | tr '\0' 'm' >"$RUN/www/1m"
    # The bulk file is sparse: it costs no disk and reads from the page cache.
    rm -f "$RUN/www/bulk"
    truncate -s "${BULK_MB}M" "$RUN/www/bulk"
    chmod 644 "$RUN/www/"*
    local f
    for f in bench/conf/*; do
        sed -e "s|@RUN@|$RUN|g" -e "s|@ORIGIN_PORT@|$ORIGIN_PORT|g" \
            -e "s|@GH_REV_PORT@|$GH_REV_PORT|g" -e "s|@GH_FWD_PORT@|$GH_FWD_PORT|g" \
            -e "s|@NGINX_PORT@|$NGINX_PORT|g" -e "s|@HAPROXY_PORT@|$HAPROXY_PORT|g" -e "s|@HAPROXY_TCP_PORT@|$HAPROXY_TCP_PORT|g" \
            -e "s|@SQUID_PORT@|$SQUID_PORT|g" -e "s|@TINYPROXY_PORT@|$TINYPROXY_PORT|g" \
            -e "s|@NOFILE@|${NOFILE:-4096}|g" \
            "$f" >"$RUN/conf/${f##*/}"
    done
}

# port_open PORT — does something accept on 127.0.0.1:PORT?
port_open() { (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# spawn NAME CPU OUTFILE CMD... — starts CMD in the background on CPU and
# records its pid as NAME. Not through pin(): a function in the background is
# a subshell, and the pid must be the program's own (taskset execs it).
spawn() {
    local name=$1 cpu=$2 out=$3
    shift 3
    if [ -n "$cpu" ]; then set -- taskset -c "$cpu" "$@"; fi
    "$@" >"$out" 2>&1 &
    PIDS[$name]=$!
}

# start_proc NAME CPU PORT CMD... — starts CMD in the background (output to
# logs/NAME.out), records its pid and waits up to 10 s for PORT to accept.
# Returns 1, with the log's tail on stderr, when it dies or never listens.
start_proc() {
    local name=$1 cpu=$2 port=$3 i
    shift 3
    if port_open "$port"; then
        say "bench: port $port is already taken; set BENCH_PORT_BASE"
        return 1
    fi
    spawn "$name" "$cpu" "$RUN/logs/$name.out" "$@"
    for i in $(seq 100); do
        port_open "$port" && return 0
        if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then
            say "bench: $name exited at start:"
            tail -5 "$RUN/logs/$name.out" >&2
            unset "PIDS[$name]"
            return 1
        fi
        sleep 0.1
        : "$i"
    done
    say "bench: $name does not listen on $port after 10 s"
    stop_proc "$name"
    return 1
}

# stop_proc NAME — SIGTERM, up to 5 s to exit, then SIGKILL; reaps it.
stop_proc() {
    local name=$1 pid i
    pid=${PIDS[$name]:-}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
        : "$i"
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "PIDS[$name]"
}

stop_all() {
    local name
    for name in "${!PIDS[@]}"; do
        stop_proc "$name"
    done
}

start_origin() {
    start_proc origin "$ORIGIN_CPU" "$ORIGIN_PORT" nginx -p "$RUN" -e "$RUN/logs/origin-error.log" \
        -c "$RUN/conf/origin-nginx.conf"
}

# start_peer NAME — gatehouse, nginx, haproxy, squid or tinyproxy on the
# proxy CPU. Returns 1 if it would not start.
start_peer() {
    case $1 in
    gatehouse)
        start_proc gatehouse "$PROXY_CPU" "$GH_FWD_PORT" "$GATEHOUSE" -f -c "$RUN/conf/gatehouse.conf" &&
            port_open "$GH_REV_PORT" ;;
    nginx)
        start_proc nginx "$PROXY_CPU" "$NGINX_PORT" nginx -p "$RUN" -e "$RUN/logs/proxy-nginx-error.log" \
            -c "$RUN/conf/proxy-nginx.conf" ;;
    haproxy)
        start_proc haproxy "$PROXY_CPU" "$HAPROXY_PORT" haproxy -db -f "$RUN/conf/haproxy.cfg" ;;
    squid)
        start_proc squid "$PROXY_CPU" "$SQUID_PORT" squid -N -f "$RUN/conf/squid.conf" ;;
    tinyproxy)
        start_proc tinyproxy "$PROXY_CPU" "$TINYPROXY_PORT" tinyproxy -d -c "$RUN/conf/tinyproxy.conf" ;;
    *) die "unknown peer $1" ;;
    esac
}

# reverse_port NAME — the reverse-proxy port of gatehouse, nginx or haproxy.
reverse_port() {
    case $1 in gatehouse) echo "$GH_REV_PORT" ;; nginx) echo "$NGINX_PORT" ;; haproxy) echo "$HAPROXY_PORT" ;; esac
}

# wrk_count SECONDS URL — requests `wrk -t1 -c$CONNS` completed (on the
# layout's load CPU), or nothing when it failed.
wrk_count() {
    local line
    line=$(pin "$LOAD_CPU" wrk -t1 -c"${CONNS:-50}" -d"$1s" -s bench/wrk.lua "$2" 2>&1 | grep '^RESULT ' || true)
    line=${line#*requests=}
    echo "${line%% *}"
}

# tree_pids PID — PID and its descendants (nginx's workers, squid's kids).
tree_pids() {
    local p c kids
    for p in "$@"; do
        echo "$p"
        kids=$(cat /proc/"$p"/task/*/children 2>/dev/null || true)
        for c in $kids; do
            tree_pids "$c"
        done
    done
}

# cpu_ticks NAME — utime + stime, in clock ticks, of NAME's process tree
# (every thread of each process is included); 0 for no process.
cpu_ticks() {
    local pid p total=0 fields
    pid=${1:+${PIDS[$1]:-}}
    [ -n "$pid" ] || { echo 0; return; }
    for p in $(tree_pids "$pid"); do
        fields=$(sed 's/.*) //' /proc/"$p"/stat 2>/dev/null) || continue
        # After "pid (comm) ", utime and stime are the 12th and 13th fields.
        total=$((total + $(echo "$fields" | awk '{ print $12 + $13 }')))
    done
    echo "$total"
}

# repin NAME CPUS — moves every thread of NAME's process tree to CPUS (a
# taskset list such as "1" or "0-1"); nothing for no process.
repin() {
    local pid p
    pid=${PIDS[$1]:-}
    [ -n "$pid" ] || return 0
    for p in $(tree_pids "$pid"); do taskset -a -p -c "$2" "$p" >/dev/null 2>&1 || true; done
}

# rss_kb NAME — VmRSS in kB summed over NAME's process tree.
rss_kb() {
    local pid p total=0 kb
    pid=${1:+${PIDS[$1]:-}}
    [ -n "$pid" ] || { echo 0; return; }
    for p in $(tree_pids "$pid"); do
        kb=$(awk '/^VmRSS:/ { print $2 }' /proc/"$p"/status 2>/dev/null) || continue
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}

# begin_side_run ORIGIN_PORT ORIGIN_CONF — the common start of cache.sh and
# tls.sh: the peers installed, gatehouse built (unless $GATEHOUSE names
# one), the descriptor limit raised, the caller's prepare() run, the results
# emptied, everything stopped at exit, and the origin (nginx with
# $RUN/conf/ORIGIN_CONF) started on ORIGIN_PORT.
begin_side_run() {
    install_peers
    if [ -z "${GATEHOUSE:-}" ]; then
        ${MAKE:-make} --no-print-directory deps all
        GATEHOUSE=$PWD/build/gatehouse
    fi
    raise_fd_limit
    prepare
    : >"$RES"
    trap stop_all EXIT
    trap 'exit 130' INT TERM
    start_proc origin "$ORIGIN_CPU" "$1" nginx -p "$RUN" -e "$RUN/logs/origin-error.log" \
        -c "$RUN/conf/$2" || die "the origin would not start"
}
