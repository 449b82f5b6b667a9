#!/usr/bin/env bash
# bench/profile.sh [SECONDS] — where gatehouse spends its CPU on the two hot
# paths: perf record -g on the gatehouse process while wrk drives the reverse
# keep-alive 1 KB scenario, then the forward one, with the origin, ports,
# pinning and configuration of bench/run.sh. Writes the top symbols of each
# to bench/results/profile.md and keeps the perf.data files in
# build/bench-run/ for `perf report -i`. See bench/README.md.
# shellcheck disable=SC2016  # backquotes in single quotes are Markdown
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

SECS=${1:-10}
TOP=${BENCH_TOP:-15}
OUT=${BENCH_PROFILE_OUT:-bench/results/profile.md}
CONNS=${BENCH_CONNS:-50}

PEER_PKGS="$PEER_PKGS perf:linux-perf"
install_peers
command -v perf >/dev/null || die "perf is missing (apt-get install linux-perf)"
if [ -z "${GATEHOUSE:-}" ]; then
    ${MAKE:-make} --no-print-directory deps all
    GATEHOUSE=$PWD/build/gatehouse
fi
raise_fd_limit
prepare_run_dir
trap stop_all EXIT
trap 'exit 130' INT TERM
start_origin || die "the origin would not start"
start_peer gatehouse || die "gatehouse would not start"

# The hypervisor may hide the hardware counters: fall back to the clock.
EVENT=cycles
perf stat -e cycles true 2>&1 | grep -q 'not supported' && EVENT="cpu-clock"

# profile NAME URL [BENCH_URL] — wrk for SECS + 2 s; perf for SECS of it.
profile() {
    local name=$1 url=$2 fwd=${3:-} data=$RUN/perf-$1.data
    pin "$LOAD_CPU" env BENCH_URL="$fwd" wrk -t1 -c"$CONNS" -d"$((SECS + 2))s" -s bench/wrk.lua "$url" \
        >"$RUN/logs/profile-wrk-$name.out" 2>&1 &
    PIDS[wrk]=$!
    sleep 1
    # DWARF call chains: gatehouse is built without frame pointers.
    perf record -e "$EVENT" -F 999 --call-graph dwarf,8192 -p "${PIDS[gatehouse]}" -o "$data" \
        -- sleep "$SECS" 2>"$RUN/logs/perf-$name.err" >&2
    wait "${PIDS[wrk]}" || true
    unset "PIDS[wrk]"
    say "bench: $name: $(grep RESULT "$RUN/logs/profile-wrk-$name.out" || echo 'wrk failed')"
}

# top DATA [DSO-FILTER] — "| % | dso | symbol |" rows of the top self time.
top() {
    local data=$1
    shift
    perf report -i "$data" --stdio --no-children -g none --sort dso,symbol --percent-limit 0.01 "$@" 2>/dev/null |
        awk -v n="$TOP" '/^ *[0-9.]+%/ && k < n { pct = $1; dso = $2; $1 = $2 = $3 = ""; sub(/^ +/, "");
            sub(/[ -]+$/, ""); printf "| %s | %s | `%s` |\n", pct, dso, $0; k++ }'
}

USER_DSOS="$(basename "$GATEHOUSE"),libc.so.6,libconfig.so.9,libcares.so.2,libcrypto.so.3,libssl.so.3"

# share DATA — "N% in the kernel, M% in user space".
share() {
    perf report -i "$1" --stdio --no-children -g none --sort dso 2>/dev/null |
        awk '/^ *[0-9.]+%/ { p = $1; sub(/%/, "", p); if ($2 == "[kernel.kallsyms]") k += p; else u += p }
            END { printf "%.0f%% of the samples in the kernel, %.0f%% in user space", k, u }'
}

# inclusive DATA — "| % | function |" rows: gatehouse's own functions by
# the time spent in them and in what they call.
inclusive() {
    perf report -i "$1" --stdio --children -g none --sort symbol --dsos "$(basename "$GATEHOUSE")" \
        --percent-limit 1 2>/dev/null |
        awk -v n="$TOP" '/^ *[0-9.]+%/ && !/0x[0-9a-f]+ *$/ && k < n { pct = $1; $1 = $2 = $3 = ""; sub(/^ +/, ""); sub(/[ -]+$/, "");
            printf "| %s | `%s` |\n", pct, $0; k++ }'
}

# callers DATA — the call chains into the five heaviest user-space symbols,
# without the frames every chain shares (thread start to the event loop).
callers() {
    local syms
    syms=$(top "$1" --dsos "$USER_DSOS" | head -5 | sed 's/.*`\(.*\)`.*/\1/' | paste -sd, -)
    printf '```\n'
    perf report -i "$1" --stdio --no-children -G -g graph,0.2 --symbols "$syms" 2>/dev/null |
        grep -v -E '^$|^#|^ +[|]? *$|^ +---(clone3|start_thread)$|^ +(start_thread|worker_main|loop_run)$' || true
    printf '```\n'
}

section() {
    local name=$1 title=$2 data=$RUN/perf-$1.data
    printf '\n## %s\n\n' "$title"
    printf 'wrk: `%s`\n\n' "$(grep RESULT "$RUN/logs/profile-wrk-$name.out" | sed 's/^RESULT //')"
    printf '%s in %s s; percentages are of all samples; %s.\n\n' "$(perf report -i "$data" --stdio --no-children \
        -g none 2>/dev/null | sed -n 's/^# \(Samples: .*\)/\1/p' | head -1)" "$SECS" "$(share "$data")"
    printf '### Top %s symbols, kernel included (self time)\n\n| self | object | symbol |\n|---:|---|---|\n' "$TOP"
    top "$data"
    printf '\n### Top %s symbols in gatehouse and its libraries (user space only)\n\n| self | object | symbol |\n|---:|---|---|\n' "$TOP"
    top "$data" --dsos "$USER_DSOS"
    printf '\n### gatehouse functions with what they call (inclusive, over 1%%)\n\n| total | function |\n|---:|---|\n'
    inclusive "$data"
    printf '\n### Who calls the five heaviest user-space symbols\n\n'
    callers "$data"
}

profile reverse "http://127.0.0.1:$GH_REV_PORT/1k"
profile forward "http://127.0.0.1:$GH_FWD_PORT/" "http://127.0.0.1:$ORIGIN_PORT/1k"
stop_all

mkdir -p "$(dirname "$OUT")"
{
    printf '# Gatehouse profile\n\n'
    printf 'Written by bench/profile.sh on %s: `perf record -e %s -F 999 --call-graph dwarf -p <gatehouse>`\nfor %s s while ' \
        "$(date -u '+%Y-%m-%d %H:%M UTC')" "$EVENT" "$SECS"
    printf 'wrk (-t1 -c%s) drives it; one worker, access log off, pinned as in bench/run.sh\n' "$CONNS"
    printf '(gatehouse on CPU %s, origin and wrk on CPU %s). gatehouse %s (%s), %s, kernel %s.\n' \
        "$PROXY_CPU" "$LOAD_CPU" "$("$GATEHOUSE" -V | head -1 | awk '{ print $2 }')" \
        "$(git describe --always --dirty 2>/dev/null || echo 'no git')" \
        "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" "$(uname -r)"
    section reverse "Reverse proxy, keep-alive, 1 KB"
    section forward "Forward proxy, absolute-form, keep-alive, 1 KB"
    printf '\nFull reports: `perf report -i build/bench-run/perf-reverse.data` (or perf-forward.data).\n'
} >"$OUT"
cat "$OUT"
