#!/usr/bin/env bash
# aws_network.sh: the network of issue 6 (network: of specs/reference.yaml, plus the two clusters'
# cross-cluster security groups; every command targets the network's resources, NET_TARGETS, so the
# clusters' EKS parts are compiled but never made: aws_eks.sh covers them) applied by mesh against moto_server behind the fault proxy, both
# on free 127.0.0.1 ports, and checked with the aws CLI: every resource as the reference wants
# it, an empty second plan, drift made with the aws CLI planned and fixed, destroy leaving
# nothing, convergence under eventual consistency (a new ID not found for a while), under
# throttling and 503s with the retries reported, and the engine's
# fail and crash loops leaving no orphan (every eighth call; MESH_FULL_LOOPS=1: every call).
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
t_setup
aws_harness_suite || { not_ok "harness starts"; t_done; exit 1; }  # harness.sh also defines faults, awsq, awsj
export MESH_BACKOFF_SCALE=0.01

# The network part of the reference spec, and its clusters (for the cross-cluster groups).
$PY - "$ROOT/specs/reference.yaml" > net.yaml <<'PY'
import re, sys
src = open(sys.argv[1]).read()
block = lambda n: re.search(r'^%s:.*?(?=^\S)' % n, src, re.S | re.M).group(0)
print(block("mesh") + block("network") + "clusters:\n  cluster-1: {ip_family: ipv4}\n  cluster-2: {ip_family: ipv6}")
PY
grep -q 'nat: single' net.yaml && check "the test spec holds the reference's network section" grep -q 'cidr: 10.6.0.0/16' net.yaml

# The network's resources: what network: makes (its security-group rules among the clusters'
# groups included), not what clusters: adds (EKS, IAM, KMS, logs, the rules on EKS's groups).
NET_TARGETS=(--target 'aws_vpc.*' --target 'aws_subnet.*' --target 'aws_internet_gateway.*'
             --target 'aws_egress_only_internet_gateway.*' --target 'aws_eip.*' --target 'aws_nat_gateway.*'
             --target 'aws_route_table.*' --target 'aws_security_group.*'
             --target 'aws_security_group_rule.*.from_*' --target 'aws_security_group_rule.*.egress_*')
mesh_net() { "$MESH" "$@" "${NET_TARGETS[@]}"; }
# With network: {existing: ...} the network is the clusters' groups and their rules only.
SG_TARGETS=(--target 'aws_security_group.*' --target 'aws_security_group_rule.*.from_*'
            --target 'aws_security_group_rule.*.egress_*')
mesh_sg() { "$MESH" "$@" "${SG_TARGETS[@]}"; }

# Objects tagged mesh:address (what mesh made) that state does not hold, over every kind
# (ec2q.py: the aws CLI takes seconds to start, too slow for loops).
orphans_aws() {
    state_dump -f "${1:-net.yaml}" 2>/dev/null | $PY -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        for i in (json.loads(line).get("outputs", {}).get("id") or "").split(","): print(i)' > held.txt
    $PY "$ROOT/tests/harness/aws/ec2q.py" "$MOTO_URL" orphans held.txt
}
count_all() { $PY "$ROOT/tests/harness/aws/ec2q.py" "$MOTO_URL" count; }
tagid() {  # TYPE-QUERY ADDRESS: the ID of the object tagged mesh:address=ADDRESS
    awsq ec2 "$1" --filters "Name=tag:mesh:address,Values=$2" --query "$3"
}

# ---- apply ----
expect_rc "apply the reference network" 0 mesh_net apply -f net.yaml --auto-approve
grep -q 'Apply complete! Resources: 21 added' "$T_DIR/last.out" && ok "21 resources created" || not_ok "21 resources created: $(tail -3 "$T_DIR/last.out")"
n_full=$(count_all)
grep -qE '^AWS: [0-9]+ API calls, 0 retries' "$T_DIR/last.out" && ok "the summary reports API calls and retries" || not_ok "AWS summary line"
! grep -qF "$AWS_SECRET_ACCESS_KEY" "$T_DIR/last.out" "$T_DIR/last.err" && ok "no secret in the output" || not_ok "secret leaked"

