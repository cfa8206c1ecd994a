# clusters_compile.sh: what `clusters:` compiles to, through ./mesh without AWS credentials: the AWS
# part of specs/reference.yaml (mesh:, network:, clusters:) in `mesh validate` and `mesh graph`
# (every address per cluster, the edges that order a build: control plane after its log group,
# KMS key and role; node groups after the private route table and the control plane; add-ons
# after the node groups; OIDC provider after the cluster; the controller's role after the
# provider), IPv4 against IPv6 (the IPv6 CNI policy, vpc-cni's ENABLE_V6_EGRESS / ENABLE_V4_EGRESS
# in `mesh plan --json`, which needs every driver linked), the whole reference (with pki and
# istio), existing clusters without a cloud, and a new cluster without network: as a spec error.
# Attribute by attribute: tests/unit/test_compile_clusters.c.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
t_setup
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
export AWS_EC2_METADATA_DISABLED=true

$PY - "$ROOT/specs/reference.yaml" > aws.yaml <<'PY'
import re, sys
src = open(sys.argv[1]).read()
block = lambda n: re.search(r'^%s:.*?(?=^\S)' % n, src, re.S | re.M).group(0)
# the AWS part only: the controller's IAM role, not its Helm release (nor the chart variable)
src = re.sub(r'(?m)^( +)load_balancer_controller:.*\n(?:\1 +.*\n)*', r'\1load_balancer_controller: {release: false}\n', src)
print(block("mesh") + block("network") + block("clusters"))
PY
check "the test spec holds the reference's two clusters" grep -q 'ip_family: ipv6' aws.yaml
expect_rc "validate the AWS part without credentials" 0 "$MESH" validate -f aws.yaml
check "it expands into 58 resources (21 network, 37 clusters: 17 each with its connection, the IPv6 CNI policy, 2 API rules)" grep -q "58 resources" "$T_DIR/last.out"
expect_rc "graph of the AWS part without credentials" 0 "$MESH" graph -f aws.yaml
cp "$T_DIR/last.out" graph.dot

node() { grep -qxF "  \"$1\";" graph.dot; }
edge() { grep -qxF "  \"$1\" -> \"$2\";" graph.dot; }
missing=""
for c in cluster-1 cluster-2; do
    for a in "aws_iam_role.$c.cluster" "aws_iam_role.$c.node" "aws_kms_key.$c.secrets" "aws_kms_alias.$c.secrets" \
        "aws_cloudwatch_log_group.$c.cluster" "aws_eks_cluster.$c" "aws_iam_openid_connect_provider.$c" \
        "aws_iam_policy.$c.lbc" "aws_iam_role.$c.lbc" "aws_launch_template.$c.default" \
        "aws_eks_node_group.$c.default" "aws_eks_addon.$c.vpc-cni" "aws_eks_addon.$c.coredns" \
        "aws_eks_addon.$c.kube-proxy" "aws_security_group_rule.$c.webhook" "aws_security_group_rule.$c.xds" \
        "aws_security_group.$c"; do
        node "$a" || missing="$missing $a"
    done
done
check "graph: every resource of both clusters${missing:+ (missing:$missing)}" test -z "$missing"
check "graph: the IPv6 CNI policy on the IPv6 cluster only" sh -c "grep -qxF '  \"aws_iam_policy.cluster-2.ipv6_cni\";' graph.dot && ! grep -q 'aws_iam_policy.cluster-1.ipv6_cni' graph.dot"
check "graph: the IPv6 CNI policy before cluster-2's node role" edge aws_iam_policy.cluster-2.ipv6_cni aws_iam_role.cluster-2.node
check "graph: nodes reach the other cluster's API (api_from, both ways)" sh -c "grep -qxF '  \"aws_security_group_rule.cluster-2.api_from_cluster-1\";' graph.dot && grep -qxF '  \"aws_security_group_rule.cluster-1.api_from_cluster-2\";' graph.dot"

bad=""
want() { edge "$1" "$2" || bad="$bad [$1 -> $2]"; }
for c in cluster-1 cluster-2; do
    want "aws_cloudwatch_log_group.$c.cluster" "aws_eks_cluster.$c"
    want "aws_kms_key.$c.secrets" "aws_eks_cluster.$c"
    want "aws_kms_key.$c.secrets" "aws_kms_alias.$c.secrets"
    want "aws_iam_role.$c.cluster" "aws_eks_cluster.$c"
    want "aws_subnet.private_a" "aws_eks_cluster.$c"
    want "aws_route_table.private" "aws_eks_node_group.$c.default"
    want "aws_eks_cluster.$c" "aws_eks_node_group.$c.default"
    want "aws_iam_role.$c.node" "aws_eks_node_group.$c.default"
    want "aws_launch_template.$c.default" "aws_eks_node_group.$c.default"
    want "aws_eks_cluster.$c" "aws_launch_template.$c.default"
    want "aws_security_group.$c" "aws_launch_template.$c.default"
    for a in vpc-cni coredns kube-proxy; do want "aws_eks_node_group.$c.default" "aws_eks_addon.$c.$a"; done
    want "aws_eks_cluster.$c" "aws_iam_openid_connect_provider.$c"
    want "aws_iam_openid_connect_provider.$c" "aws_iam_role.$c.lbc"
    want "aws_iam_policy.$c.lbc" "aws_iam_role.$c.lbc"
    want "aws_eks_cluster.$c" "aws_security_group_rule.$c.webhook"
    want "aws_security_group.$c" "aws_security_group_rule.$c.xds"
