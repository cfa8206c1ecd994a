#!/usr/bin/env bash
# aws_harness_eks.sh: the harness itself, driven with the aws CLI as a user would drive AWS: moto
# checks signatures (auth.py's identity), the proxy's EKS stand-in (eks.py) holds clusters, node
# groups and add-ons in CREATING/UPDATING/DELETING for the set time, gives each cluster its own
# endpoint, OIDC issuer, CA and a real cluster security group in moto, refuses what EKS refuses
# (duplicate names, DeleteCluster with node groups, add-on configuration outside the schema, version
# jumps, a role IAM has not propagated yet), runs UpdateClusterVersion/DescribeUpdate, injects JSON
# 1.1 and REST-JSON faults with their error shapes, and orphans.py lists what is left.
# A few calls go through the aws CLI itself; the rest through botocore (the CLI's engine: same
# request shapes and error parsing) in one Python process, since each CLI start costs seconds.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
t_setup
T0=$SECONDS
aws_harness_suite || { not_ok "harness starts"; t_done; exit 1; }
echo "# harness up in $((SECONDS - T0)) s"
export AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard
A() { aws --endpoint-url "$PROXY_URL" --output text "$@"; }         # through the proxy (EKS lives there)
M() { aws --endpoint-url "$MOTO_URL" --output text "$@"; }          # moto itself
ctl() { curl -s -X POST "$PROXY_URL/$1" -d "$2"; }
# err NAME CODE CMD...: ok when CMD fails with the AWS error CODE
err() {
    local name=$1 code=$2
    shift 2
    if "$@" >"$T_DIR/e.out" 2>"$T_DIR/e.err"; then not_ok "$name (succeeded)"; return; fi
    if grep -q "($code)" "$T_DIR/e.err"; then ok "$name"; else not_ok "$name: $(tail -1 "$T_DIR/e.err")"; fi
}
jq_() { $PY -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# ---- the aws CLI: signatures are checked, EKS answers it ----
if [ "${MESH_HARNESS_AUTH:-1}" = 1 ]; then
    check "suite keys are the harness identity" test "$AWS_ACCESS_KEY_ID" = "${HARNESS_ACCESS_KEY_ID:-}"
    err "moto refuses a bad signature (EC2)" AuthFailure env AWS_SECRET_ACCESS_KEY=wrong aws --endpoint-url "$PROXY_URL" ec2 describe-vpcs
    check "sts GetCallerIdentity is the mesh-harness user" test "$(A sts get-caller-identity --query Arn)" = "arn:aws:iam::123456789012:user/mesh-harness"
else
    quiet() { "$@" >/dev/null; }
    check "MESH_HARNESS_AUTH=0: signatures are not checked (a bad one passes)" \
        quiet env AWS_SECRET_ACCESS_KEY=wrong aws --endpoint-url "$PROXY_URL" ec2 describe-vpcs --query 'length(Vpcs)'
fi
err "aws eks describe-cluster of nothing: ResourceNotFoundException" ResourceNotFoundException A eks describe-cluster --name none

echo "# aws CLI part done at $((SECONDS - T0)) s"
# ---- the rest in one process ----
# Its "ok"/"not ok" lines are counted here; "done" proves it ran to its end.
while IFS= read -r line; do
    case $line in
        "ok - "*) ok "${line#ok - }" ;;
        "not ok - "*) not_ok "${line#not ok - }" ;;
        done) py_done=1 ;;
        *) echo "$line" ;;
    esac
