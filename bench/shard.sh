#!/usr/bin/env bash
# bench/shard.sh — the reverse cache sharded across a fleet (issue 21):
#  1. origin fetches per unique object: 200 objects, each asked 12 times at
#     once spread over three nodes (127.0.0.2-4), for a sharded fleet and
#     for the same three nodes caching alone; the origin's log counts;
#  2. the hop's cost: wrk on one object owned by node b, hit on b itself
#     and through node a (which forwards to b), interleaved, REPS rounds,
#     medians, with the CPU per request of each node.
# Run on its own (not part of make check):
#   bash bench/shard.sh            (BENCH_DURATION, BENCH_REPS, GATEHOUSE as in run.sh)
# Writes its table to bench/results/shard.md (BENCH_SHARD_OUT) and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_RUN=${BENCH_SHARD_RUN:-$PWD/build/bench-shard}
# shellcheck source=bench/lib.sh
. bench/lib.sh

DUR=${BENCH_DURATION:-5}
REPS=${BENCH_REPS:-3}
OUT=${BENCH_SHARD_OUT:-bench/results/shard.md}
SH_ORIGIN_PORT=$((BENCH_PORT_BASE + 40))
SH_NODE_PORT=$((BENCH_PORT_BASE + 41))
PEER_PKGS="nginx:nginx wrk:wrk curl:curl taskset:util-linux python3:python3"
RES=$RUN/results.tsv
NODES="a b c"
declare -A IP=([a]=127.0.0.2 [b]=127.0.0.3 [c]=127.0.0.4)

prepare() {
    rm -rf "$RUN"
    mkdir -p "$RUN/conf" "$RUN/logs" "$RUN/tmp" "$RUN/www"
    chmod 755 "$RUN" "$RUN/www" "$RUN/conf"
    chmod 1777 "$RUN/logs" "$RUN/tmp"
    head -c 4096 /dev/urandom >"$RUN/www/4k"
    chmod 644 "$RUN/www/4k"
    sed -e "s|@CACHE_RUN@|$RUN|g" -e "s|@CACHE_ORIGIN_PORT@|$SH_ORIGIN_PORT|g" \
        bench/conf/cache-origin.conf >"$RUN/conf/origin.conf"
}

# node_conf NAME SHARDED — one node's configuration: one worker, log off,
# the fleet's cluster section when SHARDED is 1.
node_conf() {
    local n=$1 f=$RUN/conf/node-$1-$2.conf
    cat >"$f" <<CONF
workers = 1;
log = { level = "warn"; access = "off"; };
timeouts = { keepalive = 120.0; drain = 1.0; };
cache = { memory_mb = 64; lock_timeout = 10.0; };
listeners = ( { name = "site"; mode = "reverse"; listen = [ "${IP[$n]}:$SH_NODE_PORT" ]; routes = "bench"; } );
pools = { origin = { servers = ( { address = "127.0.0.1:$SH_ORIGIN_PORT"; } ); }; };
routes = { bench = ( { host = "*"; path = "/"; pool = "origin"; cache = true; } ); };
CONF
    if [ "$2" = 1 ]; then
        cat >>"$f" <<CONF
cluster = { self = "$n";
  nodes = ( { name = "a"; address = "${IP[a]}:$SH_NODE_PORT"; },
            { name = "b"; address = "${IP[b]}:$SH_NODE_PORT"; },
            { name = "c"; address = "${IP[c]}:$SH_NODE_PORT"; } ); };
CONF
    fi
    chmod 644 "$f"
    echo "$f"
}

# start_fleet SHARDED — the three nodes, each on the proxy CPU.
start_fleet() {
    local n i
    for n in $NODES; do
        spawn "node-$n" "$PROXY_CPU" "$RUN/logs/node-$n.out" "$GATEHOUSE" -f -c "$(node_conf "$n" "$1")"
    done
    for n in $NODES; do
        for i in $(seq 100); do
            (: <>"/dev/tcp/${IP[$n]}/$SH_NODE_PORT") 2>/dev/null && break
            sleep 0.1
            : "$i"
        done
        (: <>"/dev/tcp/${IP[$n]}/$SH_NODE_PORT") 2>/dev/null || die "node $n would not start (see $RUN/logs)"
    done
}

stop_fleet() {
    local n
    for n in $NODES; do stop_proc "node-$n"; done
}

origin_count() { grep -c "GET /4k?$1" "$RUN/logs/origin-access.log" 2>/dev/null || true; }

# fetches SHARDED — 200 objects x 12 concurrent requests over the nodes;
# records origin fetches per object and the count of non-200 answers.
fetches() {
    local tag=$1 before after bad urls=$RUN/tmp/urls-$1
    start_fleet "$1"
    /usr/bin/python3 - "$SH_NODE_PORT" "$tag" >"$urls" <<'PY'
import random, sys
port, tag = sys.argv[1], sys.argv[2]
ips = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
urls = [f"url = \"http://{ips[r % 3]}:{port}/4k?s{tag}-{k}\"\noutput = /dev/null"
        for k in range(200) for r in range(12)]
random.Random(7).shuffle(urls)
print("\n".join(urls))
PY
    before=$(origin_count "s$tag-")
    bad=$(pin "$LOAD_CPU" curl -s -Z --parallel-max 60 -H "Host: bench.test" -K "$urls" -w '%{http_code}\n' |
        grep -vc '^200$' || true)
    after=$(origin_count "s$tag-")
    printf 'fleet%s\tfetches\t%s\n' "$tag" "$(calc "($after - $before) / 200")" >>"$RES"
    printf 'fleet%s\tbad\t%s\n' "$tag" "$bad" >>"$RES"
    say "  fetches  sharded=$tag  $((after - before)) origin requests for 200 objects, $bad not 200"
    stop_fleet
}

