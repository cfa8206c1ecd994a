#!/usr/bin/env bash
# layering.sh: tests/lint.sh (make lint) passes on the tree and catches each kind of include
# DESIGN.md forbids, planted one at a time in a copy of the sources.
. "$(dirname "$0")/../lib/common.sh"
SRC=$(cd "$T_TESTS/.." && pwd)
t_setup

expect_rc "the tree obeys the layering rules" 0 bash "$SRC/tests/lint.sh" "$SRC"

# plant NAME FILE LINE: LINE added to FILE in a copy of the sources; lint must fail naming
# FILE and the line. The file is restored after.
mkdir -p "$T_DIR/tree" && cp -r "$SRC/engine" "$SRC/providers" "$SRC/state" "$T_DIR/tree/"
plant() {
    local name=$1 file=$2 line=$3
    printf '%s\n' "$line" >>"$T_DIR/tree/$file"
    local want
    want="$file:$(wc -l <"$T_DIR/tree/$file"): #include"
    bash "$SRC/tests/lint.sh" "$T_DIR/tree" >"$T_DIR/last.out" 2>&1
    local rc=$?
    if [ $rc -eq 1 ] && grep -qF "$want" "$T_DIR/last.out"; then ok "lint catches $name"; else
        not_ok "lint catches $name (exit $rc)"
        sed 's/^/    | /' "$T_DIR/last.out" | tail -5
    fi
    cp "$SRC/$file" "$T_DIR/tree/$file"
}
plant "the engine including a provider's header" engine/spec/compile_pki.c '#include "pki/pki.h"'
plant "the engine calling libcurl" engine/main.c '#include <curl/curl.h>'
plant "the engine including SQLite" engine/cmd_misc.c '#include <sqlite3.h>'
plant "the engine including state's internals" engine/apply.c '#include "store_int.h"'
plant "a provider including the engine" providers/aws/ec2.c '#include "plan.h"'
plant "a provider including state" providers/null/null.c '#include "store.h"'
plant "a provider including another provider" providers/aws/ec2.c '#include "pki/pki.h"'
plant "the Kubernetes provider including an AWS header (Kube -> AWS)" providers/kubernetes/conn.c '#include "aws/eks_token.h"'
plant "the Kubernetes provider calling libcurl" providers/kubernetes/request.c '#include <curl/curl.h>'
plant "a provider calling libcurl" providers/aws/query.c '#include <curl/curl.h>'
plant "state including a provider" state/store.c '#include "driver.h"'
plant "engine/base including the engine" engine/base/vec.c '#include "plan.h"'

# One allocation convention: a bare strdup in a copy of the sources is caught, naming file:line.
printf 'static char *lint_probe(void) { return strdup("x"); }\n' >>"$T_DIR/tree/engine/graph.c"
want="engine/graph.c:$(wc -l <"$T_DIR/tree/engine/graph.c"): strdup()"
bash "$SRC/tests/lint.sh" "$T_DIR/tree" >"$T_DIR/last.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -qF "$want" "$T_DIR/last.out"; then ok "lint catches a bare strdup"; else
    not_ok "lint catches a bare strdup (exit $rc)"; tail -5 "$T_DIR/last.out" | sed 's/^/    | /'; fi
cp "$SRC/engine/graph.c" "$T_DIR/tree/engine/graph.c"

# What the engine used to include directly, it now asks state and the providers for.
"$MESH" version >"$T_DIR/version.out" 2>&1
grep -Eq 'sqlite [0-9.]+' "$T_DIR/version.out" && grep -Eq 'libcurl [0-9.]+' "$T_DIR/version.out" &&
    ok "mesh version still names SQLite's and libcurl's versions" || not_ok "mesh version: $(cat "$T_DIR/version.out")"
t_done
