#!/usr/bin/env bash
# istio_reference.sh: the whole reference deployment (specs/reference.yaml, charts pointed at the
# stand-ins in tests/charts) in ONE `mesh apply` against the AWS harness and two fake API servers
# that the EKS stand-in hands out as the clusters' endpoints: PKI, network, both clusters and
# their add-ons, the load balancer controller, Istio, cacerts, reader tokens and remote secrets.
# Checked from outside with the real kubectl and helm: the secrets' keys, labels and annotations,
# the releases deployed, a remote secret's kubeconfig authenticating against the other cluster;
# `mesh check` and `mesh check --traffic` pass; a second plan is empty; drift made with helm and
# kubectl is planned and repaired from a saved plan; destroy removes releases, secrets and
# namespaces before the clusters and leaves nothing anywhere.
# Secrets: the apply and the repair run with MESH_LOG=debug, watched (tests/harness/canary/: the
# argv and environment of every process mesh starts, its files under TMPDIR, the state's -wal);
# the AWS secret key, both reader tokens and both intermediate CA keys must appear in none of
# that, nor in state.db, the saved plan, HOME, mesh's output (text and --json), `state list --json`
# or `state show` (tests/reliability/secrets.sh adds a session token under `make reliability`).
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
source "$ROOT/tests/harness/kube/kube.sh"
t_setup
aws_harness_suite || { not_ok "harness starts"; t_done; exit 1; }
trap 'kube_fake_stop "$T_DIR/k1"; kube_fake_stop "$T_DIR/k2"; t_cleanup' EXIT
for c in 1 2; do
    kube_fake_start "$T_DIR/k$c" "cluster-$c" --sts-url "$PROXY_URL" >/dev/null 2>&1 && kube_fake_eks "$T_DIR/k$c" "cluster-$c" ||
        not_ok "fake API server of cluster-$c"
done
export MESH_BACKOFF_SCALE=0.01
HELM=${MESH_HELM:-helm}
# The harness exports its key twice, as AWS_* and as HARNESS_*: mesh drops AWS_* from its children's
# environment, but cannot know another name holds a secret (a user's shell has only AWS_*).
unset HARNESS_ACCESS_KEY_ID HARNESS_SECRET_ACCESS_KEY
export TMPDIR="$T_DIR/tmp"
mkdir -p "$TMPDIR"
source "$ROOT/tests/harness/canary/canary.sh"
CANARY_PROBE="$T_DIR/probe"
k() { local c=$1; shift; kubectl --kubeconfig "$T_DIR/k$c/kubeconfig" "$@"; }
h() { local c=$1; shift; "$HELM" --kubeconfig "$T_DIR/k$c/kubeconfig" "$@"; }

# The reference spec as it is, with ECDSA keys instead of RSA-4096 (seconds less under ASan) and
# the charts from the stand-ins, the way docs/spec.md says to point it elsewhere.
sed 's/algorithm: rsa4096/algorithm: ecdsa-p256/' "$ROOT/specs/reference.yaml" >ref.yaml
VARS=(--var "istio_charts=$ROOT/tests/charts" --var "lbc_charts=$ROOT/tests/charts")
check "the test spec is the reference with its istio: section" grep -q 'remote_secrets: true' ref.yaml

"$MESH" plan -f ref.yaml "${VARS[@]}" --explain >explain.txt 2>&1
for a in kubernetes_namespace.cluster-1.istio-system kubernetes_secret.cluster-1.cacerts \
    helm_release.cluster-1.aws-load-balancer-controller helm_release.cluster-1.istio-base helm_release.cluster-1.istiod \
    helm_release.cluster-1.istio-ingressgateway kubernetes_service_account_token.cluster-1.istio-reader \
    kubernetes_secret.cluster-2.istio-remote-secret-cluster-1 kubernetes_secret.cluster-1.istio-remote-secret-cluster-2; do
    grep -q "$a" explain.txt && ok "plan --explain shows $a" || not_ok "plan --explain lacks $a"
done

