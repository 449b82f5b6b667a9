#!/usr/bin/env bash
# bench/run.sh — Gatehouse side by side with nginx, HAProxy, Squid and
# Tinyproxy on loopback (issue 9); `make bench` runs it. It installs the
# peers, builds gatehouse, starts everything in build/bench-run/ with the
# configurations of bench/conf/, runs every scenario with the peers
# interleaved, stops what it started by pid, and writes the medians and the
# machine's description to bench/results/latest.md. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

DUR=${BENCH_DURATION:-5}
REPS=${BENCH_REPS:-3}
CONNS=${BENCH_CONNS:-50}
IDLE=${BENCH_IDLE:-10000}
SCENARIOS=${BENCH_SCENARIOS:-1 2 3 4 5 6 7}
WRK_THREADS=1   # wrk -t: 2 in scenario 7
OUT=${BENCH_OUT:-bench/results/latest.md}
RES=$RUN/results.tsv
FWD_URL=""      # set while a forward scenario runs: the absolute-form target
NOTES=()        # lines for the report's notes

want() { [[ " $SCENARIOS " == *" $1 "* ]]; }
active() { [ "$1" = direct ] || { [ -n "${PIDS[$1]:-}" ] && [ -z "${SKIP[$1]:-}" ]; }; }
# div A B — A / B, or nothing when A is empty (a missing median).
div() { if [ -n "$1" ]; then calc "$1 / $2"; fi; }
# quot A B — A / B, or nothing when either is missing or B is 0.
quot() { if [ -n "$1" ] && [ -n "$2" ] && [ "$(calc "($2 != 0)")" = 1 ]; then calc "$1 / $2"; fi; }

# record SCENARIO TARGET REP KEY VALUE — one measurement.
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RES"; }

# median SCENARIO TARGET KEY — the median over repetitions, or nothing.
median() {
    awk -F'\t' -v s="$1" -v t="$2" -v k="$3" '$1 == s && $2 == t && $4 == k { print $5 }' "$RES" |
        sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# total SCENARIO TARGET KEY — the sum over repetitions.
total() {
    awk -F'\t' -v s="$1" -v t="$2" -v k="$3" '$1 == s && $2 == t && $4 == k { n += $5 } END { print n + 0 }' "$RES"
}

# fmt FORMAT VALUE — printf, or "–" for a missing value.
fmt() { if [ -n "$2" ]; then calc "sprintf(\"$1\", $2)"; else printf '–'; fi; }


# ---------------------------------------------------------------- set-up

build_gatehouse() {
    if [ -n "${GATEHOUSE:-}" ]; then
        [ -x "$GATEHOUSE" ] || die "GATEHOUSE=$GATEHOUSE is not an executable"
        return
    fi
    ${MAKE:-make} --no-print-directory deps
    ${MAKE:-make} --no-print-directory all
    GATEHOUSE=$PWD/build/gatehouse
}

build_helpers() {
    mkdir -p build/bench
    cc -std=gnu11 -O2 -Wall -Wextra -o build/bench/idle_conns bench/idle_conns.c
}

# fetch ARGS... — "status bytes" of one curl request.
fetch() { curl -sS --max-time 5 -o /dev/null -w '%{http_code} %{size_download}' "$@" 2>/dev/null || true; }

# check_peer NAME — one request of each kind the scenarios make through it;
# a peer that answers wrongly is stopped and left out, with the reason.
check_peer() {
    local peer=$1 o="http://127.0.0.1:$ORIGIN_PORT/64k" got want="200 65536" kind
    local -a kinds=()
    case $peer in
    gatehouse) kinds=("rev:$GH_REV_PORT" "fwd:$GH_FWD_PORT" "connect:$GH_FWD_PORT") ;;
    nginx) kinds=("rev:$NGINX_PORT") ;;
    haproxy) kinds=("rev:$HAPROXY_PORT") ;;
    squid) kinds=("fwd:$SQUID_PORT" "connect:$SQUID_PORT") ;;
    tinyproxy) kinds=("fwd:$TINYPROXY_PORT") ;;
    esac
    for kind in "${kinds[@]}"; do
        case ${kind%%:*} in
        rev) got=$(fetch "http://127.0.0.1:${kind#*:}/64k") ;;
        fwd) got=$(fetch -x "http://127.0.0.1:${kind#*:}" "$o") ;;
        connect) got=$(fetch -p -x "http://127.0.0.1:${kind#*:}" "$o") ;;
        esac
        if [ "$got" != "$want" ]; then
            SKIP[$peer]="a ${kind%%:*} request got \"$got\", not \"$want\""
            say "bench: leaving $peer out: ${SKIP[$peer]}"
            stop_proc "$peer"
            return 1
        fi
    done
}

