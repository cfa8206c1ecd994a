#!/usr/bin/env bash
# spec.sh: what `mesh validate` costs on specs at and past the loader's limits (issue 9): wall
# seconds, peak RSS and the first line of output for each. Prints figures only, no pass/fail; the
# golden cases (tests/specs/golden.sh) and test_spec hold the limits themselves.
#   MESH_BIN   the binary (default ./mesh; build/bench/mesh is the optimised one)
# Before issue 9: 1,000 clusters compiled to 1,002,013 resources (16 s, 2.0 GB); 64k references in
# one value took 17 s (a walk of the value per reference); a 1 MB variable used 12,000 times grew
# the spec to 12 GB; 5,000 unknown output references over 20,000 resources took 220 s.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
MESH=${MESH_BIN:-$root/mesh}
tmp=$(mktemp -d /tmp/mesh-bench-spec.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp/home" NO_COLOR=1
mkdir -p "$HOME"

clusters() {  # clusters N
    printf 'mesh:\n  name: bench\npki:\nnetwork:\nclusters:\n'
    seq -f '  c%.0f: {}' "$1"
}
raw() {  # raw N: a tree of N null_resources, fan-out 4
    echo 'resources:'
    echo '  null_resource.r0: {}'
    for ((i = 1; i < $1; i++)); do echo "  null_resource.r$i: {triggers: {p: \"\${null_resource.r$(((i - 1) / 4)).id}\"}}"; done
}
refs() {  # refs VALUES PER: VALUES values of PER references each
    printf 'resources:\n  null_resource.a: {}\n  null_resource.b:\n    triggers:\n'
    local one
    one=$(printf '${null_resource.a.id}%.0s' $(seq "$2"))
    for ((i = 0; i < $1; i++)); do echo "      k$i: \"$one\""; done
}
var_uses() {  # var_uses KB USES
    printf 'vars:\n  big: {default: "'; head -c $(($1 * 1000)) /dev/zero | tr '\0' x
    printf '"}\nresources:\n  null_resource.a:\n    triggers:\n'
    seq -f '      k%.0f: "${var.big}"' "$2"
}

run() {  # run NAME: validates $tmp/NAME.yaml
    local f="$tmp/$1.yaml" t="$tmp/$1.time"
    /usr/bin/time -o "$t" -f '%e %M' "$MESH" validate -f "$f" >"$tmp/out" 2>&1
    local first
    first=$(head -1 "$tmp/out" | sed "s|$tmp/||" | cut -c1-90)
    read -r wall rss < <(tail -1 "$t")
    printf '%-24s %8s %8s %7s  %s\n' "$1" "$(du -k "$f" | cut -f1)" "$wall" "$((${rss:-0} / 1024))" "$first"
}

echo "# mesh validate at the spec limits ($(nproc) cores)"
printf '%-24s %8s %8s %7s  %s\n' spec size_kb wall_s rss_mb output
clusters 64 >"$tmp/clusters_64.yaml";          run clusters_64
clusters 1000 >"$tmp/clusters_1000.yaml";      run clusters_1000
raw 10000 >"$tmp/resources_10k.yaml";          run resources_10k
raw 100000 >"$tmp/resources_100k.yaml";        run resources_100k
refs 300 1000 >"$tmp/refs_300x1000.yaml";      run refs_300x1000
refs 1 65536 >"$tmp/refs_1x65536.yaml";        run refs_1x65536
var_uses 1000 60 >"$tmp/var_1mb_x60.yaml";     run var_1mb_x60
var_uses 1000 12000 >"$tmp/var_1mb_x12000.yaml"; run var_1mb_x12000
