# istio_wiring.sh: what `istio:` and `clusters:` compile to, seen from the commands (the
# compiler's own unit test is test_compile_istio.c):
#   - specs/reference.yaml: `mesh plan --explain` and `mesh graph` show the Istio resources and the
#     edges the reference left implicit; the remote secrets' data stays (sensitive) in plans;
#   - two existing clusters (fake API servers), Istio with the real helm and tests/charts: the
#     releases deployed, cacerts and the remote secrets (a remote secret's kubeconfig reaches the
#     other cluster as the reader), cacerts' data_sha256 the hash of the exported PEM files and on
#     istiod's pods; a changed PKI setting plans cacerts' update and istiod's, with the reason, and
#     the apply rolls istiod (helm revision 2);
#   - existing.vpc_cni_egress: the server-side-apply patch of aws-node refused while aws-node does
#     not exist, applied next to the fields of another manager, drift repaired, and destroy
#     giving mesh's field back without deleting the DaemonSet.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TESTS/harness/kube/kube.sh"
ROOT=$(cd "$T_TESTS/.." && pwd)
t_setup
export MESH_BACKOFF_SCALE=0.05
trap 'kube_fake_stop "$T_DIR/k1"; kube_fake_stop "$T_DIR/k2"; t_cleanup' EXIT

ln -s "$ROOT/tests" tests   # the charts' repository is a local folder, relative to mesh's directory

# --- the reference spec ---
REF=(-f "$ROOT/specs/reference.yaml" --state "$T_DIR/ref.db" --var istio_charts=tests/charts --var lbc_charts=tests/charts)
expect_rc "plan --explain of specs/reference.yaml (stand-in charts)" 0 "$MESH" plan "${REF[@]}" --refresh=false --explain
cp "$T_DIR/last.out" explain.txt
missing=""
for c in cluster-1 cluster-2; do
    o=cluster-2; [ $c = cluster-2 ] && o=cluster-1
    for a in kubernetes_namespace.$c.istio-system kubernetes_secret.$c.cacerts helm_release.$c.aws-load-balancer-controller \
        helm_release.$c.istio-base helm_release.$c.istiod helm_release.$c.istio-ingressgateway \
        kubernetes_service_account_token.$c.istio-reader kubernetes_secret.$o.istio-remote-secret-$c; do
        grep -q "^    $a  <- " explain.txt || missing="$missing $a"
    done
done
check "--explain lists every Istio resource of both clusters${missing:+ (missing:$missing)}" test -z "$missing"
check "--explain: istiod after its connection, namespace, base, cacerts and node group" \
    grep -qx "    helm_release.cluster-1.istiod  <- kubernetes_connection.cluster-1, kubernetes_namespace.cluster-1.istio-system, helm_release.cluster-1.istio-base, kubernetes_secret.cluster-1.cacerts, aws_eks_node_group.cluster-1.default" explain.txt
check "plan: 80 resources to add (56 AWS + 4 PKI + 20 in the clusters)" grep -q "Plan: 80 to add" explain.txt
check "plan: the stand-in chart folder, from the variable" grep -q '"./tests/charts/istiod"' explain.txt
awk '/# kubernetes_secret.cluster-1.istio-remote-secret-cluster-2 will be created/,/^$/' explain.txt >rs.txt
check "plan: a remote secret's data is (sensitive), its label and annotation shown" \
    sh -c 'grep -q "data *= (sensitive)" rs.txt && grep -q "\"istio/multiCluster\" = \"true\"" rs.txt && grep -q "\"networking.istio.io/cluster\" = \"cluster-2\"" rs.txt'
"$MESH" plan "${REF[@]}" --refresh=false --json >plan.json 2>&1
check "plan --json: no reader token reference or kubeconfig text in the clear" sh -c "! grep -q 'istio-reader.token\|current-context' plan.json"
"$MESH" plan -f "$ROOT/specs/reference.yaml" --state "$T_DIR/ref.db" --refresh=false >public.txt 2>&1
check "without the variables: the public repositories at pinned versions" \
    sh -c 'grep -q "https://istio-release.storage.googleapis.com/charts" public.txt && grep -q "\"1.24.2\"" public.txt && grep -q "https://aws.github.io/eks-charts" public.txt && grep -q "\"1.11.0\"" public.txt'

