#!/usr/bin/env bash
# aws_iam.sh: the IAM, KMS and CloudWatch Logs drivers (aws_iam_role, aws_iam_policy,
# aws_iam_openid_connect_provider, aws_kms_key, aws_kms_alias, aws_cloudwatch_log_group) as raw
# `resources:` against moto_server behind the fault proxy: apply checked with the aws CLI, an
# empty second plan, drift made with the CLI (retention, a detached policy, a tag, the trust
# policy, key rotation, the alias's key) planned and repaired, destroy leaving nothing, a create
# failing half-way leaving nothing, creates whose reply was lost adopted, and the engine's fail-at-every-call and
# crash-after-every-call loops leaving no orphan (find adopts the cut-off creates).
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
t_setup
aws_harness_suite || { not_ok "harness starts"; t_done; exit 1; }  # harness.sh also defines faults, awsq, awsj
export MESH_BACKOFF_SCALE=0.01

# Signed calls to moto from Python's standard library (moto may check signatures): the harness's
# sigv4.py when it has one, else a request with the right credential scope (enough while moto
# does not check). The aws CLI takes seconds to start on a busy machine: too slow for loops.
cat > awsapi.py <<'PY'
import json, os, re, sys, urllib.error, urllib.parse, urllib.request
sys.path.insert(0, os.environ["HARNESS_PY"])
URL = os.environ["MOTO_URL"]
try:
    import sigv4
    CREDS = sigv4.env_creds()
    def _query(service, params):
        st, _, data = sigv4.query_call(URL, "us-west-2", service, params, CREDS)
        return st, data.decode()
    def _json(service, target, body):
        return sigv4.json_call(URL, "us-west-2", service, target, body, CREDS)