done < <(python3 - "$PROXY_URL" "$MOTO_URL" "$ROOT" 2>&1 <<'PY'
import base64, json, re, subprocess, sys, time, urllib.request
import boto3, botocore.config, botocore.exceptions
proxy, moto, root = sys.argv[1:4]
cfg = botocore.config.Config(retries={"total_max_attempts": 1})
def client(svc, url=proxy): return boto3.client(svc, endpoint_url=url, config=cfg, region_name="us-west-2")
ec2, iam, eks, kms, logs, sts = (client(s) for s in ("ec2", "iam", "eks", "kms", "logs", "sts"))
ec2m = client("ec2", moto)
def check(name, cond, detail=""):
    print(("ok - " if cond else "not ok - ") + name + ("" if cond else "  # %s" % (detail,)), flush=True)
def code_of(fn, *a, **k):
    try:
        fn(*a, **k)
        return None, None
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
def err(label_, code_, fn_, *a, **k):
    got, msg = code_of(fn_, *a, **k)
    check(label_, got == code_, "%s: %s" % (got, msg))
    return msg or ""
def orphans(*held):
    with open("held.txt", "w") as f:
        f.write("".join(h + "\n" for h in held))
    return subprocess.run([sys.executable, root + "/tests/harness/aws/orphans.py", "--moto", moto, "--proxy", proxy,
                           "--held", "held.txt"], capture_output=True, text=True, check=True).stdout
def ctl(path, body):
    return urllib.request.urlopen(urllib.request.Request(proxy + "/" + path, data=json.dumps(body).encode()), timeout=10).read()
def wait_gone(t0, hold):
    time.sleep(max(0, hold + 0.1 - (time.time() - t0)))

# a network, two roles
vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
sa = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24", AvailabilityZone="us-west-2a")["Subnet"]["SubnetId"]
sb = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.2.0/24", AvailabilityZone="us-west-2b")["Subnet"]["SubnetId"]
other = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
so = ec2.create_subnet(VpcId=other, CidrBlock="10.9.1.0/24", AvailabilityZone="us-west-2c")["Subnet"]["SubnetId"]
trust = lambda s: json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": s}, "Action": "sts:AssumeRole"}]})
CR = iam.create_role(RoleName="c-role", AssumeRolePolicyDocument=trust("eks.amazonaws.com"))["Role"]["Arn"]
NR = iam.create_role(RoleName="n-role", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))["Role"]["Arn"]
VPC = {"subnetIds": [sa, sb]}

# clusters held in CREATING
ctl("__eks", {"hold": {"cluster": 2.0, "cluster.delete": 1.0, "cluster.update": 1.0, "nodegroup": 1.0, "addon": 0.5}})
c1 = eks.create_cluster(name="c1", roleArn=CR, resourcesVpcConfig=VPC)["cluster"]
c2 = eks.create_cluster(name="c2", version="1.30", roleArn=CR, resourcesVpcConfig=VPC,
                        logging={"clusterLogging": [{"types": ["api", "audit"], "enabled": True}]})["cluster"]
t0 = time.time()
check("CreateCluster answers CREATING, without endpoint, CA or issuer yet",
      c1["status"] == c2["status"] == "CREATING" and "endpoint" not in c1 and "identity" not in c1
      and not c1["certificateAuthority"].get("data"), c1)
d = eks.describe_cluster(name="c1")["cluster"]
check("still CREATING right after", d["status"] == "CREATING", d["status"])
err("a second cluster named c1: ResourceInUseException", "ResourceInUseException",
    eks.create_cluster, name="c1", roleArn=CR, resourcesVpcConfig=VPC)
err("DeleteCluster while CREATING: ResourceInUseException", "ResourceInUseException", eks.delete_cluster, name="c1")
err("subnets in one AZ: InvalidParameterException", "InvalidParameterException",
    eks.create_cluster, name="c9", roleArn=CR, resourcesVpcConfig={"subnetIds": [sa]})
err("an IPv6 cluster on subnets without IPv6: InvalidParameterException", "InvalidParameterException",
    eks.create_cluster, name="c9", roleArn=CR, resourcesVpcConfig=VPC, kubernetesNetworkConfig={"ipFamily": "ipv6"})
wait_gone(t0, 2.0)
c1, c2 = (eks.describe_cluster(name=n)["cluster"] for n in ("c1", "c2"))
check("ACTIVE once the hold (2 s) ends", c1["status"] == c2["status"] == "ACTIVE", (c1["status"], c2["status"]))
check("default version 1.31; 1.30 when asked", (c1["version"], c2["version"]) == ("1.31", "1.30"))
ep = r"^https://[0-9A-F]{32}\.gr7\.us-west-2\.eks\.amazonaws\.com$"
iss = r"^https://oidc\.eks\.us-west-2\.amazonaws\.com/id/[0-9A-F]{32}$"
check("distinct endpoints of EKS's form", c1["endpoint"] != c2["endpoint"] and all(re.match(ep, c["endpoint"]) for c in (c1, c2)))
check("distinct OIDC issuers of EKS's form", c1["identity"]["oidc"]["issuer"] != c2["identity"]["oidc"]["issuer"]
      and all(re.match(iss, c["identity"]["oidc"]["issuer"]) for c in (c1, c2)))
