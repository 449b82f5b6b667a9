#!/usr/bin/env bash
# bench/kernel.sh — where the CPU per request of gatehouse, nginx and
# HAProxy goes, kernel included, side by side (issue 22): the reverse
# keep-alive scenario for /1k and /64k, one worker each.
#
#   bash bench/kernel.sh [ROUNDS] [SECONDS]        (3 rounds of 4 s)
#
# In each round, for each object and proxy: the proxy is started and warmed
# 1 s with wrk; CPU per request is utime + stime of its processes over a wrk
# run without perf; then `perf record -e cpu-clock -g` samples it through a
# second run, and bench/kstack.py sorts the samples by their call chains
# (user space, system call entry and exit, the receiving and sending calls'
# own work and their copies, the loopback delivery to the other socket that
# a sender pays for, splice, epoll, the rest). A bucket's share of the
# samples times the CPU per request gives microseconds per request. Medians
# go to bench/results/kernel.md, with the TCP segments the machine sent per
# request during the run without perf (nstat: the client's, the proxy's and
# the origin's together). GATEHOUSE names another binary.
# shellcheck disable=SC2016  # backquotes in single quotes are Markdown
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

ROUNDS=${1:-3}
DUR=${2:-4}
CONNS=${BENCH_CONNS:-50}
RUN=${BENCH_RUN:-$PWD/build/bench-kernel}
RES=$RUN/kernel.tsv
OUT=${BENCH_OUT:-bench/results/kernel.md}
GATEHOUSE=${GATEHOUSE:-$PWD/build/gatehouse}
BUCKETS="user entry recv recv_copy send send_copy peer splice epoll other irq"
[ -x "$GATEHOUSE" ] || die "no $GATEHOUSE: run make first"
PEER_PKGS="$PEER_PKGS perf:linux-perf"
install_peers
command -v perf >/dev/null || die "perf is missing (apt-get install linux-perf)"
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 is missing"
command -v nstat >/dev/null || die "nstat is missing (apt-get install iproute2)"

one_run() {
    local t=$1 obj=$2 r=$3 url req t0 t1 pids data=$RUN/perf-$1-$2-$3.data
    url="http://127.0.0.1:$(reverse_port "$t")/$obj"
    start_peer "$t" || die "$t would not start"
    wrk_count 1 "$url" >/dev/null
    NSTAT_HISTORY=$RUN/nstat.history nstat -n
    t0=$(cpu_ticks "$t")
    req=$(wrk_count "$DUR" "$url")
    t1=$(cpu_ticks "$t")
    if [ -z "$req" ] || [ "$req" -eq 0 ]; then die "$t $obj: wrk completed no request"; fi
    printf '%s\t%s\t%s\tcpu_us\t%s\n' "$t" "$obj" "$r" "$(calc "($t1 - $t0) / $CLK_TCK / $req * 1e6")" >>"$RES"
    # TCP segments on the machine (client, proxy and origin) per request
    NSTAT_HISTORY=$RUN/nstat.history nstat 2>/dev/null |
        awk -v p="$t	$obj	$r" -v n="$req" '$1 == "TcpOutSegs" { s = $2 } $1 == "TcpExtTCPPureAcks" { a = $2 }
            END { printf "%s\tsegs\t%.3f\n%s\tacks\t%.3f\n", p, s / n, p, a / n }' >>"$RES"
    pids=$(tree_pids "${PIDS[$t]}" | paste -sd, -)
    perf record -q -e cpu-clock -F 1999 -g -p "$pids" -o "$data" -- sleep "$((DUR + 1))" \
        >/dev/null 2>"$RUN/logs/perf-$t-$obj-$r.err" &
    local ppid=$!
    sleep 0.5
    wrk_count "$DUR" "$url" >/dev/null
    wait "$ppid" || die "perf record failed: $(tail -2 "$RUN/logs/perf-$t-$obj-$r.err")"
    perf script -i "$data" -F ip,sym 2>/dev/null | /usr/bin/python3 bench/kstack.py |
        awk -v p="$t	$obj	$r" '{ print p "\t" $1 "\t" $2 }' >>"$RES"
    stop_proc "$t"
    say "  round $r $obj $t: $(calc "sprintf(\"%.2f\", ($t1 - $t0) / $CLK_TCK / $req * 1e6)") us CPU per request," \
        "$(awk -F'\t' -v t="$t" -v o="$obj" -v r="$r" '$1 == t && $2 == o && $3 == r && $4 == "samples" { print $5 }' "$RES") samples"
}

