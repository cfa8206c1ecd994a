#!/usr/bin/env bash
# aws_clusters.sh: the AWS part of specs/reference.yaml (network: + both clusters:) applied by one
# `mesh apply` against the harness (moto_server behind the fault proxy, which serves EKS itself),
# then checked with the aws CLI: versions, IP families, subnets and their cluster tags, security
# groups and rules, add-on configuration, log retention, encryption, the load balancer
# controller's OIDC trust; an empty second plan; drift made with the CLI (node group size, an
# add-on's configuration, log retention, a removed rule) planned and repaired; fail-at-call and
# crash-at-call loops with clusters held in CREATING leaving 0 orphans; kill -9 during a cluster
# wait resumed by the next apply; Ctrl-C during a cluster wait rolled back; a version upgrade
# (IRREVERSIBLE, control plane before node groups) and a guarded ip_family replacement; every
# AWS action mesh called in the runs above (the proxy's counts around each run, so the CLI's own
# calls are left out) is allowed by `mesh resources --iam-policy` for the spec.
#
# The loops try a sample of the driver calls (every STRIDE-th, plus the first and the cluster
# ones); MESH_FULL_LOOPS=1 tries every call (about 20 minutes).
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
source "$ROOT/tests/harness/kube/kube.sh"
t_setup
aws_harness_suite || { not_ok "harness starts"; t_done; exit 1; }
# Each cluster's API server is a fake (tests/harness/kube) the EKS stand-in hands out as its
# endpoint: kubernetes_connection.<cluster> waits until it answers to mesh's EKS token.
trap 'kube_fake_stop "$T_DIR/k1"; kube_fake_stop "$T_DIR/k2"; t_cleanup' EXIT
for c in 1 2; do
    kube_fake_start "$T_DIR/k$c" "cluster-$c" --sts-url "$PROXY_URL" >/dev/null 2>&1 && kube_fake_eks "$T_DIR/k$c" "cluster-$c" ||
        not_ok "fake API server of cluster-$c"
done
export MESH_BACKOFF_SCALE=0.01 MESH_PROGRESS_EVERY=0.5
faults() { curl -s -X POST "$PROXY_URL/__faults" -d "$1" >/dev/null; }
eks_ctl() { curl -s -X POST "$PROXY_URL/__eks" -d "$1" >/dev/null; }
# The CLI talks to the proxy with faults off (checks must not see injected faults): EKS lives there.
awsq() { AWS_MAX_ATTEMPTS=1 aws --endpoint-url "$PROXY_URL" --output text "$@"; }
awsj() { AWS_MAX_ATTEMPTS=1 aws --endpoint-url "$PROXY_URL" --output json "$@"; }
jq_py() { $PY -c "import json,sys; d=json.load(open('$1')); print($2)"; }
# seen CMD...: runs CMD between two snapshots of the proxy's counts (stats-N-{0,1}.json); the
# actions ("svc Action") counted in between are mesh's, as nothing else talks to the proxy during
# a run but the fake API servers checking EKS tokens (sts GetCallerIdentity: no permission needed).
nseen=0
seen() {
    nseen=$((nseen + 1))
    curl -s "$PROXY_URL/__stats" > stats-$nseen-0.json
    "$@"
    curl -s "$PROXY_URL/__stats" > stats-$nseen-1.json
}

# The AWS part of the reference spec: mesh, network and clusters (no pki:, no istio:).
$PY - "$ROOT/specs/reference.yaml" > aws.yaml <<'PY'
import re, sys
src = open(sys.argv[1]).read()
block = lambda n: re.search(r'^%s:.*?(?=^\S)' % n, src, re.S | re.M).group(0)
# the AWS part only: the controller's IAM role, not its Helm release (nor the chart variable)
src = re.sub(r'(?m)^( +)load_balancer_controller:.*\n(?:\1 +.*\n)*', r'\1load_balancer_controller: {release: false}\n', src)
print(block("mesh") + block("network") + block("clusters"))
PY
check "the test spec holds the reference's clusters" grep -q 'ip_family: ipv6' aws.yaml