done
want "aws_eks_cluster.cluster-2" "aws_security_group_rule.cluster-2.api_from_cluster-1"
want "aws_security_group.cluster-1" "aws_security_group_rule.cluster-2.api_from_cluster-1"
check "graph: the edges that order the build${bad:+ (missing:$bad)}" test -z "$bad"
check "graph: no add-on before its node group (no edge the other way)" sh -c "! grep -q '\"aws_eks_addon[^\"]*\" -> \"aws_eks_node_group' graph.dot"
check "graph: the public subnets are not the clusters'" sh -c "! grep -q '\"aws_subnet.public_a\" -> \"aws_eks_cluster' graph.dot"

# --- plan --json: the attributes as apply would send them (needs every driver linked in) ---
types="aws_iam_role aws_iam_policy aws_iam_openid_connect_provider aws_kms_key aws_kms_alias aws_cloudwatch_log_group aws_eks_cluster aws_eks_node_group aws_eks_addon aws_launch_template"
"$MESH" resources >types.txt 2>&1
absent=""
for t in $types; do grep -q "^$t " types.txt || grep -qx "$t" types.txt || absent="$absent $t"; done
if [ -n "$absent" ]; then
    not_ok "plan --json of the clusters: drivers not linked in:$absent (merge h/iam and h/eks)"
else
    expect_rc "plan --json of the AWS part (no state, no credentials needed to plan creates)" 0 "$MESH" plan -f aws.yaml --json --refresh=false
    cp "$T_DIR/last.out" plan.json
    $PY - plan.json >plan_check.txt 2>&1 <<'PY'
import json, sys
planned = {}
for line in open(sys.argv[1]):
    if not line.strip(): continue
    ev = json.loads(line)
    if ev.get("type") == "plan_entry":
        planned[ev["address"]] = {ch["name"]: ch.get("new") for ch in ev.get("changes", [])}
def cfg(c): return json.loads(planned["aws_eks_addon.%s.vpc-cni" % c]["configuration_values"])
assert cfg("cluster-1") == {"init": {"env": {"ENABLE_V6_EGRESS": "true"}}}, cfg("cluster-1")
assert cfg("cluster-2") == {"init": {"env": {"ENABLE_V4_EGRESS": "true"}}}, cfg("cluster-2")
assert planned["aws_eks_cluster.cluster-2"]["ip_family"] == "ipv6"
print("ok")
PY
    check "plan: vpc-cni ENABLE_V6_EGRESS on the IPv4 cluster, ENABLE_V4_EGRESS on the IPv6 one$(grep -v '^ok$' plan_check.txt | tail -1 | sed 's/^/ — /')" grep -qx ok plan_check.txt
fi

# --- the whole reference and the cloud-free specs ---
expect_rc "validate specs/reference.yaml (pki, network, clusters, istio)" 0 "$MESH" validate -f "$ROOT/specs/reference.yaml"
expect_rc "the demo spec (existing clusters, PKI only) validates" 0 "$MESH" validate -f "$ROOT/specs/examples/demo.yaml"
expect_rc "graph of the demo spec" 0 "$MESH" graph -f "$ROOT/specs/examples/demo.yaml"
check "the demo spec makes no AWS resource" sh -c "! grep -q '\"aws_' '$T_DIR/last.out'"
check "the demo spec still makes an intermediate per existing cluster" grep -qxF '  "pki_intermediate_ca.cluster-2";' "$T_DIR/last.out"

cat > nonet.yaml <<'Y'
mesh: {name: m}
pki: {root: {algorithm: ecdsa-p256}}
clusters:
  old: {existing: {kubeconfig: ./kubeconfig}}
  new: {ip_family: ipv4}
Y
expect_rc "a new cluster without network: is a spec error" 1 "$MESH" validate -f nonet.yaml
check "the error is at the cluster's key and says the way out" grep -q 'nonet.yaml:5:3: error: `clusters.new` is an EKS cluster for mesh to make, so the spec needs a `network:` section.*existing: {kubeconfig: PATH}' "$T_DIR/last.err"
check "only that cluster is an error (existing: needs no network)" grep -q '^1 error in the spec' "$T_DIR/last.err"
t_done
