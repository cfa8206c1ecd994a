# istio_reference.sh: the whole reference in one command. `mesh apply -f specs/reference.yaml`
# with its chart variables set to the stand-ins (tests/charts) builds, against the AWS harness and
# two fake API servers that the EKS stand-in hands out as the clusters' endpoints: the PKI, the
# network, both clusters with their add-ons, the load balancer controller, Istio (base, istiod,
# the ingress gateway), cacerts, the reader tokens and the remote secrets. The real helm lists
# the four releases deployed in each cluster; the gateway's Service got its NLB address (the fake
# gives one only once the controller runs: the edge controller -> gateway); each cluster holds the
# other's remote secret; a second plan is empty; `mesh destroy` removes the releases, secrets and
# namespaces before the clusters and leaves nothing in state.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$T_TESTS/.." && pwd)
. "$ROOT/tests/harness/aws/harness.sh"
. "$ROOT/tests/harness/kube/kube.sh"
t_setup
if [ -z "${MESH_HELM:-}" ]; then
    if [ -x "$ROOT/bin/helm" ]; then MESH_HELM="$ROOT/bin/helm"; else MESH_HELM=$(command -v helm || true); fi
fi
[ -n "$MESH_HELM" ] && [ -x "$MESH_HELM" ] || { not_ok "helm is installed (make deps puts it in bin/)"; t_done; exit 1; }
export MESH_HELM MESH_BACKOFF_SCALE=0.01 MESH_PROGRESS_EVERY=5
aws_harness_suite || { not_ok "the AWS harness starts"; t_done; exit 1; }
trap 'kube_fake_stop "$T_DIR/k1"; kube_fake_stop "$T_DIR/k2"; aws_harness_stop "$H"; t_cleanup' EXIT
for c in 1 2; do
    kube_fake_start "$T_DIR/k$c" cluster-$c --sts-url "$PROXY_URL" --eks-node >/dev/null 2>&1 &&
        kube_fake_eks "$T_DIR/k$c" cluster-$c || not_ok "the fake API server of cluster-$c"
done
curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {"cluster": 1.0, "nodegroup": 0.5, "addon": 0.25}}' >/dev/null
ln -s "$ROOT/tests" tests   # the charts' repository is a local folder, relative to mesh's directory
sed 's|path: .mesh/state.db|path: state.db|' "$ROOT/specs/reference.yaml" >ref.yaml
V=(-f ref.yaml --var istio_charts=tests/charts --var lbc_charts=tests/charts)

expect_rc "one apply builds the whole reference (PKI, network, clusters, controller, Istio, secrets)" 0 \
    "$MESH" apply "${V[@]}" --auto-approve
check "... 80 resources" grep -q "Apply complete! Resources: 80 added" "$T_DIR/last.out"
cp "$T_DIR/last.out" apply.txt
line() { grep -n "^$1: Creation complete" apply.txt | head -1 | cut -d: -f1; }
order_ok=1
for c in cluster-1 cluster-2; do
    for pair in "kubernetes_namespace.$c.istio-system kubernetes_secret.$c.cacerts" \
        "kubernetes_secret.$c.cacerts helm_release.$c.istiod" "helm_release.$c.istio-base helm_release.$c.istiod" \
        "helm_release.$c.aws-load-balancer-controller helm_release.$c.istio-ingressgateway" \
        "aws_eks_node_group.$c.default helm_release.$c.istiod"; do
        set -- $pair
        a=$(line "$1") b=$(line "$2")
        [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] || { order_ok=0; echo "# $1 ($a) not before $2 ($b)"; }
    done
done
check "the apply ran the edges: namespace -> cacerts -> istiod, base -> istiod, nodes -> istiod, controller -> gateway" test $order_ok = 1
for c in 1 2; do
    "$MESH_HELM" --kubeconfig "k$c/kubeconfig" list -A >helm$c.txt 2>&1
    check "helm list (cluster-$c): the controller, istio-base, istiod and the gateway deployed" \
        sh -c "test \$(grep -cE '^(aws-load-balancer-controller|istio-base|istiod|istio-ingressgateway)[[:space:]].*deployed' helm$c.txt) = 4"
done
kubectl --kubeconfig k1/kubeconfig -n istio-system get svc istio-ingressgateway -o json >gw.json 2>&1
check "the gateway's Service has its NLB address and the dual-stack NLB annotations" $PY -c "
import json; s = json.load(open('gw.json'))
assert s['status']['loadBalancer']['ingress'], s['status']
a = s['metadata']['annotations']
assert a['service.beta.kubernetes.io/aws-load-balancer-ip-address-type'] == 'dualstack', a
assert a['service.beta.kubernetes.io/aws-load-balancer-scheme'] == 'internet-facing', a"
kubectl --kubeconfig k1/kubeconfig -n kube-system get sa aws-load-balancer-controller -o json >sa.json 2>&1
check "the controller's service account is annotated with its IRSA role" \
    $PY -c "import json; a = json.load(open('sa.json'))['metadata']['annotations']['eks.amazonaws.com/role-arn']; assert a.startswith('arn:aws:iam::') and a.endswith('role/istio-multi-primary-cluster-1-lbc'), a"
check "each cluster holds the other's remote secret" sh -c \
    "kubectl --kubeconfig k1/kubeconfig -n istio-system get secret istio-remote-secret-cluster-2 >/dev/null 2>&1 && kubectl --kubeconfig k2/kubeconfig -n istio-system get secret istio-remote-secret-cluster-1 >/dev/null 2>&1"
expect_rc "a second plan is empty" 0 "$MESH" plan "${V[@]}" --detailed-exitcode

expect_rc "destroy" 0 "$MESH" destroy "${V[@]}" --auto-approve
cp "$T_DIR/last.out" destroy.txt
gone() { grep -n "^$1: Destruction complete" destroy.txt | head -1 | cut -d: -f1; }
a=$(gone helm_release.cluster-1.istiod) b=$(gone kubernetes_namespace.cluster-1.istio-system) e=$(gone aws_eks_cluster.cluster-1)
check "destroy: releases and namespaces before the cluster" sh -c "[ -n '$a' ] && [ -n '$b' ] && [ -n '$e' ] && [ $a -lt $e ] && [ $b -lt $e ]"
"$MESH" state list -f ref.yaml >left.txt 2>&1
check "nothing is left in state" sh -c "! grep -q '\.' left.txt"
t_done
