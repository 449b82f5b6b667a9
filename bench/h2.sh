#!/usr/bin/env bash
# bench/h2.sh — HTTP/2 at the front door (issue 16): h2load -c 64 -m 10
# for a 1 KB object over TLS, gatehouse against nginx's http2, same
# certificate (ECDSA P-256, made here), same cipher, one worker each, both
# proxying to the same origin over HTTP/1.1; interleaved, REPS rounds,
# medians and ratios, with the proxy's CPU per request beside each rate.
# Beside it (issue 16, part B): gatehouse to an HTTP/2 upstream (an h2c
# nginx; nginx itself proxies HTTP to HTTP/1 upstreams only), a cache hit
# over h2 (nginx with proxy_cache), and the memory per idle HTTP/2
# connection (bench/h2_idle.py holding BENCH_H2_IDLE of them).
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
H2C_ORIGIN_PORT=$((BENCH_PORT_BASE + 43))
IDLE=${BENCH_H2_IDLE:-1000}
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
    mkdir -p "$RUN/www/c" "$RUN/www/h2"
    cp "$RUN/www/1k" "$RUN/www/c/1k"
    cp "$RUN/www/1k" "$RUN/www/h2/1k"
    chmod 755 "$RUN/www/c" "$RUN/www/h2"
    chmod 644 "$RUN/www/1k" "$RUN/www/c/1k" "$RUN/www/h2/1k"
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
    # the origin answers /c/ cacheable for an hour, and speaks h2c on a second port
    sed -i -e "s|        root $RUN/www;|        root $RUN/www;\n        location /c/ { expires 1h; }|" \
        -e "s|^    server {|    server {\n        listen 127.0.0.1:$H2C_ORIGIN_PORT http2;|" "$RUN/conf/tls-origin.conf"
    # gatehouse: /h2/ to the h2c origin as HTTP/2, /c/ cached; nginx: /c/ cached
    sed -i -e "s|^pools = .*|pools = { origin = { servers = ( { address = \"127.0.0.1:$TLS_ORIGIN_PORT\"; } ); };\n  h2origin = { protocol = \"h2\"; servers = ( { address = \"127.0.0.1:$H2C_ORIGIN_PORT\"; } ); }; };|" \
        -e "s|^routes = .*|routes = { bench = ( { host = \"*\"; path = \"/h2/\"; pool = \"h2origin\"; },\n  { host = \"*\"; path = \"/c/\"; pool = \"origin\"; cache = true; },\n  { host = \"*\"; path = \"/\"; pool = \"origin\"; } ); };\ncache = { memory_mb = 16; };|" \
        "$RUN/conf/tls-gatehouse.conf"
    sed -i -e "s|^    upstream origin {|    proxy_cache_path $RUN/tmp/nginx-cache keys_zone=c:16m;\n    upstream origin {|" \
        -e "s|^        location / {|        location /c/ { proxy_pass http://origin; proxy_http_version 1.1;\n            proxy_set_header Connection \"\"; proxy_cache c; }\n        location / {|" \
        "$RUN/conf/tls-nginx.conf"
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