# owned_by_b — a query whose key "http://bench.test/4k?hK" node b owns
# (shard.c: FNV-1a 64 of the key, splitmix64 of it xor each name's hash).
owned_by_b() {
    /usr/bin/python3 - <<'PY'
M = (1 << 64) - 1
def fnv(b):
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & M
    return h
def mix(x):
    x ^= x >> 30; x = (x * 0xbf58476d1ce4e5b9) & M
    x ^= x >> 27; x = (x * 0x94d049bb133111eb) & M
    return x ^ (x >> 31)
seeds = [fnv(n.encode()) for n in "abc"]
for k in range(1000):
    h = fnv(f"http://bench.test/4k?h{k}".encode())
    w = [mix(h ^ s) for s in seeds]
    if w.index(max(w)) == 1:
        print(f"h{k}")
        break
PY
}

# run ROW NODE REP — wrk on NODE for the object; records req/s and each
# node's CPU per request.
run() {
    local row=$1 n=$2 rep=$3 line rps m a0 b0 a1 b1
    a0=$(cpu_ticks node-a)
    b0=$(cpu_ticks node-b)
    line=$(pin "$LOAD_CPU" wrk -t1 -c50 -d"${DUR}s" -H "Host: bench.test" -s bench/wrk.lua \
        "http://${IP[$n]}:$SH_NODE_PORT/4k?$OBJ" 2>&1 | tee -a "$RUN/logs/wrk.log" | grep '^RESULT ' || true)
    a1=$(cpu_ticks node-a)
    b1=$(cpu_ticks node-b)
    [ "$rep" = 0 ] && return 0
    [ -n "$line" ] || { say "bench: wrk failed on $row"; return 0; }
    rps=${line#*rps=}
    rps=${rps%% *}
    printf '%s\trps\t%s\n' "$row" "$rps" >>"$RES"
    for m in a b; do
        local d
        if [ $m = a ]; then d=$((a1 - a0)); else d=$((b1 - b0)); fi
        printf '%s\tcpuop-%s\t%s\n' "$row" "$m" "$(calc "$d / $CLK_TCK * 1e6 / ($rps * $DUR)")" >>"$RES"
        printf '%s\tcpu-%s\t%s\n' "$row" "$m" "$(calc "$d / $CLK_TCK / $DUR * 100")" >>"$RES"
    done
    say "$(printf '  hop  %-9s rep %s  %s req/s' "$row" "$rep" "$rps")"
}

report() {
    local o h oa ob ha hb
    printf '## Cache sharding across three nodes (bench/shard.sh)\n\n'
    printf '### Origin fetches per unique object\n\n'
    printf '200 objects, each asked 12 times at once (curl, 60 in parallel, shuffled) spread evenly over\n'
    printf 'three gatehouses (one worker each, on one core).\n\n'
    printf '| fleet | origin fetches per object | answers not 200 |\n|---|---:|---:|\n'
    printf '| sharded (`cluster`) | %s | %s |\n' "$(median_of fleet1 fetches)" "$(median_of fleet1 bad)"
    printf '| each node caching alone | %s | %s |\n' "$(median_of fleet0 fetches)" "$(median_of fleet0 bad)"
    o=$(median_of owner rps)
    h=$(median_of hop rps)
    ob=$(median_of owner cpuop-b)
    ha=$(median_of hop cpuop-a)
    hb=$(median_of hop cpuop-b)
    printf '\n### What the hop costs: a hit on the owner vs on a node that is not\n\n'
    printf 'Medians of %s interleaved %s s runs of wrk (50 connections, one 4 KB object owned by node b).\n' "$REPS" "$DUR"
    printf 'Both nodes share the proxy core; wrk and the origin the other. CPU per request in µs (user + sys).\n\n'
    printf '| hit | req/s | node a µs/req | node b µs/req | fleet µs/req |\n|---|---:|---:|---:|---:|\n'
    printf '| on the owner (b) | %s | – | %s | %s |\n' "${o:-–}" "$(fmt1 "$ob")" "$(fmt1 "$ob")"
    printf '| on a non-owner (a → b) | %s | %s | %s | %s |\n' "${h:-–}" "$(fmt1 "$ha")" "$(fmt1 "$hb")" \
        "$(fmt1 "$(calc "${ha:-0} + ${hb:-0}")")"
    printf '\nThe non-owner hit costs %s of the owner hit'"'"'s rate and %s of its CPU per request across the fleet.\n' \
        "$(ratio "$h" "$o")" "$(ratio "$(calc "${ha:-0} + ${hb:-0}")" "$ob")"
}

main() {
    local rep
    begin_side_run "$SH_ORIGIN_PORT" origin.conf
    command -v python3 >/dev/null || die "python3 is needed to spread the requests"
    say "bench: origin fetches per unique object"
    fetches 1
    fetches 0
    say "bench: the hop's cost"
    OBJ=$(owned_by_b)
    start_fleet 1
    curl -s -o /dev/null -H "Host: bench.test" "http://${IP[b]}:$SH_NODE_PORT/4k?$OBJ"
    for rep in $(seq 0 "$REPS"); do
        run owner b "$rep"
        run hop a "$rep"
    done
    stop_fleet
    stop_all
    mkdir -p "$(dirname "$OUT")"
    report >"$OUT"
    cat "$OUT"
}

main "$@"