med() {
    awk -F'\t' -v t="$1" -v o="$2" -v k="$3" '$1 == t && $2 == o && $4 == k { print $5 }' "$RES" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# us T OBJ BUCKET — the bucket's median share times the median CPU per request.
us() { calc "sprintf(\"%.2f\", $(med "$1" "$2" "$3") * $(med "$1" "$2" cpu_us))"; }

# cpu T OBJ — the median CPU µs per request, two decimals.
cpu() { calc "sprintf(\"%.2f\", $(med "$1" "$2" cpu_us))"; }

# kernel T OBJ — µs per request outside user space.
kernel() { calc "sprintf(\"%.2f\", (1 - $(med "$1" "$2" user)) * $(med "$1" "$2" cpu_us))"; }

# label BUCKET — the table's words for a bucket of bench/kstack.py.
label() {
    case $1 in
    user) echo "user space" ;;
    entry) echo "system call entry and exit" ;;
    recv) echo "receiving calls: the socket's work" ;;
    recv_copy) echo "receiving calls: copying out" ;;
    send) echo "sending calls: the socket's work" ;;
    send_copy) echo "sending calls: copying in" ;;
    peer) echo "loopback delivery to the other socket (and its wake-up)" ;;
    splice) echo "splice (but its delivery)" ;;
    epoll) echo "epoll" ;;
    other) echo "other system calls" ;;
    irq) echo "interrupts outside system calls" ;;
    *) echo "$1" ;;
    esac
}

table() {
    local obj=$1 b
    printf '\n## Reverse keep-alive, /%s: µs per request\n\n' "$obj"
    printf '| where | gatehouse | nginx | HAProxy |\n|---|---:|---:|---:|\n'
    for b in $BUCKETS; do
        printf '| %s | %s | %s | %s |\n' "$(label "$b")" "$(us gatehouse "$obj" "$b")" "$(us nginx "$obj" "$b")" "$(us haproxy "$obj" "$b")"
    done
    printf '| **CPU per request** (no perf attached) | **%s** | **%s** | **%s** |\n' \
        "$(cpu gatehouse "$obj")" "$(cpu nginx "$obj")" "$(cpu haproxy "$obj")"
    printf '| of which in the kernel | %s | %s | %s |\n' "$(kernel gatehouse "$obj")" "$(kernel nginx "$obj")" "$(kernel haproxy "$obj")"
    printf '| TCP segments per request, all sockets of the machine (nstat) | %s | %s | %s |\n' \
        "$(med gatehouse "$obj" segs)" "$(med nginx "$obj" segs)" "$(med haproxy "$obj" segs)"
    printf '| — of which pure ACKs | %s | %s | %s |\n' \
        "$(med gatehouse "$obj" acks)" "$(med nginx "$obj" acks)" "$(med haproxy "$obj" acks)"
    printf '| samples (median) | %s | %s | %s |\n' \
        "$(med gatehouse "$obj" samples)" "$(med nginx "$obj" samples)" "$(med haproxy "$obj" samples)"
}

raise_fd_limit
prepare_run_dir
: >"$RES"
trap stop_all EXIT
trap 'exit 130' INT TERM
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
start_origin || die "the origin would not start"
for r in $(seq "$ROUNDS"); do
    for obj in 1k 64k; do
        for t in gatehouse nginx haproxy; do
            one_run "$t" "$obj" "$r"
        done
    done
done
{
    printf '# Where the CPU per request goes, kernel included (bench/kernel.sh)\n\n'
    printf 'Reverse proxy, keep-alive, wrk -t1 -c%s, one worker each; medians of %s rounds of %s s\n' "$CONNS" "$ROUNDS" "$DUR"
    printf '(%s, kernel %s; load average before %s, after %s). Each bucket is its median share of the\n' \
        "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(uname -r)" "$LOAD0" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf '`perf record -e cpu-clock -F 1999 -g` samples times the median CPU per request of the runs without\n'
    printf 'perf; the buckets are defined in bench/kstack.py.\n'
    table 1k
    table 64k
    printf '\n'
    layout_note
} >"$RUN/kernel.md"
cp "$RUN/kernel.md" "$OUT"
cat "$OUT"