held() {  # every ID state holds, one per line, for orphans.py
    state_dump -f "${1:-aws.yaml}" 2>/dev/null | $PY -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        o = json.loads(line).get("outputs", {})
        for k in ("id", "arn", "name"):
            if isinstance(o.get(k), str): print(o[k])'
}
orphans_all() {  # leftover objects state does not hold
    held "$@" > held.txt
    $PY "$ROOT/tests/harness/aws/orphans.py" --moto "$MOTO_URL" --proxy "$PROXY_URL" --held held.txt --count 2>orphans.txt
}
nothing_left() {  # NAME: ok when no object of any type is left; else the leftovers are shown
    local n
    n=$(count_all)
    if [ "$n" = 0 ]; then ok "$1"; else not_ok "$1 ($n left)"; sed 's/^/    | /' left.txt | head -20; fi
}
count_all() { : > none.txt; $PY "$ROOT/tests/harness/aws/orphans.py" --moto "$MOTO_URL" --proxy "$PROXY_URL" --held none.txt --count 2>left.txt; }

# ---- apply: both clusters side by side ----
# 2 s in CREATING: a progress line every 0.5 s must show at least one with the cluster's status,
# also on a busy machine (1 s was once not enough for a note to be taken)
eks_ctl '{"hold": {"cluster": 2.0, "nodegroup": 0.5, "addon": 0.25}}'
seen expect_rc "apply the AWS part of the reference spec" 0 "$MESH" apply -f aws.yaml --auto-approve
cp "$T_DIR/last.out" apply1.txt
n_added=$(sed -n 's/.*Apply complete! Resources: \([0-9]*\) added.*/\1/p' apply1.txt)
check "the apply created the network and both clusters ($n_added resources)" test "${n_added:-0}" -gt 50
grep -qE '^AWS: [0-9]+ API calls' apply1.txt && ok "the summary reports API calls" || not_ok "AWS summary line"
! grep -qF "$AWS_SECRET_ACCESS_KEY" apply1.txt "$T_DIR/last.err" && ok "no secret in the output" || not_ok "secret leaked"
grep -qE 'aws_eks_cluster.cluster-[12]: Still creating.*cluster-[12] is CREATING' apply1.txt && ok "cluster waits show progress lines with the cluster's status" || not_ok "no progress line while clusters were CREATING"

for c in cluster-1 cluster-2; do awsj eks describe-cluster --name $c > $c.json; done
check "cluster-1 runs Kubernetes 1.31, IPv4" test "$(jq_py cluster-1.json 'd["cluster"]["version"], d["cluster"]["kubernetesNetworkConfig"]["ipFamily"]')" = "1.31 ipv4"
check "cluster-2 runs Kubernetes 1.31, IPv6" test "$(jq_py cluster-2.json 'd["cluster"]["version"], d["cluster"]["kubernetesNetworkConfig"]["ipFamily"]')" = "1.31 ipv6"
check "both clusters are ACTIVE" test "$(jq_py cluster-1.json 'd["cluster"]["status"]')$(jq_py cluster-2.json 'd["cluster"]["status"]')" = ACTIVEACTIVE
check "the clusters have distinct OIDC issuers" test "$(jq_py cluster-1.json 'd["cluster"]["identity"]["oidc"]["issuer"]')" != "$(jq_py cluster-2.json 'd["cluster"]["identity"]["oidc"]["issuer"]')"

vpc=$(awsq ec2 describe-vpcs --filters Name=tag:mesh:address,Values=aws_vpc.main --query 'Vpcs[0].VpcId')
awsj ec2 describe-subnets --filters "Name=vpc-id,Values=$vpc" > subnets.json
$PY - cluster-1.json subnets.json <<'PY' && ok "each cluster is in the three private subnets" || not_ok "cluster subnets"
import json, sys
c = json.load(open(sys.argv[1]))["cluster"]
subs = json.load(open(sys.argv[2]))["Subnets"]
tag = lambda s, k: {t["Key"]: t["Value"] for t in s.get("Tags", [])}.get(k)
private = sorted(s["SubnetId"] for s in subs if tag(s, "kubernetes.io/role/internal-elb") == "1")
assert len(private) == 3, private
assert sorted(c["resourcesVpcConfig"]["subnetIds"]) == private, (c["resourcesVpcConfig"]["subnetIds"], private)
PY
$PY - subnets.json <<'PY' && ok "every subnet is tagged kubernetes.io/cluster/<name>=shared for both clusters" || not_ok "subnet cluster tags"
import json, sys
for s in json.load(open(sys.argv[1]))["Subnets"]:
    t = {x["Key"]: x["Value"] for x in s.get("Tags", [])}
    assert t.get("kubernetes.io/cluster/cluster-1") == "shared" and t.get("kubernetes.io/cluster/cluster-2") == "shared", t