expect_rc "validate: a chart folder that is not there is a spec error" 1 \
    "$MESH" validate -f "$ROOT/specs/reference.yaml" --var istio_charts=no-charts --var lbc_charts=tests/charts
check "...one per chart, at the istio: key, naming the release and the path" \
    sh -c 'test "$(grep -c "error: .*local chart ./no-charts/" "'"$T_DIR"'/last.err")" = 3 && grep -q "reference.yaml:[0-9]*:1: error: \`helm_release.cluster-1.istiod\` chart: local chart ./no-charts/istiod does not exist" "'"$T_DIR"'/last.err"'
expect_rc "graph of specs/reference.yaml" 0 "$MESH" graph -f "$ROOT/specs/reference.yaml" --var istio_charts=tests/charts --var lbc_charts=tests/charts
cp "$T_DIR/last.out" graph.dot
edge() { grep -qxF "  \"$1\" -> \"$2\";" graph.dot; }
bad=""
for c in cluster-1 cluster-2; do
    o=cluster-2; [ $c = cluster-2 ] && o=cluster-1
    for e in "kubernetes_namespace.$c.istio-system helm_release.$c.istio-base" \
        "kubernetes_namespace.$c.istio-system kubernetes_secret.$c.cacerts" \
        "kubernetes_secret.$c.cacerts helm_release.$c.istiod" "helm_release.$c.istio-base helm_release.$c.istiod" \
        "pki_intermediate_ca.$c kubernetes_secret.$c.cacerts" \
        "helm_release.$c.istiod kubernetes_service_account_token.$c.istio-reader" \
        "kubernetes_service_account_token.$c.istio-reader kubernetes_secret.$o.istio-remote-secret-$c" \
        "kubernetes_connection.$c kubernetes_secret.$o.istio-remote-secret-$c" \
        "kubernetes_connection.$o kubernetes_secret.$o.istio-remote-secret-$c" \
        "helm_release.$c.aws-load-balancer-controller helm_release.$c.istio-ingressgateway" \
        "helm_release.$c.istiod helm_release.$c.istio-ingressgateway" \
        "aws_iam_role.$c.lbc helm_release.$c.aws-load-balancer-controller" \
        "aws_eks_node_group.$c.default helm_release.$c.aws-load-balancer-controller"; do
        set -- $e
        edge "$1" "$2" || bad="$bad [$1 -> $2]"
    done
done
check "graph: namespace -> cacerts -> istiod, base -> istiod, istiod -> reader token -> the other cluster's remote secret, controller -> gateway${bad:+ (missing:$bad)}" test -z "$bad"

# --- two existing clusters, Istio installed with the real helm and the stand-in charts ---
if [ -z "${MESH_HELM:-}" ]; then
    if [ -x "$ROOT/bin/helm" ]; then MESH_HELM="$ROOT/bin/helm"; else MESH_HELM=$(command -v helm || true); fi
fi
[ -n "$MESH_HELM" ] && [ -x "$MESH_HELM" ] || { not_ok "helm is installed (make deps puts it in bin/)"; t_done; exit 1; }
export MESH_HELM
for c in 1 2; do
    kube_fake_start "$T_DIR/k$c" c$c >/dev/null 2>&1 || not_ok "the fake API server of c$c starts"
done
# No ingress gateway: its LoadBalancer Service gets an address only from a load balancer
# controller, which mesh installs in the EKS clusters it makes, not in existing ones.
cat >spec.yaml <<'EOF'
mesh: {name: wiring}
pki:
  root: {algorithm: ecdsa-p256}
  intermediate: {algorithm: ecdsa-p256, common_name: Intermediate CA}
  export_dir: ./certs
clusters:
  c1: {existing: {kubeconfig: ./k1/kubeconfig}}
  c2:
    ip_family: ipv6
    existing: {kubeconfig: ./k2/kubeconfig, vpc_cni_egress: ipv4}
istio:
  version: 1.24.2
  charts: {repository: tests/charts}
  ingress_gateway: false
timeouts:
  helm_release: {create: 90s, update: 90s}
