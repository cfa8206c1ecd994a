#!/usr/bin/env bash
# aws_eks.sh: the EKS drivers (aws_eks_cluster, aws_eks_node_group, aws_eks_addon,
# aws_launch_template) as raw resources against moto_server behind the harness proxy (its EKS
# stand-in where it has one): a VPC, subnets and a security group made by mesh, IAM roles made
# with the aws CLI; cluster + launch template + node group + add-on applied and checked with the
# aws CLI; a second plan empty; node group desired-size drift planned and repaired; add-on
# configuration compared as canonical JSON; a version upgrade planned IRREVERSIBLE and applied; an
# ip_family change planned as a guarded replacement refused without --allow-replace; kill -9
# while a cluster is CREATING leaves its ARN in state and the next apply resumes the wait instead
# of creating another; a cluster kept unready by Ctrl-C with --no-rollback is waited for by the next
# apply; destroy leaves nothing.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
t_setup
aws_harness_suite || { not_ok "harness starts"; t_done; exit 1; }
# EKS's wait limits (1800 s...) scaled to 18 s; polls every few ms.
export MESH_BACKOFF_SCALE=0.01 MESH_PROGRESS_EVERY=1
awsq() { AWS_MAX_ATTEMPTS=1 aws --endpoint-url "$PROXY_URL" --output text "$@"; }
awsj() { AWS_MAX_ATTEMPTS=1 aws --endpoint-url "$PROXY_URL" --output json "$@"; }
# The harness's EKS stand-in has add-ons, updates and held states; plain moto has none of them.
STANDIN=0
curl -sf "$PROXY_URL/__eks" >/dev/null 2>&1 && STANDIN=1
# eksq EXPR: EXPR over d, the stand-in's objects (GET /__eks: a curl, where the aws CLI takes
# seconds to start); without the stand-in, over the aws CLI's answers.
eksq() {
    if [ "$STANDIN" = 1 ]; then curl -s "$PROXY_URL/__eks"
    else
        { echo '{"clusters": ['; for n in $(awsq eks list-clusters --query clusters); do
            awsj eks describe-cluster --name "$n" --query cluster; echo ,; done; echo '{}], "nodegroups": ['
          for n in $(awsq eks list-nodegroups --cluster-name cluster-1 --query nodegroups 2>/dev/null); do
            awsj eks describe-nodegroup --cluster-name cluster-1 --nodegroup-name "$n" --query nodegroup; echo ,; done
          echo '{}]}'; }
    fi | $PY -c 'import json, sys; d = json.load(sys.stdin)
for k in ("clusters", "nodegroups"): d[k] = [o for o in d.get(k, []) if o]
print('"$1"')'
}
[ "$STANDIN" = 1 ] || echo "# no EKS stand-in in the harness: add-on, version-update and CREATING cases are not run"

trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
cluster_role=$(awsq iam create-role --role-name eks-test-cluster --assume-role-policy-document "$trust" --query Role.Arn)
node_role=$(awsq iam create-role --role-name eks-test-node --assume-role-policy-document "${trust/eks/ec2}" --query Role.Arn)
for p in AmazonEKSWorkerNodePolicy AmazonEC2ContainerRegistryReadOnly AmazonEKS_CNI_Policy; do
    awsq iam attach-role-policy --role-name eks-test-node --policy-arn "arn:aws:iam::aws:policy/$p"
done
check "IAM roles made with the aws CLI" test -n "$cluster_role" -a -n "$node_role"

