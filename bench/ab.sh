#!/usr/bin/env bash
# bench/ab.sh — two gatehouse binaries, A and B, on the 1 KB keep-alive
# reverse scenario of `make bench`, interleaved, to tell whether a change
# made the proxy cheaper or dearer per request.
#
#   bash bench/ab.sh OLD_BINARY NEW_BINARY [ROUNDS]     (ROUNDS: 7)
#
# One nginx origin serves a 1 KB file; in each round A then B (B then A in
# the odd rounds, so neither always runs second) is started with
# bench/conf/gatehouse.conf, warmed for 1 s, and measured with
# `wrk -t1 -c50 -d5s`. CPU per request is utime + stime of the gatehouse
# process (all its threads) over the run, from /proc/PID/stat, divided by
# the requests wrk completed. Prints every run and the medians, and the
# ratio B / A; the same for user time alone (utime: the proxy's own code).
# Placement as in bench/lib.sh (BENCH_LAYOUT). BENCH_AB_PATH
# asks for another object than /1k (/64k, /1m).
# Installs nginx and wrk from Debian when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

[ $# -ge 2 ] || die "usage: bash bench/ab.sh OLD_BINARY NEW_BINARY [ROUNDS]"
BIN_A=$(readlink -f "$1")
BIN_B=$(readlink -f "$2")
ROUNDS=${3:-7}
DUR=${BENCH_DURATION:-5}
CONNS=${BENCH_CONNS:-50}
RUN=${BENCH_RUN:-$PWD/build/bench-ab}
RES=$RUN/ab.tsv
for b in "$BIN_A" "$BIN_B"; do [ -x "$b" ] || die "$b is not an executable"; done

# install_needed — nginx and wrk only (install_peers would add the other peers).
install_needed() {
    local missing="" created=0
    command -v nginx >/dev/null || missing="$missing nginx"
    command -v wrk >/dev/null || missing="$missing wrk"
    [ -z "$missing" ] && return 0
    [ "$(id -u)" = 0 ] || die "missing:$missing; run as root: apt-get install -y$missing"
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created=1
    fi
    apt-get update -qq || say "bench: apt-get update failed; trying the cached lists"
    # shellcheck disable=SC2086  # a list of words
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    [ "$created" = 1 ] && rm -f /usr/sbin/policy-rc.d
    return 0
}

# user_ticks NAME — utime alone of NAME's process tree (cpu_ticks adds
# stime): the proxy's own code, which the kernel's TCP work does not blur.
user_ticks() {
    local pid p total=0
    pid=${PIDS[$1]:-}
    [ -n "$pid" ] || { echo 0; return; }
    for p in $(tree_pids "$pid"); do
        total=$((total + $(sed 's/.*) //' /proc/"$p"/stat 2>/dev/null | awk '{ print $12 }')))
    done
    echo "$total"
}

# one_run LABEL BINARY ROUND — starts BINARY, warms it, measures one wrk run,
# stops it; appends "LABEL ROUND requests cpu_us_per_request" to $RES.
one_run() {
    local label=$1 bin=$2 round=$3 before after ubefore uafter line req ticks uticks
    GATEHOUSE=$bin
    start_peer gatehouse || die "gatehouse ($bin) would not start; see $RUN/logs/gatehouse.out"
    pin "$LOAD_CPU" wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$GH_REV_PORT${BENCH_AB_PATH:-/1k}" >/dev/null 2>&1 || true
    before=$(cpu_ticks gatehouse)
    ubefore=$(user_ticks gatehouse)
    line=$(pin "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DUR}s" -s bench/wrk.lua \
        "http://127.0.0.1:$GH_REV_PORT${BENCH_AB_PATH:-/1k}" 2>&1 | grep '^RESULT ' || true)
    after=$(cpu_ticks gatehouse)
    uafter=$(user_ticks gatehouse)
    stop_proc gatehouse
    [ -n "$line" ] || die "wrk failed against $label"
    req=${line#*requests=}
    req=${req%% *}
    ticks=$((after - before))
    uticks=$((uafter - ubefore))
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$round" "$req" \
        "$(calc "$ticks / $CLK_TCK / $req * 1000000")" "$(calc "$uticks / $CLK_TCK / $req * 1000000")" >>"$RES"
    say "$(printf '  round %s  %s  requests %s  cpu %s ticks  %.3f us/request (user %.3f)' "$round" "$label" \
        "$req" "$ticks" "$(calc "$ticks / $CLK_TCK / $req * 1000000")" "$(calc "$uticks / $CLK_TCK / $req * 1000000")")"
}

med() {
    awk -F'\t' -v l="$1" -v k="$2" '$1 == l { print $k }' "$RES" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

install_needed
raise_fd_limit
prepare_run_dir
: >"$RES"
trap stop_all EXIT
trap 'exit 130' INT TERM
start_origin || die "the origin (nginx) would not start; see $RUN/logs/origin.out"
say "bench: A = $BIN_A"
say "bench: B = $BIN_B"
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then
        one_run A "$BIN_A" "$r"
        one_run B "$BIN_B" "$r"
    else
        one_run B "$BIN_B" "$r"
        one_run A "$BIN_A" "$r"
    fi
done
a=$(med A 4)
b=$(med B 4)
printf 'medians over %s rounds of %ss (%s, keep-alive, %s connections):\n' "$ROUNDS" "$DUR" "${BENCH_AB_PATH:-/1k}" "$CONNS"
printf '  A  %.3f us CPU per request (user %.3f), %s requests per run\n' "$a" "$(med A 5)" "$(med A 3)"
printf '  B  %.3f us CPU per request (user %.3f), %s requests per run\n' "$b" "$(med B 5)" "$(med B 3)"
printf '  B / A = %s (user: %s)\n' "$(calc "sprintf(\"%.3f\", $b / $a)")" \
    "$(calc "sprintf(\"%.3f\", $(med B 5) / $(med A 5))")"
