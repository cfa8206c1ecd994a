#!/usr/bin/env bash
# aws_blocked.sh: a delete that waits on a dependency says what it waits for. A VPC made by mesh
# gets a subnet mesh does not know about; `mesh destroy` then waits on DeleteVpc's
# DependencyViolation, and both its "Still destroying..." lines and its final error name the AWS
# answer and the subnet. Once the subnet is gone, destroy finishes. Against moto_server behind
# the fault proxy on free 127.0.0.1 ports.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
t_setup
aws_harness_suite || { not_ok "harness starts"; t_done; exit 1; }  # harness.sh also defines faults, awsq, awsj
# The delete's wait limit (600 s) scaled to 6 s; a "Still ..." line every second.
export MESH_BACKOFF_SCALE=0.01 MESH_PROGRESS_EVERY=1

cat > vpc.yaml <<'YAML'
mesh: {name: blocked, region: us-west-2}
resources:
  aws_vpc.main:
    cidr_block: 10.9.0.0/16
YAML
expect_rc "apply a VPC" 0 "$MESH" apply -f vpc.yaml --auto-approve
vpc=$(awsq ec2 describe-vpcs --filters Name=tag:mesh:address,Values=aws_vpc.main --query 'Vpcs[0].VpcId')
subnet=$(awsq ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.9.1.0/24 --query 'Subnet.SubnetId')
check "a subnet mesh does not manage is made in it" test -n "$subnet"

expect_rc "destroy fails while the subnet is there" 1 "$MESH" destroy -f vpc.yaml --auto-approve
out="$T_DIR/last.out" err="$T_DIR/last.err"
still=$(grep 'aws_vpc.main: Still destroying' "$out" | tail -1)
[[ $still == *"DependencyViolation"* && $still == *"$subnet"* ]] &&
    ok "the 'Still destroying...' line names the AWS answer and the subnet" ||
    not_ok "the 'Still destroying...' line names the blocker: ${still:-(no such line)}"
grep -q "gave up after.*DependencyViolation.*still used by.*$subnet" "$out" "$err" &&
    ok "the final error names the AWS answer and the subnet" ||
    not_ok "the final error names the blocker: $(grep -h 'gave up' "$out" "$err" | head -2)"

"$MESH" destroy -f vpc.yaml --auto-approve --json >"$T_DIR/json.out" 2>/dev/null
$PY - "$T_DIR/json.out" "$subnet" <<'PY' && ok "--json: the progress events carry the note as detail" || not_ok "--json progress detail"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
sys.exit(0 if any(e.get("status") == "still" and sys.argv[2] in e.get("detail", "") for e in evs) else 1)
PY

awsq ec2 delete-subnet --subnet-id "$subnet"
expect_rc "destroy finishes once the subnet is gone" 0 "$MESH" destroy -f vpc.yaml --auto-approve
t_done