PY
$PY - cluster-1.json <<'PY' && ok "cluster-1: secrets encrypted with a KMS key, api/audit/authenticator logs" || not_ok "cluster-1 encryption/logging"
import json, sys
c = json.load(open(sys.argv[1]))["cluster"]
enc = c["encryptionConfig"][0]
assert enc["resources"] == ["secrets"] and enc["provider"]["keyArn"].startswith("arn:aws:kms:"), enc
on = sorted(t for l in c["logging"]["clusterLogging"] if l["enabled"] for t in l["types"])
assert on == ["api", "audit", "authenticator"], on
assert c["accessConfig"]["authenticationMode"] == "API_AND_CONFIG_MAP", c.get("accessConfig")
PY
key=$(jq_py cluster-1.json 'd["cluster"]["encryptionConfig"][0]["provider"]["keyArn"]')
check "the KMS key exists and is enabled" test "$(awsq kms describe-key --key-id "$key" --query KeyMetadata.KeyState)" = Enabled
check "the log group /aws/eks/cluster-1/cluster keeps 90 days" \
    test "$(awsq logs describe-log-groups --log-group-name-prefix /aws/eks/cluster-1/cluster --query 'logGroups[0].retentionInDays')" = 90

for c in cluster-1 cluster-2; do
    awsj eks describe-addon --cluster-name $c --addon-name vpc-cni > $c-cni.json
    awsj eks describe-nodegroup --cluster-name $c --nodegroup-name default > $c-ng.json
done
check "cluster-1's vpc-cni sets ENABLE_V6_EGRESS on its init container" \
    test "$(jq_py cluster-1-cni.json 'json.loads(d["addon"]["configurationValues"])["init"]["env"]["ENABLE_V6_EGRESS"]')" = true
check "cluster-2's vpc-cni sets ENABLE_V4_EGRESS on its init container" \
    test "$(jq_py cluster-2-cni.json 'json.loads(d["addon"]["configurationValues"])["init"]["env"]["ENABLE_V4_EGRESS"]')" = true
check "each cluster has coredns and kube-proxy add-ons" \
    test "$(awsq eks list-addons --cluster-name cluster-2 --query 'sort(addons)' | tr '\t' ' ')" = "coredns kube-proxy vpc-cni"
check "node groups: 1..3 nodes, 2 wanted, m5.large, through a launch template" \
    test "$(jq_py cluster-1-ng.json 'd["nodegroup"]["scalingConfig"]["minSize"], d["nodegroup"]["scalingConfig"]["maxSize"], d["nodegroup"]["scalingConfig"]["desiredSize"], d["nodegroup"]["instanceTypes"][0], bool(d["nodegroup"]["launchTemplate"]["id"])')" = "1 3 2 m5.large True"