# Every object, with the aws CLI (one call per kind), then checked in one go.
awsj ec2 describe-vpcs --filters Name=tag:mesh:address,Values=aws_vpc.main > vpcs.json
vpc=$($PY -c 'import json,sys; print(json.load(open("vpcs.json"))["Vpcs"][0]["VpcId"])')
awsj ec2 describe-subnets --filters "Name=vpc-id,Values=$vpc" > subnets.json
awsj ec2 describe-internet-gateways --filters "Name=attachment.vpc-id,Values=$vpc" > igw.json
awsj ec2 describe-egress-only-internet-gateways > eigw.json
awsj ec2 describe-nat-gateways --filter "Name=vpc-id,Values=$vpc" > nat.json
awsj ec2 describe-addresses --filters Name=tag:mesh:address,Values=aws_eip.nat > eip.json
awsj ec2 describe-route-tables --filters "Name=vpc-id,Values=$vpc" > rt.json
awsj ec2 describe-security-groups --filters "Name=vpc-id,Values=$vpc" Name=tag-key,Values=mesh:address > sg.json
awsj ec2 describe-security-group-rules > rules.json
hostnames=$(awsq ec2 describe-vpc-attribute --vpc-id "$vpc" --attribute enableDnsHostnames --query EnableDnsHostnames.Value)
support=$(awsq ec2 describe-vpc-attribute --vpc-id "$vpc" --attribute enableDnsSupport --query EnableDnsSupport.Value)
sn=$($PY -c 'import json; print([s["SubnetId"] for s in json.load(open("subnets.json"))["Subnets"] if {"Key":"mesh:address","Value":"aws_subnet.private_b"} in s["Tags"]][0])')
dns64=$(AWS_MAX_ATTEMPTS=1 aws --endpoint-url "$PROXY_URL" --output text ec2 describe-subnets --subnet-ids "$sn" --query 'Subnets[0].EnableDns64')
$PY - "$hostnames" "$support" "$dns64" <<'PY'
import ipaddress, json, sys
hostnames, support, dns64 = sys.argv[1:4]
L = lambda f: json.load(open(f))
tags = lambda o: {t["Key"]: t["Value"] for t in o.get("Tags", [])}
def by_addr(items):
    return {tags(o).get("mesh:address"): o for o in items}
def check(name, cond):
    print(("ok - " if cond else "not ok - ") + name)
vpc = L("vpcs.json")["Vpcs"][0]
v6 = ipaddress.ip_network(vpc["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"])
t = tags(vpc)
check("VPC 10.6.0.0/16 with an Amazon IPv6 /56 (%s)" % v6, vpc["CidrBlock"] == "10.6.0.0/16" and v6.prefixlen == 56)
check("VPC DNS support and hostnames on", hostnames == "True" and support == "True")
check("VPC tags: user tags, Name, mesh:address, mesh:run, mesh:name",
      t.get("project") == "istio-multi-primary" and t.get("owner") == "platform" and t.get("Name") == "istio-multi-primary"
      and t.get("mesh:address") == "aws_vpc.main" and t.get("mesh:run") and t.get("mesh:name") == "istio-multi-primary")
sn = by_addr(L("subnets.json")["Subnets"])
want = {"private_a": ("10.6.0.0/20", "a", 3, "internal-elb", False), "private_b": ("10.6.16.0/20", "b", 4, "internal-elb", False),
        "private_c": ("10.6.32.0/20", "c", 5, "internal-elb", False), "public_a": ("10.6.48.0/24", "a", 0, "elb", True),
        "public_b": ("10.6.49.0/24", "b", 1, "elb", True), "public_c": ("10.6.50.0/24", "c", 2, "elb", True)}
bad = []
for name, (cidr, az, idx, role, public) in want.items():
    s = sn.get("aws_subnet." + name)
    if not s: bad.append(name); continue
    s6 = ipaddress.ip_network(s["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"])
    ok = (s["CidrBlock"] == cidr and s["AvailabilityZone"] == "us-west-2" + az and s6.subnet_of(v6)
          and (int(s6.network_address) >> 64) & 0xff == idx and s6.prefixlen == 64
          and tags(s).get("kubernetes.io/role/" + role) == "1" and s["MapPublicIpOnLaunch"] == public
          and s["AssignIpv6AddressOnCreation"] is True and tags(s).get("Name") == "istio-multi-primary-" + name.replace("_", "-"))
    if not ok: bad.append(name)