# spec VERSION IP_FAMILY DESIRED CONFIG
spec() {
    cat > eks.yaml <<YAML
mesh: {name: eks-test, region: us-west-2}
resources:
  aws_vpc.main:
    cidr_block: 10.7.0.0/16
  aws_subnet.a:
    vpc_id: \${aws_vpc.main.id}
    cidr_block: 10.7.0.0/20
    availability_zone: us-west-2a
  aws_subnet.b:
    vpc_id: \${aws_vpc.main.id}
    cidr_block: 10.7.16.0/20
    availability_zone: us-west-2b
  aws_security_group.nodes:
    vpc_id: \${aws_vpc.main.id}
    name: eks-test-nodes
    description: nodes
  aws_eks_cluster.c1:
    name: cluster-1
    version: "$1"
    role_arn: $cluster_role
    ip_family: $2
    subnet_ids: ["\${aws_subnet.a.id}", "\${aws_subnet.b.id}"]
    endpoint_public_access: true
    endpoint_private_access: true
    enabled_log_types: ${LOGS:-[api, audit, authenticator]}
    authentication_mode: API_AND_CONFIG_MAP
    tags: {team: mesh}
  aws_launch_template.ng:
    name: cluster-1-ng
    security_group_ids: ["\${aws_security_group.nodes.id}"]
    disk_size: ${DISK:-40}
    http_tokens: required
  aws_eks_node_group.ng:
    cluster_name: \${aws_eks_cluster.c1.name}
    name: ng
    node_role_arn: $node_role
    subnet_ids: ["\${aws_subnet.a.id}", "\${aws_subnet.b.id}"]
    instance_types: [m5.large]
    min_size: 1
    max_size: 4
    desired_size: $3
    labels: {role: general}
    launch_template_id: \${aws_launch_template.ng.id}
    launch_template_version: \${aws_launch_template.ng.latest_version}
    tags: {team: mesh}
YAML
    if [ "$STANDIN" = 1 ]; then cat >> eks.yaml <<YAML
  aws_eks_addon.cni:
    cluster_name: \${aws_eks_cluster.c1.name}
    name: vpc-cni
    configuration_values: '$4'
    depends_on: [aws_eks_node_group.ng]
YAML
    fi
}

