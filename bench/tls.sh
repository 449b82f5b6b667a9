#!/usr/bin/env bash
# bench/tls.sh — TLS termination (issue 7): full TLS 1.3 handshakes per
# second and keep-alive TLS requests per second, gatehouse against nginx,
# same certificate (ECDSA P-256, made here), same worker count (1), same
# cipher (TLS_AES_128_GCM_SHA256), interleaved, REPS rounds, medians and
# ratios.  Run by `make bench`, or on its own:
#   bash bench/tls.sh              (BENCH_DURATION, BENCH_REPS, GATEHOUSE as in run.sh)
# Writes its table to bench/results/tls.md (BENCH_TLS_OUT) and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_RUN=${BENCH_TLS_RUN:-$PWD/build/bench-tls}
# shellcheck source=bench/lib.sh
. bench/lib.sh

DUR=${BENCH_DURATION:-5}
REPS=${BENCH_REPS:-3}
OUT=${BENCH_TLS_OUT:-bench/results/tls.md}
HS_CONNS=${BENCH_TLS_HS_CONNS:-32}
CONNS=${BENCH_CONNS:-50}
TLS_ORIGIN_PORT=$((BENCH_PORT_BASE + 30))
TLS_GH_PORT=$((BENCH_PORT_BASE + 31))
TLS_NGINX_PORT=$((BENCH_PORT_BASE + 32))
PEER_PKGS="nginx:nginx wrk:wrk curl:curl openssl:openssl taskset:util-linux"
RES=$RUN/results.tsv
TARGETS="gatehouse nginx"

port_of() { case $1 in gatehouse) echo "$TLS_GH_PORT" ;; nginx) echo "$TLS_NGINX_PORT" ;; esac; }
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RES"; }

prepare() {
    rm -rf "$RUN"
    mkdir -p "$RUN/conf" "$RUN/logs" "$RUN/tmp" "$RUN/www"
    chmod 755 "$RUN" "$RUN/www" "$RUN/conf"
    chmod 1777 "$RUN/logs" "$RUN/tmp"
    head -c 1024 /dev/zero | tr '\0' 'a' >"$RUN/www/1k"
    chmod 644 "$RUN/www/1k"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        -keyout "$RUN/key.pem" -out "$RUN/cert.pem" 2>/dev/null
    chmod 644 "$RUN/key.pem" "$RUN/cert.pem" # both daemons drop privileges
    local f
    for f in bench/conf/tls-*; do
        sed -e "s|@TLS_RUN@|$RUN|g" -e "s|@TLS_ORIGIN_PORT@|$TLS_ORIGIN_PORT|g" \
            -e "s|@TLS_GH_PORT@|$TLS_GH_PORT|g" -e "s|@TLS_NGINX_PORT@|$TLS_NGINX_PORT|g" \
            "$f" >"$RUN/conf/${f##*/}"
        chmod 644 "$RUN/conf/${f##*/}"
    done
    mkdir -p build/bench
    cc -std=gnu11 -O2 -Wall -Wextra -o build/bench/tls_handshakes bench/tls_handshakes.c -lssl -lcrypto
}

start_target() {
    case $1 in
    gatehouse) start_proc gatehouse "$PROXY_CPU" "$TLS_GH_PORT" "$GATEHOUSE" -f -c "$RUN/conf/tls-gatehouse.conf" ;;
    nginx) start_proc nginx "$PROXY_CPU" "$TLS_NGINX_PORT" nginx -p "$RUN" -e "$RUN/logs/nginx-error.log" \
        -c "$RUN/conf/tls-nginx.conf" ;;
    esac
}

# check TARGET — one request over TLS 1.3 with the bench cipher, verified
# against the bench certificate.
check() {
    local out
    out=$(curl -sS --max-time 5 --cacert "$RUN/cert.pem" --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256 \
        -o /dev/null -w '%{http_code} %{size_download}' "https://localhost:$(port_of "$1")/1k" 2>&1 || true)
    [ "$out" = "200 1024" ] || { say "bench: $1 over TLS answered \"$out\""; return 1; }
}

