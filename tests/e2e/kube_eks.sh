#!/usr/bin/env bash
# kube_eks.sh: the whole path to a cluster mesh made, as a user takes it. One `mesh apply` of the
# reference's mesh:, network: and cluster-1 makes the EKS cluster in the AWS harness, whose
# endpoint and CA are a fake API server's (tests/harness/kube), and its kubernetes_connection
# (the compiler's, fed by the cluster's outputs; it waits until the API server accepts mesh's EKS
# token, which the fake checks with the harness's STS). Then `mesh kubeconfig cluster-1 -o F` and
# the real kubectl, from another directory, through `mesh token`: get ns, auth whoami. After
# `mesh destroy` the cluster is gone from state and `mesh token` says so. The same apply makes a
# namespace and a secret in the cluster (connection: kubernetes_connection.cluster-1): a second plan
# is empty, a new secret value updates in place, no token or secret value reaches the output or
# state, and destroy deletes them before the connection and the cluster.
# Prints "ok - NAME" / "not ok - NAME".
source "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$T_TESTS/.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
source "$ROOT/tests/harness/kube/kube.sh"
t_setup
aws_harness_suite || { not_ok "AWS harness starts"; exit 1; }
command -v kubectl >/dev/null || { not_ok "kubectl on PATH"; exit 1; }
export MESH_BACKOFF_SCALE=0.01 MESH_PROGRESS_EVERY=0.5
K="$T_DIR/kube-cluster-1"
trap 'kube_fake_stop "$K"; aws_harness_stop "$H"; t_cleanup' EXIT
# The API server refuses connections for its first 20 s, as a new EKS endpoint does for a while
# after the cluster turns ACTIVE: the connection waits for it.
kube_fake_start "$K" cluster-1 --sts-url "$PROXY_URL" --refuse-seconds 20 || { not_ok "fake API server starts"; exit 1; }
URL=$(cat "$K/url")
kube_fake_eks "$K" cluster-1 || { not_ok "the EKS stand-in points cluster-1 at the fake"; exit 1; }
curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {"cluster": 1.0, "nodegroup": 0.5, "addon": 0.25}}' >/dev/null

# The reference's mesh: and network:, and its cluster-1 only.
$PY - "$ROOT/specs/reference.yaml" >aws.yaml <<'PY'
import re, sys
src = open(sys.argv[1]).read()
block = lambda n: re.search(r'^%s:.*?(?=^\S)' % n, src, re.S | re.M).group(0)
# the AWS part only: the controller's IAM role, not its Helm release (nor the chart variable)
src = re.sub(r'(?m)^( +)load_balancer_controller:.*\n(?:\1 +.*\n)*', r'\1load_balancer_controller: {release: false}\n', src)
clusters = block("clusters")
print(block("mesh") + block("network") + clusters[:clusters.index("  cluster-2:")])
PY
# ...and what mesh puts in the cluster, in the same apply: a namespace and a secret in it.
cat >>aws.yaml <<'YAML'
resources:
  kubernetes_namespace.cluster-1.istio-system:
    connection: kubernetes_connection.cluster-1
    name: istio-system
    labels: {topology.istio.io/network: network1}
  kubernetes_secret.cluster-1.demo:
    connection: kubernetes_connection.cluster-1
    namespace: ${kubernetes_namespace.cluster-1.istio-system.name}
    name: demo
    data: {password: s3cr3t-value-1}
YAML
"$MESH" plan -f aws.yaml >plan0.txt 2>&1
check "plan: the connection and its objects are creates, nothing in the cluster is read" \
    sh -c "grep -q 'kubernetes_connection.cluster-1 will be created' plan0.txt && grep -q 'kubernetes_secret.cluster-1.demo will be created' plan0.txt"

