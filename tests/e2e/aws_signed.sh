#!/usr/bin/env bash
# aws_signed.sh: mesh against moto in its signature-checking mode (the harness's default,
# tests/harness/aws/auth.py: an IAM user and access key made in moto's first unchecked calls,
# every later call checked for SigV4 by a key moto holds). moto re-encodes the parsed form before it checks a Query signature,
# so only bodies encoded byte for byte as botocore encodes them (a space as '+') pass: a security
# group described "Managed by mesh" and tags with spaces and '&', '=', '/' are created, read back
# with an empty plan, and destroyed, every call checked; a key moto does not know is reported as
# the AWS error it is (AuthFailure, served by moto as text/html), not as "an HTML page". JSON 1.1
# calls (KMS, Logs) through aws_call.h pass the same check (aws_signed_probe.c); moto's EKS check
# rejects even the aws CLI, so there mesh only has to fail the same way.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
t_setup
aws_harness_suite || { not_ok "harness starts"; t_done; exit 1; }  # harness.sh also defines faults, awsq, awsj
export MESH_BACKOFF_SCALE=0.01
# aws_harness_suite turned checking on (unless MESH_HARNESS_AUTH=0) and exported the identity.
if [ -n "${HARNESS_ACCESS_KEY_ID:-}" ]; then ok "moto checks signatures (the harness's identity)"; else
    not_ok "moto checks signatures (MESH_HARNESS_AUTH=0?)"; t_done; exit 1
fi
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

# ---- JSON 1.1 (KMS, CloudWatch Logs) and REST-JSON (EKS) through aws_call.h ----
PROBE="$T_DIR/probe"
if ! out=$(cd "$ROOT" && cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Iengine -Iproviders -I. \
        -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer $(pkg-config --cflags libxml-2.0) -o "$PROBE" \
        tests/e2e/aws_signed_probe.c engine/base/err.c engine/base/strbuf.c engine/base/vec.c engine/base/duration.c \
        engine/base/xalloc.c engine/base/wipe.c providers/http.c \
        providers/aws/{aws_call,provider,policy,client,client_json,query,endpoint,credentials,creds_sources,creds_sts,profile,ini,sigv4}.c \
        $(pkg-config --libs libcurl openssl jansson libxml-2.0) -lpthread -lm 2>&1); then
    not_ok "build the probe: $out"
else
    probe() { AWS_ENDPOINT_URL="$MOTO_URL" "$PROBE" "$@" 2>&1; }
    before=$(rejected)
    out=$(probe json kms TrentService.CreateKey '{"Description":"mesh secrets key","Tags":[{"TagKey":"mesh:address","TagValue":"a b"}]}')
    grep -q '^ok {"KeyMetadata":{.*"Description":"mesh secrets key"' <<<"$out" && grep -q '^calls kms 1$' <<<"$out" &&
        ok "KMS CreateKey (JSON 1.1) passes the signature check, counted as a kms call" || not_ok "KMS CreateKey: $out"
    out=$(probe json kms TrentService.DescribeKey '{"KeyId":"alias/none"}')
    grep -qE '^err -2 NotFoundException [^ ]+: DescribeKey failed: NotFoundException: ' <<<"$out" &&
        ok "KMS NotFoundException: MESH_ENOTFOUND with the code and request ID" || not_ok "KMS not found: $out"
    out=$(probe json logs Logs_20140328.CreateLogGroup '{"logGroupName":"/aws/eks/c 1/cluster"}')
    grep -q '^ok {}$' <<<"$out" && ok "Logs CreateLogGroup (JSON 1.1) passes the signature check" || not_ok "CreateLogGroup: $out"
    out=$(probe json logs Logs_20140328.CreateLogGroup '{"logGroupName":"/aws/eks/c 1/cluster"}')
    grep -qE '^err -6 ResourceAlreadyExistsException ' <<<"$out" &&
        ok "Logs ResourceAlreadyExistsException: MESH_ECONFLICT" || not_ok "log group exists: $out"
    [ "$(rejected)" = "$before" ] && ok "moto rejected none of the KMS and Logs calls" || not_ok "KMS/Logs calls rejected"
    out=$(AWS_SECRET_ACCESS_KEY=not-the-secret probe json logs Logs_20140328.DescribeLogGroups '{}')
    grep -qE '^err -1 SignatureDoesNotMatch [^ ]+: DescribeLogGroups failed: SignatureDoesNotMatch: ' <<<"$out" &&
        ok "a wrong secret on a JSON 1.1 call: SignatureDoesNotMatch (moto's XML error read)" || not_ok "wrong secret (logs): $out"
    # moto's EKS signature check rejects even the aws CLI: then mesh's call must fail the same way (an
    # XML error to a REST-JSON call, read as the AWS error); if moto checks EKS correctly, it must pass.
    out=$(probe rest eks ListClusters GET /clusters -)
    if AWS_DEFAULT_REGION=$AWS_REGION awsq eks list-clusters >/dev/null 2>&1; then
        grep -q '^ok {"clusters":' <<<"$out" && ok "EKS ListClusters (REST-JSON) passes the signature check" || not_ok "EKS: $out"
    else
        grep -qE '^err -1 SignatureDoesNotMatch [^ ]+: ListClusters failed: SignatureDoesNotMatch: ' <<<"$out" &&
            ok "EKS: moto rejects the CLI's call too; mesh's is reported as the same AWS error" || not_ok "EKS: $out"
    fi
fi

before=$(rejected)
expect_rc "destroy: every call signed and checked" 0 "$MESH" destroy -f signed.yaml --auto-approve
[ "$(rejected)" = "$before" ] && ok "moto rejected no call of the destroy" || not_ok "destroy calls rejected"
left=$(awsq ec2 describe-security-groups --filters Name=tag-key,Values=mesh:address --query 'length(SecurityGroups)')
[ "$left" = 0 ] && ok "nothing left" || not_ok "$left groups left"
t_done