start_all() {
    start_origin || die "the origin (nginx) would not start; see $RUN/logs/origin.out"
    [ "$(fetch "http://127.0.0.1:$ORIGIN_PORT/64k")" = "200 65536" ] || die "the origin does not serve /64k"
    local peer
    for peer in gatehouse nginx haproxy squid tinyproxy; do
        if ! command -v "$peer" >/dev/null && [ "$peer" != gatehouse ]; then
            SKIP[$peer]="not installed"
            continue
        fi
        if ! start_peer "$peer"; then
            SKIP[$peer]="would not start (see build/bench-run/logs/$peer.out)"
            continue
        fi
        check_peer "$peer" || true
    done
    [ -z "${SKIP[gatehouse]:-}" ] || die "gatehouse is not usable: ${SKIP[gatehouse]}"
}

# ---------------------------------------------------------------- runs

# wrk_run SCENARIO TARGET REP URL [WRK ARGS...] — one wrk run of DUR seconds
# with CONNS keep-alive connections; records its numbers and the CPU time
# (user + sys of the whole process tree) the proxy used meanwhile.
wrk_run() {
    local scen=$1 target=$2 rep=$3 url=$4 proc=$2 before after line kv req cpu_s bytes
    shift 4
    if [ "$target" = direct ]; then proc=""; fi
    before=$(cpu_ticks "$proc")
    line=$(pin "$LOAD_CPU" env BENCH_URL="$FWD_URL" wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DUR}s" --latency -s bench/wrk.lua "$@" "$url" 2>&1 |
        tee -a "$RUN/logs/wrk.log" | grep '^RESULT ' || true)
    after=$(cpu_ticks "$proc")
    if [ -z "$line" ]; then
        say "bench: wrk failed against $target ($url); see $RUN/logs/wrk.log"
        record "$scen" "$target" "$rep" errors 1
        return 0
    fi
    [ "$rep" = 0 ] && return 0 # the warm-up
    # shellcheck disable=SC2086  # the key=value words of the RESULT line
    for kv in ${line#RESULT }; do
        record "$scen" "$target" "$rep" "${kv%%=*}" "${kv#*=}"
    done
    req=${line#*requests=}
    req=${req%% *}
    cpu_s=$(calc "($after - $before) / $CLK_TCK")
    if [ -n "$proc" ]; then
        record "$scen" "$target" "$rep" cpu_pct "$(calc "$cpu_s / $DUR * 100")"
        if [ "$req" -gt 0 ]; then
            record "$scen" "$target" "$rep" cpu_per_100k "$(calc "$cpu_s / $req * 100000")"
            record "$scen" "$target" "$rep" cpu_us_req "$(calc "$cpu_s / $req * 1000000")"
        fi
        bytes=${line#*bytes=}
        bytes=${bytes%% *}
        if [ "${bytes:-0}" -gt 0 ]; then record "$scen" "$target" "$rep" cpu_ms_mb "$(calc "$cpu_s * 1000 / ($bytes / 1048576)")"; fi
    fi
    say "$(printf '  %-6s %-10s rep %s  %s' "$scen" "$target" "$rep" "${line#RESULT }")"
}

# each_rep SCENARIO TARGETS URL-FUNCTION [WRK ARGS...] — a 1 s warm-up of
# every target, then REPS rounds in which the targets take turns. Tinyproxy
# keeps no client connection alive, so it is asked for a connection per
# request rather than have wrk find each close by a failed read.
each_rep() {
    local scen=$1 targets=$2 urlf=$3 rep t dur=$DUR
    local -a close=(-H "Connection: close")
    shift 3
    for rep in $(seq 0 "$REPS"); do
        if [ "$rep" = 0 ]; then DUR=1; else DUR=$dur; fi
        for t in $targets; do
            active "$t" || continue
            if [ "$t" = tinyproxy ]; then
                wrk_run "$scen" "$t" "$rep" "$($urlf "$t")" "$@" "${close[@]}"
            else
                wrk_run "$scen" "$t" "$rep" "$($urlf "$t")" "$@"
            fi
        done
    done
    DUR=$dur
}

rev_port() {
    case $1 in
    gatehouse) echo "$GH_REV_PORT" ;; nginx) echo "$NGINX_PORT" ;;
    haproxy) echo "$HAPROXY_PORT" ;; direct) echo "$ORIGIN_PORT" ;;
    esac
}
fwd_port() {
    case $1 in
    gatehouse) echo "$GH_FWD_PORT" ;; squid) echo "$SQUID_PORT" ;; tinyproxy) echo "$TINYPROXY_PORT" ;;
    direct) echo "$ORIGIN_PORT" ;; # nginx takes the absolute form too
    esac
}
url_1k() { echo "http://127.0.0.1:$(rev_port "$1")/1k"; }
url_64k() { echo "http://127.0.0.1:$(rev_port "$1")/64k"; }
url_1m() { echo "http://127.0.0.1:$(rev_port "$1")/1m"; }
url_fwd() { echo "http://127.0.0.1:$(fwd_port "$1")/"; }

