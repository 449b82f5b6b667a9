#!/usr/bin/env bash
# bench/cache.sh — cache hits per second (issue 8): gatehouse's cache
# against nginx's proxy_cache and Varnish, each with one worker, for a 4 KB
# and a 1 MB object, interleaved, REPS rounds, medians and ratios.  Run by
# `make bench` after bench/run.sh, or on its own:
#   bash bench/cache.sh            (BENCH_DURATION, BENCH_REPS, GATEHOUSE as in run.sh)
# Writes its table to bench/results/cache.md (BENCH_CACHE_OUT) and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_RUN=${BENCH_CACHE_RUN:-$PWD/build/bench-cache}
# shellcheck source=bench/lib.sh
. bench/lib.sh

DUR=${BENCH_DURATION:-5}
REPS=${BENCH_REPS:-3}
OUT=${BENCH_CACHE_OUT:-bench/results/cache.md}
CACHE_ORIGIN_PORT=$((BENCH_PORT_BASE + 20))
CACHE_GH_PORT=$((BENCH_PORT_BASE + 21))
CACHE_NGINX_PORT=$((BENCH_PORT_BASE + 22))
CACHE_VARNISH_PORT=$((BENCH_PORT_BASE + 23))
PEER_PKGS="nginx:nginx varnishd:varnish wrk:wrk curl:curl taskset:util-linux"
RES=$RUN/results.tsv
TARGETS="gatehouse nginx varnish"

port_of() {
    case $1 in gatehouse) echo "$CACHE_GH_PORT" ;; nginx) echo "$CACHE_NGINX_PORT" ;; varnish) echo "$CACHE_VARNISH_PORT" ;; esac
}

prepare() {
    rm -rf "$RUN"
    mkdir -p "$RUN/conf" "$RUN/logs" "$RUN/tmp" "$RUN/www" "$RUN/varnish"
    chmod 755 "$RUN" "$RUN/www" "$RUN/conf"
    chmod 1777 "$RUN/logs" "$RUN/tmp"
    head -c 4096 /dev/urandom >"$RUN/www/4k"
    head -c 1048576 /dev/urandom >"$RUN/www/1m"
    chmod 644 "$RUN/www/"*
    local f
    for f in bench/conf/cache-*; do
        sed -e "s|@CACHE_RUN@|$RUN|g" -e "s|@CACHE_ORIGIN_PORT@|$CACHE_ORIGIN_PORT|g" \
            -e "s|@CACHE_GH_PORT@|$CACHE_GH_PORT|g" -e "s|@CACHE_NGINX_PORT@|$CACHE_NGINX_PORT|g" \
            "$f" >"$RUN/conf/${f##*/}"
        chmod 644 "$RUN/conf/${f##*/}"
    done
}

start_target() {
    case $1 in
    gatehouse) start_proc gatehouse "$PROXY_CPU" "$CACHE_GH_PORT" "$GATEHOUSE" -f -c "$RUN/conf/cache-gatehouse.conf" ;;
    nginx) start_proc nginx "$PROXY_CPU" "$CACHE_NGINX_PORT" nginx -p "$RUN" -e "$RUN/logs/nginx-error.log" \
        -c "$RUN/conf/cache-nginx.conf" ;;
    varnish) start_proc varnish "$PROXY_CPU" "$CACHE_VARNISH_PORT" varnishd -F -a "127.0.0.1:$CACHE_VARNISH_PORT" \
        -f "$RUN/conf/cache-varnish.vcl" -s malloc,256m -n "$RUN/varnish" -p thread_pools=1 ;;
    esac
}

# warm TARGET OBJECT — fetches the object twice through TARGET; the second
# answer must come from its cache (by its own header) with every byte.
warm() {
    local t=$1 obj=$2 url head size want
    url="http://127.0.0.1:$(port_of "$t")/$obj"
    want=$(stat -c %s "$RUN/www/$obj")
    curl -s -o /dev/null "$url" || true
    head=$(curl -s -D - -o "$RUN/tmp/got" "$url" || true)
    size=$(stat -c %s "$RUN/tmp/got" 2>/dev/null || echo 0)
    if [ "$size" != "$want" ] || ! cmp -s "$RUN/tmp/got" "$RUN/www/$obj"; then
        say "bench: $t did not return $obj whole ($size of $want bytes)"
        return 1
    fi
    case $t in
    gatehouse) grep -qi '^Cache-Status: gatehouse; hit' <<<"$head" ;;
    nginx) grep -qi '^X-Cache-Status: HIT' <<<"$head" ;;
    varnish) grep -qiE '^X-Varnish: [0-9]+ [0-9]+' <<<"$head" ;;
    esac || { say "bench: $t did not answer $obj from its cache"; return 1; }
}

