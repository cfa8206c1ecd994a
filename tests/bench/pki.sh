#!/usr/bin/env bash
# pki.sh: how long mesh takes to plan and apply the PKI of a 2-cluster and a 50-cluster mesh with
# RSA 4096 keys (the default), and how many keys per second the worker pool makes. Prints figures
# only, no pass/fail. RSA key generation dominates; the keys of different clusters are independent
# in the DAG, so --parallelism (default 10) makes them at once on every core.
#   MESH_BIN      the binary (default ./mesh; `make bench` passes the optimised build)
#   PKI_BENCH_N   cluster counts (default "2 50")
#   PKI_BENCH_P   parallelism values for the apply (default "1 10")
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
MESH=${MESH_BIN:-$root/mesh}
tmp=$(mktemp -d /tmp/mesh-bench-pki.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp/home" NO_COLOR=1
mkdir -p "$HOME"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

spec() {  # spec FILE N
    { echo "mesh: {name: bench-pki}"; echo "pki: {}"; echo "clusters:"
      for i in $(seq 1 "$2"); do echo "  cluster-$i: {existing: {kubeconfig: ./kubeconfig}}"; done; } >"$1"
}

echo "# mesh PKI benchmark: RSA 4096 keys, $(nproc) cores, $(openssl version 2>/dev/null | cut -d' ' -f1-2)"
printf '%-9s %-11s %9s %9s %6s %9s %12s\n' clusters parallelism plan_s apply_s keys keys/s replan_s
for n in ${PKI_BENCH_N:-2 50}; do
    for p in ${PKI_BENCH_P:-1 10}; do
        d="$tmp/n$n-p$p"
        mkdir -p "$d"
        spec "$d/mesh.yaml" "$n"
        t0=$(now); "$MESH" plan -f "$d/mesh.yaml" >/dev/null || { echo "plan failed"; exit 1; }; t1=$(now)
        "$MESH" apply -f "$d/mesh.yaml" --auto-approve --parallelism "$p" >/dev/null || { echo "apply failed"; exit 1; }
        t2=$(now)
        "$MESH" plan -f "$d/mesh.yaml" --detailed-exitcode >/dev/null
        t3=$(now)
        keys=$((n + 1))
        ks=$(awk -v k="$keys" -v s="$(secs "$t1" "$t2")" 'BEGIN { printf "%.2f", k / s }')
        printf '%-9s %-11s %9s %9s %6s %9s %12s\n' "$n" "$p" "$(secs "$t0" "$t1")" "$(secs "$t1" "$t2")" "$keys" "$ks" "$(secs "$t2" "$t3")"
    done
done
echo "# plan_s: first plan (empty state); apply_s: whole apply (keys, root, intermediates, state);"
echo "# keys/s: RSA 4096 keys made per second of apply; replan_s: the plan after (refresh checks every chain)"