expect_rc "one apply makes the network, cluster-1 and its connection" 0 "$MESH" apply -f aws.yaml --auto-approve
conn_at=$(grep -n "^kubernetes_connection.cluster-1: Creation complete" "$T_DIR/last.out" | cut -d: -f1)
eks_at=$(grep -n "^aws_eks_cluster.cluster-1: Creation complete" "$T_DIR/last.out" | cut -d: -f1)
check "... the connection was made once the cluster was ACTIVE" test "${conn_at:-0}" -gt "${eks_at:-999999}"
check "... and waited for the API server to answer" grep -q '^kubernetes_connection.cluster-1: Still creating' "$T_DIR/last.out"
cp "$T_DIR/last.out" apply.txt
kube_fake_objects "$K" >objects0.json
check "the namespace and the secret are in the cluster, marked as mesh's" $PY - objects0.json <<'PY'
import json, sys
objs = json.load(open(sys.argv[1]))["objects"]
ns = [o for o in objs if o["kind"] == "Namespace" and o["metadata"]["name"] == "istio-system"][0]["metadata"]
sec = [o for o in objs if o["kind"] == "Secret" and o["metadata"]["name"] == "demo"][0]["metadata"]
assert ns["labels"]["app.kubernetes.io/managed-by"] == "mesh" and ns["labels"]["topology.istio.io/network"] == "network1", ns
assert ns["annotations"]["mesh/address"] == "kubernetes_namespace.cluster-1.istio-system", ns
assert sec["namespace"] == "istio-system" and sec["annotations"]["mesh/address"] == "kubernetes_secret.cluster-1.demo", sec
PY
check "no token or secret value in apply's output" sh -c "! grep -q 'k8s-aws-v1\|s3cr3t-value' apply.txt"
check "no token or secret value in the state file" sh -c "! grep -a -q 'k8s-aws-v1\|s3cr3t-value' .mesh/state.db*"
expect_rc "a second plan is empty" 0 "$MESH" plan -f aws.yaml --detailed-exitcode
sed -i 's/s3cr3t-value-1/s3cr3t-value-2/' aws.yaml
"$MESH" plan -f aws.yaml >plan2.txt 2>&1
check "a new secret value is an in-place update" grep -q 'kubernetes_secret.cluster-1.demo will be updated in-place' plan2.txt
check "...shown without the value" sh -c "! grep -q 's3cr3t' plan2.txt"
expect_rc "apply it" 0 "$MESH" apply -f aws.yaml --auto-approve
expect_rc "then the plan is empty" 0 "$MESH" plan -f aws.yaml --detailed-exitcode
"$MESH" state show -f aws.yaml kubernetes_connection.cluster-1 >conn.txt 2>&1
check "... and stored the fake's server and version, no token" sh -c 'grep -qF "server = \"$0\"" conn.txt &&
    grep -q "kubernetes_version = \"v" conn.txt && ! grep -q "k8s-aws-v1" conn.txt' "$URL"

F="$T_DIR/home/.kube/config"
expect_rc "mesh kubeconfig cluster-1 -o ~/.kube/config" 0 "$MESH" kubeconfig -f aws.yaml cluster-1 -o "$F"
expect_rc "kubectl get ns through mesh token (from /)" 0 sh -c 'cd / && kubectl get ns'
check "... lists kube-system" grep -q "^kube-system " "$T_DIR/last.out"
expect_rc "kubectl auth whoami" 0 sh -c 'cd / && kubectl auth whoami'
check "... is the harness's IAM user, as STS told the API server" \
    grep -q "arn:aws:iam::123456789012:user/mesh-harness" "$T_DIR/last.out"
expect_rc "kubectl create namespace works as that user" 0 kubectl create namespace from-kubectl
kube_fake_objects "$K" >objects.json
check "... and the fake holds it" grep -q '"from-kubectl"' objects.json

expect_rc "mesh destroy" 0 "$MESH" destroy -f aws.yaml --auto-approve
order=$(grep 'Destruction complete' "$T_DIR/last.out" | cut -d: -f1 | tr '\n' ' ')
check "destroy: the secret, then the namespace, then the connection, then the cluster" $PY -c "
o = '$order'.split()
i = o.index
assert i('kubernetes_secret.cluster-1.demo') < i('kubernetes_namespace.cluster-1.istio-system') < i('kubernetes_connection.cluster-1') < i('aws_eks_cluster.cluster-1'), o"
kube_fake_objects "$K" >objects1.json
check "no object of mesh's is left in the cluster" sh -c "! grep -q 'mesh/address' objects1.json"
expect_rc "after destroy, mesh token cluster-1 fails" 1 sh -c 'cd / && "$0" token cluster-1 --state "$1"' "$MESH" \
    "$T_DIR/.mesh/state.db"
check "... saying the cluster is not in state" grep -q "no cluster named cluster-1 in state .* (it has no clusters); run mesh apply first" \
    "$T_DIR/last.err"

echo "# $T_PASSED passed, $T_FAILED failed"
[ "$T_FAILED" -eq 0 ]