scenario_reverse() {
    say "bench: 1. reverse, keep-alive, ${BENCH_SIZES:-1k 64k 1m}"
    local size
    for size in ${BENCH_SIZES:-1k 64k 1m}; do
        each_rep "$size" "gatehouse nginx haproxy direct" "url_$size"
    done
}

scenario_close() {
    say "bench: 2. reverse, a new connection per request, 1 KB"
    each_rep close "gatehouse nginx haproxy direct" url_1k -H "Connection: close"
}

scenario_forward() {
    say "bench: 3. forward, absolute-form, keep-alive, 1 KB"
    FWD_URL="http://127.0.0.1:$ORIGIN_PORT/1k"
    each_rep fwd "gatehouse squid tinyproxy direct" url_fwd
    FWD_URL=""
}

# bulk_run TARGET REP [KIND [CPU]] — BULK_MB through a CONNECT tunnel (or
# direct) with curl on CPU (the layout's load CPU by default), recorded as
# KIND (bulk).
bulk_run() {
    local t=$1 rep=$2 kind=${3:-bulk} cpu=${4-$LOAD_CPU} before after out code size speed
    local -a via=()
    local port=$ORIGIN_PORT
    case $t in
    direct) ;;
    haproxy) port=$HAPROXY_TCP_PORT ;; # a TCP relay: no CONNECT, the same bytes
    *) via=(-p -x "http://127.0.0.1:$(fwd_port "$t")") ;;
    esac
    before=$(cpu_ticks "${t#direct}")
    out=$(pin "$cpu" curl -sS --max-time 120 "${via[@]}" -o /dev/null \
        -w '%{http_code} %{size_download} %{speed_download} %{time_total}' \
        "http://127.0.0.1:$port/bulk" 2>>"$RUN/logs/curl.log" || true)
    after=$(cpu_ticks "${t#direct}")
    read -r code size speed _ <<<"$out"
    if [ "${code:-}" != 200 ] || [ "${size:-0}" != $((BULK_MB * 1048576)) ]; then
        say "bench: bulk transfer through $t failed: \"$out\""
        record "$kind" "$t" "$rep" errors 1
        return 0
    fi
    record "$kind" "$t" "$rep" mbps "$(calc "$speed / 1e6")"
    if [ "$t" != direct ]; then record "$kind" "$t" "$rep" cpu_s "$(calc "($after - $before) / $CLK_TCK")"; fi
    say "$(printf '  %-6s %-10s rep %s  %s MB/s' "$kind" "$t" "$rep" "$(calc "sprintf(\"%.0f\", $speed / 1e6)")")"
}

scenario_bulk() {
    say "bench: 4. CONNECT tunnel, $BULK_MB MB"
    local rep t
    # The origin's /bulk is a sparse file: its first reading fills the page
    # cache with BULK_MB of zeroed pages, which made whichever target went
    # first 4x slower. Read it once, unmeasured.
    pin "$LOAD_CPU" curl -sS --max-time 120 -o /dev/null "http://127.0.0.1:$ORIGIN_PORT/bulk" \
        2>>"$RUN/logs/curl.log" || true
    for rep in $(seq "$REPS"); do
        for t in gatehouse squid haproxy direct; do
            if active "$t"; then bulk_run "$t" "$rep"; fi
        done
    done
    bulk_own_core
}