check("a CA per cluster (base64 PEM)", c1["certificateAuthority"]["data"] != c2["certificateAuthority"]["data"]
      and base64.b64decode(c1["certificateAuthority"]["data"]).startswith(b"-----BEGIN CERTIFICATE-----"))
check("c2's logging: api+audit on, the rest off", c2["logging"]["clusterLogging"] ==
      [{"types": ["api", "audit"], "enabled": True}, {"types": ["authenticator", "controllerManager", "scheduler"], "enabled": False}])
sg1 = c1["resourcesVpcConfig"]["clusterSecurityGroupId"]
g = ec2m.describe_security_groups(GroupIds=[sg1])["SecurityGroups"][0]
check("the cluster SG is a real SG in moto, in the cluster's VPC, tagged for the cluster",
      g["VpcId"] == vpc and {"Key": "aws:eks:cluster-name", "Value": "c1"} in g["Tags"], g)
check("distinct cluster SGs", sg1 != c2["resourcesVpcConfig"]["clusterSecurityGroupId"])
lg = logs.describe_log_groups(logGroupNamePrefix="/aws/eks/")["logGroups"]
check("EKS made c2's log group (logging on, none existed), not c1's", [g["logGroupName"] for g in lg] == ["/aws/eks/c2/cluster"], lg)

# IAM eventual consistency
ctl("__eks", {"iam_delay_calls": 3})
late = iam.create_role(RoleName="late-role", AssumeRolePolicyDocument=trust("eks.amazonaws.com"))["Role"]["Arn"]
msg = err("a role made 1 call ago cannot be assumed yet: InvalidParameterException", "InvalidParameterException",
          eks.create_cluster, name="c3", roleArn=late, resourcesVpcConfig=VPC)
check("with EKS's message", "Role with arn: %s could not be assumed because it does not exist or the trusted entity is not correct" % late in msg, msg)
sts.get_caller_identity()
check("3 calls later it can", eks.create_cluster(name="c3", roleArn=late, resourcesVpcConfig=VPC)["cluster"]["status"] == "CREATING")
ctl("__eks", {"iam_delay_calls": 0})
err("a role trusting ec2, not eks, cannot be assumed by EKS", "InvalidParameterException",
    eks.create_cluster, name="c4", roleArn=NR, resourcesVpcConfig=VPC)

# node groups
ng = dict(clusterName="c1", nodegroupName="ng1", nodeRole=NR, subnets=[sa, sb],
          scalingConfig={"minSize": 1, "maxSize": 3, "desiredSize": 2}, labels={"role": "mesh"})
msg = err("a node role without the worker-node policies: InvalidParameterException", "InvalidParameterException", eks.create_nodegroup, **ng)
check("naming the policies", "AmazonEKSWorkerNodePolicy" in msg, msg)
for p in ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly"):
    iam.attach_role_policy(RoleName="n-role", PolicyArn="arn:aws:iam::aws:policy/" + p)
err("node group subnets outside the cluster's VPC: InvalidParameterException", "InvalidParameterException",
    eks.create_nodegroup, **dict(ng, subnets=[so]))
err("a node group on a CREATING cluster: InvalidRequestException", "InvalidRequestException",
    eks.create_nodegroup, **dict(ng, clusterName="c3"))
n = eks.create_nodegroup(**ng)["nodegroup"]
t0 = time.time()
check("CreateNodegroup answers CREATING, ARN with a uuid", n["status"] == "CREATING"
      and re.match(r"^arn:aws:eks:us-west-2:123456789012:nodegroup/c1/ng1/[0-9a-f-]{36}$", n["nodegroupArn"]), n)