lt=$(jq_py cluster-1-ng.json 'd["nodegroup"]["launchTemplate"]["id"]')
awsj ec2 describe-launch-template-versions --launch-template-id "$lt" --versions '$Latest' > lt.json
cl1_sg=$(jq_py cluster-1.json 'd["cluster"]["resourcesVpcConfig"]["clusterSecurityGroupId"]')
cl2_sg=$(jq_py cluster-2.json 'd["cluster"]["resourcesVpcConfig"]["clusterSecurityGroupId"]')
node1_sg=$(awsq ec2 describe-security-groups --filters Name=tag:mesh:address,Values=aws_security_group.cluster-1 --query 'SecurityGroups[0].GroupId')
node2_sg=$(awsq ec2 describe-security-groups --filters Name=tag:mesh:address,Values=aws_security_group.cluster-2 --query 'SecurityGroups[0].GroupId')
$PY - lt.json "$cl1_sg" "$node1_sg" <<'PY' && ok "the launch template: both security groups, IMDSv2 required, a root volume size" || not_ok "launch template"
import json, sys
d = json.load(open(sys.argv[1]))["LaunchTemplateVersions"][0]["LaunchTemplateData"]
sgs = set(d.get("SecurityGroupIds", []))
for ni in d.get("NetworkInterfaces", []): sgs |= set(ni.get("Groups", []))
assert {sys.argv[2], sys.argv[3]} <= sgs, (sgs, sys.argv[2:])
assert d["MetadataOptions"]["HttpTokens"] == "required", d.get("MetadataOptions")
assert d["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] > 0
PY
awsj ec2 describe-security-group-rules > rules.json
$PY - rules.json "$cl2_sg" "$node1_sg" "$cl1_sg" <<'PY' && ok "rules: cluster-1's nodes reach cluster-2's API on 443; cluster-1's control plane reaches its nodes on 15017 and 15012" || not_ok "security group rules"
import json, sys
rules = json.load(open(sys.argv[1]))["SecurityGroupRules"]
cl2, node1, cl1 = sys.argv[2:]
def has(group, port, src):
    return any(r["GroupId"] == group and not r["IsEgress"] and r.get("FromPort") == port and r.get("ToPort") == port
               and r.get("ReferencedGroupInfo", {}).get("GroupId") == src for r in rules)
assert has(cl2, 443, node1), "443 on cluster-2's cluster SG from cluster-1's nodes"
assert has(node1, 15017, cl1) and has(node1, 15012, cl1), "15017/15012 on cluster-1's node SG from its cluster SG"
PY
oidc1=$(jq_py cluster-1.json 'd["cluster"]["identity"]["oidc"]["issuer"]')
awsj iam list-roles > roles.json
lbc_role=$($PY -c 'import json; print([r["RoleName"] for r in json.load(open("roles.json"))["Roles"] if r["RoleName"].endswith("cluster-1-lbc")][0])' 2>/dev/null)
awsj iam get-role --role-name "${lbc_role:-none}" > lbc.json 2>/dev/null
$PY - lbc.json "$oidc1" <<'PY' && ok "the controller's role trusts only its service account through cluster-1's OIDC provider" || not_ok "LB controller trust"
import json, sys, urllib.parse
doc = json.load(open(sys.argv[1]))["Role"]["AssumeRolePolicyDocument"]
if isinstance(doc, str): doc = json.loads(urllib.parse.unquote(doc))
host = sys.argv[2].replace("https://", "")
st = doc["Statement"][0] if isinstance(doc["Statement"], list) else doc["Statement"]
assert st["Action"] == "sts:AssumeRoleWithWebIdentity", st
assert st["Principal"]["Federated"].endswith(":oidc-provider/" + host), st["Principal"]
cond = st["Condition"]["StringEquals"]
assert cond[host + ":sub"] == "system:serviceaccount:kube-system:aws-load-balancer-controller", cond
assert cond[host + ":aud"] == "sts.amazonaws.com", cond
PY
check "the OIDC providers exist for both clusters" test "$(awsq iam list-open-id-connect-providers --query 'length(OpenIDConnectProviderList)')" = 2

seen expect_rc "a second plan is empty" 0 "$MESH" plan -f aws.yaml --detailed-exitcode
echo "# [${SECONDS}s]"

# ---- mesh import: forget rows of cluster-2 (one per type, and rules in each ID form), adopt them ----
# again by the IDs docs/migration.md gives (a rule by Terraform's SGID_TYPE_PROTOCOL_FROM_TO_SOURCE,
# "all" ports 0_0 included, or by its sgr- IDs); then the plan is empty, the same objects are held,
# and nothing is orphaned. One row of a type per form keeps it to 11 imports (seconds under ASan).
TYPES='aws_iam_policy aws_iam_role aws_kms_alias aws_cloudwatch_log_group aws_eks_cluster aws_iam_openid_connect_provider aws_eks_node_group aws_eks_addon aws_security_group_rule'
state_dump -f aws.yaml > before-import.json
$PY - before-import.json "$TYPES" > import-ids.txt <<'PY'
import json, sys
order = sys.argv[2].split()
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
pick = {"aws_iam_policy.cluster-2.ipv6_cni", "aws_iam_role.cluster-2.node", "aws_kms_alias.cluster-2.secrets",
        "aws_cloudwatch_log_group.cluster-2.cluster", "aws_eks_cluster.cluster-2", "aws_iam_openid_connect_provider.cluster-2",
        "aws_eks_node_group.cluster-2.default", "aws_eks_addon.cluster-2.vpc-cni", "aws_security_group_rule.cluster-2.webhook",
        "aws_security_group_rule.cluster-2.egress_ipv4", "aws_security_group_rule.cluster-2.egress_ipv6"}
rows = sorted((r for r in rows if r["address"] in pick),
              key=lambda r: order.index(r["resource_type"]))
for r in rows:
    t, a, o = r["resource_type"], r["attributes"], r["outputs"]
    if t in ("aws_eks_node_group", "aws_eks_addon"): i = a["cluster_name"] + ":" + a["name"]
    elif t in ("aws_iam_policy", "aws_iam_openid_connect_provider"): i = o["arn"]
    elif r["address"].endswith("egress_ipv6"): i = o["id"]
    elif t == "aws_security_group_rule":  # Terraform's form; "all" and 0_0 for every protocol, as it writes them
        src = a.get("source_security_group_id") or "_".join(a.get("cidr_blocks", []) + a.get("ipv6_cidr_blocks", []))
        p = a.get("protocol", "-1")
        i = "_".join([a["security_group_id"], a["type"], "all" if p == "-1" else p, str(a.get("from_port", 0)), str(a.get("to_port", 0)), src])
    else: i = a["name"]
    print(r["address"], i, o["id"])
PY
check "11 rows of the 9 types to import" test "$(wc -l < import-ids.txt)/$(cut -d' ' -f1 import-ids.txt | cut -d. -f1 | sort -u | wc -l)" = 11/9
expect_rc "import: state rm the rows" 0 "$MESH" state rm -f aws.yaml $(cut -d' ' -f1 import-ids.txt)
expect_rc "import: a malformed node group ID is refused" 1 "$MESH" import -f aws.yaml aws_eks_node_group.cluster-2.default cluster-2
grep -q 'import ID "cluster-2" is not of the form CLUSTER:NODEGROUP' "$T_DIR/last.err" && ok "the refusal gives the expected form" || not_ok "malformed ID message: $(cat "$T_DIR/last.err")"
expect_rc "import: a malformed rule ID is refused" 1 "$MESH" import -f aws.yaml aws_security_group_rule.cluster-2.webhook sg-1_sideways_tcp_1_1_sg-2
grep -q 'is not of the form sgr-ID.*SGID_TYPE_PROTOCOL_FROM_TO_SOURCE' "$T_DIR/last.err" && ok "the rule refusal gives both forms" || not_ok "malformed rule ID message: $(cat "$T_DIR/last.err")"
expect_rc "import: a role that does not exist is refused" 1 "$MESH" import -f aws.yaml aws_iam_role.cluster-2.node no-such-role
grep -q 'no aws_iam_role with ID no-such-role exists' "$T_DIR/last.err" && ok "the refusal names the missing ID" || not_ok "missing ID message: $(cat "$T_DIR/last.err")"
expect_rc "import: an add-on that does not exist is refused" 1 "$MESH" import -f aws.yaml aws_eks_addon.cluster-2.vpc-cni cluster-2:no-such-addon
check "the refused imports wrote nothing to state" sh -c "! '$MESH' state list -f aws.yaml | grep -qE 'node_group.cluster-2|rule.cluster-2.webhook|role.cluster-2.node|addon.cluster-2.vpc-cni'"
import_all() {
    local a i bad=0
    while read -r a i _; do "$MESH" import -f aws.yaml "$a" "$i" >>import.txt 2>&1 || { bad=1; echo "# import $a $i failed"; tail -2 import.txt; }; done < import-ids.txt
    return $bad
}
# Rules made by another tool carry no mesh tags: strip them, so that the import must tag the rules
# or their groups would count them as foreign_rules and revoke them.
untag() {
    local a i id r bad=0
    while read -r a i id; do
        case $a in aws_security_group_rule.*) ;; *) continue ;; esac
        for r in ${id//,/ }; do $PY "$ROOT/tests/harness/aws/ec2q.py" "$MOTO_URL" call DeleteTags ResourceId.1="$r" Tag.1.Key=mesh:address >/dev/null || bad=1; done
    done < import-ids.txt
    return $bad
}
expect_rc "import: the rules' mesh tags stripped (as if another tool made them)" 0 untag
seen expect_rc "import: each row by its documented ID" 0 import_all
state_dump -f aws.yaml > after-import.json
$PY - import-ids.txt after-import.json <<'PY' && ok "import adopted the very objects state held (same ids)" || not_ok "imported ids differ"
import json, sys
want = {l.split()[0]: l.split()[2] for l in open(sys.argv[1]) if l.strip()}
have = {r["address"]: r["outputs"].get("id") for r in map(json.loads, filter(str.strip, open(sys.argv[2])))}
bad = {a: (i, have.get(a)) for a, i in want.items() if have.get(a) != i}
assert not bad, bad
PY
expect_rc "after the imports the plan is empty" 0 "$MESH" plan -f aws.yaml --detailed-exitcode
check "after the imports nothing is orphaned" test "$(orphans_all)" = 0
echo "# [${SECONDS}s] import done"