# The same with the proxy alone on CPU 1 and curl and the origin on CPU 0
# (kind "bulkown"): one client stream, with and without a hop through a
# proxy that has a core of its own, as it has on a gateway.  On 2 cores the
# other layouts measure three processes sharing two cores, where the
# proxy's CPU is taken from the client's.  Everything is moved back after.
bulk_own_core() {
    local rep t all
    if [ "$(nproc)" -lt 2 ] || ! command -v taskset >/dev/null; then return 0; fi
    say "bench: 4b. CONNECT tunnel, $BULK_MB MB, the proxy on a core of its own"
    all="0-$(($(nproc) - 1))"
    repin origin 0
    for t in gatehouse squid haproxy; do repin "$t" 1; done
    for rep in $(seq "$REPS"); do
        for t in gatehouse squid haproxy direct; do
            if active "$t"; then bulk_run "$t" "$rep" bulkown 0; fi
        done
    done
    repin origin "${ORIGIN_CPU:-$all}"
    for t in gatehouse squid haproxy; do repin "$t" "${PROXY_CPU:-$all}"; done
}

# idle_run TARGET REP — a fresh TARGET, its RSS, then IDLE idle keep-alive
# connections on it and its RSS again.
idle_run() {
    local t=$1 rep=$2 base loaded i ok failed line
    stop_proc "$t"
    if ! start_peer "$t"; then
        record mem "$t" "$rep" errors 1
        return 0
    fi
    sleep 0.5
    base=$(rss_kb "$t")
    spawn idle "$LOAD_CPU" "$RUN/logs/idle-$t.out" build/bench/idle_conns -p "$(rev_port "$t")" -n "$IDLE" -u /1k -t 600
    for i in $(seq 1200); do
        grep -q '^ready' "$RUN/logs/idle-$t.out" && break
        kill -0 "${PIDS[idle]}" 2>/dev/null || break
        sleep 0.1
        : "$i"
    done
    sleep 1
    loaded=$(rss_kb "$t")
    line=$(grep '^ready' "$RUN/logs/idle-$t.out" || echo "ready 0 $IDLE")
    # A connection the server closed while held counts as failed.
    line=$(grep -E '^(ready|closed)' "$RUN/logs/idle-$t.out" | tail -1 || echo "$line")
    read -r _ ok failed <<<"$line"
    stop_proc idle
    record mem "$t" "$rep" base_kb "$base"
    record mem "$t" "$rep" rss_kb "$loaded"
    record mem "$t" "$rep" failed "$failed"
    if [ "${ok:-0}" -gt 0 ]; then record mem "$t" "$rep" per_conn_b "$(calc "($loaded - $base) * 1024 / $ok")"; fi
    say "$(printf '  mem    %-10s rep %s  RSS %s kB idle, %s kB with %s connections (%s failed)' "$t" "$rep" "$base" "$loaded" "$ok" "$failed")"
}

scenario_memory() {
    say "bench: 5. RSS with $IDLE idle keep-alive connections"
    local rep t
    for rep in $(seq "$REPS"); do
        for t in gatehouse nginx; do
            if active "$t"; then idle_run "$t" "$rep"; fi
        done
    done
}

# with_workers N — gatehouse, nginx and HAProxy restarted with N workers
# (gatehouse `workers`, nginx `worker_processes`, HAProxy `nbthread`).
with_workers() {
    local t n=$1
    sed -i "s/^workers = [0-9]*;/workers = $n;/" "$RUN/conf/gatehouse.conf"
    sed -i "s/^worker_processes [0-9]*;/worker_processes $n;/" "$RUN/conf/proxy-nginx.conf"
    sed -i "s/^\( *nbthread\) [0-9]*/\1 $n/" "$RUN/conf/haproxy.cfg"
    for t in gatehouse nginx haproxy; do
        [ -n "${SKIP[$t]:-}" ] && continue
        stop_proc "$t"
        start_peer "$t" || SKIP[$t]="would not start with $n workers"
    done
}

