#!/usr/bin/env bash
# drift.sh: out-of-band changes to the applied reference deployment (specs/reference.yaml, ECDSA
# keys, the stand-in charts), each one made the way an operator would (AWS API calls signed with the
# harness keys, kubectl, helm), then found by `mesh plan` (the plan names the changed address) and
# repaired by `mesh apply`, after which the plan is empty and nothing is orphaned. The changes:
# a route deleted, a security group rule revoked, a security group rule added (an ingress rule no
# aws_security_group_rule made: its group's foreign_rules), a node group resized, an add-on's
# configuration changed, a cluster's logging changed, a subnet attribute, a VPC attribute, a tag removed (EIP,
# internet gateway), an IAM policy detached from a role, a role's trust policy edited, a customer
# policy's default version replaced, an OIDC provider's and a role's tag removed, a log group retention,
# a KMS alias deleted, key rotation disabled, a launch template's default version replaced, a helm
# value changed, a release uninstalled, a remote secret deleted, the cacerts secret edited, a
# namespace label removed, a reader token deleted. Every change must be found (a change the plan
# does not name is a not_ok: the driver does not read it).
# CI: the changes in 1 batch (its plan must name every changed address, one apply
# repairs the batch); `make reliability` (RELIABILITY_FULL=1): one at a time; RELIABILITY_TRIALS=N:
# N batches.
# Figures: changes made, detected, repaired.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/reference.sh"
source "$ROOT/tests/reliability/lib.sh"
t_setup
STACK="$T_DIR/stack"
ref_stack_start "$STACK" >/dev/null 2>&1 || { not_ok "the reference stand-ins start"; t_done; exit 1; }
trap 'ref_stack_stop "$STACK"; t_cleanup' EXIT
export MESH_BACKOFF_SCALE=0.01
HELM=${MESH_HELM:-helm}
k() { local c=$1; shift; kubectl --kubeconfig "$STACK/k$c/kubeconfig" "$@"; }
h() { local c=$1; shift; "$HELM" --kubeconfig "$STACK/k$c/kubeconfig" "$@"; }
sed 's/algorithm: rsa4096/algorithm: ecdsa-p256/' "$ROOT/specs/reference.yaml" >ref.yaml
read -ra VARS <<<"$(ref_stack_vars)"
# batches: CI 1 (all at once: the reference apply under ASan costs most of the 60 s); 0 = one at a time
BATCHES=$(rel_trials 1 0)

# NAME|ADDRESS the plan must name|how (aws:ACTION of the python below, or a shell command)
CHANGES=(
    "route deleted|aws_route_table.public|aws:route"
    "security group rule revoked|aws_security_group_rule.cluster-2.xds|aws:sg_rule"
    "security group rule added|aws_security_group.cluster-1|aws:sg_rule_added"
    "node group resized|aws_eks_node_group.cluster-1.default|aws:nodegroup"
    "add-on configuration changed|aws_eks_addon.cluster-1.coredns|aws:addon"
    "cluster logging changed|aws_eks_cluster.cluster-2|aws:logging"
    "subnet attribute changed|aws_subnet.public_b|aws:subnet"
    "VPC attribute changed|aws_vpc.main|aws:vpc"
    "EIP tag removed|aws_eip.nat|aws:eip_tag"
    "internet gateway tag removed|aws_internet_gateway.main|aws:igw_tag"
    "IAM policy detached from a role|aws_iam_role.cluster-1.cluster|aws:detach"
    "role trust policy edited|aws_iam_role.cluster-2.node|aws:trust"
    "policy default version replaced|aws_iam_policy.cluster-2.ipv6_cni|aws:policy_version"
    "OIDC provider tag removed|aws_iam_openid_connect_provider.cluster-2|aws:oidc"
    "role tag removed|aws_iam_role.cluster-1.lbc|aws:role_tag"
    "log group retention changed|aws_cloudwatch_log_group.cluster-2.cluster|aws:retention"
    "KMS alias deleted|aws_kms_alias.cluster-2.secrets|aws:alias"
    "KMS key rotation disabled|aws_kms_key.cluster-1.secrets|aws:rotation"
    "launch template default version replaced|aws_launch_template.cluster-2.default|aws:launch_template"
    "helm value changed|helm_release.cluster-1.istiod|h 1 -n istio-system upgrade istiod $ROOT/tests/charts/istiod --reuse-values --set global.meshID=drifted"
    "release uninstalled|helm_release.cluster-2.istio-ingressgateway|h 2 -n istio-system uninstall istio-ingressgateway"
    "remote secret deleted|kubernetes_secret.cluster-2.istio-remote-secret-cluster-1|k 2 -n istio-system delete secret istio-remote-secret-cluster-1"
    "cacerts secret edited|kubernetes_secret.cluster-2.cacerts|k 2 -n istio-system patch secret cacerts --type merge -p '{\"data\":{\"root-cert.pem\":\"ZHJpZnQ=\"}}'"
    "namespace label removed|kubernetes_namespace.cluster-1.istio-system|k 1 label namespace istio-system topology.istio.io/network-"
    "reader token deleted|kubernetes_service_account_token.cluster-1.istio-reader|k 1 -n istio-system delete secret istio-reader-service-account-istio-remote-secret-token"
)

