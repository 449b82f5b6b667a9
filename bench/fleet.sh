#!/usr/bin/env bash
# bench/fleet.sh — what a Redis-backed rate limit costs (issue 21): the 1 KB
# keep-alive reverse scenario with a per-client limit on every request,
# `shared` through a redis-server this script starts
# (bench/conf/fleet-shared.conf), against the same limit kept locally
# (bench/conf/fleet-local.conf), interleaved, the proxy's CPU per request
# from /proc as bench/protect.sh measures it, and Redis's own CPU per
# request beside it.  Not part of make check.
#
#   bash bench/fleet.sh [ROUNDS]      (ROUNDS: 7; BENCH_DURATION: 5 s)
#
# Writes bench/results/fleet.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

ROUNDS=${1:-7}
DUR=${BENCH_DURATION:-5}
CONNS=${BENCH_CONNS:-50}
REDIS_PORT=$((BENCH_PORT_BASE + 8))
RUN=${BENCH_RUN:-$PWD/build/bench-fleet}
RES=$RUN/fleet.tsv
OUT=bench/results/fleet.md
for c in nginx wrk redis-server; do
    command -v "$c" >/dev/null || die "needs nginx, wrk and redis-server: apt-get install -y nginx wrk redis-server"
done
make --no-print-directory -s all
GATEHOUSE=$PWD/build/gatehouse

# one_run LABEL CONF ROUND — one wrk run; the proxy's and Redis's CPU per request.
one_run() {
    local label=$1 conf=$2 round=$3 before after rb ra line req ticks
    start_proc gatehouse "$PROXY_CPU" "$GH_REV_PORT" "$GATEHOUSE" -f -c "$RUN/conf/$conf" ||
        die "gatehouse would not start with $conf; see $RUN/logs/gatehouse.out"
    sleep 0.3 # the fleet's link is made on the loop
    pin "$LOAD_CPU" wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$GH_REV_PORT/1k" >/dev/null 2>&1 || true
    before=$(cpu_ticks gatehouse)
    rb=$(cpu_ticks redis)
    line=$(pin "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DUR}s" -s bench/wrk.lua \
        "http://127.0.0.1:$GH_REV_PORT/1k" 2>&1 | grep '^RESULT ' || true)
    after=$(cpu_ticks gatehouse)
    ra=$(cpu_ticks redis)
    if [ "$label" = shared ]; then
        curl -s "http://127.0.0.1:$GH_REV_PORT/metrics" >"$RUN/metrics.$round" || true
        grep -q '^gatehouse_fleet_up 1' "$RUN/metrics.$round" ||
            die "shared: the fleet's store was not up; see $RUN/metrics.$round"
        grep -q '^gatehouse_fleet_fallbacks_total 0' "$RUN/metrics.$round" ||
            die "shared: some decisions were made locally; see $RUN/metrics.$round"
        grep '^gatehouse_fleet_commands_total' "$RUN/metrics.$round" >"$RUN/commands.$round"
    fi
    stop_proc gatehouse
    [ -n "$line" ] || die "wrk failed against $label"
    case $line in *"non2xx=0 "*) ;; *) die "$label: answers other than 2xx: $line" ;; esac
    req=${line#*requests=}
    req=${req%% *}
    ticks=$((after - before))
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$round" "$req" \
        "$(calc "$ticks / $CLK_TCK / $req * 1000000")" \
        "$(calc "($ra - $rb) / $CLK_TCK / $req * 1000000")" >>"$RES"
    say "$(printf '  round %s  %-7s requests %s  %.3f us/request (redis %.3f)' "$round" "$label" \
        "$req" "$(calc "$ticks / $CLK_TCK / $req * 1000000")" \
        "$(calc "($ra - $rb) / $CLK_TCK / $req * 1000000")")"
}

med() {
    awk -F'\t' -v l="$1" -v k="$2" '$1 == l { print $k }' "$RES" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

raise_fd_limit
prepare_run_dir
sed -i "s|@FLEET_REDIS_PORT@|$REDIS_PORT|g" "$RUN/conf/fleet-shared.conf"
: >"$RES"
trap stop_all EXIT
trap 'exit 130' INT TERM
start_origin || die "the origin (nginx) would not start; see $RUN/logs/origin.out"
start_proc redis "$LOAD_CPU" "$REDIS_PORT" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
    --save "" --appendonly no --dir "$RUN/tmp" || die "redis-server would not start"
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then
        one_run local fleet-local.conf "$r"
        one_run shared fleet-shared.conf "$r"
    else
        one_run shared fleet-shared.conf "$r"
        one_run local fleet-local.conf "$r"
    fi
done
a=$(med local 4)
b=$(med shared 4)
verdict=$(calc "($b <= 1.10 * $a)")
{
    printf '# A Redis-backed rate limit: cost per request (bench/fleet.sh)\n\n'
    printf '%s, %s cores; %s rounds of %s s, interleaved; 1 KB, keep-alive, %s connections; medians.\n\n' \
        "$(uname -srm)" "$(nproc)" "$ROUNDS" "$DUR" "$CONNS"
    printf '| configuration | requests per run | gatehouse CPU per request | ratio | redis-server CPU per request |\n|---|---|---|---|---|\n'
    printf '| a local rate limit on every request | %s | %.3f us | 1.000 | – |\n' "$(med local 3)" "$a"
    printf '| the same limit shared through Redis | %s | %.3f us | %s | %.3f us |\n\n' \
        "$(med shared 3)" "$b" "$(calc "sprintf(\"%.3f\", $b / $a)")" "$(med shared 5)"
    printf 'Target: at most 1.10x the local limit'"'"'s CPU per request: %s.\n' \
        "$([ "$verdict" = 1 ] && echo holds || echo '**missed**')"
    printf 'Commands to Redis in the last shared run (one INCRBY and one PEXPIRE per lease of 64): %s.\n' \
        "$(tr '\n' ' ' <"$RUN/commands.$ROUNDS" 2>/dev/null || echo unknown)"
} >"$OUT"
cat "$OUT"