EOF
K1=(kubectl --kubeconfig k1/kubeconfig)
K2=(kubectl --kubeconfig k2/kubeconfig)
A=(--target 'kubernetes_secret.*.istio-remote-secret-*')   # everything but the aws-node patch (below)
expect_rc "apply: PKI, namespaces, cacerts, base, istiod, reader tokens, remote secrets in both clusters" 0 \
    "$MESH" apply -f spec.yaml "${A[@]}" --auto-approve
"$MESH_HELM" --kubeconfig k2/kubeconfig list -n istio-system >helm2.txt 2>&1
check "helm list: istio-base and istiod deployed in c2" \
    sh -c 'grep -q "^istio-base.*deployed.*base-1.24.2" helm2.txt && grep -q "^istiod .*deployed.*istiod-1.24.2" helm2.txt'
"${K1[@]}" -n istio-system get secret cacerts -o json >cacerts.json 2>&1
check "cacerts holds ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem" \
    $PY -c "import json; d=json.load(open('cacerts.json'))['data']; assert sorted(d)==['ca-cert.pem','ca-key.pem','cert-chain.pem','root-cert.pem'], sorted(d)"
check "the namespace carries topology.istio.io/network=network1" \
    sh -c "${K1[*]} get ns istio-system -o jsonpath='{.metadata.labels.topology\.istio\.io/network}' | grep -qx network1"
"${K2[@]}" -n istio-system get secret istio-remote-secret-c1 -o json >rs.json 2>&1
check "c2 holds istio-remote-secret-c1: label istio/multiCluster, annotation networking.istio.io/cluster, data key c1" \
    $PY -c "
import json; d = json.load(open('rs.json')); m = d['metadata']
assert m['labels']['istio/multiCluster'] == 'true', m
assert m['annotations']['networking.istio.io/cluster'] == 'c1', m
assert list(d['data']) == ['c1'], list(d['data'])"
$PY -c "import base64, json; print(base64.b64decode(json.load(open('rs.json'))['data']['c1']).decode())" >rs-c1.kubeconfig
kubectl --kubeconfig rs-c1.kubeconfig auth whoami >whoami.txt 2>&1
check "its kubeconfig reaches c1 as the reader service account (server, CA and token)" \
    grep -q "system:serviceaccount:istio-system:istio-reader-service-account" whoami.txt
want=$($PY - <<'PY'
import hashlib
h = hashlib.sha256()
for k in sorted(["ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"]):
    h.update(k.encode() + b"\0" + open("certs/c1/" + k, "rb").read() + b"\0")
print(h.hexdigest())
PY
)
"$MESH" state show kubernetes_secret.c1.cacerts -f spec.yaml >show.txt 2>&1
check "data_sha256 is the hash of the exported PEM files (sorted keys)" grep -q "$want" show.txt
ann() { "${K1[@]}" -n istio-system get deploy istiod -o jsonpath='{.spec.template.metadata.annotations.checksum/cacerts}'; }
check "istiod's pods carry it (checksum/cacerts)" test "$(ann)" = "$want"
"$MESH" state show helm_release.c2.istiod -f spec.yaml >istiod2.txt 2>&1
check "c2 (IPv6): istiod's dual-stack values" sh -c 'grep -q ISTIO_DUAL_STACK istiod2.txt && grep -q PreferDualStack istiod2.txt'
expect_rc "a second plan is empty" 0 "$MESH" plan -f spec.yaml "${A[@]}" --detailed-exitcode

sed -i 's/common_name: Intermediate CA}/common_name: Intermediate CA 2}/' spec.yaml
expect_rc "a changed PKI setting plans changes" 2 "$MESH" plan -f spec.yaml "${A[@]}" --detailed-exitcode
cp "$T_DIR/last.out" rot.txt
check "plan: cacerts is updated" grep -q "# kubernetes_secret.c1.cacerts will be updated in-place" rot.txt
awk '/# helm_release.c1.istiod will be/,/^$/' rot.txt >istiod-plan.txt
check "plan: istiod is updated, and says why" \
    sh -c 'grep -q "will be updated in-place" istiod-plan.txt && grep -q "(it follows kubernetes_secret.c1.cacerts.data_sha256, which its update changes)" istiod-plan.txt && grep -q "checksum/cacerts.*known after apply" istiod-plan.txt'
