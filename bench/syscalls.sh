#!/usr/bin/env bash
# bench/syscalls.sh — system calls and context switches per request of
# gatehouse, nginx and HAProxy on the 1 KB keep-alive reverse scenario
# (issue 22), figures that load on the machine does not distort much.
#
#   bash bench/syscalls.sh [ROUNDS] [SECONDS]        (3 rounds of 3 s)
#
# In each round every proxy (one worker each, bench/conf/) is started,
# warmed 1 s with wrk, then measured twice: once with `strace -c -f`
# attached to all its processes and threads (system calls per request:
# strace slows the proxy, not the count per request), once without
# (utime + stime and voluntary + involuntary context switches of every
# thread, from /proc, per request).  Prints medians per proxy and writes
# them to bench/results/syscalls.md.  GATEHOUSE names another binary.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

ROUNDS=${1:-3}
DUR=${2:-3}
CONNS=${BENCH_CONNS:-50}
RUN=${BENCH_RUN:-$PWD/build/bench-syscalls}
RES=$RUN/syscalls.tsv
OUT=${BENCH_OUT:-bench/results/syscalls.md}
GATEHOUSE=${GATEHOUSE:-$PWD/build/gatehouse}
[ -x "$GATEHOUSE" ] || die "no $GATEHOUSE: run make first"
command -v strace >/dev/null || die "strace is missing: apt-get install strace"

# ctx_switches NAME — voluntary + involuntary switches of every thread of
# NAME's process tree.
ctx_switches() {
    local p t total=0 v
    for p in $(tree_pids "${PIDS[$1]}"); do
        for t in /proc/"$p"/task/*; do
            v=$(awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { s += $2 } END { print s + 0 }' "$t/status" 2>/dev/null || echo 0)
            total=$((total + v))
        done
    done
    echo "$total"
}

# user_ticks NAME — utime alone, in clock ticks, of NAME's process tree.
user_ticks() {
    local p total=0
    for p in $(tree_pids "${PIDS[$1]}"); do
        total=$((total + $(sed 's/.*) //' /proc/"$p"/stat 2>/dev/null | awk '{ print $12 + 0 }')))
    done
    echo "$total"
}

one_round() {
    local t=$1 r=$2 url req c0 c1 t0 t1 u0 u1 pids strace_out
    url="http://127.0.0.1:$(reverse_port "$t")/1k"
    start_peer "$t" || die "$t would not start"
    wrk_count 1 "$url" >/dev/null
    # without strace: CPU and context switches per request
    c0=$(ctx_switches "$t")
    t0=$(cpu_ticks "$t")
    u0=$(user_ticks "$t")
    req=$(wrk_count "$DUR" "$url")
    u1=$(user_ticks "$t")
    t1=$(cpu_ticks "$t")
    c1=$(ctx_switches "$t")
    printf '%s\t%s\tuser_us\t%s\n' "$t" "$r" "$(calc "($u1 - $u0) / $CLK_TCK / $req * 1e6")" >>"$RES"
    printf '%s\t%s\tcpu_us\t%s\n' "$t" "$r" "$(calc "($t1 - $t0) / $CLK_TCK / $req * 1e6")" >>"$RES"
    printf '%s\t%s\tctxsw\t%s\n' "$t" "$r" "$(calc "($c1 - $c0) / $req")" >>"$RES"
    # with strace: system calls per request, by name
    strace_out=$RUN/strace-$t-$r.txt
    pids=$(tree_pids "${PIDS[$t]}" | sed 's/^/-p /' | tr '\n' ' ')
    # shellcheck disable=SC2086  # a list of -p PID words
    strace -c -f -o "$strace_out" $pids &
    local spid=$!
    sleep 1
    req=$(wrk_count "$DUR" "$url")
    kill -INT "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    awk -v t="$t" -v r="$r" -v n="$req" '
        # "% time  seconds  usecs/call  calls  [errors]  syscall": calls is the 4th
        $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
            printf "%s\t%s\tsys_%s\t%.4f\n", t, r, $NF, $4 / n; all += $4 }
        END { printf "%s\t%s\tsyscalls\t%.4f\n", t, r, all / n }' "$strace_out" >>"$RES"
    stop_proc "$t"
    say "$(printf '  round %s %-10s %s requests traced; %s' "$r" "$t" "$req" "$(grep -P "^$t\t$r\t(syscalls|cpu_us|ctxsw)\t" "$RES" | cut -f3,4 | tr '\t\n' '= ')")"
}

med() {
    awk -F'\t' -v t="$1" -v k="$2" '$1 == t && $3 == k { print $4 }' "$RES" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

raise_fd_limit
prepare_run_dir
: >"$RES"
trap stop_all EXIT
trap 'exit 130' INT TERM
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
start_origin || die "the origin would not start"
for r in $(seq "$ROUNDS"); do
    for t in gatehouse nginx haproxy; do
        one_round "$t" "$r"
    done
done
{
    printf '# System calls and context switches per request (bench/syscalls.sh)\n\n'
    printf 'Reverse proxy, 1 KB, keep-alive, wrk -t1 -c%s, one worker each; medians of %s rounds of %s s\n' "$CONNS" "$ROUNDS" "$DUR"
    printf '(%s; load average before %s, after %s: other work shared the cores).\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$LOAD0" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf '| per request | gatehouse | nginx | HAProxy |\n|---|---:|---:|---:|\n'
    printf '| system calls (strace -c -f) | %s | %s | %s |\n' "$(med gatehouse syscalls)" "$(med nginx syscalls)" "$(med haproxy syscalls)"
    printf '| context switches (/proc, no strace) | %s | %s | %s |\n' "$(med gatehouse ctxsw)" "$(med nginx ctxsw)" "$(med haproxy ctxsw)"
    printf '| CPU µs (/proc, no strace) | %s | %s | %s |\n' "$(med gatehouse cpu_us)" "$(med nginx cpu_us)" "$(med haproxy cpu_us)"
    printf '| of which user µs | %s | %s | %s |\n' "$(med gatehouse user_us)" "$(med nginx user_us)" "$(med haproxy user_us)"
    for k in $(awk -F'\t' '$3 ~ /^sys_/ { print $3 }' "$RES" | sort -u); do
        printf '| `%s` | %s | %s | %s |\n' "${k#sys_}" "$(med gatehouse "$k" || true)" "$(med nginx "$k" || true)" "$(med haproxy "$k" || true)"
    done | sed 's/|  |/| – |/g; s/|  |/| – |/g'
    printf '\n'
    layout_note
} >"$RUN/syscalls.md"
cp "$RUN/syscalls.md" "$OUT"
cat "$OUT"
