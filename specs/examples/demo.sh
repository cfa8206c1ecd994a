#!/usr/bin/env bash
# demo.sh: `make demo`. The whole reference deployment (specs/reference.yaml: the reference's four
# Terraform folders, its certs script and its manual patches as one plan), end to end, against
# local stand-ins for AWS and EKS (tests/harness/reference.sh): mesh apply, mesh check (and
# --traffic), mesh kubeconfig + the real kubectl, a no-op plan, mesh destroy; each step says what
# it replaces in the reference. No cloud account, no network beyond 127.0.0.1.
#
# It leaves nothing behind, on every exit path (success, a failing step, Ctrl-C, SIGTERM): the
# step running is stopped, then every stand-in (moto_server, the fault proxy, the metadata
# stand-in, both fake API servers; helm dies with mesh), then the scratch folder goes. The state
# key is a one-off MESH_STATE_KEY, so no key file lands under ~/.config/mesh.
#   DEMO_DIR=DIR     work in DIR and keep it (the spec, the state, the stand-ins' logs)
#   MESH_BIN=PATH    the mesh to run (default: ./mesh, which `make demo` builds)
#   DEMO_TRAFFIC=0   plain `mesh check`, without --traffic (the helloworld sample)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MESH=${MESH_BIN:-$ROOT/mesh}
T0=$(date +%s.%N)
# The demo's own stdout and stderr, for cleanup: a signal can arrive while a step's output is
# redirected to a log (the trap then runs inside that redirection).
exec 3>&1 4>&2