expect_rc "apply the new intermediates" 0 "$MESH" apply -f spec.yaml "${A[@]}" --auto-approve
now=$(ann)
check "istiod's pod template changed with the CA bundle (its pods roll)" sh -c "[ -n '$now' ] && [ '$now' != '$want' ]"
"$MESH_HELM" --kubeconfig k1/kubeconfig list -n istio-system >helm1.txt 2>&1
check "helm: istiod upgraded (revision 2)" grep -qE "^istiod +	istio-system	2 " helm1.txt
expect_rc "then the plan is empty" 0 "$MESH" plan -f spec.yaml "${A[@]}" --detailed-exitcode

# --- existing.vpc_cni_egress: a patch of aws-node ---
P=(--target kubernetes_manifest.c2.aws-node-egress)
expect_rc "the patch fails while aws-node does not exist" 1 "$MESH" apply -f spec.yaml "${P[@]}" --auto-approve
check "...saying so" grep -q "DaemonSet kube-system/aws-node does not exist; \`patch: true\`" "$T_DIR/last.err"
"${K2[@]}" create namespace kube-system >/dev/null 2>&1
cat >aws-node.yaml <<'EOF'
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: aws-node, namespace: kube-system, labels: {k8s-app: aws-node}}
spec:
  selector: {matchLabels: {k8s-app: aws-node}}
  template:
    metadata: {labels: {k8s-app: aws-node}}
    spec:
      initContainers:
      - name: aws-vpc-cni-init
        image: amazon-k8s-cni-init:v1.19.0
        env: [{name: ENABLE_IPv6, value: "true"}]
      containers:
      - {name: aws-node, image: amazon-k8s-cni:v1.19.0}
EOF
"${K2[@]}" apply --server-side --field-manager eks -f aws-node.yaml >/dev/null 2>&1 || not_ok "aws-node made with kubectl"
expect_rc "the patch applies to EKS's aws-node" 0 "$MESH" apply -f spec.yaml "${P[@]}" --auto-approve
env_of() { "${K2[@]}" -n kube-system get ds aws-node -o json | $PY -c '
import json, sys
d = json.load(sys.stdin)
env = [c for c in d["spec"]["template"]["spec"]["initContainers"] if c["name"] == "aws-vpc-cni-init"][0].get("env", [])
print(" ".join("%s=%s" % (e["name"], e.get("value")) for e in env))
print("managed-by=%s" % d["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by"))'; }
env_of >env1.txt 2>&1
check "aws-vpc-cni-init gets ENABLE_V4_EGRESS=true next to EKS's env, no managed-by label" \
    sh -c 'grep -q "ENABLE_IPv6=true" env1.txt && grep -q "ENABLE_V4_EGRESS=true" env1.txt && grep -qx "managed-by=None" env1.txt'
expect_rc "a second plan of the patch is empty" 0 "$MESH" plan -f spec.yaml "${P[@]}" --detailed-exitcode
"${K2[@]}" -n kube-system patch ds aws-node --type=json \
    -p '[{"op": "replace", "path": "/spec/template/spec/initContainers/0/env/1/value", "value": "false"}]' >/dev/null 2>&1
env_of >env2.txt 2>&1
check "drift made (ENABLE_V4_EGRESS=false)" grep -q "ENABLE_V4_EGRESS=false" env2.txt
expect_rc "drift of the patched field is planned" 2 "$MESH" plan -f spec.yaml "${P[@]}" --detailed-exitcode
expect_rc "apply repairs it" 0 "$MESH" apply -f spec.yaml "${P[@]}" --auto-approve
env_of >env3.txt 2>&1
check "ENABLE_V4_EGRESS=true again" grep -q "ENABLE_V4_EGRESS=true" env3.txt
expect_rc "destroy the patch" 0 "$MESH" destroy -f spec.yaml "${P[@]}" --auto-approve
env_of >env4.txt 2>&1
check "aws-node is still there, without mesh's field, with EKS's" \
    sh -c 'grep -q "ENABLE_IPv6=true" env4.txt && ! grep -q "ENABLE_V4_EGRESS" env4.txt'
t_done