scenario_workers() {
    say "bench: 7. reverse, keep-alive, 1 KB, 2 workers each (wrk -t2)"
    with_workers 2
    WRK_THREADS=2
    each_rep 1k2 "gatehouse nginx haproxy direct" url_1k
    WRK_THREADS=1
    with_workers 1
}

# ---------------------------------------------------------------- report

versions() {
    printf -- '- gatehouse: %s (%s)\n' "$("$GATEHOUSE" -V 2>&1 | head -1)" \
        "$(git describe --always --dirty 2>/dev/null || echo 'no git')"
    printf -- '- nginx: %s\n' "$(nginx -v 2>&1 | sed 's/^nginx version: //')"
    printf -- '- HAProxy: %s\n' "$(haproxy -v 2>&1 | head -1 | awk '{ print $3 }')"
    printf -- '- Squid: %s\n' "$(squid -v 2>&1 | head -1 | awk '{ print $NF }')"
    printf -- '- Tinyproxy: %s\n' "$(tinyproxy -v 2>&1 | awk '{ print $2 }')"
    printf -- '- wrk: %s; curl: %s\n' "$(wrk -v 2>&1 | head -1 | awk '{ print $2 }')" "$(curl -V | head -1 | awk '{ print $2 }')"
}

machine() {
    printf -- '- CPU: %s, %s cores (%s)\n' \
        "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" "$(nproc)" \
        "$(grep -q hypervisor /proc/cpuinfo && echo 'virtual machine' || echo 'bare metal')"
    printf -- '- memory: %s MB; kernel: %s; system: %s\n' "$(awk '/^MemTotal/ { print int($2 / 1024) }' /proc/meminfo)" \
        "$(uname -r)" "$(. /etc/os-release && echo "$PRETTY_NAME")"
    printf -- '- load average before / after the run: %s / %s\n' "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# bound SCENARIO TARGETS — "proxy" when going direct ran at least 1.5x the
# fastest proxy of the scenario (the load generator and the origin had room
# to spare), "client-bound" when not, "–" without a direct run.
bound() {
    local scen=$1 t d best=0 r
    d=$(median "$scen" direct rps)
    [ -n "$d" ] || { printf '–'; return; }
    for t in $2; do
        [ "$t" = direct ] && continue
        r=$(median "$scen" "$t" rps)
        if [ -n "$r" ] && [ "$(calc "($r > $best)")" = 1 ]; then best=$r; fi
    done
    if [ "$(calc "($d >= 1.5 * $best)")" = 1 ]; then printf 'proxy (direct %s× the fastest)' "$(calc "sprintf(\"%.2f\", $d / ($best > 0 ? $best : 1))")"; else
        printf '**client-bound** (direct only %s× the fastest proxy)' "$(calc "sprintf(\"%.2f\", $d / ($best > 0 ? $best : 1))")"; fi
}

# rows SCENARIO TARGETS — the throughput rows of one wrk scenario: the rate,
# latency, the proxy's CPU per request and per MB beside it, and whether
# the row measured the proxy or the client.
rows() {
    local scen=$1 t gr gp gp99 gh gc rps p50 p99 cpu cus cmb err b gcpu
    gh=$(median "$scen" gatehouse rps)
    gp=$(median "$scen" gatehouse p99_us)
    gc=$(median "$scen" gatehouse cpu_us_req)
    b=$(bound "$scen" "$2")
    for t in $2; do
        rps=$(median "$scen" "$t" rps)
        p50=$(median "$scen" "$t" p50_us)
        p99=$(median "$scen" "$t" p99_us)
        cpu=$(median "$scen" "$t" cpu_pct)
        cus=$(median "$scen" "$t" cpu_us_req)
        cmb=$(median "$scen" "$t" cpu_ms_mb)
        err=$(($(total "$scen" "$t" errors) + $(total "$scen" "$t" non2xx)))
        if [ "$t" = gatehouse ]; then gr="" gp99="" gcpu=""; else gr=$(ratio "$gh" "$rps") gp99=$(ratio "$gp" "$p99") gcpu=$(ratio "$gc" "$cus"); fi
        if [ "$t" = direct ]; then gcpu=""; fi
        if [ -n "${SKIP[$t]:-}" ] && [ -z "$rps" ]; then
            printf '| %s | left out: %s | | | | | | | | | | |\n' "$t" "${SKIP[$t]}"
            continue
        fi
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$(fmt '%.0f' "$rps")" \
            "$(fmt '%.2f' "$(div "$p50" 1000)")" "$(fmt '%.2f' "$(div "$p99" 1000)")" \
            "$(fmt '%.0f%%' "$cpu")" "$(fmt '%.2f' "$cus")" "$(fmt '%.3f' "$cmb")" "${gr:-–}" "${gp99:-–}" "${gcpu:-–}" "$err" "$b"
    done
}

wrk_table() {
    printf '| target | req/s | p50 ms | p99 ms | proxy CPU | CPU µs/req | CPU ms/MB | gatehouse/peer req/s | gatehouse/peer p99 | gatehouse/peer CPU/req | errors | bound by |\n'
    printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n'
    rows "$1" "$2"
}

# peer_ratio TARGET GATEHOUSE VALUE — the ratio column of a row.
peer_ratio() { if [ "$1" = gatehouse ]; then printf '–'; else ratio "$2" "$3"; fi; }

# verdict OK — "holds" or "missed" ("–" without a value).
verdict() { case $1 in 1) printf 'holds' ;; 0) printf '**missed**' ;; *) printf '–' ;; esac; }
# check VALUE TEST — 1 or 0 for "VALUE TEST" (e.g. ">= 1.2"), or empty.
check() { if [ -n "$1" ]; then calc "$1 $2"; fi; }