# ---- one apply builds everything ----
MESH_LOG=debug canary_watched apply "$MESH" apply -f ref.yaml "${VARS[@]}" --auto-approve
rc=$?
cp "$CANARY_PROBE/out/apply.out" apply.txt
cp "$CANARY_PROBE/out/apply.err" "$T_DIR/last.err"
check "one mesh apply builds the whole reference deployment (MESH_LOG=debug, watched)" test $rc = 0
[ $rc = 0 ] || tail -15 apply.txt "$T_DIR/last.err" | sed 's/^/    | /'
read -r helm1 procs1 <"$CANARY_PROBE/helm_children"
check "helm children seen while it ran ($helm1 helm of $procs1 processes)" test "${helm1:-0}" -gt 0
n_added=$(sed -n 's/.*Apply complete! Resources: \([0-9]*\) added.*/\1/p' apply.txt)
"$MESH" state list -f ref.yaml >held.txt 2>&1
check "the apply added every resource state holds ($n_added)" test "${n_added:-0}" = "$(wc -l <held.txt)"
for t in pki_root_ca aws_vpc aws_eks_cluster kubernetes_connection helm_release kubernetes_secret kubernetes_service_account_token; do
    grep -q "^$t\." held.txt && ok "state holds $t resources" || not_ok "state lacks $t"
done
check "8 releases: the controller, base, istiod and the gateway in each cluster" test "$(grep -c '^helm_release\.' held.txt)" = 8
! grep -qF "$AWS_SECRET_ACCESS_KEY" apply.txt "$T_DIR/last.err" && ok "no AWS secret in the output" || not_ok "secret leaked"
# The edges the reference left implicit, as the apply ran them.
line() { grep -n "^$1: Creation complete" apply.txt | head -1 | cut -d: -f1; }
order_ok=1
for c in cluster-1 cluster-2; do
    for pair in "kubernetes_namespace.$c.istio-system kubernetes_secret.$c.cacerts" \
        "kubernetes_secret.$c.cacerts helm_release.$c.istiod" "helm_release.$c.istio-base helm_release.$c.istiod" \
        "helm_release.$c.istiod kubernetes_service_account_token.$c.istio-reader" \
        "helm_release.$c.aws-load-balancer-controller helm_release.$c.istio-ingressgateway" \
        "aws_eks_node_group.$c.default helm_release.$c.istiod"; do
        set -- $pair
        a=$(line "$1") b=$(line "$2")
        [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] || { order_ok=0; echo "# $1 ($a) not before $2 ($b)"; }
    done
done
check "the apply ran the edges: namespace -> cacerts -> istiod -> reader token, base -> istiod, nodes -> istiod, controller -> gateway" test $order_ok = 1
echo "# [${SECONDS}s] applied"

# ---- what the clusters hold, seen with kubectl and helm ----
for c in 1 2; do
    o=$((3 - c))
    k $c -n istio-system get secret cacerts -o json >cacerts$c.json
    check "cluster-$c: cacerts has the four PEM keys" test "$($PY -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1]))["data"])))' cacerts$c.json)" = "ca-cert.pem ca-key.pem cert-chain.pem root-cert.pem"
    k $c get ns istio-system -o jsonpath='{.metadata.labels.topology\.istio\.io/network}' >net$c.txt
    check "cluster-$c: istio-system is labelled with network1" test "$(cat net$c.txt)" = network1
    k $c -n istio-system get secret istio-remote-secret-cluster-$o -o json >remote$c.json
    $PY - remote$c.json cluster-$o <<'PY' && ok "cluster-$c: istio-remote-secret-cluster-$o has the label, annotation and data key istioctl makes" || not_ok "cluster-$c: remote secret shape"
import json, sys
s = json.load(open(sys.argv[1])); other = sys.argv[2]
assert s["metadata"]["labels"]["istio/multiCluster"] == "true", s["metadata"].get("labels")
assert s["metadata"]["annotations"]["networking.istio.io/cluster"] == other, s["metadata"].get("annotations")
assert list(s["data"]) == [other], list(s["data"])
PY
    h $c list -A -o json >releases$c.json
    $PY - releases$c.json <<'PY' && ok "cluster-$c: helm list shows the four releases deployed" || not_ok "cluster-$c: helm list: $(cat releases$c.json)"
import json, sys
rel = {r["name"]: r["status"] for r in json.load(open(sys.argv[1]))}
want = {"aws-load-balancer-controller", "istio-base", "istiod", "istio-ingressgateway"}
assert want <= set(rel) and all(rel[n] == "deployed" for n in want), rel
PY
done
k 1 -n istio-system get svc istio-ingressgateway -o json >gw.json 2>&1
check "the gateway's Service has its NLB address and the dual-stack NLB annotations" $PY -c "
import json; s = json.load(open('gw.json'))
assert s['status']['loadBalancer']['ingress'], s['status']
a = s['metadata']['annotations']
assert a['service.beta.kubernetes.io/aws-load-balancer-ip-address-type'] == 'dualstack', a
assert a['service.beta.kubernetes.io/aws-load-balancer-scheme'] == 'internet-facing', a"
k 1 -n kube-system get sa aws-load-balancer-controller -o json >sa.json 2>&1
check "the controller's service account is annotated with its IRSA role" \
    $PY -c "import json; a = json.load(open('sa.json'))['metadata']['annotations']['eks.amazonaws.com/role-arn']; assert a.startswith('arn:aws:iam::') and a.endswith('role/istio-multi-primary-cluster-1-lbc'), a"