# ---- drift made with the CLI is planned and repaired ----
awsq eks update-nodegroup-config --cluster-name cluster-1 --nodegroup-name default --scaling-config minSize=1,maxSize=3,desiredSize=3 >/dev/null
awsq eks update-addon --cluster-name cluster-2 --addon-name vpc-cni --configuration-values '{}' --resolve-conflicts OVERWRITE >/dev/null
awsq logs put-retention-policy --log-group-name /aws/eks/cluster-2/cluster --retention-in-days 7
awsq ec2 revoke-security-group-ingress --group-id "$node1_sg" --ip-permissions "IpProtocol=tcp,FromPort=15017,ToPort=15017,UserIdGroupPairs=[{GroupId=$cl1_sg}]" >/dev/null
sleep 1  # the stand-in's UPDATING hold
seen expect_rc "drift: the plan shows changes" 2 "$MESH" plan -f aws.yaml --detailed-exitcode
cp "$T_DIR/last.out" drift.txt
for a in 'aws_eks_node_group.cluster-1.default' 'aws_eks_addon.cluster-2.vpc-cni' 'aws_cloudwatch_log_group.cluster-2.cluster'; do
    grep -q "$a" drift.txt && ok "drift planned: $a" || not_ok "drift not planned: $a"
done
grep -q 'aws_security_group_rule\.cluster-1\.' drift.txt && ok "drift planned: the removed 15017 rule" || not_ok "drift not planned: removed rule"
seen expect_rc "drift: apply repairs it" 0 "$MESH" apply -f aws.yaml --auto-approve
check "drift repaired: 2 nodes wanted again" test "$(awsq eks describe-nodegroup --cluster-name cluster-1 --nodegroup-name default --query nodegroup.scalingConfig.desiredSize)" = 2
check "drift repaired: retention back to 90" test "$(awsq logs describe-log-groups --log-group-name-prefix /aws/eks/cluster-2/cluster --query 'logGroups[0].retentionInDays')" = 90
check "drift repaired: ENABLE_V4_EGRESS back" grep -q ENABLE_V4_EGRESS <(awsq eks describe-addon --cluster-name cluster-2 --addon-name vpc-cni --query addon.configurationValues)
expect_rc "drift: then the plan is empty" 0 "$MESH" plan -f aws.yaml --detailed-exitcode
echo "# [${SECONDS}s]"