msg = err("DeleteCluster with a node group: ResourceInUseException", "ResourceInUseException", eks.delete_cluster, name="c1")
check("with EKS's message", msg == "Cluster has nodegroups attached", msg)
err("a duplicate node group: ResourceInUseException", "ResourceInUseException", eks.create_nodegroup, **ng)
wait_gone(t0, 1.0)
check("node group ACTIVE after its hold (1 s)", eks.describe_nodegroup(clusterName="c1", nodegroupName="ng1")["nodegroup"]["status"] == "ACTIVE")
nup = eks.update_nodegroup_config(clusterName="c1", nodegroupName="ng1", scalingConfig={"desiredSize": 3},
                                  labels={"addOrUpdateLabels": {"tier": "a"}})["update"]
n = eks.describe_nodegroup(clusterName="c1", nodegroupName="ng1")["nodegroup"]
check("UpdateNodegroupConfig: UPDATING, old values until the update ends", n["status"] == "UPDATING"
      and n["scalingConfig"]["desiredSize"] == 2 and nup["status"] == "InProgress" and nup["type"] == "ConfigUpdate", (n, nup))

# add-ons
av = eks.describe_addon_versions(kubernetesVersion="1.31", addonName="vpc-cni")["addons"][0]["addonVersions"]
v = [x["addonVersion"] for x in av if x["compatibilities"][0]["defaultVersion"]]
check("DescribeAddonVersions: one default vpc-cni for 1.31", len(v) == 1, av)
v = v[0]
schema = json.loads(eks.describe_addon_configuration(addonName="vpc-cni", addonVersion=v)["configurationSchema"])
check("vpc-cni's schema has init.env with ENABLE_V6_EGRESS and ENABLE_V4_EGRESS",
      schema["properties"]["init"]["properties"]["env"] == {"$ref": "#/definitions/initEnv"}
      and {"ENABLE_V6_EGRESS", "ENABLE_V4_EGRESS"} <= set(schema["definitions"]["initEnv"]["properties"]))
msg = err("configuration outside the schema: InvalidParameterException", "InvalidParameterException",
          eks.create_addon, clusterName="c1", addonName="vpc-cni", configurationValues='{"init":{"env":{"ENABLE_V6_EGRES":"true"}}}')
check("naming the key", "$.init.env.ENABLE_V6_EGRES" in msg, msg)
err("ENABLE_V6_EGRESS=yes: InvalidParameterException", "InvalidParameterException",
    eks.create_addon, clusterName="c1", addonName="vpc-cni", configurationValues='{"init":{"env":{"ENABLE_V6_EGRESS":"yes"}}}')
err("an add-on version not for 1.31: InvalidParameterException", "InvalidParameterException",
    eks.create_addon, clusterName="c1", addonName="kube-proxy", addonVersion="v1.28.15-eksbuild.4")
cfgv = '{"init":{"env":{"ENABLE_V6_EGRESS":"true"}}}'
a = eks.create_addon(clusterName="c1", addonName="vpc-cni", configurationValues=cfgv, resolveConflicts="OVERWRITE")["addon"]
dns = eks.create_addon(clusterName="c2", addonName="coredns")["addon"]
t0 = time.time()
check("CreateAddon answers CREATING", a["status"] == dns["status"] == "CREATING")
wait_gone(t0, 0.5)
a = eks.describe_addon(clusterName="c1", addonName="vpc-cni")["addon"]
check("add-on ACTIVE, default version, configuration kept", (a["status"], a["addonVersion"], a["configurationValues"]) == ("ACTIVE", v, cfgv), a)
check("coredns on a cluster without nodes ends DEGRADED", eks.describe_addon(clusterName="c2", addonName="coredns")["addon"]["status"] == "DEGRADED")
aup = eks.update_addon(clusterName="c1", addonName="vpc-cni", configurationValues='{"env":{"ENABLE_V4_EGRESS":"true"}}')["update"]
u = eks.describe_update(name="c1", updateId=aup["id"], addonName="vpc-cni")["update"]
check("UpdateAddon: DescribeUpdate --addon-name InProgress, AddonUpdate", (u["status"], u["type"]) == ("InProgress", "AddonUpdate"), u)
err("DescribeUpdate of an add-on update without --addon-name: ResourceNotFoundException", "ResourceNotFoundException",
    eks.describe_update, name="c1", updateId=aup["id"])