# target_row LABEL VALUE TEST SHOWN — one row of the targets table: the
# verdict of "VALUE TEST" and what is shown as measured.
target_row() { printf '| %s | %s | %s |\n' "$1" "$4" "$(verdict "$(check "$2" "$3")")"; }

targets_table() {
    local g n h v s
    printf '| target (issue 22) | measured | verdict |\n|---|---:|---|\n'
    g=$(median 1k gatehouse cpu_us_req)
    n=$(median 1k nginx cpu_us_req)
    h=$(median 1k haproxy cpu_us_req)
    target_row 'reverse keep-alive 1 KB: CPU/request ≤ 0.85× nginx' "$(quot "$g" "$n")" '<= 0.85' \
        "$(ratio "$g" "$n") ($(fmt '%.2f' "$g") / $(fmt '%.2f' "$n") µs)"
    target_row 'reverse keep-alive 1 KB: CPU/request ≤ 0.9× HAProxy' "$(quot "$g" "$h")" '<= 0.9' \
        "$(ratio "$g" "$h") ($(fmt '%.2f' "$g") / $(fmt '%.2f' "$h") µs)"
    for s in 64k 1m; do
        g=$(median "$s" gatehouse cpu_ms_mb)
        n=$(median "$s" nginx cpu_ms_mb)
        target_row "reverse $s through a pool: CPU/MB ≤ 0.6× nginx" "$(quot "$g" "$n")" '<= 0.6' \
            "$(ratio "$g" "$n") ($(fmt '%.2f' "$g") / $(fmt '%.2f' "$n") ms/MB)"
    done
    g=$(median fwd gatehouse cpu_us_req)
    n=$(median fwd squid cpu_us_req)
    target_row 'forward 1 KB: CPU/request ≤ 0.3× Squid' "$(quot "$g" "$n")" '<= 0.3' \
        "$(ratio "$g" "$n") ($(fmt '%.2f' "$g") / $(fmt '%.2f' "$n") µs)"
    g=$(median bulk gatehouse mbps)
    n=$(median bulk direct mbps)
    target_row "CONNECT bulk ≥ 0.95× direct (layout $LAYOUT)" "$(quot "$g" "$n")" '>= 0.95' "$(ratio "$g" "$n")"
    g=$(median bulkown gatehouse mbps)
    n=$(median bulkown direct mbps)
    if [ -n "$n" ]; then
        target_row 'CONNECT bulk ≥ 0.95× direct (the proxy on a core of its own)' "$(quot "$g" "$n")" '>= 0.95' "$(ratio "$g" "$n")"
    fi
    for s in 1k 64k 1m; do
        g=$(median "$s" gatehouse p99_us)
        n=$(median "$s" nginx p99_us)
        target_row "reverse keep-alive $s: p99 ≤ nginx" "$(quot "$g" "$n")" '<= 1' \
            "$(fmt '%.2f' "$(div "$g" 1000)") / $(fmt '%.2f' "$(div "$n" 1000)") ms"
    done
    g=$(median mem gatehouse rss_kb)
    n=$(median mem nginx rss_kb)
    target_row "RSS with $IDLE idle connections ≤ nginx (issue 9)" "$(quot "$g" "$n")" '<= 1' "$(ratio "$g" "$n")"
    for s in 1k 64k 1m close fwd; do
        case $s in fwd) v="gatehouse squid tinyproxy direct" ;; *) v="gatehouse nginx haproxy direct" ;; esac
        [ -n "$(median "$s" direct rps)" ] || continue
        printf '| rows of %s not client-bound (direct ≥ 1.5× the fastest proxy) | %s | – |\n' "$s" "$(bound "$s" "$v")"
    done
}