# A remote secret's kubeconfig (in cluster-1, naming cluster-2) authenticates against cluster-2:
# the same kube-system namespace (uid) as cluster-2's own admin sees.
$PY -c 'import base64,json,sys; print(base64.b64decode(json.load(open("remote1.json"))["data"]["cluster-2"]).decode())' >remote-kubeconfig
chmod 600 remote-kubeconfig
uid_remote=$(kubectl --kubeconfig remote-kubeconfig get ns kube-system -o jsonpath='{.metadata.uid}' 2>remote.err)
uid_admin=$(k 2 get ns kube-system -o jsonpath='{.metadata.uid}')
check "cluster-1's remote secret authenticates against cluster-2 (same kube-system uid)" test -n "$uid_remote" -a "$uid_remote" = "$uid_admin"
check "...with the istio-reader service account's token" grep -q 'token:' remote-kubeconfig
# The canaries that exist only now, read back as a user would: both reader tokens and both
# intermediate CA keys.
for c in 1 2; do
    k $c -n istio-system get secret istio-reader-service-account-istio-remote-secret-token -o jsonpath='{.data.token}' |
        base64 -d >"$CANARY_PROBE/sa$c" 2>/dev/null
    $PY -c 'import base64,json,sys; sys.stdout.buffer.write(base64.b64decode(json.load(open(sys.argv[1]))["data"]["ca-key.pem"]))' \
        cacerts$c.json >"$CANARY_PROBE/key$c"
done
check "read both reader tokens and both intermediate CA keys back" sh -c \
    "test -s '$CANARY_PROBE/sa1' && test -s '$CANARY_PROBE/sa2' && grep -q 'PRIVATE KEY' '$CANARY_PROBE/key1' && grep -q 'PRIVATE KEY' '$CANARY_PROBE/key2'"
echo "# [${SECONDS}s] checked with kubectl and helm"

# ---- mesh check, and traffic across the mesh ----
expect_rc "mesh check passes" 0 "$MESH" check -f ref.yaml "${VARS[@]}"
cp "$T_DIR/last.out" check.txt
check "mesh check reports both clusters" sh -c 'grep -q cluster-1 check.txt && grep -q cluster-2 check.txt'
expect_rc "mesh check --traffic passes (v1 and v2 answer in both clusters)" 0 "$MESH" check --traffic -f ref.yaml "${VARS[@]}"
check "the traffic check removed its sample namespace" sh -c "! kubectl --kubeconfig $T_DIR/k1/kubeconfig get ns sample >/dev/null 2>&1"
expect_rc "a second plan is empty" 0 "$MESH" plan -f ref.yaml "${VARS[@]}" --detailed-exitcode
echo "# [${SECONDS}s] checked"

# ---- drift made with helm and kubectl is planned and repaired ----
h 1 -n istio-system upgrade istiod "$ROOT/tests/charts/istiod" --reuse-values --set global.meshID=drifted >/dev/null 2>helm.err ||
    not_ok "helm upgrade for the drift: $(cat helm.err)"
k 2 -n istio-system delete secret istio-remote-secret-cluster-1 >/dev/null
MESH_LOG=debug canary_watched drift-plan "$MESH" plan -f ref.yaml "${VARS[@]}" --detailed-exitcode --out saved.plan --json
check "drift: the plan shows changes, saved with --out" test $? = 2 -a -s saved.plan
cp "$CANARY_PROBE/out/drift-plan.out" drift.txt
grep -q 'helm_release.cluster-1.istiod' drift.txt && ok "drift planned: the istiod value changed with helm" || not_ok "drift not planned: istiod"
grep -q 'kubernetes_secret.cluster-2.istio-remote-secret-cluster-1' drift.txt && ok "drift planned: the remote secret deleted with kubectl" || not_ok "drift not planned: remote secret"
MESH_LOG=debug canary_watched drift-apply "$MESH" apply saved.plan --json
rc=$?
check "drift: applying the saved plan repairs it" test $rc = 0
[ $rc = 0 ] || tail -15 "$CANARY_PROBE/out/drift-apply.err" | sed 's/^/    | /'
read -r helm2 procs2 < <(tail -1 "$CANARY_PROBE/helm_children")
check "helm children seen while the saved plan ran ($helm2 helm of $procs2 processes)" test "${helm2:-0}" -gt 0
check "drift repaired: meshID is mesh1 again" sh -c "$HELM --kubeconfig $T_DIR/k1/kubeconfig -n istio-system get values istiod -o json | grep -q '\"meshID\":\"mesh1\"'"
check "drift repaired: the remote secret is back" sh -c "kubectl --kubeconfig $T_DIR/k2/kubeconfig -n istio-system get secret istio-remote-secret-cluster-1 -o name >/dev/null"
expect_rc "drift: then the plan is empty" 0 "$MESH" plan -f ref.yaml "${VARS[@]}" --detailed-exitcode
echo "# [${SECONDS}s] drift"

