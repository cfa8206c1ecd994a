#!/usr/bin/env bash
# tests/lint.sh [ROOT]: the layering rules of DESIGN.md, checked on every #include of the C
# sources under ROOT (default: the repository). Prints each violation as file:line and exits 1.
#
#   engine/base/  includes only engine/base/ (every part may include it)
#   engine/       engine/, providers/driver.h and state/'s public headers (not *_int.h)
#   providers/    providers/'s own top-level files (driver.h, http.h, drivers.def) and
#                 engine/base/; a provider folder (aws/, pki/, ...) also its own folder, never
#                 another provider's (kubernetes/ never includes aws/: an EKS token reaches it
#                 through auth_hooks.def) but kubernetes/kube.h, the client providers built
#                 on Kubernetes share (helm, istio); never the engine, never state/ but
#                 state/remote.h (the team-state backend contract: no SQLite in it)
#   state/        state/ and engine/base/
#   <curl/*>      only providers/http.c (the one HTTP layer)
#   <sqlite3.h>   only state/ (the one SQL user)
#   allocation    only through engine/base/xalloc.h (xmalloc, xcalloc, xrealloc, xstrdup,
#                 xstrndup): a bare malloc/calloc/realloc/strdup/strndup call is reported
#
# A quoted include is resolved as the compiler does: the including file's folder first, then
# the Makefile's -I order (engine, providers, state, .).
set -u
ROOT=$(cd "${1:-$(dirname "$0")/..}" && pwd)
cd "$ROOT" || exit 2

bad=0
violation() {  # FILE LINE INCLUDE WHY
    echo "$1:$2: #include $3: $4"
    bad=1
}

resolve() {  # FILE NAME -> $target: repository-relative path of the header (no subshell: fast)
    local cand
    for cand in "${1%/*}/$2" "engine/$2" "providers/$2" "state/$2" "$2"; do
        if [ -e "$cand" ]; then target=${cand#./}; return; fi
    done
    target="${1%/*}/$2"  # generated (schema.sql.h): beside its user
}

check_include() {  # FILE LINE-NUMBER LINE
    local f=$1 n=$2 line=$3 area provider="" inc target
    case $f in
        engine/base/*) area=base ;;
        engine/*) area=engine ;;
        providers/*/*) area=provider; provider=${f#providers/}; provider=${provider%%/*} ;;
        providers/*) area=providers ;;
        state/*) area=state ;;
        *) return ;;
    esac
    [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*([\"\<])([^\"\>]+)[\"\>] ]] || return
    inc=${BASH_REMATCH[2]}
    if [ "${BASH_REMATCH[1]}" = "<" ]; then
        case $inc in
            curl/*) [ "$f" = providers/http.c ] || violation "$f" $n "<$inc>" "only providers/http.c calls libcurl" ;;
            sqlite3.h) [ $area = state ] || violation "$f" $n "<$inc>" "only state/ talks SQL" ;;
        esac
        return
    fi
    resolve "$f" "$inc"
    # helm runs on a Kubernetes connection: its provider opens the cluster's client (kube.h only)
    [ "$provider:$target" = helm:providers/kubernetes/kube.h ] && return
    case $area:$target in
        *:engine/base/*) ;;
        base:*) violation "$f" $n "\"$inc\"" "engine/base/ includes nothing outside itself" ;;
        engine:engine/*) ;;
        engine:providers/driver.h) ;;
        engine:state/*_int.h) violation "$f" $n "\"$inc\"" "state's internals are state's own" ;;
        engine:state/*) ;;
        engine:*) violation "$f" $n "\"$inc\"" "the engine sees providers only through driver.h" ;;
        provider:providers/"$provider"/*) ;;
        provider:providers/kubernetes/kube.h) ;;  # Kubernetes-based providers (helm, istio) share its client
        provider:providers/*/*) violation "$f" $n "\"$inc\"" "a provider never includes another provider's headers" ;;
        providers:providers/*/*) violation "$f" $n "\"$inc\"" "providers/'s shared files include no provider's headers" ;;
        provider:providers/* | providers:providers/*) ;;
        # team state's contract (issue 14): plain structs and function pointers, no SQLite
        provider:state/remote.h) ;;
        provider:* | providers:*) violation "$f" $n "\"$inc\"" "providers never see the engine (beyond engine/base/) or state/" ;;
        state:state/*) ;;
        state:*) violation "$f" $n "\"$inc\"" "state/ includes only itself and engine/base/" ;;
    esac
}

# One allocation convention: a failed allocation aborts with a message in xalloc.c, never a
# NULL that crashes far from its cause. wipe.c hands jansson the plain allocator on purpose.
check_alloc() {  # FILE LINE-NUMBER FUNCTION
    case $1 in engine/base/xalloc.c | engine/base/wipe.c) return ;; esac
    echo "$1:$2: $3(): allocate with x$3() (engine/base/xalloc.h)"
    bad=1
}

# One grep over every file (not a read of every line in bash: this runs in make test, and
# layering.sh runs it 15 times).
while IFS=: read -r f n line; do check_include "$f" "$n" "$line"; done < <(
    find engine providers state -name '*.[ch]' -o -name '*.def' | sort | xargs grep -nHE '^[[:space:]]*#[[:space:]]*include')
while IFS=: read -r f n fn; do check_alloc "$f" "$n" "$fn"; done < <(
    find engine providers state -name '*.c' | sort | xargs grep -noHE '(^|[^A-Za-z0-9_>.])(malloc|calloc|realloc|strdup|strndup)\(' |
        sed -E 's/^([^:]*):([0-9]+):.*(malloc|calloc|realloc|strdup|strndup)\($/\1:\2:\3/')
if [ $bad -ne 0 ]; then
    echo "lint: includes across a boundary DESIGN.md forbids, or bare allocations (tests/lint.sh lists the rules)" >&2
    exit 1
fi
echo "lint: layering and allocation ok"