# The AWS changes, made through the proxy (faults off) with the harness keys, in one process.
cat >"$T_DIR/drift_aws.py" <<'PY'
import json, os, sys
sys.path.insert(0, sys.argv[1])
import sigv4
url, region = os.environ["PROXY_URL"], os.environ.get("AWS_REGION", "us-west-2")
k, s = os.environ.get("HARNESS_ACCESS_KEY_ID"), os.environ.get("HARNESS_SECRET_ACCESS_KEY")
creds = {"key": k, "secret": s} if k and s else sigv4.env_creds()
held = {}
for line in open(sys.argv[2]):
    ev = json.loads(line) if line.strip() else {}
    if ev.get("type") == "resource":
        held[ev["address"]] = ev.get("outputs") or {}
def out(addr, key): return held[addr][key]
def q(service, version, action, **p):
    st, _, data = sigv4.query_call(url, region, service, dict(p, Action=action, Version=version), creds)
    if st != 200: raise SystemExit("%s %s: %d %s" % (service, action, st, data[:300]))
    return data
ec2 = lambda a, **p: q("ec2", "2016-11-15", a, **p)
iam = lambda a, **p: q("iam", "2010-05-08", a, **p)
def js(service, target, body):
    st, r = sigv4.json_call(url, region, service, target, body, creds)
    if st != 200: raise SystemExit("%s %s: %d %s" % (service, target, st, r))
def eks(path, body):
    st, _, data = sigv4.call(url, region, "eks", "POST", path, "", json.dumps(body).encode(),
                             {"Content-Type": "application/json"}, creds)
    if st not in (200, 201): raise SystemExit("eks %s: %d %s" % (path, st, data[:300]))
role = lambda addr: out(addr, "arn").rsplit("/", 1)[-1]
for action in sys.argv[3:]:
    if action == "route":
        ec2("DeleteRoute", RouteTableId=out("aws_route_table.public", "id"), DestinationCidrBlock="0.0.0.0/0")
    elif action == "sg_rule":
        ec2("RevokeSecurityGroupIngress", GroupId=out("aws_security_group_rule.cluster-2.xds", "security_group_id"),
            **{"SecurityGroupRuleId.1": out("aws_security_group_rule.cluster-2.xds", "id")})
    elif action == "sg_rule_added":
        ec2("AuthorizeSecurityGroupIngress", GroupId=out("aws_security_group.cluster-1", "id"), **{
            "IpPermissions.1.IpProtocol": "tcp", "IpPermissions.1.FromPort": "22", "IpPermissions.1.ToPort": "22",
            "IpPermissions.1.IpRanges.1.CidrIp": "203.0.113.0/24"})
    elif action == "nodegroup":
        eks("/clusters/cluster-1/node-groups/default/update-config", {"scalingConfig": {"desiredSize": 3}})
    elif action == "addon":
        eks("/clusters/cluster-1/addons/coredns/update", {"configurationValues": json.dumps({"replicaCount": 3})})
    elif action == "logging":
        eks("/clusters/cluster-2/update-config", {"logging": {"clusterLogging": [
            {"types": ["audit", "authenticator"], "enabled": False}]}})
    elif action == "subnet":
        ec2("ModifySubnetAttribute", SubnetId=out("aws_subnet.public_b", "id"), **{"MapPublicIpOnLaunch.Value": "false"})
    elif action == "vpc":
        ec2("ModifyVpcAttribute", VpcId=out("aws_vpc.main", "id"), **{"EnableDnsHostnames.Value": "false"})
    elif action == "eip_tag":
        ec2("DeleteTags", **{"ResourceId.1": out("aws_eip.nat", "id"), "Tag.1.Key": "owner"})
    elif action == "igw_tag":
        ec2("DeleteTags", **{"ResourceId.1": out("aws_internet_gateway.main", "id"), "Tag.1.Key": "project"})
    elif action == "detach":
        iam("DetachRolePolicy", RoleName=role("aws_iam_role.cluster-1.cluster"),
            PolicyArn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy")
    elif action == "trust":
        iam("UpdateAssumeRolePolicy", RoleName=role("aws_iam_role.cluster-2.node"), PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))
    elif action == "policy_version":
        iam("CreatePolicyVersion", PolicyArn=out("aws_iam_policy.cluster-2.ipv6_cni", "arn"), SetAsDefault="true",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}]}))
    elif action == "oidc":  # (moto answers 500 to Add/RemoveClientIDToOpenIDConnectProvider)
        iam("UntagOpenIDConnectProvider", OpenIDConnectProviderArn=out("aws_iam_openid_connect_provider.cluster-2", "arn"),
            **{"TagKeys.member.1": "owner"})
    elif action == "role_tag":
        iam("UntagRole", RoleName=role("aws_iam_role.cluster-1.lbc"), **{"TagKeys.member.1": "owner"})
    elif action == "retention":
        js("logs", "Logs_20140328.PutRetentionPolicy", {"logGroupName": "/aws/eks/cluster-2/cluster", "retentionInDays": 7})
    elif action == "alias":
        js("kms", "TrentService.DeleteAlias", {"AliasName": out("aws_kms_alias.cluster-2.secrets", "name")})
    elif action == "rotation":
        js("kms", "TrentService.DisableKeyRotation", {"KeyId": out("aws_kms_key.cluster-1.secrets", "id")})
    elif action == "launch_template":
        lt = out("aws_launch_template.cluster-2.default", "id")
        ec2("CreateLaunchTemplateVersion", LaunchTemplateId=lt, SourceVersion="1",
            **{"LaunchTemplateData.MetadataOptions.HttpTokens": "optional"})
        ec2("ModifyLaunchTemplate", LaunchTemplateId=lt, SetDefaultVersion="2")
    else:
        raise SystemExit("unknown change " + action)