# UpdateClusterVersion
err("1.30 -> 1.32 refused: InvalidParameterException", "InvalidParameterException", eks.update_cluster_version, name="c2", version="1.32")
cu = eks.update_cluster_version(name="c2", version="1.31")["update"]
t0 = time.time()
c2 = eks.describe_cluster(name="c2")["cluster"]
check("1.30 -> 1.31: a VersionUpdate InProgress, cluster UPDATING, still 1.30", (cu["status"], cu["type"], c2["status"], c2["version"])
      == ("InProgress", "VersionUpdate", "UPDATING", "1.30"), (cu, c2["status"]))
err("a second update meanwhile: ResourceInUseException", "ResourceInUseException", eks.update_cluster_config,
    name="c2", logging={"clusterLogging": [{"types": ["scheduler"], "enabled": True}]})
check("ListUpdates names it", eks.list_updates(name="c2")["updateIds"] == [cu["id"]])
wait_gone(t0, 1.0)
u = eks.describe_update(name="c2", updateId=cu["id"])["update"]
c2 = eks.describe_cluster(name="c2")["cluster"]
check("then Successful, ACTIVE, 1.31", (u["status"], c2["status"], c2["version"]) == ("Successful", "ACTIVE", "1.31"), (u, c2["status"]))
n = eks.describe_nodegroup(clusterName="c1", nodegroupName="ng1")["nodegroup"]
check("the node group update ended: desired 3, labels merged", (n["status"], n["scalingConfig"]["desiredSize"], n["labels"])
      == ("ACTIVE", 3, {"role": "mesh", "tier": "a"}), n)
check("ListUpdates --nodegroupName names its update", eks.list_updates(name="c1", nodegroupName="ng1")["updateIds"] == [nup["id"]])
err("a no-op logging update: InvalidParameterException", "InvalidParameterException", eks.update_cluster_config,
    name="c2", logging={"clusterLogging": [{"types": ["api"], "enabled": True}]})
err("logging and endpoint access in one call: InvalidParameterException", "InvalidParameterException", eks.update_cluster_config,
    name="c2", logging={"clusterLogging": [{"types": ["scheduler"], "enabled": True}]}, resourcesVpcConfig={"endpointPrivateAccess": True})
eu = eks.update_cluster_config(name="c1", resourcesVpcConfig={"endpointPrivateAccess": True, "publicAccessCidrs": ["10.0.0.0/8"]})["update"]
check("endpoint access update: EndpointAccessUpdate", eu["type"] == "EndpointAccessUpdate", eu)

# tags
eks.tag_resource(resourceArn=c1["arn"], tags={"team": "mesh"})
eks.untag_resource(resourceArn=c1["arn"], tagKeys=["nope"])
check("TagResource / ListTagsForResource on a cluster ARN", eks.list_tags_for_resource(resourceArn=c1["arn"])["tags"] == {"team": "mesh"})
err("ListTagsForResource of an unknown ARN: NotFoundException", "NotFoundException",
    eks.list_tags_for_resource, resourceArn="arn:aws:eks:us-west-2:123456789012:cluster/none")

# endpoint control
ctl("__eks/endpoint", {"cluster": "c1", "endpoint": "https://127.0.0.1:6443", "ca": "Zm9v"})
time.sleep(1.0)  # c1's endpoint access update ends
c1 = eks.describe_cluster(name="c1")["cluster"]
check("endpoint and CA pointed at a local stand-in", (c1["endpoint"], c1["certificateAuthority"]["data"]) == ("https://127.0.0.1:6443", "Zm9v"))
check("the endpoint update applied", (c1["resourcesVpcConfig"]["endpointPrivateAccess"], c1["resourcesVpcConfig"]["publicAccessCidrs"]) == (True, ["10.0.0.0/8"]))

# faults on JSON 1.1 and REST-JSON calls
ctl("__reset", {})
ctl("__faults", {"rules": [{"kind": "error", "service": "kms", "action": "CreateKey", "code": "KMSInternalException", "status": 500, "first": 1},
                           {"kind": "throttle", "service": "logs", "action": "CreateLogGroup", "first": 1},
                           {"kind": "error", "service": "eks", "action": "DescribeCluster", "code": "ServerException", "status": 500, "first": 1}]})
