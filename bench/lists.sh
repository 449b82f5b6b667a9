#!/bin/sh
# bench/lists.sh [ENTRIES] — load time, memory and lookups per second of a
# domain list the size of UT1's adult category (5 million by default).
# Prints figures; asserts nothing (machines are shared and noisy).
set -eu
n=${1:-5000000}
cd "$(dirname "$0")/.."
make -s all
mkdir -p build/bench
cc -std=gnu11 -O2 -D_GNU_SOURCE $(for d in src/common/*/ src/forward; do printf -- '-I%s ' "${d%/}"; done) \
   -o build/bench/list_bench bench/list_bench.c \
   $(ls build/src/common/*/*.o build/src/forward/rules*.o build/src/forward/urlpath.o) $(pkg-config --libs libconfig libcares libpcre2-8 zlib openssl) -lcrypt -pthread
f=build/bench/domains-$n.txt
[ -f "$f" ] || awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "site%d.example\n", i }' > "$f"
echo "list: $f"
./build/bench/list_bench "$f" "$n"