# ---- no secret anywhere mesh wrote or passed on ----
"$MESH" state list --json -f ref.yaml >"$CANARY_PROBE/out/state-list.json" 2>&1
"$MESH" state show kubernetes_secret.cluster-2.istio-remote-secret-cluster-1 -f ref.yaml >"$CANARY_PROBE/out/state-show.txt" 2>&1
"$MESH" state show pki_private_key.cluster-1.intermediate -f ref.yaml >>"$CANARY_PROBE/out/state-show.txt" 2>&1
canary_control "$T_DIR/control"
read -r _ _ _ n_control hits_control < <(canary_scan "$T_DIR/control" | grep '^SUMMARY')
check "the scan finds a canary hidden in each of $n_control control files (json, base64, kubeconfig, PEM line, DER)" \
    test "$hits_control" -ge "$n_control" -a "$(canary_scan "$T_DIR/control" | grep '^HIT' | awk '{print $NF}' | sort -u | wc -l)" = 5
# (the suite's own kubectl reads, cacerts*.json and remote*, hold secrets by design: not scanned)
canary_scan "$T_DIR/.mesh" saved.plan apply.txt drift.txt explain.txt check.txt "$HOME" \
    "$CANARY_PROBE/out" "$CANARY_PROBE/children" "$CANARY_PROBE/tmp" >scan.txt
grep -aE '^(HIT|FAIL)' scan.txt | tr -d '\0' | head -20 | sed 's/^/# /'
read -r _ n_canaries n_forms n_files hits < <(grep -a '^SUMMARY' scan.txt)
check "$n_canaries canaries in $n_forms forms: none in $n_files files (state.db and -wal copies, saved plan, HOME, debug logs, --json, state show/list, TMPDIR, children's argv/env) ($hits hits)" \
    test "${hits:-1}" = 0 -a "${n_canaries:-0}" = 5
check "the scan saw state.db, a -wal copy, the saved plan and the children" sh -c \
    "test -s '$T_DIR/.mesh/state.db' && test -s saved.plan && [ \$(ls '$CANARY_PROBE/children' | wc -l) -gt 0 ] && [ \$(ls '$CANARY_PROBE/tmp' | wc -l) -gt 0 ]"
echo "# [${SECONDS}s] scanned"

# ---- destroy: the Kubernetes and Helm part before the clusters, nothing left ----
expect_rc "destroy everything" 0 "$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve
cp "$T_DIR/last.out" destroy.txt
$PY - destroy.txt <<'PY' && ok "destroy removed each cluster's releases, secrets and namespaces before the cluster" || not_ok "destroy order"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
for c in ("cluster-1", "cluster-2"):
    done = [i for i, l in enumerate(lines) if re.match(r"(helm_release|kubernetes_\w+)\.%s[.:].*complete" % c, l)]
    start = [i for i, l in enumerate(lines) if re.match(r"aws_eks_cluster\.%s: Destroying" % c, l)]
    assert len(done) >= 8 and start, (c, len(done), start)
    assert max(done) < start[0], (c, max(done), start[0])
PY
for c in 1 2; do
    h $c list -A -q >left$c.txt 2>&1
    check "cluster-$c: no release left" test ! -s left$c.txt
    kube_fake_objects "$T_DIR/k$c" >objects$c.json
    check "cluster-$c: no object mesh made left" sh -c "! grep -q 'mesh/address' objects$c.json"
done
: >none.txt
n_left=$($PY "$ROOT/tests/harness/aws/orphans.py" --moto "$MOTO_URL" --proxy "$PROXY_URL" --held none.txt --count 2>left.txt)
check "no AWS object of any type left ($n_left)" test "$n_left" = 0
check "state is empty" test -z "$("$MESH" state list -f ref.yaml 2>&1)"
echo "# [${SECONDS}s] destroyed"
t_done