except ImportError:
    def _send(service, body, headers):
        headers["Authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/20260101/us-west-2/%s/aws4_request, "
                                    "SignedHeaders=host, Signature=0" % (os.environ["AWS_ACCESS_KEY_ID"], service))
        try:
            r = urllib.request.urlopen(urllib.request.Request(URL + "/", data=body, headers=headers), timeout=30)
            return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
    def _query(service, params):
        st, data = _send(service, urllib.parse.urlencode(params).encode(),
                         {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        return st, data.decode()
    def _json(service, target, body):
        st, data = _send(service, json.dumps(body).encode(),
                         {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
        return st, json.loads(data or b"{}")
def iam(action, **params):
    st, xml = _query("iam", dict(params, Action=action, Version="2010-05-08"))
    if st != 200: sys.exit("%s: %d %s" % (action, st, xml[:300]))
    return xml
def kms(action, **body):
    st, r = _json("kms", "TrentService." + action, body)
    if st != 200: sys.exit("%s: %d %s" % (action, st, r))
    return r
def logs(action, **body):
    st, r = _json("logs", "Logs_20140328." + action, body)
    if st != 200: sys.exit("%s: %d %s" % (action, st, r))
    return r
def texts(xml, elem): return re.findall(r"<%s>([^<]*)</%s>" % (elem, elem), xml)
def doc(text): return json.loads(urllib.parse.unquote(text) if text.startswith("%") else text.replace("&quot;", '"'))
def tags(xml): return dict(re.findall(r"<member>\s*<Key>([^<]*)</Key>\s*<Value>([^<]*)</Value>\s*</member>", xml))
def made():
    """What exists of the six kinds (moto is fresh: all of it is mesh's): RoleId, PolicyId, OIDC
    provider ARN, KeyId (not pending deletion), alias name, log group ARN."""
    out = texts(iam("ListRoles"), "RoleId") + texts(iam("ListPolicies", Scope="Local"), "PolicyId")
    out += texts(iam("ListOpenIDConnectProviders"), "Arn")
    out += [k["KeyId"] for k in kms("ListKeys")["Keys"]
            if not kms("DescribeKey", KeyId=k["KeyId"])["KeyMetadata"]["KeyState"].startswith("Pending")]
    out += [a["AliasName"] for a in kms("ListAliases")["Aliases"] if not a["AliasName"].startswith("alias/aws/")]
    out += [g.get("logGroupArn") or g["arn"][:-2] for g in logs("DescribeLogGroups")["logGroups"]]
    return out
def check(name, cond): print(("ok - " if cond else "not ok - ") + name)
if __name__ == "__main__":
    out = made()
    if len(sys.argv) > 1:  # orphans: what state (ids in the file; "X#Y" ids name X) does not hold
        held = set()
        for line in open(sys.argv[1]):
            if line.strip(): held |= {line.strip(), line.strip().split("#")[0]}
        out = [o for o in out if o not in held]
        for o in out: print("# orphan", o, file=sys.stderr)
    print(len(out))
PY
export HARNESS_PY="$ROOT/tests/harness/aws" MOTO_URL
api() { PYTHONPATH="$T_DIR" $PY - "$@"; }  # Python reading its script from stdin
# Python checks (their "ok"/"not ok" lines count in this suite's tally; a crash is a failure)
api_checks() {
    local line
    api "$@" > checks.out 2>&1 || not_ok "python checks ran (exit $?): $(tail -1 checks.out)"
    while IFS= read -r line; do
        case $line in "ok - "*) ok "${line#ok - }" ;; "not ok - "*) not_ok "${line#not ok - }" ;; *) echo "# $line" ;; esac
    done < checks.out
}
count_all() { $PY awsapi.py; }
orphans_aws() {
    state_dump -f iam.yaml 2>/dev/null | $PY -c '
import json, sys
for line in sys.stdin:
    if line.strip(): print(json.loads(line).get("outputs", {}).get("id") or "")' > held.txt
    $PY awsapi.py held.txt
}
ours=arn:aws:iam::123456789012:policy/t-nodes
# The trust policy as a person writes it (spaces, key order): compared as JSON, never as text.
cat > iam.yaml <<'YAML'
mesh: {name: t, region: us-west-2, tags: {project: iam-test}}
resources:
  aws_iam_policy.nodes:
    name: t-nodes
    description: what the nodes may do
    document: |
      { "Version": "2012-10-17",
        "Statement": [ { "Effect": "Allow", "Action": ["ec2:DescribeInstances", "ec2:DescribeSubnets"], "Resource": "*" } ] }
    tags: {team: platform}
  aws_iam_role.nodes:
    name: t-nodes
    description: the node role
    assume_role_policy: |
      { "Version": "2012-10-17",
        "Statement": [ { "Effect": "Allow", "Principal": { "Service": "ec2.amazonaws.com" }, "Action": "sts:AssumeRole" } ] }
    managed_policy_arns: ["${aws_iam_policy.nodes.arn}", "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"]
    tags: {team: platform}
  aws_iam_openid_connect_provider.c1:
    url: https://oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF
    thumbprints: [9e99a48a9960b14926bb7f3b02e22da2b0ab7280]
    tags: {team: platform}
  aws_kms_key.secrets:
    description: EKS secrets of c1
    tags: {team: platform}
  aws_kms_alias.secrets:
    name: alias/t-c1-secrets
    target_key_id: ${aws_kms_key.secrets.id}
  aws_cloudwatch_log_group.c1:
    name: /aws/eks/c1/cluster
    retention_days: 90
    tags: {team: platform}
YAML

# ---- apply ----
expect_rc "apply the six types" 0 "$MESH" apply -f iam.yaml --auto-approve
check "6 resources created" grep -q 'Apply complete! Resources: 6 added' "$T_DIR/last.out"
grep -qE '^AWS: [0-9]+ API calls' "$T_DIR/last.out" && ok "the summary counts the API calls" || not_ok "AWS summary line"
state_dump -f iam.yaml > state.txt
api_checks <<'PY'
import json
from awsapi import *
role = iam("GetRole", RoleName="t-nodes")
t = tags(role)
check("role: trust policy for ec2.amazonaws.com, description",
      doc(texts(role, "AssumeRolePolicyDocument")[0])["Statement"][0]["Principal"]["Service"] == "ec2.amazonaws.com"
      and texts(role, "Description") == ["the node role"])
check("role: user tags and mesh tags (address, run, name)",
      t.get("team") == "platform" and t.get("mesh:address") == "aws_iam_role.nodes" and t.get("mesh:run") and t.get("mesh:name") == "t")
check("role: both managed policies attached (ours and AWS's)",
      sorted(texts(iam("ListAttachedRolePolicies", RoleName="t-nodes"), "PolicyArn"))
      == ["arn:aws:iam::123456789012:policy/t-nodes", "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"])
arn = "arn:aws:iam::123456789012:policy/t-nodes"
pol = iam("GetPolicy", PolicyArn=arn)
d = doc(texts(iam("GetPolicyVersion", PolicyArn=arn, VersionId="v1"), "Document")[0])
check("policy: description, document, mesh tags",
      texts(pol, "Description") == ["what the nodes may do"] and d["Statement"][0]["Action"] == ["ec2:DescribeInstances", "ec2:DescribeSubnets"]
      and tags(iam("ListPolicyTags", PolicyArn=arn)).get("mesh:address") == "aws_iam_policy.nodes")
oarn = texts(iam("ListOpenIDConnectProviders"), "Arn")[0]
o = iam("GetOpenIDConnectProvider", OpenIDConnectProviderArn=oarn)
check("OIDC provider: default client id sts.amazonaws.com, the thumbprint, mesh tags",
      "<member>sts.amazonaws.com</member>" in o and "9e99a48a9960b14926bb7f3b02e22da2b0ab7280" in o
      and tags(o).get("mesh:address") == "aws_iam_openid_connect_provider.c1")
alias = [a for a in kms("ListAliases")["Aliases"] if a["AliasName"] == "alias/t-c1-secrets"]
key = kms("DescribeKey", KeyId=alias[0]["TargetKeyId"])["KeyMetadata"]
ktags = {t["TagKey"]: t["TagValue"] for t in kms("ListResourceTags", KeyId=key["KeyId"])["Tags"]}
check("KMS key: enabled, description, rotation on by default, mesh tags; the alias names it",
      key["KeyState"] == "Enabled" and key["Description"] == "EKS secrets of c1"
      and kms("GetKeyRotationStatus", KeyId=key["KeyId"])["KeyRotationEnabled"] and ktags.get("mesh:address") == "aws_kms_key.secrets")
g = [g for g in logs("DescribeLogGroups", logGroupNamePrefix="/aws/eks/c1/cluster")["logGroups"]]
check("log group: 90 days retention, mesh tags", len(g) == 1 and g[0].get("retentionInDays") == 90
      and logs("ListTagsForResource", resourceArn=g[0].get("logGroupArn") or g[0]["arn"][:-2])["tags"].get("mesh:address") == "aws_cloudwatch_log_group.c1")
rows = {json.loads(l)["address"]: json.loads(l)["outputs"] for l in open("state.txt") if l.strip()}
check("ids: RoleId, PolicyId, OIDC ARN#date, KeyId, alias#KeyId, log group ARN#creationTime",
      rows["aws_iam_role.nodes"]["id"] == texts(role, "RoleId")[0] and rows["aws_iam_policy.nodes"]["id"] == texts(pol, "PolicyId")[0]
      and rows["aws_iam_openid_connect_provider.c1"]["id"] == oarn + "#" + texts(o, "CreateDate")[0]
      and rows["aws_kms_key.secrets"]["id"] == key["KeyId"] and rows["aws_kms_alias.secrets"]["id"] == "alias/t-c1-secrets#" + key["KeyId"]
      and rows["aws_cloudwatch_log_group.c1"]["id"] == "%s#%d" % (g[0].get("logGroupArn") or g[0]["arn"][:-2], g[0]["creationTime"]))
open("key.txt", "w").write(key["KeyId"])
open("role_id.txt", "w").write(texts(role, "RoleId")[0])
PY
key=$(cat key.txt)
check "the aws CLI sees the role's trust policy (ec2.amazonaws.com)" grep -q ec2.amazonaws.com <(awsq iam get-role --role-name t-nodes --query Role.AssumeRolePolicyDocument)
echo "# [${SECONDS}s]"

# ---- a second plan is empty ----
expect_rc "a second plan is empty (documents compared as JSON, not text)" 0 "$MESH" plan -f iam.yaml --detailed-exitcode

# ---- drift made outside mesh (the aws CLI, and signed calls for the rest): planned, repaired ----
awsq logs put-retention-policy --log-group-name /aws/eks/c1/cluster --retention-in-days 7
awsq iam detach-role-policy --role-name t-nodes --policy-arn arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy
awsq iam tag-role --role-name t-nodes --tags Key=team,Value=someone-else
awsq iam update-assume-role-policy --role-name t-nodes --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
other=$(api "$key" <<'PY'
import sys
from awsapi import *
key = sys.argv[1]
kms("DisableKeyRotation", KeyId=key)
other = kms("CreateKey", Description="other")["KeyMetadata"]["KeyId"]
kms("UpdateAlias", AliasName="alias/t-c1-secrets", TargetKeyId=other)
iam("CreatePolicyVersion", PolicyArn="arn:aws:iam::123456789012:policy/t-nodes", SetAsDefault="true",
    PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}')
print(other)
PY
)
expect_rc "drift: plan exits 2" 2 "$MESH" plan -f iam.yaml --detailed-exitcode
out="$T_DIR/last.out"
grep -q 'retention_days = 7 -> 90' "$out" && ok "drift: the retention is planned back" || not_ok "drift: retention"
grep -A12 'aws_iam_role.nodes' "$out" | grep -q '+ "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"' && ok "drift: the detached policy is planned back" || not_ok "drift: policy"
grep -q '"team" = "someone-else" -> "platform"' "$out" && ok "drift: the changed tag is planned back" || not_ok "drift: tag"
grep -A3 'assume_role_policy' "$out" | grep -q 'eks.amazonaws.com' && ok "drift: the trust policy is planned back" || { not_ok "drift: trust policy"; cat "$out"; }
grep -q 'enable_key_rotation' "$out" && ok "drift: key rotation is planned back on" || not_ok "drift: rotation"
grep -q "target_key_id = \"$other\"" "$out" && ok "drift: the alias's key is planned back" || not_ok "drift: alias"
grep -A3 'aws_iam_policy.nodes' "$out" | grep -q 'document' && ok "drift: the policy's new default version is planned back" || not_ok "drift: policy document"
expect_rc "drift: apply repairs it" 0 "$MESH" apply -f iam.yaml --auto-approve
api_checks "$key" "$other" <<'PY'
import sys
from awsapi import *
key, other = sys.argv[1:3]
arn = "arn:aws:iam::123456789012:policy/t-nodes"
check("drift: retention 90 again", logs("DescribeLogGroups", logGroupNamePrefix="/aws/eks/c1/cluster")["logGroups"][0].get("retentionInDays") == 90)
check("drift: the AWS policy is attached again",
      "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy" in texts(iam("ListAttachedRolePolicies", RoleName="t-nodes"), "PolicyArn"))
role = iam("GetRole", RoleName="t-nodes")
check("drift: the tag is back", tags(role).get("team") == "platform")
check("drift: the trust policy is back", doc(texts(role, "AssumeRolePolicyDocument")[0])["Statement"][0]["Principal"]["Service"] == "ec2.amazonaws.com")
check("drift: the role was updated in place (same RoleId)", texts(role, "RoleId") == [open("role_id.txt").read()])
check("drift: rotation is on", kms("GetKeyRotationStatus", KeyId=key)["KeyRotationEnabled"])
check("drift: the alias points at mesh's key", [a["TargetKeyId"] for a in kms("ListAliases")["Aliases"] if a["AliasName"] == "alias/t-c1-secrets"] == [key])
v = texts(iam("GetPolicy", PolicyArn=arn), "DefaultVersionId")[0]
check("drift: the policy's default document is mesh's", "ec2:DescribeSubnets" in json.dumps(doc(texts(iam("GetPolicyVersion", PolicyArn=arn, VersionId=v), "Document")[0])))
kms("ScheduleKeyDeletion", KeyId=other, PendingWindowInDays=7)
PY
expect_rc "drift: then the plan is empty" 0 "$MESH" plan -f iam.yaml --detailed-exitcode
echo "# [${SECONDS}s]"

# ---- updates from the spec: in place; IAM keeps 5 policy versions, the oldest goes first ----
sed 's/retention_days: 90/retention_days: 30/; s/"ec2:DescribeSubnets"/"ec2:DescribeVpcs"/' iam.yaml > iam2.yaml
expect_rc "update: retention and policy document change in place" 0 "$MESH" apply -f iam2.yaml --auto-approve
check "update: 2 changed, nothing replaced" grep -q 'Resources: 0 added, 2 changed, 0 destroyed' "$T_DIR/last.out"
for i in 1 2 3 4; do
    sed "s/retention_days: 90/retention_days: 30/; s/\"ec2:DescribeSubnets\"/\"ec2:Describe$i\"/" iam.yaml > iam2.yaml
    "$MESH" apply -f iam2.yaml --auto-approve >out.txt 2>&1 || { not_ok "update: policy version $i"; tail -3 out.txt; }
done
api_checks <<'PY'
from awsapi import *
arn = "arn:aws:iam::123456789012:policy/t-nodes"
vs = iam("ListPolicyVersions", PolicyArn=arn)
v = texts(iam("GetPolicy", PolicyArn=arn), "DefaultVersionId")[0]
check("update: 5 policy versions kept (the oldest non-default went), the newest document is the default",
      len(texts(vs, "VersionId")) == 5 and "ec2:Describe4" in json.dumps(doc(texts(iam("GetPolicyVersion", PolicyArn=arn, VersionId=v), "Document")[0])))
check("update: retention 30", logs("DescribeLogGroups", logGroupNamePrefix="/aws/eks/c1/cluster")["logGroups"][0].get("retentionInDays") == 30)
PY
expect_rc "update: back to the first spec" 0 "$MESH" apply -f iam.yaml --auto-approve
echo "# [${SECONDS}s]"

# ---- destroy leaves nothing ----
expect_rc "destroy" 0 "$MESH" destroy -f iam.yaml --auto-approve
check "destroy left no role, policy, OIDC provider, live key, alias or log group" test "$(count_all)" = 0
check "destroy scheduled the key's deletion (PendingDeletion)" \
    test "$(api "$key" <<<'import sys; from awsapi import *; print(kms("DescribeKey", KeyId=sys.argv[1])["KeyMetadata"]["KeyState"])')" = PendingDeletion

# ---- a create that fails half-way (AttachRolePolicy refused) leaves no role behind ----
faults '{"rules": [{"kind": "500", "service": "iam", "action": "AttachRolePolicy", "rate": 1.0}]}'
expect_rc "AttachRolePolicy failing: apply fails" 1 "$MESH" apply -f iam.yaml --auto-approve
faults '{}'
check "AttachRolePolicy failing: the error names the role and the call" grep -q 'aws_iam_role.nodes: AttachRolePolicy' "$T_DIR/last.err"
check "AttachRolePolicy failing: the half-made role went with the failed create (0 left)" test "$(count_all)" = 0
echo "# [${SECONDS}s]"

# ---- a create's reply lost after it took effect (the retry then finds the name taken): the object
# is adopted, not orphaned (found by tests/reliability/faults.sh) ----
# KMS CreateKey is not refused when repeated: never resent once sent (a 500 first: not made, looked
# up, created again; then lost: looked up by the run's tags and adopted).
faults '{"rules": [{"kind": "lost", "service": "iam", "action": "CreatePolicy", "first": 1}, {"kind": "lost", "service": "iam", "action": "CreateRole", "first": 1}, {"kind": "lost", "service": "logs", "action": "CreateLogGroup", "first": 1}, {"kind": "500", "service": "kms", "action": "CreateKey", "first": 1}, {"kind": "lost", "service": "kms", "action": "CreateKey", "first": 1}]}'
expect_rc "lost replies: apply completes" 0 "$MESH" apply -f iam.yaml --auto-approve
faults '{}'
check "lost replies: 0 orphans" test "$(orphans_aws)" = 0
live_keys() { api <<<'from awsapi import *; print(sum(1 for k in kms("ListKeys")["Keys"] if kms("DescribeKey", KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"))'; }
check "lost replies: CreateKey after a 500 created again, then its lost reply adopted: one key" \
    test "$(live_keys)" = 1 -a "$(grep -c 'aws_kms_key.secrets: the create failed.*adopted' "$T_DIR/last.out")" = 1
expect_rc "lost replies: then the plan is empty" 0 "$MESH" plan -f iam.yaml --detailed-exitcode
expect_rc "lost replies: destroy" 0 "$MESH" destroy -f iam.yaml --auto-approve
check "lost replies: destroy left nothing" test "$(count_all)" = 0

# ---- a lost CreateKey reply whose lookups fail too: the run fails, the create's intent stays open,
# and the next run's recovery finds the key by the failed run's tags ----
faults '{"rules": [{"kind": "lost", "service": "kms", "action": "CreateKey", "first": 1}, {"kind": "error", "service": "kms", "action": "ListKeys", "code": "AccessDeniedException", "status": 400, "first": 2}]}'
expect_rc "lost reply, finds failing: apply fails" 1 "$MESH" apply -f iam.yaml --auto-approve
faults '{}'
check "lost reply, finds failing: the error says the create may have taken effect" grep -q 'CreateKey.*may have taken effect' "$T_DIR/last.err"
expect_rc "lost reply, finds failing: the plan says recovery looks the key up" 2 "$MESH" plan -f iam.yaml --detailed-exitcode
check "lost reply, finds failing: the plan's note names the key" grep -q 'could not tell whether its create of aws_kms_key.secrets' "$T_DIR/last.out"
expect_rc "lost reply, finds failing: the next apply completes" 0 "$MESH" apply -f iam.yaml --auto-approve
check "lost reply, finds failing: the next apply adopted the key (one key, 0 orphans)" \
    test "$(grep -c 'aws_kms_key.secrets: adopted an object the cut-off run had created' "$T_DIR/last.out")" = 1 -a "$(live_keys)" = 1 -a "$(orphans_aws)" = 0
expect_rc "lost reply, finds failing: then the plan is empty" 0 "$MESH" plan -f iam.yaml --detailed-exitcode
expect_rc "lost reply, finds failing: destroy" 0 "$MESH" destroy -f iam.yaml --auto-approve
check "lost reply, finds failing: destroy left nothing" test "$(count_all)" = 0
echo "# [${SECONDS}s]"

# ---- fail at every driver call: each failed apply rolls back to 0 orphans ----
bad=0 rc=1
for n in $(seq 1 30); do
    MESH_FAULTS="fail:call=$n" "$MESH" apply -f iam.yaml --auto-approve --parallelism 1 >out.txt 2>err.txt
    rc=$?
    [ $rc = 0 ] && break
    grep -q 'injected fault' err.txt out.txt || { bad=1; echo "# N=$n: not the injected fault"; tail -3 err.txt; }
    o=$(orphans_aws)
    [ "$o" = 0 ] || { bad=1; echo "# N=$n: $o orphans after the failed apply"; }
done
check "fail at every call (N=1..$((n - 1))): each failed apply left 0 orphans" test $bad = 0
check "the fail loop reached a successful apply" test $rc = 0
expect_rc "fail loop: then the plan is empty" 0 "$MESH" plan -f iam.yaml --detailed-exitcode
bad=0
for n in 2 5; do
    MESH_FAULTS="fail:call=$n" "$MESH" destroy -f iam.yaml --auto-approve --parallelism 1 >out.txt 2>&1
    [ "$(orphans_aws)" = 0 ] || { bad=1; echo "# destroy N=$n left orphans"; }
done
expect_rc "fail loop: a clean destroy finishes" 0 "$MESH" destroy -f iam.yaml --auto-approve
check "failed destroys kept every object in state (0 orphans), then nothing is left" test $bad = 0 -a "$(count_all)" = 0
echo "# [${SECONDS}s]"

# ---- kill -9 right after each create: the next apply adopts the object (find), no orphan ----
bad=0 crashes=0 adopted=0
for n in $(seq 1 30); do
    MESH_FAULTS="crash-after:call=$n" "$MESH" apply -f iam.yaml --auto-approve --parallelism 1 >out.txt 2>&1
    rc=$?
    [ $rc = 0 ] && break
    [ $rc = 137 ] || { bad=1; echo "# N=$n: exit $rc, not a crash"; tail -3 out.txt; break; }
    crashes=$((crashes + 1))
    "$MESH" apply -f iam.yaml --auto-approve >out2.txt 2>&1 || { bad=1; echo "# crash N=$n: apply after it failed"; tail -3 out2.txt; }
    grep -q 'adopted an object' out2.txt && adopted=$((adopted + 1))
    o=$(orphans_aws)
    [ "$o" = 0 ] || { bad=1; echo "# crash N=$n: $o orphans"; }
    if [ $((n % 2)) = 1 ]; then  # on a sample: each plan costs a run
        "$MESH" plan -f iam.yaml --detailed-exitcode >/dev/null 2>&1 || { bad=1; echo "# crash N=$n: plan not empty after recovery"; }
    fi
    "$MESH" destroy -f iam.yaml --auto-approve >/dev/null 2>&1 || bad=1
done 2>/dev/null
"$MESH" destroy -f iam.yaml --auto-approve >/dev/null 2>&1 || bad=1
echo "# crash-after: $crashes crashes, $adopted recoveries adopted an object"
check "crash after every call (N=1..$crashes): the next apply converged with 0 orphans" test $bad = 0
check "the crash loop reached an apply that completed" test $crashes -lt 30 -a $crashes -ge 6
check "find adopted the cut-off create of each of the 6 types ($adopted of $crashes)" test $adopted -ge 6
check "after the crash loop nothing is left" test "$(count_all)" = 0
echo "# [${SECONDS}s]"
t_done