CFG='{"init": {"env": {"ENABLE_V6_EGRESS": "true"}}}'
spec 1.30 ipv4 2 "$CFG"
# IAM eventual consistency: EKS cannot assume a role made fewer than 18 calls ago
[ "$STANDIN" = 1 ] && curl -s -X POST "$PROXY_URL/__eks" -d '{"iam_delay_calls": 18}' >/dev/null
expect_rc "apply a cluster, launch template, node group (and add-on)" 0 "$MESH" apply -f eks.yaml --auto-approve
if [ "$STANDIN" = 1 ]; then
    n=$(curl -s "$PROXY_URL/__stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["by_action"].get("eks CreateCluster", 0))')
    check "CreateCluster answered InvalidParameterException (role too new) was retried ($n calls), one cluster made" \
        test "$n" -gt 1 -a "$(eksq 'len(d["clusters"])')" = 1
    curl -s -X POST "$PROXY_URL/__eks" -d '{"iam_delay_calls": 0}' >/dev/null
fi
awsj eks describe-cluster --name cluster-1 > cl.json
awsj eks describe-nodegroup --cluster-name cluster-1 --nodegroup-name ng > ng.json
lt=$(awsq ec2 describe-launch-templates --launch-template-names cluster-1-ng --query 'LaunchTemplates[0].LaunchTemplateId')
awsj ec2 describe-launch-template-versions --launch-template-id "$lt" --versions '$Default' > ltv.json
$PY - "$cluster_role" <<'PY'
import json, sys
cl = json.load(open("cl.json"))["cluster"]
ng = json.load(open("ng.json"))["nodegroup"]
lt = json.load(open("ltv.json"))["LaunchTemplateVersions"][0]["LaunchTemplateData"]
def check(name, cond):
    print(("ok - " if cond else "not ok - ") + name)
vpc = cl["resourcesVpcConfig"]
check("cluster: version 1.30, ipv4, ACTIVE, its role", cl["version"] == "1.30" and cl["status"] == "ACTIVE"
      and cl["roleArn"] == sys.argv[1] and cl["kubernetesNetworkConfig"]["ipFamily"] == "ipv4")
check("cluster: 2 subnets, public and private endpoint", len(vpc["subnetIds"]) == 2 and vpc["endpointPublicAccess"]
      and vpc["endpointPrivateAccess"])
logs = [t for x in cl["logging"]["clusterLogging"] if x["enabled"] for t in x["types"]]
check("cluster: api, audit, authenticator logs", sorted(logs) == ["api", "audit", "authenticator"])
t = cl["tags"]
check("cluster: user tags and mesh:address/mesh:run", t.get("team") == "mesh" and t.get("mesh:address") == "aws_eks_cluster.c1"
      and t.get("mesh:run"))
check("node group: scaling 1/4/2, labels, instance type, launch template by id",
      ng["scalingConfig"] == {"minSize": 1, "maxSize": 4, "desiredSize": 2} and ng["labels"] == {"role": "general"}
      and ng["instanceTypes"] == ["m5.large"] and ng["launchTemplate"]["id"].startswith("lt-"))
check("launch template: the security group, 40 GiB gp3, IMDSv2", len(lt["SecurityGroupIds"]) == 1
      and lt["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == 40 and lt["MetadataOptions"]["HttpTokens"] == "required")
PY
grep -q '^AWS: ' "$T_DIR/last.out" && ok "the summary reports AWS calls" || not_ok "the summary reports AWS calls"
"$MESH" state list --json -f eks.yaml > st.json
$PY - <<'PY' && ok "state: cluster id is ARN#createdAt; endpoint, CA, OIDC issuer (host without https://)" || not_ok "cluster outputs in state"
import json, sys
for line in open("st.json"):
    ev = json.loads(line)
    if ev.get("address") == "aws_eks_cluster.c1":
        o = ev["outputs"]
        assert o["id"].startswith(o["arn"] + "#"), o
        assert o["endpoint"].startswith("https://") and o["certificate_authority_data"], o
        assert o["oidc_issuer"] == "https://" + o["oidc_issuer_host"], o
        sys.exit(0)
sys.exit(1)
PY

expect_rc "a second plan is empty" 0 "$MESH" plan -f eks.yaml --detailed-exitcode

# ---- drift: desired size changed outside mesh ----
awsq eks update-nodegroup-config --cluster-name cluster-1 --nodegroup-name ng --scaling-config desiredSize=3 >/dev/null
expect_rc "desired-size drift is planned" 2 "$MESH" plan -f eks.yaml --detailed-exitcode
grep -q 'desired_size' "$T_DIR/last.out" && ok "the plan names desired_size" || not_ok "the plan names desired_size: $(cat "$T_DIR/last.out")"
expect_rc "apply repairs the drift" 0 "$MESH" apply -f eks.yaml --auto-approve
check "the node group wants 2 nodes again" test "$(eksq 'd["nodegroups"][0]["scalingConfig"]["desiredSize"]')" = 2
expect_rc "then the plan is empty" 0 "$MESH" plan -f eks.yaml --detailed-exitcode

# ---- desired size changed in the spec: an in-place update ----
# ---- desired size and control-plane logs changed in the spec: in-place updates ----
LOGS="[api]" spec 1.30 ipv4 3 "$CFG"
expect_rc "desired size 3 and logs [api] apply in place" 0 "$MESH" apply -f eks.yaml --auto-approve
grep -q '2 changed' "$T_DIR/last.out" && ok "two resources changed" || not_ok "two resources changed: $(grep -i complete "$T_DIR/last.out")"
check "the node group wants 3 nodes" test "$(eksq 'd["nodegroups"][0]["scalingConfig"]["desiredSize"]')" = 3
check "the cluster logs only api" test "$(eksq 'sorted(t for x in d["clusters"][0]["logging"]["clusterLogging"] if x["enabled"] for t in x["types"])')" = "['api']"
expect_rc "then the plan is empty" 0 "$MESH" plan -f eks.yaml --detailed-exitcode
spec 1.30 ipv4 3 "$CFG"
expect_rc "logs back to api, audit, authenticator" 0 "$MESH" apply -f eks.yaml --auto-approve

if [ "$STANDIN" = 1 ]; then
    # ---- add-on: configuration compared as canonical JSON, drift repaired ----
    check "add-on vpc-cni ACTIVE with ENABLE_V6_EGRESS=true on init" test "$(eksq 'd["addons"][0]["status"], json.loads(d["addons"][0]["configurationValues"])["init"]["env"]["ENABLE_V6_EGRESS"]')" = "ACTIVE true"
    # EKS holding the same document in another form (compact, keys reordered) is no drift
    awsq eks update-addon --cluster-name cluster-1 --addon-name vpc-cni \
        --configuration-values '{"init":{"env":{"ENABLE_V6_EGRESS":"true"}}}' >/dev/null
    sleep 0.3
    expect_rc "the same configuration in another form is no drift" 0 "$MESH" plan -f eks.yaml --detailed-exitcode
    awsq eks update-addon --cluster-name cluster-1 --addon-name vpc-cni \
        --configuration-values '{"init":{"env":{"ENABLE_V6_EGRESS":"false"}}}' >/dev/null
    sleep 0.3
    expect_rc "add-on configuration drift is planned" 2 "$MESH" plan -f eks.yaml --detailed-exitcode
    grep -q 'configuration_values.*changed outside mesh' "$T_DIR/last.out" && ok "the plan names configuration_values as drift" || not_ok "configuration_values drift: $(cat "$T_DIR/last.out")"
    expect_rc "apply repairs the add-on" 0 "$MESH" apply -f eks.yaml --auto-approve
    check "the add-on has ENABLE_V6_EGRESS=true again" test "$(eksq 'json.loads(d["addons"][0]["configurationValues"])["init"]["env"]["ENABLE_V6_EGRESS"]')" = true

    # ---- deleted outside mesh and still DELETING: gone for state only once EKS forgets it ----
    # (a destroy cut off after DeleteCluster leaves its cluster so; treated as gone at once, the
    # next destroy ended with the cluster still there, and a plan would create a name still taken)
    curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {"addon.delete": 2}}' >/dev/null
    awsq eks delete-addon --cluster-name cluster-1 --addon-name vpc-cni >/dev/null
    check "the add-on is DELETING" test "$(eksq 'd["addons"][0]["status"]')" = DELETING
    expect_rc "the plan plans the add-on anew" 2 "$MESH" plan -f eks.yaml --detailed-exitcode
    check "...once EKS no longer had it (it waited out the DELETING)" test "$(eksq 'len(d["addons"])')" = 0
    grep -q 'aws_eks_addon.cni.*will be created' "$T_DIR/last.out" && ok "...as a create" || not_ok "create of the add-on: $(cat "$T_DIR/last.out")"
    curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {}}' >/dev/null
    expect_rc "apply makes it again" 0 "$MESH" apply -f eks.yaml --auto-approve

    # ---- version 1.30 -> 1.31: IRREVERSIBLE, in place, waits for the update ----
    curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {"cluster.update": 1.5}}' >/dev/null
    spec 1.31 ipv4 3 "$CFG"
    expect_rc "a version change plans" 2 "$MESH" plan -f eks.yaml --detailed-exitcode
    grep -q 'version.*"1.30" -> "1.31".*IRREVERSIBLE' "$T_DIR/last.out" && ok "1.30 -> 1.31 plans as IRREVERSIBLE" || not_ok "IRREVERSIBLE version: $(cat "$T_DIR/last.out")"
    expect_rc "the upgrade applies" 0 "$MESH" apply -f eks.yaml --auto-approve
    grep -q 'VersionUpdate) is InProgress' "$T_DIR/last.out" && ok "apply waited on the update, saying so" || not_ok "update progress note: $(cat "$T_DIR/last.out")"
    check "EKS runs 1.31, ACTIVE" test "$(eksq 'd["clusters"][0]["version"], d["clusters"][0]["status"]')" = "1.31 ACTIVE"
    expect_rc "then the plan is empty" 0 "$MESH" plan -f eks.yaml --detailed-exitcode
    curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {}}' >/dev/null

    # ---- a launch template change: a new default version, and the node group rolls to it ----
    DISK=50 spec 1.31 ipv4 3 "$CFG"
    expect_rc "disk size 50 applies in place" 0 "$MESH" apply -f eks.yaml --auto-approve
    grep -q '2 changed' "$T_DIR/last.out" && ok "the launch template and the node group changed" || not_ok "lt + ng changed: $(grep -i complete "$T_DIR/last.out")"
    check "the node group uses launch template version 2" test "$(eksq 'd["nodegroups"][0]["launchTemplate"]["version"]')" = 2
    check "version 2 is the default, with 50 GiB" test "$(awsq ec2 describe-launch-template-versions --launch-template-id "$lt" --versions '$Default' --query 'LaunchTemplateVersions[0].[VersionNumber,LaunchTemplateData.BlockDeviceMappings[0].Ebs.VolumeSize]')" = "2	50"
    expect_rc "then the plan is empty" 0 "$MESH" plan -f eks.yaml --detailed-exitcode
    export DISK=50
    V=1.31