# ---- an ip_family change is a guarded replacement ----
sed 's/ip_family: ipv4/ip_family: ipv6/' aws.yaml > fam.yaml
expect_rc "ip_family change: the plan shows a replacement" 2 "$MESH" plan -f fam.yaml --detailed-exitcode
grep -q 'aws_eks_cluster.cluster-1 must be replaced' "$T_DIR/last.out" && ok "ip_family change: cluster-1 must be replaced" || not_ok "ip_family plan: $(grep -n cluster-1 "$T_DIR/last.out" | head -3)"
expect_rc "ip_family change: apply refuses the replacement without --allow-replace" 1 "$MESH" apply -f fam.yaml --auto-approve
grep -q 'allow-replace' "$T_DIR/last.out" "$T_DIR/last.err" && ok "the refusal names --allow-replace" || not_ok "refusal message"
check "ip_family refusal: cluster-1 untouched" test "$(awsq eks describe-cluster --name cluster-1 --query cluster.kubernetesNetworkConfig.ipFamily)" = ipv4
seen expect_rc "destroy everything" 0 "$MESH" destroy -f aws.yaml --auto-approve
nothing_left "destroy leaves nothing of any type"
echo "# [${SECONDS}s]"

# ---- kill -9 while waiting on a CREATING cluster (at 1.30): the next apply resumes the wait ----
sed 's/version: "1.31"/version: "1.30"/' aws.yaml > v130.yaml
eks_ctl '{"hold": {"cluster": 8.0, "nodegroup": 0.2, "addon": 0.1}}'
"$MESH" apply -f v130.yaml --auto-approve >k9.txt 2>&1 &
pid=$!
seen=0
cluster_arns() { state_dump -f v130.yaml | $PY -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
print(sum(1 for r in rows if r["address"].startswith("aws_eks_cluster.") and ":cluster/" in (r.get("outputs", {}).get("arn") or "")))'; }
# "Still creating" is printed on elapsed time, possibly while CreateCluster is still in flight on
# a loaded machine: wait for the lines, then for the two IDs to be committed (the wait starts only
# after that), still well inside the 8 s hold.
for i in $(seq 1 900); do
    grep -q 'aws_eks_cluster.cluster-1: Still creating' k9.txt && grep -q 'aws_eks_cluster.cluster-2: Still creating' k9.txt &&
        [ "$(cluster_arns 2>/dev/null)" = 2 ] && { seen=1; break; }
    sleep 0.1
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
check "kill -9 came while both clusters were CREATING" test $seen = 1
check "kill -9 came before either cluster was ACTIVE" sh -c "! grep -q 'aws_eks_cluster.cluster-[12]: Creation complete' k9.txt"
arns=$(cluster_arns)
check "kill -9 during the cluster wait: both cluster ARNs are in state ($arns)" test "$arns" = 2
seen expect_rc "the next apply (--resume) converges" 0 "$MESH" apply -f v130.yaml --auto-approve --resume
grep -q 'aws_eks_cluster.cluster-1: waiting for the object the cut-off run created' "$T_DIR/last.out" && ok "it resumed waiting" || not_ok "no resumed wait"
check "no second cluster was created (2 clusters)" test "$(awsq eks list-clusters --query 'length(clusters)')" = 2
check "0 orphans after the resumed run" test "$(orphans_all v130.yaml)" = 0
expect_rc "then the plan is empty" 0 "$MESH" plan -f v130.yaml --detailed-exitcode
echo "# [${SECONDS}s]"

# ---- a version upgrade 1.30 -> 1.31 is irreversible, control plane first ----
eks_ctl '{"hold": {"cluster": 0.5, "nodegroup": 0.3, "addon": 0.1}}'
expect_rc "upgrade 1.30 -> 1.31: plan shows changes" 2 "$MESH" plan -f aws.yaml --detailed-exitcode
grep -q 'IRREVERSIBLE' "$T_DIR/last.out" && ok "the version change is marked IRREVERSIBLE" || not_ok "no IRREVERSIBLE mark"
grep -qE 'aws_eks_node_group.cluster-1.default' "$T_DIR/last.out" && ok "the node groups' version changes too" || not_ok "node group version not planned"
seen expect_rc "upgrade: apply" 0 "$MESH" apply -f aws.yaml --auto-approve
$PY - "$T_DIR/last.out" <<'PY' && ok "upgrade ran control plane, then node groups" || not_ok "upgrade order"
import sys
lines = open(sys.argv[1]).read().splitlines()
def at(pat):
    for i, l in enumerate(lines):
        if pat in l: return i
    raise SystemExit("missing: " + pat)
for c in ("cluster-1", "cluster-2"):
    assert at("aws_eks_cluster.%s: Modifications complete" % c) < at("aws_eks_node_group.%s.default: Modifying" % c), c
PY
check "both clusters run 1.31" test "$(awsq eks describe-cluster --name cluster-1 --query cluster.version)$(awsq eks describe-cluster --name cluster-2 --query cluster.version)" = 1.311.31
check "both node groups run 1.31" test "$(awsq eks describe-nodegroup --cluster-name cluster-1 --nodegroup-name default --query nodegroup.version)" = 1.31
expect_rc "after the upgrade the plan is empty" 0 "$MESH" plan -f aws.yaml --detailed-exitcode
seen expect_rc "destroy" 0 "$MESH" destroy -f aws.yaml --auto-approve
nothing_left "destroy leaves nothing"
echo "# [${SECONDS}s]"

# ---- Ctrl-C during a cluster wait: in-flight calls finish, the run rolls back ----
eks_ctl '{"hold": {"cluster": 6.0, "nodegroup": 0.2, "addon": 0.1}}'
"$MESH" apply -f aws.yaml --auto-approve >int.txt 2>&1 &
pid=$!
for i in $(seq 1 200); do grep -q 'aws_eks_cluster.cluster-1: Still creating' int.txt && break; sleep 0.1; done
kill -INT $pid; wait $pid; rc=$?
check "Ctrl-C: apply exits non-zero" test $rc != 0
grep -qi 'interrupt' int.txt && ok "Ctrl-C: it says it was interrupted" || not_ok "Ctrl-C message"
grep -qi 'roll' int.txt && ok "Ctrl-C: it says it rolled back" || not_ok "Ctrl-C rollback message"
check "Ctrl-C: no cluster is left (deleted, DELETING waited out)" test "$(awsq eks list-clusters --query 'length(clusters)')" = 0
nothing_left "Ctrl-C: nothing at all is left"
echo "# [${SECONDS}s]"

# ---- fail at a call / crash at a call, clusters held in CREATING: 0 orphans each time ----
eks_ctl '{"hold": {"cluster": 0.6, "nodegroup": 0.3, "addon": 0.15}}'
# Every 40th call for failures and for crashes (each crash costs an apply and a destroy more),
# offset so the two loops try different calls; MESH_FULL_LOOPS=1: every call, both. The reliability
# campaign (tests/reliability/faults.sh, kill9.sh) does the same over the whole reference deployment.
stride=${MESH_FULL_LOOPS:+1}
picks=$(seq 1 "${stride:-40}" 400)
crash_picks=$(seq "${stride:-5}" "${stride:-40}" 400)
echo "# fail loop: calls 1, 1+${stride:-40}, ...; crash loop: ${stride:-5}, ${stride:-5}+${stride:-40}, ... until an apply gets past the last call (MESH_FULL_LOOPS=1: every call)"
bad=0 tried=0
for n in $picks; do
    MESH_FAULTS="fail:call=$n" "$MESH" apply -f aws.yaml --auto-approve >out.txt 2>err.txt && break
    tried=$((tried + 1))
    grep -q 'injected fault' err.txt out.txt || { bad=1; echo "# N=$n: not the injected fault"; tail -3 err.txt; }
    o=$(orphans_all)
    [ "$o" = 0 ] || { bad=1; echo "# fail N=$n: $o orphans"; cat orphans.txt; }
done
check "fail at call N ($tried points): each rollback left 0 orphans" test $bad = 0 -a $tried -ge 2
"$MESH" destroy -f aws.yaml --auto-approve >/dev/null 2>&1
bad=0 tried=0
for n in $crash_picks; do
    MESH_FAULTS="crash:call=$n" "$MESH" apply -f aws.yaml --auto-approve >out.txt 2>&1 && break
    tried=$((tried + 1))
    "$MESH" apply -f aws.yaml --auto-approve >out2.txt 2>&1 || { bad=1; echo "# crash N=$n: the apply after it failed"; tail -3 out2.txt; }
    o=$(orphans_all)
    [ "$o" = 0 ] || { bad=1; echo "# crash N=$n: $o orphans"; cat orphans.txt; }
    "$MESH" destroy -f aws.yaml --auto-approve >/dev/null 2>&1 || { bad=1; echo "# crash N=$n: destroy failed"; }
done
check "crash at call N ($tried points): the next apply converged with 0 orphans" test $bad = 0 -a $tried -ge 2
expect_rc "after the loops, destroy" 0 "$MESH" destroy -f aws.yaml --auto-approve
nothing_left "after the loops nothing is left"

# ---- the IAM policy mesh prints allows every action it called above ----
expect_rc "mesh resources --iam-policy -f aws.yaml" 0 "$MESH" resources --iam-policy -f aws.yaml
cp "$T_DIR/last.out" policy.json
$PY - policy.json $(seq 1 $nseen) <<'PY' && ok "the printed policy allows every AWS action mesh called (apply, plans, drift repair, resume, upgrade, destroy)" || not_ok "IAM policy misses calls"
import json, sys
doc = json.load(open(sys.argv[1]))
allowed = {a for st in doc["Statement"] for a in st["Action"]}
called = set()
for n in sys.argv[2:]:
    a, b = (json.load(open("stats-%s-%d.json" % (n, k)))["by_action"] for k in (0, 1))
    called |= {key.replace(" ", ":", 1) for key, count in b.items() if count > a.get(key, 0)}
called.discard("sts:GetCallerIdentity")  # needs no permission
missing = sorted(called - allowed)
assert not missing, "called but not allowed: %s" % missing
for must in ("eks:CreateCluster", "eks:UpdateClusterVersion", "eks:UpdateNodegroupConfig", "iam:CreateRole",
             "ec2:CreateVpc", "kms:CreateKey", "logs:PutRetentionPolicy", "ec2:DeleteVpc"):
    assert must in called, "the runs did not call %s: the check would prove little" % must
print("# %d distinct actions called, all among the policy's %d" % (len(called), len(allowed)))
PY
t_done