# bulk_table KIND — the rows of a CONNECT scenario.
bulk_table() {
    local t g v
    printf '| target | MB/s | proxy CPU s | gatehouse/peer | failed runs |\n|---|---:|---:|---:|---:|\n'
    g=$(median "$1" gatehouse mbps)
    for t in gatehouse squid haproxy direct; do
        v=$(median "$1" "$t" mbps)
        printf '| %s | %s | %s | %s | %s |\n' "$t$([ "$t" = haproxy ] && printf ' (TCP relay)')" "$(fmt '%.0f' "$v")" "$(fmt '%.2f' "$(median "$1" "$t" cpu_s)")" \
            "$(peer_ratio "$t" "$g" "$v")" "$(total "$1" "$t" errors)"
    done
}

report() {
    local t g v
    printf '# Gatehouse benchmarks\n\n'
    printf 'Written by make bench (bench/run.sh) on %s in %d s. Medians of %s interleaved runs;\n' \
        "$(date -u '+%Y-%m-%d %H:%M UTC')" "$((SECONDS - T0))" "$REPS"
    printf 'ratios are gatehouse ÷ peer (above 1× is better for req/s and MB/s, below 1× is better for\n'
    printf 'latency, memory and CPU).\n\n## Machine\n\n'
    machine
    versions
    printf '\n## Targets\n\n'
    targets_table
    if want 1 || want 6; then
        printf '\n## 1. Reverse proxy, keep-alive clients (wrk -t1 -c%s -d%ss)\n\n### 1 KB\n\n' "$CONNS" "$DUR"
        wrk_table 1k "gatehouse nginx haproxy direct"
        printf '\n### 64 KB\n\n'
        wrk_table 64k "gatehouse nginx haproxy direct"
        printf '\n### 1 MB\n\n'
        wrk_table 1m "gatehouse nginx haproxy direct"
    fi
    if want 2; then
        printf '\n## 2. Reverse proxy, a new connection per request (1 KB, "Connection: close")\n\n'
        wrk_table close "gatehouse nginx haproxy direct"
    fi
    if want 3; then
        printf '\n## 3. Forward proxy, absolute-form, keep-alive clients (1 KB)\n\n'
        wrk_table fwd "gatehouse squid tinyproxy direct"
    fi
    if want 4; then
        printf '\n## 4. CONNECT tunnel, %s MB with curl\n\n' "$BULK_MB"
        bulk_table bulk
        if [ -n "$(median bulkown direct mbps)" ]; then
            printf '\n### The proxy on a core of its own (curl and the origin on CPU 0, the proxy on CPU 1)\n\n'
            bulk_table bulkown
        fi
    fi
    if want 5; then
        printf '\n## 5. Memory: RSS with %s idle keep-alive client connections\n\n' "$IDLE"
        printf '| target | RSS at start | RSS with the connections | per connection | failed connections | gatehouse/peer RSS |\n'
        printf '|---|---:|---:|---:|---:|---:|\n'
        g=$(median mem gatehouse rss_kb)
        for t in gatehouse nginx; do
            v=$(median mem "$t" rss_kb)
            printf '| %s | %s MB | %s MB | %s KB | %s | %s |\n' "$t" "$(fmt '%.1f' "$(div "$(median mem "$t" base_kb)" 1024)")" \
                "$(fmt '%.1f' "$(div "$v" 1024)")" "$(fmt '%.2f' "$(div "$(median mem "$t" per_conn_b)" 1024)")" \
                "$(median mem "$t" failed)" "$(peer_ratio "$t" "$g" "$v")"
        done
    fi
    if want 6; then
        printf '\n## 6. CPU seconds per 100,000 proxied requests (user + sys, from the 1 KB keep-alive runs)\n\n'
        printf '| target | CPU s / 100k requests | gatehouse/peer |\n|---|---:|---:|\n'
        g=$(median 1k gatehouse cpu_per_100k)
        for t in gatehouse nginx haproxy; do
            v=$(median 1k "$t" cpu_per_100k)
            printf '| %s | %s | %s |\n' "$t" "$(fmt '%.3f' "$v")" "$(peer_ratio "$t" "$g" "$v")"
        done
    fi
    if want 7; then
        printf '\n## 7. Two workers each, reverse keep-alive 1 KB (wrk -t2 -c%s; the load shares the 2 cores: compare CPU per request)\n\n' "$CONNS"
        wrk_table 1k2 "gatehouse nginx haproxy direct"
    fi
    printf '\n## Notes\n\n'
    cat <<'NOTES'
- Every proxy runs one worker: gatehouse `workers = 1`, nginx `worker_processes 1`, HAProxy
  `nbthread 1`, Squid `workers 1` run with `-N`; Tinyproxy has no such setting (a thread per client).
NOTES
    layout_note
    cat <<'NOTES'
- The origin is nginx (one worker, keep-alive, sendfile) serving fixed files; every proxy keeps
  its upstream connections alive (nginx `keepalive 64`, HAProxy `http-reuse always`).
- Access logs are off for every proxy: gatehouse `access = "off"`, nginx `access_log off`,
  HAProxy without a `log` line, Squid `access_log none`. Tinyproxy cannot turn its log off and
  logs at `Critical` (nothing, in practice) to a file. nginx and HAProxy add X-Forwarded-For,
  as gatehouse does.
- "proxy CPU" is user + sys time of the proxy's processes (/proc/PID/stat; nginx's master and
  worker summed) over the run, in percent of one core. Softirq time spent on the loopback
  traffic is charged to no process and is not in it.
