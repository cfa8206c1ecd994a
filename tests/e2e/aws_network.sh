#!/usr/bin/env bash
# aws_network.sh: the network of issue 6 (network: of specs/reference.yaml, plus the two clusters'
# cross-cluster security groups) applied by mesh against moto_server behind the fault proxy, both
# on free 127.0.0.1 ports, and checked with the aws CLI: every resource as the reference wants
# it, an empty second plan, drift made with the aws CLI planned and fixed, destroy leaving
# nothing, convergence under throttling and 503s with the retries reported, and the engine's
# fail-at-every-call and crash-at-every-call loops leaving no orphan.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
t_setup
H="$T_DIR/harness"
t_cleanup_aws() { aws_harness_stop "$H"; t_cleanup; }
trap t_cleanup_aws EXIT
aws_harness_start "$H" || { not_ok "harness starts"; t_done; exit 1; }

for v in $(env | grep -o '^AWS_[A-Z_]*'); do unset "$v"; done
export AWS_ENDPOINT_URL="$PROXY_URL" AWS_ACCESS_KEY_ID=AKIDMESHTEST AWS_SECRET_ACCESS_KEY=mesh-test-secret-do-not-log
export AWS_REGION=us-west-2 AWS_DEFAULT_REGION=us-west-2 AWS_EC2_METADATA_DISABLED=true MESH_BACKOFF_SCALE=0.01
faults() { curl -s -X POST "$PROXY_URL/__faults" -d "$1" >/dev/null; }
# The CLI talks to moto directly: checks must not see injected faults.
awsq() { AWS_MAX_ATTEMPTS=1 aws --endpoint-url "$MOTO_URL" --output text "$@"; }
awsj() { AWS_MAX_ATTEMPTS=1 aws --endpoint-url "$MOTO_URL" --output json "$@"; }

# The network part of the reference spec, and its clusters (for the cross-cluster groups).
$PY - "$ROOT/specs/reference.yaml" > net.yaml <<'PY'
import re, sys
src = open(sys.argv[1]).read()
block = lambda n: re.search(r'^%s:.*?(?=^\S)' % n, src, re.S | re.M).group(0)
print(block("mesh") + block("network") + "clusters:\n  cluster-1: {ip_family: ipv4}\n  cluster-2: {ip_family: ipv6}")
PY
grep -q 'nat: single' net.yaml && check "the test spec holds the reference's network section" grep -q 'cidr: 10.6.0.0/16' net.yaml

# Objects tagged mesh:address (what mesh made) that state does not hold, over every kind.
orphans_aws() {
    $PY - "$MOTO_URL" <(state_dump -f "${1:-net.yaml}" 2>/dev/null) <<'PY'
import json, subprocess, sys
url, dump = sys.argv[1], sys.argv[2]
held = set()
for line in open(dump):
    line = line.strip()
    if line:
        for i in (json.loads(line).get("outputs", {}).get("id") or "").split(","):
            held.add(i)
kinds = [("describe-vpcs", "Vpcs", "VpcId"), ("describe-subnets", "Subnets", "SubnetId"),
         ("describe-internet-gateways", "InternetGateways", "InternetGatewayId"),
         ("describe-egress-only-internet-gateways", "EgressOnlyInternetGateways", "EgressOnlyInternetGatewayId"),
         ("describe-addresses", "Addresses", "AllocationId"), ("describe-nat-gateways", "NatGateways", "NatGatewayId"),
         ("describe-route-tables", "RouteTables", "RouteTableId"), ("describe-security-groups", "SecurityGroups", "GroupId")]
n = 0
for cmd, key, idk in kinds:
    flt = "--filter" if cmd == "describe-nat-gateways" else "--filters"
    out = subprocess.run(["aws", "--endpoint-url", url, "--output", "json", "ec2", cmd, flt,
                          "Name=tag-key,Values=mesh:address"], capture_output=True, text=True, check=True).stdout
    for o in json.loads(out)[key]:
        if o.get("State") in ("deleted", "deleting", "failed"):
            continue
        if o[idk] not in held:
            n += 1
            print("orphan", o[idk], file=sys.stderr)
print(n)
PY
}
count_all() {  # how many mesh-made objects of every kind exist
    local n=0 k
    for k in "describe-vpcs --query length(Vpcs)" "describe-subnets --query length(Subnets)" \
             "describe-internet-gateways --query length(InternetGateways)" \
             "describe-egress-only-internet-gateways --query length(EgressOnlyInternetGateways)" \
             "describe-addresses --query length(Addresses)" \
             "describe-nat-gateways --filter Name=state,Values=available,pending --query length(NatGateways)" \
             "describe-route-tables --query length(RouteTables)" "describe-security-groups --query length(SecurityGroups)"; do
        set -- $k
        local extra=()
        [ "$1" = describe-nat-gateways ] || extra=(--filters Name=tag-key,Values=mesh:address)
        n=$((n + $(awsq ec2 "$@" "${extra[@]}")))
    done
    echo $n
}
tagid() {  # TYPE-QUERY ADDRESS: the ID of the object tagged mesh:address=ADDRESS
    awsq ec2 "$1" --filters "Name=tag:mesh:address,Values=$2" --query "$3"
}