bold() { if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
say() { printf '  %s\n' "$@"; }
die() { echo "demo: $*" >&2; exit 1; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { s = b - a; if (s >= 60) printf "%dm%02ds", s / 60, s % 60; else printf "%.1fs", s }'; }

# ---- the tools, found before anything starts ----
[ -x "$MESH" ] || die "no mesh at $MESH: run make (or make demo) first"
if [ -n "${MESH_HELM:-}" ]; then
    [ -x "$MESH_HELM" ] || die "MESH_HELM=$MESH_HELM is not an executable; unset it or point it at helm"
elif [ -x "$ROOT/bin/helm" ]; then
    export MESH_HELM="$ROOT/bin/helm"
elif command -v helm >/dev/null 2>&1; then
    MESH_HELM=$(command -v helm); export MESH_HELM
else
    die "helm is missing (mesh runs it for the Istio and load balancer controller releases): run make deps (it puts helm in bin/), put helm on PATH, or set MESH_HELM"
fi
KUBECTL=$(command -v kubectl 2>/dev/null || true)
[ -n "$KUBECTL" ] || { [ -x "$ROOT/bin/kubectl" ] && KUBECTL="$ROOT/bin/kubectl"; }
[ -n "$KUBECTL" ] || die "kubectl is missing (the demo lists the clusters' secrets with it): run make deps, or put kubectl on PATH"
command -v moto_server >/dev/null 2>&1 || die "moto_server is missing (the AWS stand-in): pip install 'moto[server]'; make deps names what else is missing"
python3 -c 'import yaml' 2>/dev/null || die "python3 lacks PyYAML (the fake API servers need it): apt-get install python3-yaml; make deps names what else is missing"
for t in openssl curl; do command -v $t >/dev/null 2>&1 || die "$t is missing: run make deps"; done
# shellcheck source=../../tests/harness/reference.sh
source "$ROOT/tests/harness/reference.sh"

# ---- scratch, and the one cleanup every exit path runs ----
if [ -n "${DEMO_DIR:-}" ]; then
    mkdir -p "$DEMO_DIR" || die "cannot make $DEMO_DIR"
    WORK=$(cd "$DEMO_DIR" && pwd)
    # an earlier demo's state there names a world that is gone, under a key that is gone too
    [ ! -e "$WORK/.mesh" ] || die "$WORK/.mesh holds an earlier demo's state: remove it, or choose another DEMO_DIR"
    KEEP=1
else
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/mesh-demo.XXXXXX") || die "cannot make a scratch folder"
    KEEP=0
fi
STACK="$WORK/stand-ins"
# Whatever the children keep on the side lands in WORK too: kubectl's and helm's discovery cache
# (else ~/.kube/cache), mesh's helm folders (else in TMPDIR, swept only by a later mesh when a
# mesh is stopped at once).
export KUBECACHEDIR="$WORK/kube-cache" TMPDIR="$WORK/tmp"
mkdir -p "$TMPDIR"
CHILD="" FILTER="" STEP="" HOW=""
MESH_STATE_KEY=$(head -c 32 /dev/urandom | base64)
export MESH_STATE_KEY
# The stand-ins answer at once; mesh's polls are spaced for real EKS (a cluster takes ~10 min).
export MESH_BACKOFF_SCALE=${MESH_BACKOFF_SCALE:-0.02}

stop_child() {
    local i
    if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
        # mesh: the first signal asks it to drain and roll back, the second to exit now (its journal
        # is intact). Rolling back is pointless here: the stand-ins and all they hold go next. Its
        # helm children die with it (they are set to).
        kill -TERM "$CHILD" 2>/dev/null; sleep 0.3; kill -INT "$CHILD" 2>/dev/null
        for i in $(seq 1 50); do kill -0 "$CHILD" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$CHILD" 2>/dev/null
    fi
    [ -z "$CHILD" ] || wait "$CHILD" 2>/dev/null
    CHILD=""
    # run_brief's filter ends with mesh's output; one still waiting for a mesh that never started
    # would wait on its FIFO forever
    if [ -n "$FILTER" ]; then
        for i in $(seq 1 20); do kill -0 "$FILTER" 2>/dev/null || break; sleep 0.1; done
        kill "$FILTER" 2>/dev/null
        wait "$FILTER" 2>/dev/null
        FILTER=""
    fi
}

cleanup() {
    local rc=$?
    trap '' INT TERM
    exec 1>&3 2>&4
    echo
    case $HOW in
        INT | TERM) bold "Interrupted (SIG$HOW) during: ${STEP:-the start}. Stopping everything the demo started." ;;
        "") [ $rc -eq 0 ] || bold "The demo failed during: ${STEP:-the start} (exit $rc). Stopping everything it started." ;;
    esac
    stop_child
    ref_stack_stop "$STACK" >/dev/null 2>&1
    # A signal that lands between starting a stand-in (`cmd &`) and writing its pid file leaves
    # one the stop above cannot name; the shell still holds it as a job.
    local orphans
    orphans=$(jobs -p)
    if [ -n "$orphans" ]; then
        # shellcheck disable=SC2086
        kill $orphans 2>/dev/null
        wait $orphans 2>/dev/null
    fi
    if [ "$KEEP" = 1 ]; then
        say "Stand-ins stopped. $WORK is kept (DEMO_DIR): the spec, the state (its key was a one-off), the stand-ins' logs."
    else
        cd / && rm -rf "$WORK"
        say "Stand-ins stopped; $WORK and the one-off state key are gone."
    fi
    bold "Total: $(since "$T0")."
    case $HOW in INT) exit 130 ;; TERM) exit 143 ;; esac
    exit $rc
}
trap cleanup EXIT
trap 'HOW=INT; exit 130' INT
trap 'HOW=TERM; exit 143' TERM