# run TARGET OBJECT CONNS REP — one wrk run; records req/s and CPU.
run() {
    local t=$1 obj=$2 conns=$3 rep=$4 line rps before after
    before=$(cpu_ticks "$t")
    line=$(pin "$LOAD_CPU" wrk -t1 -c"$conns" -d"${DUR}s" --latency -s bench/wrk.lua \
        "http://127.0.0.1:$(port_of "$t")/$obj" 2>&1 | tee -a "$RUN/logs/wrk.log" | grep '^RESULT ' || true)
    after=$(cpu_ticks "$t")
    [ "$rep" = 0 ] && return 0
    if [ -z "$line" ]; then
        say "bench: wrk failed against $t"
        return 0
    fi
    rps=${line#*rps=}
    rps=${rps%% *}
    printf '%s\t%s\t%s\n' "$t" "$obj-rps" "$rps" >>"$RES"
    printf '%s\t%s\t%s\n' "$t" "$obj-cpu" "$(calc "($after - $before) / $CLK_TCK / $DUR * 100")" >>"$RES"
    printf '%s\t%s\t%s\n' "$t" "$obj-cpuop" "$(calc "($after - $before) / $CLK_TCK * 1e6 / ($rps * $DUR)")" >>"$RES"
    say "$(printf '  cache  %-9s %-3s rep %s  %s req/s' "$t" "$obj" "$rep" "$rps")"
}

# hit_verdict OBJ PEER FACTOR — at_least (lib.sh) for OBJ's hits.
hit_verdict() {
    at_least "$(median_of gatehouse "$1-rps")" "$(median_of "$2" "$1-rps")" "$3" \
        "$(median_of gatehouse "$1-cpu")" "$(median_of "$2" "$1-cpu")" \
        "$(median_of gatehouse "$1-cpuop")" "$(median_of "$2" "$1-cpuop")"
}

report() {
    local g n v obj t
    printf '## Cache hits: gatehouse vs nginx proxy_cache vs Varnish (one worker each)\n\n'
    printf 'Medians of %s interleaved %s s runs of wrk (50 connections for 4 KB, 10 for 1 MB); every\n' "$REPS" "$DUR"
    printf 'object was fetched and checked as a hit before. Ratios are gatehouse ÷ peer.\n\n'
    printf '| object | gatehouse req/s | nginx req/s | Varnish req/s | gatehouse/nginx | gatehouse/Varnish |\n'
    printf '|---|---:|---:|---:|---:|---:|\n'
    for obj in 4k 1m; do
        g=$(median_of gatehouse "$obj-rps")
        n=$(median_of nginx "$obj-rps")
        v=$(median_of varnish "$obj-rps")
        printf '| %s | %s | %s | %s | %s | %s |\n' "$obj" "${g:-–}" "${n:-–}" "${v:-–}" "$(ratio "$g" "$n")" "$(ratio "$g" "$v")"
    done
    printf '\nCPU of each cache (user + sys, percent of its one core; µs per request):\n\n'
    printf '| object | gatehouse | nginx | Varnish |\n|---|---:|---:|---:|\n'
    for obj in 4k 1m; do
        printf '| %s' "$obj"
        for t in gatehouse nginx varnish; do
            printf ' | %s%% · %s µs' "$(fmt1 "$(median_of "$t" "$obj-cpu")")" "$(fmt1 "$(median_of "$t" "$obj-cpuop")")"
        done
        printf ' |\n'
    done
    printf '\n| target (issue 8) | measured | verdict |\n|---|---:|---|\n'
    for obj in 4k 1m; do
        g=$(median_of gatehouse "$obj-rps")
        n=$(median_of nginx "$obj-rps")
        v=$(median_of varnish "$obj-rps")
        printf '| %s hits ≥ 1.2× nginx | %s | %s |\n' "$obj" "$(ratio "$g" "$n")" "$(hit_verdict "$obj" nginx 1.2)"
        printf '| %s hits ≥ 1× Varnish | %s | %s |\n' "$obj" "$(ratio "$g" "$v")" "$(hit_verdict "$obj" varnish 1)"
    done
    printf '\n- nginx: `proxy_cache` on disk under the run directory (served from the page cache),\n'
    printf '  `proxy_cache_lock on`; Varnish %s: `-s malloc,256m -p thread_pools=1`, built-in VCL;\n' \
        "$(varnishd -V 2>&1 | head -1 | grep -o 'varnish-[0-9.]*' || echo '?')"
    printf '  gatehouse: `workers = 1`, a 256 MB memory tier. All pinned as in run.sh.\n'
    printf -- '- Below 95%% CPU the load generator (wrk, on the other core) set the rate, not the cache;\n'
    printf '  the CPU each spent per request then says which has more room.\n'
    printf -- '- The origin (nginx) logged %s requests over the whole run: the warm-ups, not the load.\n' \
        "$(wc -l <"$RUN/logs/origin-access.log" 2>/dev/null || echo '?')"
}

main() {
    local t obj rep
    begin_side_run "$CACHE_ORIGIN_PORT" cache-origin.conf
    for t in $TARGETS; do
        if ! command -v "${t/varnish/varnishd}" >/dev/null && [ "$t" != gatehouse ]; then
            SKIP[$t]="not installed"
        elif ! start_target "$t"; then
            SKIP[$t]="would not start (see $RUN/logs/$t.out)"
        elif ! warm "$t" 4k || ! warm "$t" 1m; then
            SKIP[$t]="did not serve the objects from its cache"
            stop_proc "$t"
        fi
    done
    [ -z "${SKIP[gatehouse]:-}" ] || die "gatehouse: ${SKIP[gatehouse]}"
    say "bench: cache hits, 4 KB and 1 MB"
    for rep in $(seq 0 "$REPS"); do
        for obj in 4k 1m; do
            for t in $TARGETS; do
                [ -z "${SKIP[$t]:-}" ] || continue
                if [ "$obj" = 4k ]; then run "$t" "$obj" 50 "$rep"; else run "$t" "$obj" 10 "$rep"; fi
            done
        done
    done
    stop_all
    mkdir -p "$(dirname "$OUT")"
    { report; for t in "${!SKIP[@]}"; do printf -- '- %s was left out: %s.\n' "$t" "${SKIP[$t]}"; done; } >"$OUT"
    cat "$OUT"
}

main "$@"
