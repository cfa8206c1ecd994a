#!/usr/bin/env bash
# golden.sh: the golden spec tests. Every bad/NAME.yaml has bad/NAME.yaml.err, the exact stderr
# of `mesh validate -f NAME.yaml` run inside the folder with NO_COLOR=1 (exit code 1); every
# good/*.yaml, specs/reference.yaml and specs/examples/*.yaml must validate (exit code 0).
# Usage: MESH_BIN=/path/to/mesh bash tests/specs/golden.sh
# Cases too big to commit are generated here (huge.yaml: 10 MiB; too_many_refs.yaml, var_bomb.yaml, too_many_resources.yaml). Cases that must be rejected
# fast (TIMED) also fail when they take longer than LIMIT seconds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
MESH_BIN=${MESH_BIN:-$root/mesh}
# Bombs must be refused, not expanded: these cases fail past LIMIT seconds. The limit guards
# against unbounded work (the unfixed cases ran for minutes, or out of memory), not speed: it is
# generous for an ASan build on a busy 2-core machine. Speed figures live in tests/bench/spec.sh.
TIMED="huge alias_bomb too_deep too_many_refs too_many_clusters var_bomb"
LIMIT=30
pass=0 fail=0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$here"/bad/*.yaml "$here"/bad/*.yaml.err "$tmp"/
# 10 MiB of valid YAML (comments): refused for its size, before any parsing.
yes '# a line of filler to push this spec over the size limit, 64 bytes' | head -c 10485760 >"$tmp/huge.yaml"
# 1,001 references in one value, one more than a value may hold (21 KB on one line).
{ printf 'resources:\n  null_resource.a: {}\n  null_resource.b:\n    triggers: {x: "'
  for _ in $(seq 1001); do printf '%s' '${null_resource.a.id}'; done; printf '"}\n'; } >"$tmp/too_many_refs.yaml"
# A 100 KB variable used 700 times: 70 MB of values from a 120 KB file, past the 64 MiB budget.
{ printf 'vars:\n  big: {default: "'; head -c 100000 /dev/zero | tr '\0' x; printf '"}\nresources:\n  null_resource.a:\n    triggers:\n'
  seq -f '      k%.0f: "${var.big}"' 700; } >"$tmp/var_bomb.yaml"
# 64 clusters (9,551 resources with pki, network, their EKS parts, connections and load balancer controller
# releases) and 90,450 raw resources: one over 100,000.
{ printf 'mesh:\n  name: big\npki:\nnetwork:\nclusters:\n'; seq -f '  c%.0f: {}' 64
  echo 'resources:'; seq -f '  null_resource.r%.0f: {}' 90450; } >"$tmp/too_many_resources.yaml"

now() { echo "${EPOCHREALTIME:-$(date +%s.%N)}"; }
result() {  # result OK NAME [DETAIL]
    if [ "$1" = 1 ]; then
        pass=$((pass + 1)); echo "ok - golden $2"
    else
        fail=$((fail + 1)); echo "not ok - golden $2"; [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/    /'
    fi
}

for err in "$tmp"/*.yaml.err; do
    name=$(basename "$err" .yaml.err)
    t0=$(now)
    (cd "$tmp" && NO_COLOR=1 timeout 60 "$MESH_BIN" validate -f "$name.yaml" >/dev/null 2>"$name.out")
    rc=$?
    secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
    detail=$(diff -u "$err" "$tmp/$name.out" 2>&1)
    ok=1
    [ -z "$detail" ] || ok=0
    if [ "$rc" != 1 ]; then ok=0; detail="exit code $rc, expected 1"$'\n'"$detail"; fi
    case " $TIMED " in *" $name "*)
        if awk -v s="$secs" -v l="$LIMIT" 'BEGIN { exit !(s > l) }'; then ok=0; detail="took ${secs}s, limit ${LIMIT}s"$'\n'"$detail"; fi;;
    esac
    result $ok "bad/$name" "$detail"
done

for spec in "$here"/good/*.yaml "$root"/specs/reference.yaml "$root"/specs/examples/*.yaml; do
    [ -e "$spec" ] || continue
    out=$(cd "$(dirname "$spec")" && NO_COLOR=1 timeout 60 "$MESH_BIN" validate -f "$(basename "$spec")" 2>&1 >/dev/null)
    rc=$?
    name=${spec#"$root"/}; name=${name#tests/specs/}
    if [ "$rc" = 0 ]; then result 1 "$name"; else result 0 "$name" "exit code $rc"$'\n'"$out"; fi
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