check("6 subnets: CIDRs, AZs a-c, IPv6 /64 indexes 0-5 of the /56, role tags, Name, public IPs %s" % bad, not bad and len(sn) == 6)
check("DNS64 on (as DescribeSubnets reports it)", dns64 == "True")
igw = L("igw.json")["InternetGateways"]
check("one internet gateway, attached to the VPC", len(igw) == 1 and igw[0]["Attachments"][0]["VpcId"] == vpc["VpcId"])
eigw = [g for g in L("eigw.json")["EgressOnlyInternetGateways"] if g["Attachments"][0]["VpcId"] == vpc["VpcId"]]
check("one egress-only gateway in the VPC", len(eigw) == 1)
nat = [n for n in L("nat.json")["NatGateways"] if n["State"] == "available"]
eip = L("eip.json")["Addresses"]
check("one NAT gateway, available, in public_a, with the EIP",
      len(nat) == 1 and nat[0]["SubnetId"] == sn["aws_subnet.public_a"]["SubnetId"]
      and len(eip) == 1 and nat[0]["NatGatewayAddresses"][0]["AllocationId"] == eip[0]["AllocationId"])
rts = by_addr(L("rt.json")["RouteTables"])
def routes(rt): return {r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock"): r for r in rt["Routes"] if r.get("GatewayId") != "local"}
def assoc(rt): return sorted(a["SubnetId"] for a in rt["Associations"] if a.get("SubnetId"))
pub, prv = rts["aws_route_table.public"], rts["aws_route_table.private"]
ig, eg, ng = igw[0]["InternetGatewayId"], eigw[0]["EgressOnlyInternetGatewayId"], nat[0]["NatGatewayId"]
rp, rv = routes(pub), routes(prv)
check("public routes: exactly 0.0.0.0/0 and ::/0 via the IGW; the 3 public subnets",
      set(rp) == {"0.0.0.0/0", "::/0"} and rp["0.0.0.0/0"]["GatewayId"] == ig and rp["::/0"]["GatewayId"] == ig
      and assoc(pub) == sorted(sn["aws_subnet.public_" + x]["SubnetId"] for x in "abc"))
check("private routes: exactly 0.0.0.0/0 + 64:ff9b::/96 via NAT, ::/0 via EIGW; the 3 private subnets",
      set(rv) == {"0.0.0.0/0", "::/0", "64:ff9b::/96"} and rv["0.0.0.0/0"].get("NatGatewayId") == ng
      and rv["64:ff9b::/96"].get("NatGatewayId") == ng and rv["::/0"].get("EgressOnlyInternetGatewayId") == eg
      and assoc(prv) == sorted(sn["aws_subnet.private_" + x]["SubnetId"] for x in "abc"))
sgs = by_addr(L("sg.json")["SecurityGroups"])
g1, g2 = sgs["aws_security_group.cluster-1"]["GroupId"], sgs["aws_security_group.cluster-2"]["GroupId"]
rules = L("rules.json")["SecurityGroupRules"]
def of(g): return sorted((r["IsEgress"], r["IpProtocol"], r.get("CidrIpv4") or r.get("CidrIpv6") or r["ReferencedGroupInfo"]["GroupId"]) for r in rules if r["GroupId"] == g)
check("SGs allow each other and all egress over IPv4 and IPv6, nothing else",
      of(g1) == sorted([(False, "-1", g2), (True, "-1", "0.0.0.0/0"), (True, "-1", "::/0")])
      and of(g2) == sorted([(False, "-1", g1), (True, "-1", "0.0.0.0/0"), (True, "-1", "::/0")]))
check("SG names are <mesh>-<cluster>-cross-cluster", sgs["aws_security_group.cluster-1"]["GroupName"] == "istio-multi-primary-cluster-1-cross-cluster")
PY
nat=$($PY -c 'import json; print([n["NatGatewayId"] for n in json.load(open("nat.json"))["NatGateways"] if n["State"]=="available"][0])')
echo "# [${SECONDS}s]"
# ---- a second plan is empty ----
expect_rc "a second plan is empty" 0 mesh_net plan -f net.yaml --detailed-exitcode

echo "# [${SECONDS}s]"
# ---- drift made outside mesh: planned, then fixed ----
rtp=$($PY -c 'import json; print([r["RouteTableId"] for r in json.load(open("rt.json"))["RouteTables"] if {"Key":"mesh:address","Value":"aws_route_table.private"} in r.get("Tags",[])][0])')
awsq ec2 delete-route --route-table-id "$rtp" --destination-ipv6-cidr-block 64:ff9b::/96
awsq ec2 create-tags --resources "$vpc" --tags Key=owner,Value=someone-else
awsq ec2 create-tags --resources "$sn" --tags Key=extra,Value=x
# an ingress rule added by hand to a group mesh made: no aws_security_group_rule accounts for it
g1=$($PY -c 'import json; print([g["GroupId"] for g in json.load(open("sg.json"))["SecurityGroups"] if {"Key":"mesh:address","Value":"aws_security_group.cluster-1"} in g["Tags"]][0])')
ours=$($PY -c 'import json,sys; print(" ".join(sorted(r["SecurityGroupRuleId"] for r in json.load(open("rules.json"))["SecurityGroupRules"] if r["GroupId"] == sys.argv[1])))' "$g1")
ec2q() { $PY "$ROOT/tests/harness/aws/ec2q.py" "$MOTO_URL" call "$@"; }  # (the aws CLI takes seconds to start)
ec2q AuthorizeSecurityGroupIngress GroupId="$g1" IpPermissions.1.IpProtocol=tcp IpPermissions.1.FromPort=22 \
    IpPermissions.1.ToPort=22 IpPermissions.1.IpRanges.1.CidrIp=203.0.113.0/24 >/dev/null || not_ok "drift: authorize a rule by hand"
expect_rc "drift: plan exits 2" 2 mesh_net plan -f net.yaml --detailed-exitcode
grep -q '~ aws_security_group.cluster-1' "$T_DIR/last.out" && grep -qE 'ingress tcp 22 from 203.0.113.0/24 \(sgr-[0-9a-f]+\)' "$T_DIR/last.out" \
    && ok "drift: the rule added by hand is planned away (the group, the rule)" || { not_ok "drift: added SG rule"; grep -A8 'aws_security_group.cluster-1' "$T_DIR/last.out"; }
grep -q 'aws_security_group_rule\.' "$T_DIR/last.out" && not_ok "drift: mesh's own rules are planned to change" || ok "drift: mesh's own rules are not planned to change"
grep -q 'aws_route_table.private' "$T_DIR/last.out" && grep -q '64:ff9b::/96' "$T_DIR/last.out" && ok "drift: the deleted route is planned back" || not_ok "drift: route"
grep -q 'aws_vpc.main' "$T_DIR/last.out" && grep -q 'someone-else' "$T_DIR/last.out" && ok "drift: the changed tag is planned back" || not_ok "drift: tag"
grep -q 'aws_subnet.private_b' "$T_DIR/last.out" && ok "drift: the added tag is planned away" || not_ok "drift: extra tag"
expect_rc "drift: apply fixes it" 0 mesh_net apply -f net.yaml --auto-approve
check "drift: the route is back" test "$(awsq ec2 describe-route-tables --route-table-ids "$rtp" --query 'RouteTables[0].Routes[?DestinationIpv6CidrBlock==`64:ff9b::/96`].NatGatewayId')" = "$nat"
check "drift: the tag is back" test "$(awsq ec2 describe-tags --filters Name=resource-id,Values="$vpc" Name=key,Values=owner --query 'Tags[0].Value')" = platform
check "drift: the extra tag is gone" test -z "$(awsq ec2 describe-tags --filters Name=resource-id,Values="$sn" Name=key,Values=extra --query 'Tags[0].Value' | grep -v None)"
check "drift: the rule added by hand is revoked, mesh's 3 rules untouched (same IDs)" test "$(ec2q DescribeSecurityGroupRules \
    Filter.1.Name=group-id Filter.1.Value.1="$g1" | grep -o 'sgr-[0-9a-f]*' | sort -u | xargs)" = "$ours"
expect_rc "drift: then the plan is empty" 0 mesh_net plan -f net.yaml --detailed-exitcode

echo "# [${SECONDS}s]"
# ---- destroy leaves nothing ----
expect_rc "destroy" 0 mesh_net destroy -f net.yaml --auto-approve
check "destroy left no VPC, subnet, gateway, EIP, NAT, route table or SG" test "$(count_all)" = 0

echo "# [${SECONDS}s]"
# ---- eventual consistency: a new ID answers NotFound to the next 2 calls naming it; with it, the
# creates AWS does not refuse when repeated answered 500 (not processed) then lost after taking
# effect (never resent: looked up and adopted), and those with a ClientToken lost (resent with the
# token: the proxy answers the first call's object, as EC2 does) ----
curl -s -X POST "$PROXY_URL/__reset" >/dev/null
rules=""
for a in CreateVpc CreateInternetGateway AllocateAddress; do
    rules="$rules{\"kind\": \"500\", \"service\": \"ec2\", \"action\": \"$a\", \"first\": 1}, "
    rules="$rules{\"kind\": \"lost\", \"service\": \"ec2\", \"action\": \"$a\", \"first\": 1}, "
done
for a in CreateRouteTable CreateEgressOnlyInternetGateway CreateNatGateway; do
    rules="$rules{\"kind\": \"lost\", \"service\": \"ec2\", \"action\": \"$a\", \"first\": 1}, "
done
faults "{\"eventual\": 2, \"rules\": [${rules%, }]}"
expect_rc "eventual consistency (K=2) + lost replies of creates: apply converges" 0 mesh_net apply -f net.yaml --auto-approve
stats=$(curl -s "$PROXY_URL/__stats")
hits=$($PY -c 'import json,sys; print(json.load(sys.stdin)["injected"].get("eventual", 0))' <<<"$stats")
lost=$($PY -c 'import json,sys; print(json.load(sys.stdin)["injected"].get("lost", 0))' <<<"$stats")
faults '{}'
check "eventual consistency: NotFound answers were injected ($hits) and retried" test "$hits" -gt 5
check "lost replies: 6 creates' replies were lost ($lost)" test "$lost" = 6
check "lost replies: each create of CreateVpc, CreateInternetGateway, AllocateAddress adopted, not resent" \
    test "$(grep -c 'but the object exists: adopted' "$T_DIR/last.out")" = 3
check "lost replies: after a 500, looked up (none) and created again" \
    test "$(grep -c 'nothing was made: creating again' "$T_DIR/last.out")" = 3
check "lost replies: as many objects as a clean apply makes ($n_full), 0 orphans" \
    test "$(count_all)" = "$n_full" -a "$(orphans_aws)" = 0
expect_rc "eventual consistency: then the plan is empty" 0 mesh_net plan -f net.yaml --detailed-exitcode
expect_rc "eventual consistency: destroy" 0 mesh_net destroy -f net.yaml --auto-approve
check "eventual consistency: nothing left" test "$(count_all)" = 0

echo "# [${SECONDS}s]"
# ---- throttling and 503s: 4 runs in a row (2 applies, 2 destroys) converge, retries reported ----
# (tests/reliability/storm.sh storms the whole reference deployment)
faults '{"rules": [{"kind": "throttle", "service": "ec2", "rate": 0.3}, {"kind": "503", "service": "ec2", "rate": 0.05}], "seed": 11}'
bad=0 total=0
for i in $(seq 1 4); do
    if [ $((i % 2)) = 1 ]; then mesh_net apply -f net.yaml --auto-approve >out.txt 2>&1 || bad=$((bad + 1))
    else mesh_net destroy -f net.yaml --auto-approve >out.txt 2>&1 || bad=$((bad + 1)); fi
    total=$((total + $(sed -n 's/^AWS: [0-9]* API calls, \([0-9]*\) retries/\1/p' out.txt | head -1)))
done
faults '{}'
check "30% throttled + 5% 503: 4 runs in a row (apply, destroy, ...) all converged" test $bad = 0
check "the runs reported their retries ($total)" test "$total" -gt 12
expect_rc "after the faulty runs, destroy" 0 mesh_net destroy -f net.yaml --auto-approve
check "nothing left after the faulty runs" test "$(count_all)" = 0

echo "# [${SECONDS}s]"
# ---- fail at every driver call: the next apply (or destroy) leaves no orphan ----
# Every third call (the loops over the whole AWS part in aws_clusters.sh cover these drivers too);
# MESH_FULL_LOOPS=1: every call.
stride=${MESH_FULL_LOOPS:+1}
stride=${stride:-12}
bad=0 n=0 rc=1
for n in $(seq 1 "$stride" 60); do
    MESH_FAULTS="fail:call=$n" mesh_net apply -f net.yaml --auto-approve >out.txt 2>err.txt
    rc=$?
    [ $rc = 0 ] && break
    grep -q 'injected fault' err.txt out.txt || { bad=1; echo "# N=$n: not the injected fault"; tail -3 err.txt; }
    o=$(orphans_aws)
    [ "$o" = 0 ] || { bad=1; echo "# N=$n: $o orphans after the failed apply"; }
done
check "fail at every ${stride}th call (N=1..$((n - 1))): each failed apply left 0 orphans" test $bad = 0
check "the fail loop reached a successful apply" test $rc = 0
expect_rc "fail loop: then the plan is empty" 0 mesh_net plan -f net.yaml --detailed-exitcode
bad=0
for n in 2 7 13 19; do
    MESH_FAULTS="fail:call=$n" mesh_net destroy -f net.yaml --auto-approve >out.txt 2>&1
    [ "$(orphans_aws)" = 0 ] || { bad=1; echo "# destroy N=$n left orphans"; }
done
expect_rc "fail loop: a clean destroy finishes" 0 mesh_net destroy -f net.yaml --auto-approve
check "failed destroys kept every object in state (0 orphans), then nothing is left" test $bad = 0 -a "$(count_all)" = 0

echo "# [${SECONDS}s]"
# ---- crash at every call: one apply after the crash converges, 0 orphans ----
bad=0 crashes=0
for n in $(seq 2 "$stride" 90); do
    MESH_FAULTS="crash:call=$n" mesh_net apply -f net.yaml --auto-approve >out.txt 2>&1 && break  # past the last call
    crashes=$((crashes + 1))
    mesh_net apply -f net.yaml --auto-approve >out2.txt 2>&1 || { bad=1; echo "# crash N=$n: apply after it failed"; tail -3 out2.txt; }
    o=$(orphans_aws)
    [ "$o" = 0 ] || { bad=1; echo "# crash N=$n: $o orphans"; }
    mesh_net destroy -f net.yaml --auto-approve >/dev/null 2>&1 || bad=1
done
mesh_net destroy -f net.yaml --auto-approve >/dev/null 2>&1 || bad=1
check "crash at every ${stride}th call ($crashes crashes): the next apply converged with 0 orphans" test $bad = 0
check "the crash loop reached an apply that completed" test $crashes -lt $((90 / stride))
bad=0
for n in 3 11; do
    mesh_net apply -f net.yaml --auto-approve >/dev/null 2>&1
    MESH_FAULTS="crash-after:call=$n" mesh_net destroy -f net.yaml --auto-approve >out.txt 2>&1
    mesh_net destroy -f net.yaml --auto-approve >out2.txt 2>&1 || bad=1
    [ "$(count_all)" = 0 ] || { bad=1; echo "# destroy crash N=$n left objects"; }
done
check "crash during destroy: the next destroy leaves nothing" test $bad = 0

echo "# [${SECONDS}s]"
# ---- existing network: only the SGs, in the given VPC ----
xvpc=$(awsq ec2 create-vpc --cidr-block 10.9.0.0/16 --query Vpc.VpcId)
xsn=$(awsq ec2 create-subnet --vpc-id "$xvpc" --cidr-block 10.9.0.0/20 --query Subnet.SubnetId)
cat > existing.yaml <<YAML
mesh: {name: ex, region: us-west-2}
network:
  existing: {vpc_id: $xvpc, subnet_ids: [$xsn]}
clusters:
  c1: {}
  c2: {}
YAML
expect_rc "existing network: apply" 0 mesh_sg apply -f existing.yaml --auto-approve --state ex.db
check "existing network: only the 2 SGs and their 6 rules" grep -q 'Resources: 8 added' "$T_DIR/last.out"
check "existing network: the SGs are in the given VPC" test "$(awsq ec2 describe-security-groups --filters Name=vpc-id,Values="$xvpc" Name=tag-key,Values=mesh:address --query 'length(SecurityGroups)')" = 2
expect_rc "existing network: destroy" 0 mesh_sg destroy -f existing.yaml --auto-approve --state ex.db
check "existing network: the VPC is left alone" test "$(awsq ec2 describe-vpcs --vpc-ids "$xvpc" --query 'Vpcs[0].State')" = available

echo "# [${SECONDS}s]"
# ---- errors: ADDRESS: Action failed: Code: Message (request id ...) ----
sed 's/cidr: 10.6.0.0\/16/cidr: 10.6.0.0\/29/; s/private_subnets: .*/private_subnets: [10.6.0.0\/30]/; s/public_subnets: .*/public_subnets: [10.6.0.4\/30]/' net.yaml > bad.yaml
mesh_net apply -f bad.yaml --auto-approve --state bad.db >out.txt 2>&1
grep -qE 'aws_vpc.main: CreateVpc failed: [A-Za-z.]+: .*\(request id [^)]+\)' out.txt && ok "an AWS error names the address, the action, the code and the request id" \
    || { not_ok "AWS error format"; tail -5 out.txt; }
t_done