# ---- apply ----
expect_rc "apply the reference network" 0 "$MESH" apply -f net.yaml --auto-approve
grep -q 'Apply complete! Resources: 21 added' "$T_DIR/last.out" && ok "21 resources created" || not_ok "21 resources created: $(tail -3 "$T_DIR/last.out")"
grep -qE '^AWS: [0-9]+ API calls, 0 retries' "$T_DIR/last.out" && ok "the summary reports API calls and retries" || not_ok "AWS summary line"
! grep -q 'mesh-test-secret-do-not-log' "$T_DIR/last.out" "$T_DIR/last.err" && ok "no secret in the output" || not_ok "secret leaked"

vpc=$(tagid describe-vpcs aws_vpc.main 'Vpcs[0].VpcId')
check "VPC 10.6.0.0/16" test "$(awsq ec2 describe-vpcs --vpc-ids "$vpc" --query 'Vpcs[0].CidrBlock')" = 10.6.0.0/16
v6=$(awsq ec2 describe-vpcs --vpc-ids "$vpc" --query 'Vpcs[0].Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock')
check "VPC has an Amazon IPv6 /56 ($v6)" test "${v6##*/}" = 56
check "VPC DNS hostnames on" test "$(awsq ec2 describe-vpc-attribute --vpc-id "$vpc" --attribute enableDnsHostnames --query EnableDnsHostnames.Value)" = True
check "VPC DNS support on" test "$(awsq ec2 describe-vpc-attribute --vpc-id "$vpc" --attribute enableDnsSupport --query EnableDnsSupport.Value)" = True
tags=$(awsj ec2 describe-vpcs --vpc-ids "$vpc" --query 'Vpcs[0].Tags')
$PY - "$tags" <<'PY' && ok "VPC tags: user tags, Name, mesh:address, mesh:run, mesh:name" || not_ok "VPC tags: $tags"
import json, sys
t = {x["Key"]: x["Value"] for x in json.loads(sys.argv[1])}
assert t["project"] == "istio-multi-primary" and t["owner"] == "platform" and t["Name"] == "istio-multi-primary", t
assert t["mesh:address"] == "aws_vpc.main" and t["mesh:run"] and t["mesh:name"] == "istio-multi-primary", t
PY
# Subnets: CIDR, AZ, IPv6 /64 index, role tag, flags (DNS64 through the proxy's fill-in).
prefix=${v6%%::/56}
bad=""
for spec in "private_a 10.6.0.0/20 us-west-2a 3 internal-elb False" "private_b 10.6.16.0/20 us-west-2b 4 internal-elb False" \
            "private_c 10.6.32.0/20 us-west-2c 5 internal-elb False" "public_a 10.6.48.0/24 us-west-2a 0 elb True" \
            "public_b 10.6.49.0/24 us-west-2b 1 elb True" "public_c 10.6.50.0/24 us-west-2c 2 elb True"; do
    set -- $spec
    got=$(awsj ec2 describe-subnets --filters "Name=tag:mesh:address,Values=aws_subnet.$1" --query 'Subnets[0]')
    $PY - "$got" "$2" "$3" "$4" "$5" "$6" "$vpc" <<'PY' || bad="$bad $1"