err("kms CreateKey: the injected JSON 1.1 error", "KMSInternalException", kms.create_key)
key = kms.create_key(Description="harness")["KeyMetadata"]["KeyId"]
err("logs CreateLogGroup: ThrottlingException", "ThrottlingException", logs.create_log_group, logGroupName="/harness/x")
logs.create_log_group(logGroupName="/harness/x")
err("eks DescribeCluster (REST-JSON): ServerException", "ServerException", eks.describe_cluster, name="c1")
s = json.loads(urllib.request.urlopen(proxy + "/__stats").read())
check("stats by service and action", s["by_action"].get("kms CreateKey") == 2 and s["by_service"].get("eks") == 1
      and s["by_service"].get("logs") == 2 and s["injected"] == {"error": 2, "throttle": 1}, s)
ctl("__faults", {"rules": [{"kind": "lost", "service": "kms", "action": "CreateKey", "first": 1}]})
n0 = len(kms.list_keys()["Keys"])
try:
    kms.create_key(Description="lost")
    lost = "answered"
except Exception as e:  # botocore's connection errors: the answer never came
    lost = type(e).__name__
check("a 'lost' call: no answer (%s), yet it took effect" % lost, lost != "answered" and len(kms.list_keys()["Keys"]) == n0 + 1)
ctl("__faults", {"rules": []})

# fail control
ctl("__eks", {"fail": ["nodegroup:c1/bad"], "hold": {}})
eks.create_nodegroup(**dict(ng, nodegroupName="bad"))
check("fail control: CREATE_FAILED", eks.describe_nodegroup(clusterName="c1", nodegroupName="bad")["nodegroup"]["status"] == "CREATE_FAILED")
eks.delete_nodegroup(clusterName="c1", nodegroupName="bad")
ctl("__eks", {"fail": [], "hold": {"cluster.delete": 1.0, "nodegroup": 0.5}})

# orphans, then everything deleted
t = orphans()
want = ("aws_eks_cluster c1", "aws_eks_cluster c2", "aws_eks_cluster c3", "aws_eks_node_group c1/ng1", "aws_eks_addon c1/vpc-cni",
        "aws_eks_addon c2/coredns", "aws_iam_role c-role", "aws_iam_role n-role", "aws_iam_role late-role", "aws_kms_key " + key, "aws_kms_key",
        "aws_cloudwatch_log_group /aws/eks/c2/cluster", "aws_cloudwatch_log_group /harness/x")
lines = t.splitlines()
check("orphans.py lists clusters, node group, add-ons, roles, keys, log groups, and counts them",
      all(w in t for w in want) and lines[-1] == str(len(lines) - 1) == str(len(want)), t)
c3arn = eks.describe_cluster(name="c3")["cluster"]["arn"]
t = orphans("c-role", "n-role,late-role", c3arn + "#1234")
check("held names and state-like IDs (a,b and arn#time) are not orphans", t.splitlines()[-1] == str(len(want) - 4), t)
eks.delete_nodegroup(clusterName="c1", nodegroupName="ng1")
err("DeleteCluster while the node group is DELETING: ResourceInUseException", "ResourceInUseException", eks.delete_cluster, name="c1")
time.sleep(0.6)
st = [eks.delete_cluster(name=c)["cluster"]["status"] for c in ("c1", "c2", "c3")]
t0 = time.time()
check("DeleteCluster once the node group is gone: DELETING (add-ons go with it)", st == ["DELETING"] * 3, st)
wait_gone(t0, 1.0)
err("gone after the hold: ResourceNotFoundException", "ResourceNotFoundException", eks.describe_cluster, name="c1")
err("its security group deleted from moto", "InvalidGroup.NotFound", ec2m.describe_security_groups, GroupIds=[sg1])
for k in kms.list_keys()["Keys"]:
    kms.schedule_key_deletion(KeyId=k["KeyId"], PendingWindowInDays=7)
for g in ("/aws/eks/c2/cluster", "/harness/x"):
    logs.delete_log_group(logGroupName=g)
t = orphans("c-role", "n-role", "late-role")
check("0 orphans once all is deleted (a key pending deletion is gone)", t.splitlines()[-1] == "0", t)
print("done")
PY
)
check "the botocore part ran to its end" test "${py_done:-0}" = 1
echo "# $((SECONDS - T0)) s in all"
t_done