else
    V=1.30
fi

# ---- ip_family: a guarded replacement ----
spec $V ipv6 3 "$CFG"
expect_rc "an ip_family change plans" 2 "$MESH" plan -f eks.yaml --detailed-exitcode
grep -q 'ip_family forces replacement' "$T_DIR/last.out" && ok "the plan says ip_family forces replacement" || not_ok "ip_family forces replacement: $(cat "$T_DIR/last.out")"
expect_rc "apply refuses to replace the guarded cluster without --allow-replace" 1 "$MESH" apply -f eks.yaml --auto-approve
grep -q 'allow-replace' "$T_DIR/last.err" "$T_DIR/last.out" && ok "the refusal names --allow-replace" || not_ok "refusal names --allow-replace: $(cat "$T_DIR/last.err")"
check "the cluster is untouched" test "$(eksq 'd["clusters"][0]["kubernetesNetworkConfig"]["ipFamily"]')" = ipv4

# ---- destroy ----
spec $V ipv4 3 "$CFG"
[ "$STANDIN" = 1 ] && curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {"cluster.delete": 1, "nodegroup.delete": 1}}' >/dev/null
expect_rc "destroy" 0 "$MESH" destroy -f eks.yaml --auto-approve
check "no cluster is left" test "$(eksq 'len(d["clusters"])')" = 0
check "no launch template is left" test "$(awsq ec2 describe-launch-templates --query 'length(LaunchTemplates)')" = 0