import ipaddress, json, sys
s, cidr, az, idx, role, public, vpc = json.loads(sys.argv[1]), *sys.argv[2:]
assert s["CidrBlock"] == cidr and s["AvailabilityZone"] == az and s["VpcId"] == vpc, s
v6 = ipaddress.ip_network(s["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"])
assert v6.prefixlen == 64 and (int(v6.network_address) >> 64) & 0xff == int(idx), v6
t = {x["Key"]: x["Value"] for x in s["Tags"]}
assert t["kubernetes.io/role/" + role] == "1", t
assert str(s["MapPublicIpOnLaunch"]) == public and s["AssignIpv6AddressOnCreation"] is True, s
PY
done
check "6 subnets: CIDRs, AZs, IPv6 indexes 0-5, role tags, public IPs" test -z "$bad"
sn=$(tagid describe-subnets aws_subnet.private_b 'Subnets[0].SubnetId')
check "DNS64 on (as DescribeSubnets reports it)" test "$(AWS_MAX_ATTEMPTS=1 aws --endpoint-url "$PROXY_URL" --output text ec2 describe-subnets --subnet-ids "$sn" --query 'Subnets[0].EnableDns64')" = True
igw=$(tagid describe-internet-gateways aws_internet_gateway.main 'InternetGateways[0].InternetGatewayId')
check "internet gateway attached to the VPC" test "$(awsq ec2 describe-internet-gateways --internet-gateway-ids "$igw" --query 'InternetGateways[0].Attachments[0].VpcId')" = "$vpc"
eigw=$(tagid describe-egress-only-internet-gateways aws_egress_only_internet_gateway.main 'EgressOnlyInternetGateways[0].EgressOnlyInternetGatewayId')
check "egress-only gateway in the VPC" test -n "$eigw"
nat=$(awsq ec2 describe-nat-gateways --filter Name=tag:mesh:address,Values=aws_nat_gateway.nat --query 'NatGateways[0].NatGatewayId')
pa=$(tagid describe-subnets aws_subnet.public_a 'Subnets[0].SubnetId')
check "NAT gateway available in public_a with the EIP" test "$(awsq ec2 describe-nat-gateways --nat-gateway-ids "$nat" --query 'NatGateways[0].[State,SubnetId,NatGatewayAddresses[0].AllocationId]')" = \
    "available	$pa	$(tagid describe-addresses aws_eip.nat 'Addresses[0].AllocationId')"
routes() { awsj ec2 describe-route-tables --filters "Name=tag:mesh:address,Values=$1" --query 'RouteTables[0]'; }
$PY - "$(routes aws_route_table.public)" "$igw" <<'PY' && ok "public routes: 0.0.0.0/0 and ::/0 via the IGW, 3 public subnets" || not_ok "public routes"
import json, sys
t, igw = json.loads(sys.argv[1]), sys.argv[2]
r = {x.get("DestinationCidrBlock") or x.get("DestinationIpv6CidrBlock"): x for x in t["Routes"]}
assert r["0.0.0.0/0"]["GatewayId"] == igw and r["::/0"]["GatewayId"] == igw, r
assert len([a for a in t["Associations"] if a.get("SubnetId")]) == 3
PY
$PY - "$(routes aws_route_table.private)" "$nat" "$eigw" <<'PY' && ok "private routes: 0.0.0.0/0 and 64:ff9b::/96 via NAT, ::/0 via EIGW, 3 private subnets" || not_ok "private routes"
import json, sys
t, nat, eigw = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
r = {x.get("DestinationCidrBlock") or x.get("DestinationIpv6CidrBlock"): x for x in t["Routes"]}
assert r["0.0.0.0/0"]["NatGatewayId"] == nat and r["64:ff9b::/96"]["NatGatewayId"] == nat, r
assert r["::/0"]["EgressOnlyInternetGatewayId"] == eigw, r
assert len([a for a in t["Associations"] if a.get("SubnetId")]) == 3
PY
sg1=$(tagid describe-security-groups aws_security_group.cluster-1 'SecurityGroups[0].GroupId')
sg2=$(tagid describe-security-groups aws_security_group.cluster-2 'SecurityGroups[0].GroupId')
rules() { awsj ec2 describe-security-group-rules --filters "Name=group-id,Values=$1" --query 'SecurityGroupRules'; }
$PY - "$(rules "$sg1")" "$sg2" "$(rules "$sg2")" "$sg1" <<'PY' && ok "SGs allow each other and all egress over IPv4 and IPv6, nothing else" || not_ok "SG rules"
import json, sys
for rules, other in ((json.loads(sys.argv[1]), sys.argv[2]), (json.loads(sys.argv[3]), sys.argv[4])):
    got = sorted((r["IsEgress"], r["IpProtocol"], r.get("CidrIpv4") or r.get("CidrIpv6") or r["ReferencedGroupInfo"]["GroupId"]) for r in rules)
    assert got == sorted([(False, "-1", other), (True, "-1", "0.0.0.0/0"), (True, "-1", "::/0")]), got
