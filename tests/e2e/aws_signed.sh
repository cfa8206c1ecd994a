#!/usr/bin/env bash
# aws_signed.sh: mesh against moto in its signature-checking mode (tests/harness/aws/moto_auth.sh:
# an IAM user and access key made in moto's first unchecked calls, every later call checked for
# SigV4 by a key moto holds). moto re-encodes the parsed form before it checks a Query signature,
# so only bodies encoded byte for byte as botocore encodes them (a space as '+') pass: a security
# group described "Managed by mesh" and tags with spaces and '&', '=', '/' are created, read back
# with an empty plan, and destroyed, every call checked; a key moto does not know is reported as
# the AWS error it is (AuthFailure, served by moto as text/html), not as "an HTML page".
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
source "$ROOT/tests/harness/aws/moto_auth.sh"
t_setup
aws_harness_suite || { not_ok "harness starts"; t_done; exit 1; }
export MESH_BACKOFF_SCALE=0.01
if moto_auth_on "$MOTO_URL"; then ok "moto checks signatures; user mesh-e2e with an access key"; else
    not_ok "moto checks signatures"; t_done; exit 1
fi
awsq() { AWS_MAX_ATTEMPTS=1 aws --endpoint-url "$MOTO_URL" --output text "$@"; }
rejected() { grep -cE '" (401|403) ' "$H/moto.log"; }

cat > signed.yaml <<'EOF'
mesh:
  name: signed
  region: us-west-2
resources:
  aws_vpc.main:
    cidr_block: 10.9.0.0/16
    tags: {Name: "signed vpc"}
  aws_security_group.web:
    name: web sg
    vpc_id: "${aws_vpc.main.id}"
    tags: {team: "a b&c=d/e+f~g", note: "caf\u00e9 *(x)!"}
EOF

awsq sts get-caller-identity --query Account >/dev/null && ok "the CLI's own call with the key passes" ||
    not_ok "the CLI's own call with the key"
before=$(rejected)
expect_rc "apply: every call signed and checked" 0 "$MESH" apply -f signed.yaml --auto-approve
grep -q 'Apply complete! Resources: 2 added' "$T_DIR/last.out" && ok "2 resources created" ||
    not_ok "2 resources created: $(cat "$T_DIR/last.out" "$T_DIR/last.err" | tail -3)"
desc=$(awsq ec2 describe-security-groups --filters Name=tag:mesh:address,Values=aws_security_group.web \
       --query 'SecurityGroups[0].[GroupName,Description]')
[ "$desc" = "$(printf 'web sg\tManaged by mesh')" ] && ok "the group is named 'web sg', described 'Managed by mesh'" ||
    not_ok "group name and description: '$desc'"
team=$(awsq ec2 describe-security-groups --filters Name=tag:mesh:address,Values=aws_security_group.web \
       --query "SecurityGroups[0].Tags[?Key=='team'].Value")
[ "$team" = "a b&c=d/e+f~g" ] && ok "a tag with ' &=/+~' arrives as written" || not_ok "tag value: '$team'"
expect_rc "a second plan is empty" 0 "$MESH" plan -f signed.yaml --detailed-exitcode
[ "$(rejected)" = "$before" ] && ok "moto rejected no signed call of mesh's" ||
    not_ok "moto rejected $(( $(rejected) - before )) calls: $(grep -E '" (401|403) ' "$H/moto.log" | tail -3)"

AWS_ACCESS_KEY_ID=AKIDNOTINMOTO expect_rc "a key moto does not know fails the plan" 1 "$MESH" plan -f signed.yaml
grep -q 'failed: AuthFailure: AWS was not able to validate the provided access credentials' "$T_DIR/last.err" &&
    ok "it is reported as the AWS error AuthFailure" || not_ok "AuthFailure: $(head -3 "$T_DIR/last.err")"
! grep -q 'HTML page' "$T_DIR/last.err" && ok "not as an HTML page" || not_ok "reported as an HTML page"
AWS_SECRET_ACCESS_KEY=not-the-secret expect_rc "a wrong secret fails the plan" 1 "$MESH" plan -f signed.yaml
grep -qE 'failed: (AuthFailure|SignatureDoesNotMatch): ' "$T_DIR/last.err" && ok "it is reported as the AWS error" ||
    not_ok "wrong secret: $(head -3 "$T_DIR/last.err")"
! grep -q -- "$AWS_SECRET_ACCESS_KEY" "$T_DIR/last.out" "$T_DIR/last.err" && ok "no secret in the output" || not_ok "secret leaked"

before=$(rejected)
expect_rc "destroy: every call signed and checked" 0 "$MESH" destroy -f signed.yaml --auto-approve
[ "$(rejected)" = "$before" ] && ok "moto rejected no call of the destroy" || not_ok "destroy calls rejected"
left=$(awsq ec2 describe-security-groups --filters Name=tag-key,Values=mesh:address --query 'length(SecurityGroups)')
[ "$left" = 0 ] && ok "nothing left" || not_ok "$left groups left"
t_done