# ctrl_c_while_creating OUT SPEC [ARGS...]: mesh apply of SPEC (output to OUT) interrupted once the
# cluster is CREATING; its exit status in rc.
ctrl_c_while_creating() {
    local out=$1 spec=$2 pid
    shift 2
    "$MESH" apply -f "$spec" --auto-approve "$@" >"$out" 2>&1 &
    pid=$!
    for _ in $(seq 100); do grep -q 'aws_eks_cluster.c1: Still creating' "$out" && break; sleep 0.1; done
    kill -INT $pid
    wait $pid
    rc=$?
}

# ---- kill -9 while the cluster is CREATING: the next apply resumes the wait ----
if [ "$STANDIN" = 1 ]; then
    curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {"cluster.create": 5}}' >/dev/null
    "$MESH" apply -f eks.yaml --auto-approve >kill.out 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        grep -q 'aws_eks_cluster.c1: Still creating' kill.out && break
        sleep 0.1
    done
    kill -9 $pid; wait $pid 2>/dev/null
    status=$(eksq '[c["status"] for c in d["clusters"]]')
    check "killed while the cluster was CREATING ($status)" test "$status" = "['CREATING']"
    arn=$(state_dump -f eks.yaml | $PY -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["address"] == "aws_eks_cluster.c1": print(r["outputs"]["id"])')
    check "its ARN is in state ($arn)" test -n "$arn"
    expect_rc "the next apply (--resume) finishes" 0 "$MESH" apply -f eks.yaml --auto-approve --resume
    grep -q 'aws_eks_cluster.c1: waiting for the object' "$T_DIR/last.out" && ok "it resumed waiting for the cluster" || not_ok "resumed waiting: $(cat "$T_DIR/last.out")"
    n=$(curl -s "$PROXY_URL/__stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["by_action"].get("eks CreateCluster", 0))')
    after=$(state_dump -f eks.yaml | $PY -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["address"] == "aws_eks_cluster.c1": print(r["outputs"]["id"], r["outputs"].get("endpoint", ""))')
    check "the same cluster, now with its endpoint; no other was created" test "${after%% *}" = "$arn" -a -n "${after#* }" -a "$(eksq 'len(d["clusters"])')" = 1
    curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {}}' >/dev/null

    # ---- destroy while a node group mesh does not know still holds the cluster ----
    subnets=$(eksq '" ".join(d["clusters"][0]["resourcesVpcConfig"]["subnetIds"])')
    awsq eks create-nodegroup --cluster-name cluster-1 --nodegroup-name extra --node-role "$node_role" \
        --subnets $subnets >/dev/null
    ( for _ in $(seq 150); do grep -q 'DeleteCluster cluster-1: ResourceInUseException' destroy.out 2>/dev/null && break; sleep 0.1; done
      awsq eks delete-nodegroup --cluster-name cluster-1 --nodegroup-name extra >/dev/null ) &
    helper=$!
    "$MESH" destroy -f eks.yaml --auto-approve >destroy.out 2>&1
    rc=$?
    wait $helper
    check "destroy waited while DeleteCluster answered ResourceInUseException, then finished (exit $rc)" \
        sh -c "[ $rc = 0 ] && grep -q 'Still destroying.*DeleteCluster cluster-1: ResourceInUseException' destroy.out"
    check "nothing is left" test "$(eksq 'len(d["clusters"]), len(d["nodegroups"])')" = "0 0"

    # ---- a cluster that ends FAILED: the error names its health issues; rollback removes it ----
    curl -s -X POST "$PROXY_URL/__eks" -d '{"fail": ["cluster:cluster-1"]}' >/dev/null
    expect_rc "a cluster that ends FAILED fails the apply" 1 "$MESH" apply -f eks.yaml --auto-approve
    grep -q 'cluster cluster-1 is FAILED: Ec2SubnetInvalidConfiguration' "$T_DIR/last.err" "$T_DIR/last.out" \
        && ok "the error names the status and the health issue" || not_ok "FAILED error: $(cat "$T_DIR/last.err")"
    check "rollback deleted the failed cluster" test "$(eksq 'len(d["clusters"])')" = 0
    curl -s -X POST "$PROXY_URL/__eks" -d '{"fail": []}' >/dev/null

    # ---- Ctrl-C while the cluster is CREATING: the run rolls back, deleting it ----
    curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {"cluster.create": 3, "cluster.delete": 1}}' >/dev/null
    ctrl_c_while_creating int.out eks.yaml
    check "Ctrl-C during the cluster's wait: apply fails (exit $rc) and says it rolled back" \
        sh -c "[ $rc != 0 ] && grep -q 'rolled back' int.out"
    grep -q 'aws_eks_cluster.c1: rollback-delete (rollback)' int.out && grep -q 'every change of this run was rolled back' int.out \
        && ok "the rollback deleted the CREATING cluster (its delete not cut short by the Ctrl-C)" || not_ok "rollback deleted the cluster: $(tail -8 int.out)"
    check "no cluster and no state are left" test "$(eksq 'len(d["clusters"])')/$(state_dump -f eks.yaml | grep -c address)" = 0/0
    curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {}}' >/dev/null

    # ---- Ctrl-C during the cluster's wait with --no-rollback: the run ends, the cluster is kept
    # unready (no endpoint); the next plan says it will be waited for, the next apply waits for it
    # first, so what refers to it sees its endpoint ----
    curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {"cluster.create": 3}}' >/dev/null
    ctrl_c_while_creating nr.out eks.yaml --no-rollback
    endpoint_in_state() { state_dump -f eks.yaml | $PY -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["address"] == "aws_eks_cluster.c1": print(r["outputs"]["id"], r["outputs"].get("endpoint", "-"))'; }
    kept=$(endpoint_in_state)
    check "Ctrl-C with --no-rollback: the apply fails (exit $rc), the cluster is kept in state without its endpoint" \
        sh -c "[ $rc != 0 ] && [ -n '${kept%% *}' ] && [ '${kept#* }' = - ]"
    expect_rc "plan after it" 0 "$MESH" plan -f eks.yaml
    grep -q 'created aws_eks_cluster.c1 but stopped before it was ready; `mesh apply` (or `mesh destroy`) will first wait' "$T_DIR/last.out" \
        && ok "the plan says the next apply first waits for the unready cluster" || not_ok "plan note: $(head -20 "$T_DIR/last.out")"
    curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {"cluster.create": 0.5}}' >/dev/null
    expect_rc "the next apply converges" 0 "$MESH" apply -f eks.yaml --auto-approve
    grep -q 'aws_eks_cluster.c1: waiting for the object run .* created to be ready' "$T_DIR/last.out" \
        && ok "it waited for the kept cluster first" || not_ok "waited for the kept cluster: $(head -20 "$T_DIR/last.out")"
    after=$(endpoint_in_state)
    check "the same cluster, now with its endpoint ($after); only one cluster" \
        test "${after%% *}" = "${kept%% *}" -a "${after#* }" != - -a "$(eksq 'len(d["clusters"])')" = 1
    expect_rc "then a plan has nothing to do, and no note" 0 "$MESH" plan -f eks.yaml --detailed-exitcode
    check "no note of an unready object is left" sh -c "! grep -q 'stopped before it was ready' '$T_DIR/last.out'"
    curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {"cluster.delete": 0.5, "nodegroup.delete": 0.5}}' >/dev/null
    expect_rc "destroy" 0 "$MESH" destroy -f eks.yaml --auto-approve

    # ---- the same, and the unready cluster deleted behind mesh's back: the next apply finds it
    # gone and makes it again (not stuck waiting for what no longer exists) ----
    curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {"cluster.create": 3}}' >/dev/null
    ctrl_c_while_creating nr3.out eks.yaml --no-rollback
    curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {}}' >/dev/null
    awsq eks delete-cluster --name cluster-1 >/dev/null
    for _ in $(seq 50); do [ "$(eksq 'len(d["clusters"])')" = 0 ] && break; sleep 0.2; done
    expect_rc "the unready cluster deleted out of band: the next apply converges" 0 "$MESH" apply -f eks.yaml --auto-approve
    check "it made the cluster again (one, ACTIVE)" test "$(eksq '[c["status"] for c in d["clusters"]]')" = "['ACTIVE']"
    expect_rc "destroy" 0 "$MESH" destroy -f eks.yaml --auto-approve

    # ---- the same, with the journal's record of the unready create gone (an older mesh kept no
    # such record): the value state lacks is never sent to a driver; the apply names it ----
    { cat eks.yaml; printf '  null_resource.endpoint:\n    input: "${aws_eks_cluster.c1.endpoint}"\n'; } >eks-ref.yaml
    curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {"cluster.create": 3}}' >/dev/null
    ctrl_c_while_creating nr2.out eks-ref.yaml --no-rollback
    sqlite3 .mesh/state.db "DELETE FROM journal WHERE action LIKE '%.committed'"
    curl -s -X POST "$PROXY_URL/__eks" -d '{"hold": {}}' >/dev/null
    expect_rc "an apply that needs the endpoint state lacks fails" 1 "$MESH" apply -f eks-ref.yaml --auto-approve --no-rollback
    grep -q 'null_resource.endpoint: aws_eks_cluster.c1.endpoint is not known' "$T_DIR/last.err" \
        && ok "it names the missing value" || not_ok "missing value error: $(cat "$T_DIR/last.err")"
    check "no null_resource.endpoint in state" test "$(state_dump -f eks-ref.yaml | grep -c null_resource.endpoint)" = 0
    expect_rc "destroy" 0 "$MESH" destroy -f eks-ref.yaml --auto-approve
    check "no cluster is left" test "$(eksq 'len(d["clusters"])')" = 0
fi

t_done
