#!/usr/bin/env bash
# bench/layout.sh — which CPU layout lets the 1 KB reverse scenario measure
# the proxies rather than the client (issue 22): for each layout of
# bench/lib.sh (free, split, wrk0), `make bench`'s scenario 1 for 1 KB
# only, and the ratio of going direct to the fastest proxy (1.5x or more:
# not client-bound).  Writes bench/results/layout.md.
#
#   bash bench/layout.sh [REPS] [SECONDS]        (3 rounds of 3 s)
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-3}
DUR=${2:-3}
OUT=bench/results/layout.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
    printf '# CPU layouts for the 1 KB reverse scenario (bench/layout.sh)\n\n'
    printf 'Written on %s; %s interleaved rounds of %s s per layout; load average before: %s.\n\n' \
        "$(date -u '+%Y-%m-%d %H:%M UTC')" "$REPS" "$DUR" "$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$tmp/head"
for layout in free split wrk0; do
    BENCH_LAYOUT=$layout BENCH_SCENARIOS=1 BENCH_SIZES=1k BENCH_REPS=$REPS BENCH_DURATION=$DUR \
        BENCH_OUT="$tmp/$layout.md" BENCH_RUN="$PWD/build/bench-layout" bash bench/run.sh >/dev/null
    {
        printf '## %s\n\n' "$layout"
        awk '/^### 1 KB/ { on = 1; next } on && /^#/ { exit } on && /^\|/' "$tmp/$layout.md"
        printf '\n'
    } >>"$tmp/body"
done
cat "$tmp/head" "$tmp/body" >"$OUT"
cat "$OUT"