PY

echo "# [${SECONDS}s]"
# ---- a second plan is empty ----
expect_rc "a second plan is empty" 0 "$MESH" plan -f net.yaml --detailed-exitcode

echo "# [${SECONDS}s]"
# ---- drift made outside mesh: planned, then fixed ----
rtp=$(tagid describe-route-tables aws_route_table.private 'RouteTables[0].RouteTableId')
awsq ec2 delete-route --route-table-id "$rtp" --destination-ipv6-cidr-block 64:ff9b::/96
awsq ec2 create-tags --resources "$vpc" --tags Key=owner,Value=someone-else
awsq ec2 create-tags --resources "$sn" --tags Key=extra,Value=x
expect_rc "drift: plan exits 2" 2 "$MESH" plan -f net.yaml --detailed-exitcode
grep -q 'aws_route_table.private' "$T_DIR/last.out" && grep -q '64:ff9b::/96' "$T_DIR/last.out" && ok "drift: the deleted route is planned back" || not_ok "drift: route"
grep -q 'aws_vpc.main' "$T_DIR/last.out" && grep -q 'someone-else' "$T_DIR/last.out" && ok "drift: the changed tag is planned back" || not_ok "drift: tag"
grep -q 'aws_subnet.private_b' "$T_DIR/last.out" && ok "drift: the added tag is planned away" || not_ok "drift: extra tag"
expect_rc "drift: apply fixes it" 0 "$MESH" apply -f net.yaml --auto-approve
check "drift: the route is back" test "$(awsq ec2 describe-route-tables --route-table-ids "$rtp" --query 'RouteTables[0].Routes[?DestinationIpv6CidrBlock==`64:ff9b::/96`].NatGatewayId')" = "$nat"
check "drift: the tag is back" test "$(awsq ec2 describe-tags --filters Name=resource-id,Values="$vpc" Name=key,Values=owner --query 'Tags[0].Value')" = platform
check "drift: the extra tag is gone" test -z "$(awsq ec2 describe-tags --filters Name=resource-id,Values="$sn" Name=key,Values=extra --query 'Tags[0].Value' | grep -v None)"
expect_rc "drift: then the plan is empty" 0 "$MESH" plan -f net.yaml --detailed-exitcode

echo "# [${SECONDS}s]"
# ---- destroy leaves nothing ----
expect_rc "destroy" 0 "$MESH" destroy -f net.yaml --auto-approve
check "destroy left no VPC, subnet, gateway, EIP, NAT, route table or SG" test "$(count_all)" = 0

echo "# [${SECONDS}s]"
# ---- throttling and 503s: 10 applies in a row converge, retries reported ----
faults '{"rules": [{"kind": "throttle", "service": "ec2", "rate": 0.3}, {"kind": "503", "service": "ec2", "rate": 0.05}], "seed": 11}'
bad=0 total=0
for i in $(seq 1 10); do
    if [ $((i % 2)) = 1 ]; then "$MESH" apply -f net.yaml --auto-approve >out.txt 2>&1 || bad=$((bad + 1))
    else "$MESH" destroy -f net.yaml --auto-approve >out.txt 2>&1 || bad=$((bad + 1)); fi
    total=$((total + $(sed -n 's/^AWS: [0-9]* API calls, \([0-9]*\) retries/\1/p' out.txt | head -1)))
done
faults '{}'
check "30% throttled + 5% 503: 10 runs in a row (apply, destroy, ...) all converged" test $bad = 0
check "the runs reported their retries ($total)" test "$total" -gt 20
expect_rc "after the faulty runs, destroy" 0 "$MESH" destroy -f net.yaml --auto-approve
check "nothing left after the faulty runs" test "$(count_all)" = 0