# step NAME: the heading of a step; run CMD...: shows it, runs it in the background and waits, so
# that a signal is handled at once (a foreground child would delay the trap until it ends).
N=0
step() { N=$((N + 1)); STEP="$1"; echo; bold "== $N. $1"; }
shown() { local a out=""; for a in "$@"; do case $a in "$MESH") a=mesh ;; "$KUBECTL") a=kubectl ;; "$WORK"/*) a=${a#"$WORK"/} ;; esac; out+="$a "; done; echo "${out% }"; }
run() {
    local t rc
    t=$(date +%s.%N)
    bold "\$ $(shown "$@")"
    "$@" &
    CHILD=$!
    wait "$CHILD"; rc=$?
    CHILD=""
    [ $rc -eq 0 ] && printf '  (%s)\n' "$(since "$t")"
    return $rc
}
# run_brief LOG CMD...: run, showing neither the plan of all 80 resources nor the "Creating..." and
# "Still creating..." lines (LOG has every line). Through a FIFO, so that CHILD is mesh itself.
# brief: mesh's output, line by line as it comes (a shell loop: mawk would wait for a full buffer),
# every line to fd 5 (the log), the rest to stdout.
brief() {
    local line skip=0
    while IFS= read -r line; do
        printf '%s\n' "$line" >&5
        if [ $skip = 1 ]; then
            case $line in "" | " "*) continue ;; esac
            skip=0
        fi
        case $line in
            "") continue ;;
            "mesh will perform the following actions:") skip=1; continue ;;
            *": Creating..."* | *": Destroying..."* | *": Modifying..."* | *": Replacing..."* | *": Still "*"... ("*) continue ;;
        esac
        printf '%s\n' "$line"
    done
}
run_brief() {
    local log=$1 fifo="$WORK/.out.fifo" t rc
    shift
    t=$(date +%s.%N)
    bold "\$ $(shown "$@")"
    rm -f "$fifo" && mkfifo "$fifo" || return 1
    brief <"$fifo" 5>"$log" &
    FILTER=$!
    "$@" >"$fifo" 2>&1 &
    CHILD=$!
    wait "$CHILD"; rc=$?
    CHILD=""
    wait "$FILTER"
    FILTER=""
    rm -f "$fifo"
    [ $rc -eq 0 ] && printf '  (%s; every line, the plan too: %s)\n' "$(since "$t")" "$(shown "$log")"
    return $rc
}

bold "mesh demo: the reference deployment (Istio multi-primary on one network, two EKS clusters) in one spec"
say "Working in $WORK; the spec is specs/reference.yaml, copied there as mesh.yaml." \
    "Reference: 'Istio Multi-Primary on Single Network' (four Terraform folders, create-certs.sh, kubectl patch, istioctl)."
cp "$ROOT/specs/reference.yaml" "$WORK/mesh.yaml" || die "cannot copy the spec"
cd "$WORK" || die "cannot enter $WORK"

step "The stand-ins for AWS and EKS"
say "What real AWS would be: moto_server (EC2, IAM, KMS, CloudWatch Logs, STS; SigV4 signatures checked)" \
    "behind a proxy that also plays EKS, and two fake Kubernetes API servers that EKS hands out as" \
    "cluster-1's and cluster-2's endpoints (they check EKS tokens against STS, as EKS does)." \
    "Your own AWS_* variables are unset first: nothing here reaches a real account."
t=$(date +%s.%N)
ref_stack_start "$STACK" >"$WORK/stand-ins.log" 2>&1 || { cat "$WORK/stand-ins.log" >&2; die "the stand-ins did not start (log above)"; }
say "Up in $(since "$t"): moto_server pid $(cat "$STACK/harness/moto.pid"), proxy + EKS pid $(cat "$STACK/harness/proxy.pid")," \
    "metadata pid $(cat "$STACK/harness/md.pid"), cluster-1 API pid $(cat "$STACK/k1/pid"), cluster-2 API pid $(cat "$STACK/k2/pid")." \
    "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL sends every AWS call to the proxy."
read -r -a CHARTS <<<"$(ref_stack_vars)"
say "The spec's chart variables point at the stand-in charts in tests/charts (on real AWS leave them" \
    "unset: the public Istio and eks-charts repositories are their defaults):" \
    "CHARTS=(${CHARTS[*]})"

step "mesh validate: the whole spec checked before anything is made"
say "Replaces: four 'terraform init' + 'terraform validate', one per folder, each blind to the others."
run "$MESH" validate "${CHARTS[@]}" || exit 1

step "mesh apply: the whole reference deployment in ONE command"
say "Replaces, in the reference's order of manual steps:" \
    "  0.certs-tool/create-certs.sh     -> pki:      root CA + one intermediate per cluster (RSA-4096, made in-process with OpenSSL)" \
    "  cd 0.vpc && terraform apply      -> network:  dual-stack VPC over 3 AZs, subnets, IGW, NAT, routes, the cross-cluster security groups" \
    "  cd 1.cluster1 && terraform apply -> clusters.cluster-1 (IPv4): IAM roles, OIDC, KMS, logs, EKS, node group, add-ons," \
    "  cd 2.cluster2 && terraform apply -> clusters.cluster-2 (IPv6)   the load balancer controller (IRSA + Helm); both built side by side" \
    "  their helm_release + cacerts     -> istio:    namespace, cacerts from pki:, istio-base, istiod, the ingress gateway" \
    "  cd 3.istio-multi-primary && ...  -> istio.remote_secrets: reader tokens and the remote secrets (istioctl create-remote-secret)" \
    "  kubectl patch daemonset aws-node -> the vpc-cni add-on's configuration (ENABLE_V6_EGRESS / ENABLE_V4_EGRESS)" \
    "One DAG: the edges the reference left to the order you ran things in (VPC -> clusters -> nodes -> istiod," \
    "cacerts before istiod, controller before the gateway) are explicit; a failure rolls the whole run back."
run_brief "$WORK/apply.log" "$MESH" apply --auto-approve "${CHARTS[@]}" || exit 1

step "mesh check: are the clusters meshed?"
say "Replaces: the reference's 'Validation and Testing' by eye (kubectl get pods,svc in each context)" \
    "and istioctl remote-clusters: remote secrets present and authenticating, roots agreeing, releases deployed."
if [ "${DEMO_TRAFFIC:-1}" != 0 ]; then
    say "--traffic adds the reference's helloworld test: v1 in cluster-1, v2 in cluster-2, a curl Job in each" \
        "that must hear both versions (the fake API servers answer for the pods), removed afterwards."
    run "$MESH" check --traffic "${CHARTS[@]}" || exit 1
else
    run "$MESH" check "${CHARTS[@]}" || exit 1
fi

step "mesh kubeconfig, then the real kubectl against each cluster"
say "Replaces: aws eks update-kubeconfig twice and the CTX_CLUSTER_* variables. The kubeconfig holds no token:" \
    "kubectl runs 'mesh token CLUSTER' for one (as 'aws eks get-token' does)."
for c in cluster-1 cluster-2; do
    run "$MESH" kubeconfig "$c" -o "$WORK/kubeconfig" "${CHARTS[@]}" || exit 1
done
for c in cluster-1 cluster-2; do
    run "$KUBECTL" --kubeconfig "$WORK/kubeconfig" --context "$c" get secrets -n istio-system || exit 1
done
say "cacerts is the PKI's intermediate (what create-certs.sh made and 1.cluster1 uploaded); istio-remote-secret-*" \
    "is what 3.istio-multi-primary applied; the istio-reader token is the one 1.cluster1 created for it."

step "mesh plan --detailed-exitcode: nothing left to do"
say "Replaces: terraform plan in each of the four folders. Exit 0 means state, spec and world agree."
run "$MESH" plan --detailed-exitcode "${CHARTS[@]}" || exit 1

step "mesh destroy: everything, in reverse dependency order"
say "Replaces: terraform apply -destroy in 3.istio-multi-primary, 2.cluster2, 1.cluster1, then 0.vpc, in that order" \
    "by hand. mesh removes the releases, secrets and namespaces before the clusters, the clusters before the VPC."
run_brief "$WORK/destroy.log" "$MESH" destroy --auto-approve "${CHARTS[@]}" || exit 1

STEP=""
echo
bold "Done: the reference deployment applied, checked, listed with kubectl, re-planned (no changes) and destroyed."
if [ "$KEEP" = 0 ]; then
    say "To keep the folder (spec, state, logs): make demo DEMO_DIR=\$HOME/mesh-demo. On real AWS: README.md, 'On real AWS'."
fi
