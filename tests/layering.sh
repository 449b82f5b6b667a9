#!/bin/sh
# tests/layering.sh — proves the include rule the Makefile's paths enforce:
# src/common sees only itself, each mode sees src/common and itself, never
# the other mode.  For each folder a probe including a header it may use
# must compile, and one including a header it may not must be refused by the
# compiler; no source may step around the paths with a relative include.
#   usage: layering.sh CC "CFLAGS" "INC_common" "INC_forward" "INC_reverse"
set -u
cc=$1 cflags=$2
dir=build/layering
mkdir -p "$dir"
fails=0

# probe FOLDER-FLAGS HEADER EXPECT(ok|refused) LABEL
probe() {
    printf '#include "%s"\n' "$2" > "$dir/probe.c"
    if $cc $cflags $1 -fsyntax-only "$dir/probe.c" > "$dir/out.txt" 2>&1; then
        got=ok
    elif grep -q "$2: No such file" "$dir/out.txt"; then
        got=refused
    else
        got="error: $(head -3 "$dir/out.txt")"
    fi
    if [ "$got" = "$3" ]; then
        echo "layering: $4 including $2: $got, as it must be"
    else
        echo "layering: FAIL: $4 including $2: $got, expected $3" >&2
        fails=$((fails + 1))
    fi
}

probe "$3" exchange.h ok "src/common"
probe "$3" filter.h refused "src/common"
probe "$3" route.h refused "src/common"
probe "$4" exchange.h ok "src/forward"
probe "$4" filter.h ok "src/forward"
probe "$4" route.h refused "src/forward"
probe "$5" exchange.h ok "src/reverse"
probe "$5" route.h ok "src/reverse"
probe "$5" filter.h refused "src/reverse"

# A relative include would reach past the paths: none is allowed.
if grep -rnE '#include "(\.\./|src/)' src; then
    echo "layering: FAIL: relative includes above step around the folders' paths" >&2
    fails=$((fails + 1))
fi
[ "$fails" = 0 ] || exit 1