PY

make_change() {  # INDEX: makes the change; 0 when it was made
    local how=${CHANGES[$1]##*|}
    case $how in
        aws:*) "$MESH" state list --json -f ref.yaml >"$T_DIR/held.json" 2>/dev/null &&
            $PY "$T_DIR/drift_aws.py" "$ROOT/tests/harness/aws" "$T_DIR/held.json" "${how#aws:}" ;;
        *) eval "$how" >/dev/null ;;
    esac
}

expect_rc "apply the reference deployment" 0 "$MESH" apply -f ref.yaml "${VARS[@]}" --auto-approve
expect_rc "its plan is empty" 0 "$MESH" plan -f ref.yaml "${VARS[@]}" --detailed-exitcode
echo "# [${SECONDS}s] applied"

n=${#CHANGES[@]}
if [ "$BATCHES" -gt 0 ]; then per=$(( (n + BATCHES - 1) / BATCHES )); else per=1; fi
made=0 detected=0 repaired=0 undetected=()
for ((start = 0; start < n; start += per)); do
    batch=()
    for ((i = start; i < start + per && i < n; i++)); do
        name=${CHANGES[$i]%%|*}
        if make_change "$i" 2>change.err; then
            made=$((made + 1)); batch+=("$i")
        else
            not_ok "made the change: $name"; sed 's/^/    | /' change.err | tail -5
        fi
    done
    [ ${#batch[@]} -gt 0 ] || continue
    "$MESH" plan -f ref.yaml "${VARS[@]}" --detailed-exitcode >plan.out 2>plan.err
    prc=$?
    for i in "${batch[@]}"; do
        rest=${CHANGES[$i]#*|}
        name=${CHANGES[$i]%%|*} addr=${rest%%|*}
        if [ $prc = 2 ] && grep -q "$addr" plan.out; then
            detected=$((detected + 1))
            ok "drift found by plan: $name ($addr)"
        else
            undetected+=("$name")
            not_ok "drift not found by plan (exit $prc): $name ($addr)"
        fi
    done
    expect_rc "apply repairs: ${batch[*]}" 0 "$MESH" apply -f ref.yaml "${VARS[@]}" --auto-approve
    arc=$?
    "$MESH" plan -f ref.yaml "${VARS[@]}" --detailed-exitcode >after.out 2>&1
    if [ $? = 0 ] && grep -q 'Apply complete' "$T_DIR/last.out"; then
        repaired=$((repaired + ${#batch[@]}))
        ok "after the repair the plan is empty (changes ${batch[*]})"
    else
        not_ok "after the repair the plan is empty (changes ${batch[*]})"
        sed 's/^/    | /' after.out "$T_DIR/last.err" | tail -15
    fi
    echo "# [${SECONDS}s] changes ${batch[*]}"
done
# what the repairs left: values back where the spec has them, nothing orphaned
check "repaired: istiod's meshID is mesh1 again" sh -c "$HELM --kubeconfig $STACK/k1/kubeconfig -n istio-system get values istiod -o json | grep -q '\"meshID\":\"mesh1\"'"
check "repaired: the remote secret and the gateway release are back" sh -c \
    "kubectl --kubeconfig $STACK/k2/kubeconfig -n istio-system get secret istio-remote-secret-cluster-1 -o name && $HELM --kubeconfig $STACK/k2/kubeconfig -n istio-system status istio-ingressgateway >/dev/null"
n_orphans=$(ref_orphans ref.yaml 2>orphans.txt)
check "0 orphans after the repairs ($n_orphans)" test "$n_orphans" = 0
[ "$n_orphans" = 0 ] || sed 's/^/    | /' orphans.txt | head
CMD="bash tests/reliability/run tests/reliability/drift.sh"
[ "$BATCHES" -gt 0 ] && CMD="RELIABILITY_TRIALS=$BATCHES bash tests/reliability/run tests/reliability/drift.sh"
rel_figure "out-of-band changes made (kinds; $([ "$per" = 1 ] && echo 'one at a time' || echo "$BATCHES batches"))" "$made" "$CMD"
rel_figure "found by mesh plan" "$detected of $made" "$CMD"
rel_figure "repaired by mesh apply (then an empty plan)" "$repaired of $made" "$CMD"
[ ${#undetected[@]} -gt 0 ] && rel_figure "not found" "${undetected[*]}" "$CMD"
t_done