- In scenario 4 HAProxy is no CONNECT proxy but a plain TCP relay to the origin (`mode tcp`,
  `option splice-auto`): the reference for what moving the bytes through a second process costs.
- RSS is VmRSS from /proc/PID/status, summed over nginx's master and worker; each round starts
  the proxy afresh. The client is bench/idle_conns.c: every connection has made one 1 KB request
  and stays open.
- "errors" counts wrk's socket errors and non-2xx answers over all runs. Tinyproxy closes every
  client connection after one answer without saying so; wrk would find each close by a failed
  read, so Tinyproxy's clients send `Connection: close`: its numbers are those of a connection
  per request, and its closes still count as read errors.
NOTES
    for t in "${!SKIP[@]}"; do printf -- '- %s was left out: %s.\n' "$t" "${SKIP[$t]}"; done
    if [ "${#NOTES[@]}" -gt 0 ]; then printf -- '- %s\n' "${NOTES[@]}"; fi
    if [ "$(calc "(${LOAD_BEFORE%% *} > 0.5)")" = 1 ]; then
        printf -- '- The machine was not idle when the run started (load %s): other work shares these cores.\n' "${LOAD_BEFORE%% *}"
    fi
}

# ---------------------------------------------------------------- main

main() {
    T0=$SECONDS
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    install_peers
    build_gatehouse
    build_helpers
    raise_fd_limit
    if [ "$NOFILE" -lt $((IDLE + 1000)) ]; then
        NOTES+=("Only $NOFILE file descriptors could be had: the memory scenario holds $((NOFILE - 1000)) connections, not $IDLE.")
        IDLE=$((NOFILE - 1000))
    fi
    prepare_run_dir
    : >"$RES"
    trap stop_all EXIT
    trap 'exit 130' INT TERM
    start_all
    if want 1 || want 6; then scenario_reverse; fi
    if want 2; then scenario_close; fi
    if want 3; then scenario_forward; fi
    if want 4; then scenario_bulk; fi
    if want 5; then scenario_memory; fi
    if want 7; then scenario_workers; fi
    stop_all
    mkdir -p "$(dirname "$OUT")"
    report >"$RUN/latest.md"
    cp "$RUN/latest.md" "$OUT"
    cat "$OUT"
    say "bench: wrote $OUT in $((SECONDS - T0)) s"
}

main "$@"