# run_h2load TARGET REP [KIND PATH] — KIND h2 (/1k, the default), h2up
# (/h2/1k: gatehouse to the h2c origin), hit (/c/1k: a cache hit).
run_h2load() {
    local t=$1 rep=$2 kind=${3:-h2} path=${4:-/1k} out before after rps
    before=$(cpu_ticks "$t")
    out=$(pin "$LOAD_CPU" h2load -c "$CLIENTS" -m "$STREAMS" -D "$DUR" \
        "https://127.0.0.1:$(port_of "$t")$path" 2>&1 | tee -a "$RUN/logs/h2load.log" || true)
    after=$(cpu_ticks "$t")
    [ "$rep" = 0 ] && return 0
    rps=$(echo "$out" | sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p')
    [ -n "$rps" ] || { say "bench: h2load failed against $t"; return 0; }
    echo "$out" | grep -q ' 0 failed, 0 errored' || say "bench: $t: $(echo "$out" | grep '^requests:')"
    record "$t" "$kind" "$rps"
    record "$t" "$kind-cpu" "$(calc "($after - $before) / $CLK_TCK / $DUR * 100")"
    record "$t" "$kind-cpuop" "$(calc "($after - $before) / $CLK_TCK * 1e6 / ($rps * $DUR)")"
    say "$(printf '  %-6s %-9s rep %s  %s req/s' "$kind" "$t" "$rep" "$rps")"
}

# idle_memory TARGET — RSS growth per idle HTTP/2 connection over TLS.
idle_memory() {
    local t=$1 base loaded i
    base=$(rss_kb "$t")
    spawn "idle-$t" "$LOAD_CPU" "$RUN/logs/idle-$t.out" /usr/bin/python3 bench/h2_idle.py \
        "$(port_of "$t")" "$IDLE" /1k 600
    for i in $(seq 600); do
        grep -q '^ready' "$RUN/logs/idle-$t.out" 2>/dev/null && break
        sleep 0.5
        : "$i"
    done
    sleep 1
    loaded=$(rss_kb "$t")
    say "  idle   $t: $(cat "$RUN/logs/idle-$t.out") rss $base -> $loaded kB"
    record "$t" idle-bytes "$(calc "($loaded - $base) * 1024 / $IDLE")"
    stop_proc "idle-$t"
}

# row LABEL KIND — one table row from the results of KIND.
row() {
    local g n gc nc
    g=$(median_of gatehouse "$2")
    n=$(median_of nginx "$2")
    gc=$(median_of gatehouse "$2-cpuop")
    nc=$(median_of nginx "$2-cpuop")
    printf '| %s | %s | %s | %s | %s%% | %s | %s | %s | %s |\n' "$1" "${g:-–}" "${n:-–}" "$(ratio "$g" "$n")" \
        "$(fmt1 "$(median_of gatehouse "$2-cpu")")" "$( [ -n "$n" ] && fmt1 "$(median_of nginx "$2-cpu")")${n:+%}" \
        "$(fmt1 "$gc")" "$( [ -n "$nc" ] && fmt1 "$nc")" "$(ratio "$gc" "$nc")"
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
    row "h2 to an h2c upstream (/h2/1k) requests/s" h2up
    row "cache hit over h2 (/c/1k) requests/s" hit
    local gi ni
    gi=$(median_of gatehouse idle-bytes)
    ni=$(median_of nginx idle-bytes)
    printf '\n| memory per idle HTTP/2 connection (TLS, one request made, %s held) | gatehouse | nginx | gatehouse/nginx |\n|---|---:|---:|---:|\n' "$IDLE"
    printf '| bytes of RSS | %s | %s | %s |\n' "$(fmt1 "$gi")" "$(fmt1 "$ni")" "$(ratio "$gi" "$ni")"
    printf '\n| target (issue 16) | measured | verdict |\n|---|---:|---|\n'
    printf '| h2 req/s ≥ 1.2× nginx | %s | %s |\n' "$(ratio "$g" "$n")" "$(at_least "$g" "$n" 1.2 "$(median_of gatehouse h2-cpu)" "$(median_of nginx h2-cpu)" "$gc" "$nc")"
    if [ -n "$gc" ] && [ -n "$nc" ] && [ "$(calc "($gc <= $nc)")" = 1 ]; then v=holds; else v='**missed**'; fi
    printf '| CPU per request ≤ nginx | %s | %s |\n' "$(ratio "$gc" "$nc")" "$v"
    if [ -n "$gi" ] && [ -n "$ni" ] && [ "$(calc "($gi <= $ni)")" = 1 ]; then v=holds; else v='**missed**'; fi
    printf '| idle HTTP/2 connection memory ≤ nginx | %s | %s |\n' "$(ratio "$gi" "$ni")" "$v"
    printf '\n- nginx cannot proxy HTTP to an HTTP/2 upstream (grpc_pass only): the h2-upstream row is gatehouse alone.\n'
    printf -- '- gatehouse reaches an HTTP/2 upstream stream through a local socket pair in this version (h2_link.h;\n  findings.md says where its CPU goes).\n'
    printf '\n- CPU is the proxy'"'"'s user + sys time over the run, in percent of the one core it is pinned to;\n'
    printf '  below 100%% means the load generator (h2load, on the other core) was the limit, not the proxy.\n'
    printf -- '- load average before / after the run: %s / %s (%s cores). Above 0.5 the machine was shared\n' \
        "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
    printf '  with other work (builds, test suites) while it ran: absolute rates are low and noisy; the\n'
    printf '  ratios come from interleaved runs of both proxies under the same load.\n'
}

main() {
    local t rep
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
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
        run_h2load gatehouse "$rep" h2up /h2/1k
        for t in $TARGETS; do [ -z "${SKIP[$t]:-}" ] && run_h2load "$t" "$rep" hit /c/1k; done
    done
    for t in $TARGETS; do [ -z "${SKIP[$t]:-}" ] && idle_memory "$t"; done
    stop_all
    mkdir -p "$(dirname "$OUT")"
    { report; for t in "${!SKIP[@]}"; do printf -- '- %s was left out: %s.\n' "$t" "${SKIP[$t]}"; done; } >"$OUT"
    cat "$OUT"
}

main "$@"