echo "# [${SECONDS}s]"
# ---- fail at every driver call: the next apply (or destroy) leaves no orphan ----
bad=0 n=0 rc=1
for n in $(seq 1 40); do
    MESH_FAULTS="fail:call=$n" "$MESH" apply -f net.yaml --auto-approve >out.txt 2>err.txt
    rc=$?
    [ $rc = 0 ] && break
    grep -q 'injected fault' err.txt out.txt || { bad=1; echo "# N=$n: not the injected fault"; tail -3 err.txt; }
    o=$(orphans_aws)
    [ "$o" = 0 ] || { bad=1; echo "# N=$n: $o orphans after the failed apply"; }
done
check "fail at every call (N=1..$((n - 1))): each failed apply left 0 orphans" test $bad = 0
check "the fail loop reached a successful apply" test $rc = 0
expect_rc "fail loop: then the plan is empty" 0 "$MESH" plan -f net.yaml --detailed-exitcode
bad=0
for n in 1 3 6 9 12 15 18 21; do
    MESH_FAULTS="fail:call=$n" "$MESH" destroy -f net.yaml --auto-approve >out.txt 2>&1
    [ "$(orphans_aws)" = 0 ] || { bad=1; echo "# destroy N=$n left orphans"; }
done
expect_rc "fail loop: a clean destroy finishes" 0 "$MESH" destroy -f net.yaml --auto-approve
check "failed destroys kept every object in state (0 orphans), then nothing is left" test $bad = 0 -a "$(count_all)" = 0

echo "# [${SECONDS}s]"
# ---- crash at every call: one apply after the crash converges, 0 orphans ----
bad=0
for n in $(seq 1 3 30); do
    MESH_FAULTS="crash:call=$n" "$MESH" apply -f net.yaml --auto-approve >out.txt 2>&1
    "$MESH" apply -f net.yaml --auto-approve >out2.txt 2>&1 || { bad=1; echo "# crash N=$n: apply after it failed"; tail -3 out2.txt; }
    o=$(orphans_aws)
    [ "$o" = 0 ] || { bad=1; echo "# crash N=$n: $o orphans"; }
    "$MESH" destroy -f net.yaml --auto-approve >/dev/null 2>&1 || bad=1
done
check "crash at calls 1,4,..28: the next apply converged with 0 orphans" test $bad = 0
bad=0
for n in 2 5 9 14; do
    "$MESH" apply -f net.yaml --auto-approve >/dev/null 2>&1
    MESH_FAULTS="crash-after:call=$n" "$MESH" destroy -f net.yaml --auto-approve >out.txt 2>&1
    "$MESH" destroy -f net.yaml --auto-approve >out2.txt 2>&1 || bad=1
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
expect_rc "existing network: apply" 0 "$MESH" apply -f existing.yaml --auto-approve --state ex.db
check "existing network: only the 2 SGs and their 6 rules" grep -q 'Resources: 8 added' "$T_DIR/last.out"
check "existing network: the SGs are in the given VPC" test "$(awsq ec2 describe-security-groups --filters Name=vpc-id,Values="$xvpc" Name=tag-key,Values=mesh:address --query 'length(SecurityGroups)')" = 2
expect_rc "existing network: destroy" 0 "$MESH" destroy -f existing.yaml --auto-approve --state ex.db
check "existing network: the VPC is left alone" test "$(awsq ec2 describe-vpcs --vpc-ids "$xvpc" --query 'Vpcs[0].State')" = available

echo "# [${SECONDS}s]"
# ---- errors: ADDRESS: Action failed: Code: Message (request id ...) ----
sed 's/cidr: 10.6.0.0\/16/cidr: 10.6.0.0\/29/; s/private_subnets: .*/private_subnets: [10.6.0.0\/30]/; s/public_subnets: .*/public_subnets: [10.6.0.4\/30]/' net.yaml > bad.yaml
"$MESH" apply -f bad.yaml --auto-approve --state bad.db >out.txt 2>&1
grep -qE 'aws_vpc.main: CreateVpc failed: [A-Za-z.]+: .*\(request id [^)]+\)' out.txt && ok "an AWS error names the address, the action, the code and the request id" \
    || { not_ok "AWS error format"; tail -5 out.txt; }
t_done