handshakes() {
    local t=$1 rep=$2 line before after
    before=$(cpu_ticks "$t")
    line=$(pin "$LOAD_CPU" build/bench/tls_handshakes -p "$(port_of "$t")" -c "$HS_CONNS" -t "$DUR" 2>&1 |
        tee -a "$RUN/logs/handshakes.log" | grep '^RESULT ' || true)
    after=$(cpu_ticks "$t")
    [ "$rep" = 0 ] && return 0
    [ -n "$line" ] || { say "bench: the handshake client failed against $t"; return 0; }
    local rate=${line#*rate=}
    rate=${rate%% *}
    record "$t" hs "$rate"
    record "$t" hs-cpu "$(calc "($after - $before) / $CLK_TCK / $DUR * 100")"
    record "$t" hs-cpuop "$(calc "($after - $before) / $CLK_TCK * 1e6 / ($rate * $DUR)")"
    record "$t" hs-failures "$(echo "$line" | sed 's/.*failures=//')"
    say "$(printf '  tls    %-9s handshakes rep %s  %s/s' "$t" "$rep" "$rate")"
}

keepalive() {
    local t=$1 rep=$2 line before after rps
    before=$(cpu_ticks "$t")
    line=$(pin "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s bench/wrk.lua \
        "https://127.0.0.1:$(port_of "$t")/1k" 2>&1 | tee -a "$RUN/logs/wrk.log" | grep '^RESULT ' || true)
    after=$(cpu_ticks "$t")
    [ "$rep" = 0 ] && return 0
    [ -n "$line" ] || { say "bench: wrk failed against $t"; return 0; }
    rps=${line#*rps=}
    rps=${rps%% *}
    record "$t" ka "$rps"
    record "$t" ka-cpu "$(calc "($after - $before) / $CLK_TCK / $DUR * 100")"
    record "$t" ka-cpuop "$(calc "($after - $before) / $CLK_TCK * 1e6 / ($rps * $DUR)")"
    say "$(printf '  tls    %-9s keep-alive rep %s  %s req/s' "$t" "$rep" "$rps")"
}

# verdict KIND — at_least (lib.sh) for gatehouse against nginx.
verdict() {
    at_least "$(median_of gatehouse "$1")" "$(median_of nginx "$1")" 1 \
        "$(median_of gatehouse "$1-cpu")" "$(median_of nginx "$1-cpu")" \
        "$(median_of gatehouse "$1-cpuop")" "$(median_of nginx "$1-cpuop")"
}

report() {
    local g n k
    printf '## TLS termination: gatehouse vs nginx (one worker each)\n\n'
    printf 'Same ECDSA P-256 certificate, TLS 1.3 only with TLS_AES_128_GCM_SHA256 on both, no session\n'
    printf 'cache or tickets. Medians of %s interleaved %s s runs. Handshakes: bench/tls_handshakes.c\n' "$REPS" "$DUR"
    printf 'with %s connections in flight, each a full handshake then closed. Keep-alive: wrk -t1 -c%s\n' "$HS_CONNS" "$CONNS"
    printf 'for a 1 KB file proxied from the origin.\n\n'
    printf '| scenario | gatehouse | nginx | gatehouse/nginx | gatehouse CPU | nginx CPU | gatehouse CPU µs/op | nginx CPU µs/op | gatehouse/nginx CPU per op |\n'
    printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
    for k in hs ka; do
        g=$(median_of gatehouse "$k")
        n=$(median_of nginx "$k")
        printf '| %s | %s | %s | %s | %s%% | %s%% | %s | %s | %s |\n' \
            "$([ $k = hs ] && echo 'full handshakes/s' || echo 'keep-alive requests/s')" "${g:-–}" "${n:-–}" \
            "$(ratio "$g" "$n")" "$(fmt1 "$(median_of gatehouse "$k-cpu")")" "$(fmt1 "$(median_of nginx "$k-cpu")")" \
            "$(fmt1 "$(median_of gatehouse "$k-cpuop")")" "$(fmt1 "$(median_of nginx "$k-cpuop")")" \
            "$(ratio "$(median_of gatehouse "$k-cpuop")" "$(median_of nginx "$k-cpuop")")"
    done
    printf '\n| target (issue 7) | measured | verdict |\n|---|---:|---|\n'
    for k in hs ka; do
        g=$(median_of gatehouse "$k")
        n=$(median_of nginx "$k")
        printf '| %s ≥ 1× nginx | %s | %s |\n' "$([ $k = hs ] && echo 'full TLS 1.3 handshakes/s' || echo 'keep-alive TLS requests/s')" \
            "$(ratio "$g" "$n")" "$(verdict "$k")"
    done
    printf '\n- CPU is the proxy'"'"'s user + sys time over the run, in percent of the one core it is pinned to;\n'
    printf '  below 100%% means the load generator (on the other core) was the limit, not the proxy: both\n'
    printf '  proxies then answer at the rate the client can ask, and the CPU each spent per operation\n'
    printf '  says which has more room. The verdict uses that only when neither proxy reached 95%%.\n'
}

main() {
    local t rep
    begin_side_run "$TLS_ORIGIN_PORT" tls-origin.conf
    for t in $TARGETS; do
        if ! start_target "$t"; then
            SKIP[$t]="would not start (see $RUN/logs/$t.out)"
        elif ! check "$t"; then
            SKIP[$t]="did not answer over TLS 1.3"
            stop_proc "$t"
        fi
    done
    [ -z "${SKIP[gatehouse]:-}" ] || die "gatehouse: ${SKIP[gatehouse]}"
    say "bench: TLS, full handshakes and keep-alive requests"
    for rep in $(seq 0 "$REPS"); do
        for t in $TARGETS; do [ -z "${SKIP[$t]:-}" ] && handshakes "$t" "$rep"; done
        for t in $TARGETS; do [ -z "${SKIP[$t]:-}" ] && keepalive "$t" "$rep"; done
    done
    stop_all
    mkdir -p "$(dirname "$OUT")"
    { report; for t in "${!SKIP[@]}"; do printf -- '- %s was left out: %s.\n' "$t" "${SKIP[$t]}"; done; } >"$OUT"
    cat "$OUT"
}

main "$@"
