#!/usr/bin/env bash
# bench/h2.sh — HTTP/2 at the front door (issue 16): h2load -c 64 -m 10
# for a 1 KB object over TLS, gatehouse against nginx's http2, same
# certificate (ECDSA P-256, made here), same cipher, one worker each, both
# proxying to the same origin over HTTP/1.1; interleaved, REPS rounds,
# medians and ratios, with the proxy's CPU per request beside each rate.
# Never part of make check.  Run on its own:
#   bash bench/h2.sh        (BENCH_DURATION, BENCH_REPS, GATEHOUSE as in run.sh)
# Writes its table to bench/results/h2.md (BENCH_H2_OUT) and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_RUN=${BENCH_H2_RUN:-$PWD/build/bench-h2}
# shellcheck source=bench/lib.sh
. bench/lib.sh

DUR=${BENCH_DURATION:-5}
REPS=${BENCH_REPS:-3}
OUT=${BENCH_H2_OUT:-bench/results/h2.md}
CLIENTS=${BENCH_H2_CLIENTS:-64}
STREAMS=${BENCH_H2_STREAMS:-10}
TLS_ORIGIN_PORT=$((BENCH_PORT_BASE + 40))
TLS_GH_PORT=$((BENCH_PORT_BASE + 41))
TLS_NGINX_PORT=$((BENCH_PORT_BASE + 42))
PEER_PKGS="nginx:nginx h2load:nghttp2-client curl:curl openssl:openssl taskset:util-linux"
RES=$RUN/results.tsv
TARGETS="gatehouse nginx"

port_of() { case $1 in gatehouse) echo "$TLS_GH_PORT" ;; nginx) echo "$TLS_NGINX_PORT" ;; esac; }
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RES"; }

# The TLS scenarios' configurations (bench/conf/tls-*), with HTTP/2 on
# nginx's listener (gatehouse offers h2 by ALPN by default).
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
    chmod 644 "$RUN/key.pem" "$RUN/cert.pem"
    local f
    for f in bench/conf/tls-*; do
        sed -e "s|@TLS_RUN@|$RUN|g" -e "s|@TLS_ORIGIN_PORT@|$TLS_ORIGIN_PORT|g" \
            -e "s|@TLS_GH_PORT@|$TLS_GH_PORT|g" -e "s|@TLS_NGINX_PORT@|$TLS_NGINX_PORT|g" \
            -e "s| ssl backlog=| ssl http2 backlog=|" "$f" >"$RUN/conf/${f##*/}"
        chmod 644 "$RUN/conf/${f##*/}"
    done
}

start_target() {
    case $1 in
    gatehouse) start_proc gatehouse "$PROXY_CPU" "$TLS_GH_PORT" "$GATEHOUSE" -f -c "$RUN/conf/tls-gatehouse.conf" ;;
    nginx) start_proc nginx "$PROXY_CPU" "$TLS_NGINX_PORT" nginx -p "$RUN" -e "$RUN/logs/nginx-error.log" \
        -c "$RUN/conf/tls-nginx.conf" ;;
    esac
}

# check TARGET — one request over HTTP/2, verified against the bench certificate.
check() {
    local out
    out=$(curl -sS --max-time 5 --http2 --cacert "$RUN/cert.pem" -o /dev/null \
        -w '%{http_version} %{http_code} %{size_download}' "https://localhost:$(port_of "$1")/1k" 2>&1 || true)
    [ "$out" = "2 200 1024" ] || { say "bench: $1 over HTTP/2 answered \"$out\""; return 1; }
}

