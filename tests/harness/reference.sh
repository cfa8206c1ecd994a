# reference.sh: the stand-ins the whole reference deployment (specs/reference.yaml) runs against:
# the AWS harness (moto + fault proxy + EKS stand-in, SigV4 checked) and two fake Kubernetes API
# servers that the EKS stand-in hands out as cluster-1's and cluster-2's endpoints. Source it, then
#   ref_stack_start DIR    start all of them under DIR (DIR/harness, DIR/k1, DIR/k2); exports the
#                          AWS client environment (AWS_ENDPOINT_URL=the proxy, keys, region),
#                          MOTO_URL, PROXY_URL, REF_STACK_DIR
#   ref_stack_stop DIR     stop all of them (safe to call twice, and after a failed start)
#   ref_stack_vars         prints the --var arguments pointing the chart variables at tests/charts
#   ref_orphans SPEC       prints how many objects the stand-ins hold that state (of SPEC, read with
#                          $MESH) does not: AWS objects of every type (orphans.py), objects in either
#                          fake cluster annotated mesh/address with an address state lacks, and helm
#                          releases not held by a helm_release of that cluster (tests/harness/world.py);
#                          each one is listed on stderr (tests/reliability/: storm, drift, secrets)
# Used by `make demo` (specs/examples/demo.sh), tests/reliability/ and tests/bench/.
REF_STACK_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REF_STACK_ROOT="$(cd "$REF_STACK_LIB/../.." && pwd)"
source "$REF_STACK_LIB/aws/harness.sh"
source "$REF_STACK_LIB/kube/kube.sh"

ref_stack_start() {  # DIR
    local dir=$1 c v
    mkdir -p "$dir"
    export REF_STACK_DIR="$dir"
    MESH_HARNESS_AUTH=${MESH_HARNESS_AUTH:-1} aws_harness_start "$dir/harness" || return 1
    for v in $(env | grep -o '^AWS_[A-Z_]*'); do unset "$v"; done
    export AWS_ENDPOINT_URL="$PROXY_URL" AWS_ACCESS_KEY_ID=AKIDMESHTEST AWS_SECRET_ACCESS_KEY=mesh-test-secret-do-not-log
    if [ -n "${HARNESS_ACCESS_KEY_ID:-}" ]; then
        export AWS_ACCESS_KEY_ID="$HARNESS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$HARNESS_SECRET_ACCESS_KEY"
    fi
    export AWS_REGION=us-west-2 AWS_DEFAULT_REGION=us-west-2 AWS_EC2_METADATA_DISABLED=true
    for c in 1 2; do
        kube_fake_start "$dir/k$c" "cluster-$c" --sts-url "$PROXY_URL" >/dev/null 2>&1 || return 1
        kube_fake_eks "$dir/k$c" "cluster-$c" || return 1
    done
}

ref_stack_stop() {  # DIR
    local dir=$1
    kube_fake_stop "$dir/k1"
    kube_fake_stop "$dir/k2"
    aws_harness_stop "$dir/harness"
}

ref_stack_vars() { echo "--var istio_charts=$REF_STACK_ROOT/tests/charts --var lbc_charts=$REF_STACK_ROOT/tests/charts"; }

ref_orphans() {  # SPEC
    local dir=$REF_STACK_DIR
    "${MESH:-mesh}" state list --json -f "$1" >"$dir/held.json" 2>/dev/null
    ${PY:-python3} "$REF_STACK_LIB/world.py" --state "$dir/held.json" --moto "$MOTO_URL" --proxy "$PROXY_URL" \
        --fake "cluster-1=$dir/k1" --fake "cluster-2=$dir/k2"
}
