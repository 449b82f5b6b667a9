#!/usr/bin/env bash
# bench/protect.sh — what the protections cost (issue 18): the 1 KB
# keep-alive reverse scenario with a rate limit and 10 deny rules judged
# on every request (bench/conf/protect-gatehouse.conf) against the same
# without them (bench/conf/gatehouse.conf), interleaved, CPU per request
# from /proc as bench/ab.sh measures it; then the daemon's memory with a
# million distinct keys in its table (every request a new X-Key, the
# table's own count read from the status page).  Not part of make check.
#
#   bash bench/protect.sh [ROUNDS]      (ROUNDS: 7; BENCH_KEYS: 1000000)
#
# Writes bench/results/protect.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

ROUNDS=${1:-7}
DUR=${BENCH_DURATION:-5}
CONNS=${BENCH_CONNS:-50}
KEYS=${BENCH_KEYS:-1000000}
RUN=${BENCH_RUN:-$PWD/build/bench-protect}
RES=$RUN/protect.tsv
OUT=bench/results/protect.md
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
    die "needs nginx and wrk: apt-get install -y nginx wrk"
fi
make --no-print-directory -s all
GATEHOUSE=$PWD/build/gatehouse

# start_gh CONF — gatehouse on the proxy CPU with $RUN/conf/CONF.
start_gh() {
    start_proc gatehouse "$PROXY_CPU" "$GH_REV_PORT" "$GATEHOUSE" -f -c "$RUN/conf/$1"
}

# one_run LABEL CONF ROUND — as bench/ab.sh's: one wrk run, CPU per request.
one_run() {
    local label=$1 conf=$2 round=$3 before after line req ticks
    start_gh "$conf" || die "gatehouse would not start with $conf; see $RUN/logs/gatehouse.out"
    pin "$LOAD_CPU" wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$GH_REV_PORT/1k" >/dev/null 2>&1 || true
    before=$(cpu_ticks gatehouse)
    line=$(pin "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DUR}s" -s bench/wrk.lua \
        "http://127.0.0.1:$GH_REV_PORT/1k" 2>&1 | grep '^RESULT ' || true)
    after=$(cpu_ticks gatehouse)
    stop_proc gatehouse
    [ -n "$line" ] || die "wrk failed against $label"
    case $line in *"non2xx=0 "*) ;; *) die "$label: answers other than 2xx: $line" ;; esac
    req=${line#*requests=}
    req=${req%% *}
    ticks=$((after - before))
    printf '%s\t%s\t%s\t%s\n' "$label" "$round" "$req" \
        "$(calc "$ticks / $CLK_TCK / $req * 1000000")" >>"$RES"
    say "$(printf '  round %s  %-9s requests %s  %.3f us/request' "$round" "$label" "$req" \
        "$(calc "$ticks / $CLK_TCK / $req * 1000000")")"
}

med() {
    awk -F'\t' -v l="$1" -v k="$2" '$1 == l { print $k }' "$RES" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# held — the key table's count from the status page.
held() {
    curl -s "http://127.0.0.1:$GH_REV_PORT/.gh/status" | sed -n 's/.*"keys":{"held":\([0-9]*\).*/\1/p'
}

raise_fd_limit
prepare_run_dir
: >"$RES"
trap stop_all EXIT
trap 'exit 130' INT TERM
start_origin || die "the origin (nginx) would not start; see $RUN/logs/origin.out"
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then
        one_run plain gatehouse.conf "$r"
        one_run protected protect-gatehouse.conf "$r"
    else
        one_run protected protect-gatehouse.conf "$r"
        one_run plain gatehouse.conf "$r"
    fi
done
a=$(med plain 4)
b=$(med protected 4)
ratio=$(calc "sprintf(\"%.3f\", $b / $a)")

# memory: a million distinct keys through one daemon
start_gh protect-gatehouse.conf || die "gatehouse would not start"
rss0=$(rss_kb gatehouse)
sent=0
for i in $(seq 1 20); do
    line=$(pin "$LOAD_CPU" env KEY_BASE="$sent" wrk -t1 -c"$CONNS" -d10s -s bench/keys.lua \
        "http://127.0.0.1:$GH_REV_PORT/1k" 2>&1 | grep '^RESULT ' || true)
    n=${line#*requests=}
    sent=$((sent + ${n%% *}))
    [ "$(held)" -ge "$KEYS" ] && break
    : "$i"
done
keys=$(held)
rss1=$(rss_kb gatehouse)
table=$(curl -s "http://127.0.0.1:$GH_REV_PORT/.gh/status" | sed -n 's/.*"keys":{[^}]*"bytes":\([0-9]*\)}.*/\1/p')
stop_proc gatehouse

{
    printf '# Protections: cost per request and memory (bench/protect.sh)\n\n'
    printf '%s, %s cores; %s rounds of %s s, interleaved; 1 KB, keep-alive, %s connections; medians.\n\n' \
        "$(uname -srm)" "$(nproc)" "$ROUNDS" "$DUR" "$CONNS"
    printf '| configuration | requests per run | CPU per request | ratio |\n|---|---|---|---|\n'
    printf '| without protections | %s | %.3f us | 1.000 |\n' "$(med plain 3)" "$a"
    printf '| a rate limit and 10 deny rules on every request | %s | %.3f us | %s |\n\n' \
        "$(med protected 3)" "$b" "$ratio"
    printf '| memory | value |\n|---|---|\n'
    printf '| distinct keys sent | %s |\n| keys held by the table | %s |\n' "$sent" "$keys"
    printf '| RSS before | %s kB |\n| RSS after | %s kB |\n| growth | %s MB |\n' "$rss0" "$rss1" \
        "$(calc "sprintf(\"%.1f\", ($rss1 - $rss0) / 1024)")"
    printf '| the table'"'"'s reservation (mapped, touched as keys come) | %s MB |\n' \
        "$(calc "sprintf(\"%.1f\", ${table:-0} / 1048576)")"
} >"$OUT"
cat "$OUT"