run_h2load() {
    local t=$1 rep=$2 out before after rps
    before=$(cpu_ticks "$t")
    out=$(pin "$LOAD_CPU" h2load -c "$CLIENTS" -m "$STREAMS" -D "$DUR" \
        "https://127.0.0.1:$(port_of "$t")/1k" 2>&1 | tee -a "$RUN/logs/h2load.log" || true)
    after=$(cpu_ticks "$t")
    [ "$rep" = 0 ] && return 0
    rps=$(echo "$out" | sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p')
    [ -n "$rps" ] || { say "bench: h2load failed against $t"; return 0; }
    echo "$out" | grep -q ' 0 failed, 0 errored' || say "bench: $t: $(echo "$out" | grep '^requests:')"
    record "$t" h2 "$rps"
    record "$t" h2-cpu "$(calc "($after - $before) / $CLK_TCK / $DUR * 100")"
    record "$t" h2-cpuop "$(calc "($after - $before) / $CLK_TCK * 1e6 / ($rps * $DUR)")"
    say "$(printf '  h2     %-9s rep %s  %s req/s' "$t" "$rep" "$rps")"
}

report() {
    local g n gc nc v
    g=$(median_of gatehouse h2)
    n=$(median_of nginx h2)
    gc=$(median_of gatehouse h2-cpuop)
    nc=$(median_of nginx h2-cpuop)
    printf '## HTTP/2 at the front door: gatehouse vs nginx (one worker each)\n\n'
    printf 'h2load -c %s -m %s for a 1 KB object proxied to the origin over HTTP/1.1; same ECDSA\n' "$CLIENTS" "$STREAMS"
    printf 'P-256 certificate and TLS 1.3 cipher on both. Medians of %s interleaved %s s runs.\n\n' "$REPS" "$DUR"
    printf '| scenario | gatehouse | nginx | gatehouse/nginx | gatehouse CPU | nginx CPU | gatehouse CPU µs/req | nginx CPU µs/req | gatehouse/nginx CPU per req |\n'
    printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
    printf '| h2 requests/s | %s | %s | %s | %s%% | %s%% | %s | %s | %s |\n' "${g:-–}" "${n:-–}" "$(ratio "$g" "$n")" \
        "$(fmt1 "$(median_of gatehouse h2-cpu)")" "$(fmt1 "$(median_of nginx h2-cpu)")" \
        "$(fmt1 "$gc")" "$(fmt1 "$nc")" "$(ratio "$gc" "$nc")"
    printf '\n| target (issue 16) | measured | verdict |\n|---|---:|---|\n'
    printf '| h2 req/s ≥ 1.2× nginx | %s | %s |\n' "$(ratio "$g" "$n")" "$(at_least "$g" "$n" 1.2 "$(median_of gatehouse h2-cpu)" "$(median_of nginx h2-cpu)" "$gc" "$nc")"
    if [ -n "$gc" ] && [ -n "$nc" ] && [ "$(calc "($gc <= $nc)")" = 1 ]; then v=holds; else v='**missed**'; fi
    printf '| CPU per request ≤ nginx | %s | %s |\n' "$(ratio "$gc" "$nc")" "$v"
    printf '\n- CPU is the proxy'"'"'s user + sys time over the run, in percent of the one core it is pinned to;\n'
    printf '  below 100%% means the load generator (h2load, on the other core) was the limit, not the proxy.\n'
}

main() {
    local t rep
    begin_side_run "$TLS_ORIGIN_PORT" tls-origin.conf
    for t in $TARGETS; do
        if ! start_target "$t"; then
            SKIP[$t]="would not start (see $RUN/logs/$t.out)"
        elif ! check "$t"; then
            SKIP[$t]="did not answer over HTTP/2"
            stop_proc "$t"
        fi
    done
    [ -z "${SKIP[gatehouse]:-}" ] || die "gatehouse: ${SKIP[gatehouse]}"
    say "bench: HTTP/2, h2load -c $CLIENTS -m $STREAMS"
    for rep in $(seq 0 "$REPS"); do
        for t in $TARGETS; do [ -z "${SKIP[$t]:-}" ] && run_h2load "$t" "$rep"; done
    done
    stop_all
    mkdir -p "$(dirname "$OUT")"
    { report; for t in "${!SKIP[@]}"; do printf -- '- %s was left out: %s.\n' "$t" "${SKIP[$t]}"; done; } >"$OUT"
    cat "$OUT"
}

main "$@"
