#!/usr/bin/env bash
# state_s3_backend.sh: the S3 backend of team state (providers/aws/state_s3.c, issue 14) op by op
# against moto behind the fault proxy, every S3 call signature-checked by moto (state_s3_probe.c):
# the base written only if absent or at the ETag read; logs written only if absent, read back, the
# first missing one MESH_ENOTFOUND, older generations dropped; the S3 lease taken, refused naming
# its holder, renewed, released, taken over once expired, force-cleared; faults (500, reset,
# throttling for 30 % of calls, lost replies) still converge and a lost reply of a conditional
# PUT is recognised as ours; a missing bucket and a wrong region are clear errors.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
t_setup
# ---- the probe, built while the harness starts: the backend's sources, plus the other parts
# of issue 14 when they exist (weak stand-ins otherwise: state_s3_stubs.c) ----
PROBE="$T_DIR/probe"
others=$(cd "$ROOT" && ls providers/aws/{state_ddb,state_kms,dynamodb,client_json}.c providers/base64.c 2>/dev/null)
(cd "$ROOT" && cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Iengine -Iproviders \
    -Istate -I. -O0 -g -fsanitize=address,undefined -fno-omit-frame-pointer $(pkg-config --cflags libxml-2.0) \
    -o "$PROBE" tests/e2e/state_s3_probe.c tests/e2e/state_s3_stubs.c $others engine/base/err.c \
    engine/base/strbuf.c engine/base/vec.c engine/base/duration.c engine/base/xalloc.c engine/base/wipe.c \
    providers/http.c providers/aws/{state_s3,s3,s3_lease,client,query,endpoint,credentials,creds_sources,creds_sts,profile,ini,sigv4}.c \
    $(pkg-config --libs libcurl openssl jansson libxml-2.0) -lpthread -lm >"$T_DIR/build.log" 2>&1) &
build=$!
echo "# [${SECONDS}s] harness (the probe builds meanwhile)"
aws_harness_suite || { not_ok "harness starts"; t_done; exit 1; }
export MESH_BACKOFF_SCALE=0.01
rejected() { grep -cE '" (401|403) ' "$H/moto.log"; }
# moto checks an S3 signature against the path and query it has already decoded, so a request
# naming '/' in a query value (ListObjectsV2's prefix) or a key with reserved characters fails
# its check even from the aws CLI (moto/core/authorization.py uses self.uri): those few calls run
# with checking off (moto-api/reset-auth), every other S3 call is checked.
moto_auth() { curl -sf -o /dev/null -X POST -H "Content-Type: text/plain" --data-binary "$1" "$MOTO_URL/moto-api/reset-auth"; }
wait "$build" || { not_ok "build the probe: $(cat "$T_DIR/build.log")"; t_done; exit 1; }
KEY=team/mesh.state
p() { "$PROBE" "$@" 2>&1; }
pk() { p team-state "$KEY" "$@"; }
# expect NAME PATTERN OUTPUT: each line of PATTERN (an extended regex per line) matches the same line of OUTPUT
expect() {
    local name=$1 want=$2 got=$3 i=0 line
    local -a w g
    mapfile -t w <<<"$want"
    mapfile -t g <<<"$got"
    for line in "${w[@]}"; do
        if ! [[ ${g[$i]:-} =~ ^$line ]]; then not_ok "$name: line $((i + 1)) '${g[$i]:-}' !~ '$line'"; return; fi
        i=$((i + 1))
    done
    ok "$name"
}

echo "# [${SECONDS}s] buckets"
# Made and listed straight at moto, unsigned, with checking off: curl costs less than the aws CLI.
xml() { curl -sf -H "Content-Type: application/xml" "$@"; }
mkbucket() {  # NAME REGION
    xml -o /dev/null -X PUT "$MOTO_URL/$1" --data-binary \
        "<CreateBucketConfiguration><LocationConstraint>$2</LocationConstraint></CreateBucketConfiguration>"
}
keys() {  # ENCODED_PREFIX: the keys under it, one line each
    moto_auth inf
    xml "$MOTO_URL/team-state?list-type=2&prefix=$1" | grep -o '<Key>[^<]*</Key>' | sed -e 's/<[^>]*>//g' -e 's/&amp;/\&/g'
    moto_auth 0
}
moto_auth inf
{ mkbucket team-state us-west-2 && mkbucket eu-state eu-west-1 && xml -o /dev/null -X PUT "$MOTO_URL/team-state?versioning" \
    --data-binary '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>'; } ||
    { not_ok "buckets made"; t_done; exit 1; }
moto_auth 0
before=$(rejected)

echo "# [${SECONDS}s] base"
out=$(pk preflight base_get 'base_put v1' 'base_put v1-again' base_get)
expect "preflight sees versioning; no base: ENOTFOUND; written only if absent (second: ECONFLICT)" \
"ok versioned=1
err -2 .*s3://team-state/team/mesh.state does not exist
ok \"[0-9a-f]+\"
err -6 write the state base: s3://team-state/team/mesh.state was written by another writer \(it exists already\)
ok 2 \"[0-9a-f]+\" v1" "$out"
etag1=$(sed -n 3p <<<"$out" | cut -d' ' -f2)
out=$(pk "base_put v2 $etag1" "base_put v3 $etag1" base_get)
expect "If-Match on the ETag read: written; on a stale ETag: ECONFLICT, nothing overwritten" \
"ok \"[0-9a-f]+\"
err -6 .*its ETag moved
ok 2 \"[0-9a-f]+\" v2" "$out"

echo "# [${SECONDS}s] logs"
out=$(pk 'log_put 1 1 a' 'log_put 1 2 b' 'log_put 1 3 c' 'log_get 1 1' 'log_get 1 2' 'log_get 1 3' 'log_get 1 4' \
         'log_put 1 2 other' 'log_put 2 1 x')
expect "logs 1..3 put and read, 4 ENOTFOUND, a taken number ECONFLICT" \
"ok
ok
ok
ok 1 \"[0-9a-f]+\" a
ok 1 \"[0-9a-f]+\" b
ok 1 \"[0-9a-f]+\" c
err -2 .*team/mesh.state.log/000000000001/000000000004 does not exist
err -6 write log 2 of generation 1: .* \(it exists already\)
ok" "$out"
moto_auth inf
out=$(pk 'log_drop 2' 'log_get 1 1' 'log_get 2 1')
moto_auth 0
objs=$(keys team%2Fmesh.state.log%2F)
expect "log_drop 2 removes generation 1's logs, keeps generation 2's" \
"ok
err -2
ok 1 \"[0-9a-f]+\" x" "$out"
[ "$objs" = "$KEY.log/000000000002/000000000001" ] && ok "only generation 2's log is left" || not_ok "logs left: $objs"

echo "# [${SECONDS}s] lease"
out=$(pk lease_read 'lease_acquire run-a ana@laptop 60' 'lease_acquire run-b bo@ci 60' 'lease_renew run-a 120' \
         'lease_renew run-b 60' 'lease_release run-b' lease_read 'lease_release run-a' lease_read 'lease_release run-a')
expect "S3 lease: taken, refused naming the holder, renewed by its holder only, released by its holder only" \
"ok held=0
ok taken_over=0
held_by run-a ana@laptop
err -5 lock: the state s3://team-state/team/mesh.state.lease is locked by ana@laptop \(run run-a, pid 4242 on probe-host, 'apply'\) until
ok
err -5 renew: .*locked by ana@laptop
err -5 unlock: .*locked by ana@laptop
ok held=1 run-a ana@laptop 1[12][0-9]
ok
ok held=0
ok" "$out"
out=$(pk 'lease_acquire run-c carl@x -10' 'lease_acquire run-d dan@y 60' 'lease_force_clear run-c' \
         'lease_force_clear run-d' 'lease_force_clear run-d')
expect "an expired lease is taken over (naming the old holder); force_clear only of the named run" \
"ok taken_over=0
ok taken_over=1 prev=run-c
err -6 force-unlock: the lease on .* is held by run run-d \(dan@y\), not run-c
ok
err -2 force-unlock: there is no lease" "$out"

echo "# [${SECONDS}s] lost replies"
faults '{"rules": [{"kind": "lost", "service": "s3", "action": "PutObject", "first": 1}]}'
out=$(pk 'log_put 3 1 landed' 'log_get 3 1')
lost=$(curl -s "$PROXY_URL/__stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["injected"].get("lost", 0))')
expect "a log_put whose reply was lost (it landed; the resend met it: 412) is recognised as ours" \
"ok
ok 6 \"[0-9a-f]+\" landed" "$out"
[ "$lost" = 1 ] && ok "the proxy lost that reply" || not_ok "lost replies injected: $lost"
etag=$(pk base_get | cut -d' ' -f3)
faults '{"rules": [{"kind": "lost", "service": "s3", "action": "PutObject", "first": 1}]}'
out=$(pk "base_put v3 $etag" base_get 'lease_acquire run-e eve@z 60' 'lease_release run-e')
faults '{"rules": [{"kind": "lost", "service": "s3", "action": "PutObject", "first": 1}]}'
out+=$'\n'$(pk 'lease_acquire run-e eve@z 60' 'lease_release run-e')
expect "a lost reply of base_put (If-Match) and of a lease take are recognised as ours" \
"ok \"[0-9a-f]+\"
ok 2 \"[0-9a-f]+\" v3
ok taken_over=0
ok
ok taken_over=0
ok" "$out"

echo "# [${SECONDS}s] faults"
curl -s -X POST "$PROXY_URL/__reset" >/dev/null
faults '{"seed": 14, "rules": [{"kind": "throttle", "service": "s3", "rate": 0.3}, {"kind": "500", "service": "s3", "rate": 0.1},
         {"kind": "reset", "service": "s3", "rate": 0.1}, {"kind": "lost", "service": "s3", "action": "PutObject", "rate": 0.1}]}'
out=$(pk 'logs 4 25' 'lease_acquire run-f fay@w 60' 'lease_renew run-f 60' 'lease_release run-f' counts)
moto_auth inf
out+=$'\n'$(pk 'log_drop 5' counts)
moto_auth 0
faults '{}'
stats=$(curl -s "$PROXY_URL/__stats")
expect "under throttling (30 %), 500s, resets and lost replies: 25 logs written and read back, a lease cycle, a drop" \
"ok 25 logs
ok taken_over=0
ok
ok
ok s3 GET=[0-9]+ s3 PUT=[0-9]+ s3 LIST=0 s3 DELETE=1 dynamodb=0 kms=0
ok
ok s3 GET=0 s3 PUT=0 s3 LIST=1 s3 DELETE=1 dynamodb=0 kms=0" "$out"
python3 - "$stats" <<'PY' && ok "faults were injected; S3 calls are named by action" || not_ok "proxy stats: $stats"
import json, sys
s = json.loads(sys.argv[1])
inj, by = s["injected"], s["by_action"]
assert inj.get("throttle", 0) >= 5 and inj.get("500", 0) >= 1 and inj.get("reset", 0) >= 1, inj
for a in ("s3 PutObject", "s3 GetObject", "s3 ListObjectsV2", "s3 DeleteObject"):
    assert by.get(a, 0) >= 1, (a, by)
PY
objs=$(keys team%2Fmesh.state.log%2F)
[ -z "$objs" ] && ok "log_drop 5 removed every older log" || not_ok "logs left: $objs"

echo "# [${SECONDS}s] bad input"
out=$(p no-such-bucket k preflight base_get)
# MESH_EINVAL (-7), not MESH_ENOTFOUND: that means "no state yet", and a plan would show everything to add
expect "a missing bucket: a configuration error naming it, before and at the first read" \
"err -7 s3 HeadBucket failed: bucket no-such-bucket does not exist \(region us-west-2\)
err -7 s3 GetObject failed: bucket no-such-bucket does not exist" "$out"
out=$(p eu-state k preflight)
expect "a wrong region: named with the bucket's" \
"err -7 s3 HeadBucket failed: bucket eu-state is in region eu-west-1, not us-west-2: set state.region: eu-west-1" "$out"
out=$(AWS_REGION=eu-west-1 p eu-state k preflight)
expect "the right region passes (versioning off: said)" "ok versioned=0" "$out"
out=$(p team-state "a/./b" base_get)
expect "a key curl would rewrite is refused" "err -7 state.key 'a/./b': no '.' or '..' path segments" "$out"
[ "$(rejected)" = "$before" ] && ok "moto's signature check rejected no call" ||
    not_ok "moto rejected $(( $(rejected) - before )) calls: $(grep -E '" (401|403) ' "$H/moto.log" | tail -3)"
moto_auth inf
out=$(p team-state "team a/st+ate=1&x" 'base_put enc' base_get)
moto_auth 0
key=$(keys team%20a%2F)
expect "a key with ' +=&' is encoded once" "ok \"[0-9a-f]+\"
ok 3 \"[0-9a-f]+\" enc" "$out"
[ "$key" = "team a/st+ate=1&x" ] && ok "it is stored under its own name" || not_ok "stored as '$key'"

echo "# [${SECONDS}s] DynamoDB through the proxy"
# The proxy answers an injected fault itself: the call needs a credential scope, not a signature.
faults '{"rules": [{"kind": "throttle", "service": "dynamodb", "action": "PutItem", "first": 1}]}'
out=$(curl -s -w ' %{http_code}' -X POST "$PROXY_URL/" -H 'X-Amz-Target: DynamoDB_20120810.PutItem' \
      -H 'Content-Type: application/x-amz-json-1.0' -d '{}' \
      -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-west-2/dynamodb/aws4_request, SignedHeaders=host, Signature=0')
faults '{}'
[[ $out =~ \"__type\":\ \"[^\"]*(Throttling|ProvisionedThroughputExceeded)Exception\".*\ 400$ ]] &&
    ok "a DynamoDB call (JSON 1.0) is faulted by its action" || not_ok "dynamodb fault: $out"
echo "# [${SECONDS}s] DynamoDB lease and KMS key through the backend"
if [ -f "$ROOT/providers/aws/state_ddb.c" ] && [ -f "$ROOT/providers/aws/state_kms.c" ]; then
    json10() {  # SERVICE TARGET BODY: straight at moto, checking off (the credential scope routes it)
        curl -sf -X POST "$MOTO_URL/" -H "X-Amz-Target: $2" -H "Content-Type: application/x-amz-json-1.${4:-0}" -d "$3" \
            -H "Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-west-2/$1/aws4_request, SignedHeaders=host, Signature=0"
    }
    moto_auth inf
    json10 dynamodb DynamoDB_20120810.CreateTable '{"TableName": "locks", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "LockID", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "LockID", "KeyType": "HASH"}]}' >/dev/null
    kid=$(json10 kms TrentService.CreateKey '{"Description": "state key"}' 1 |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["KeyId"])')
    moto_auth 0
    out=$(p --lock-table locks --kms "$kid" team-state team/kms.state preflight 'lease_acquire run-k kim@x 60' \
            'lease_acquire run-l lee@y 60' 'lease_release run-k' key_get key_create key_create key_get counts)
    expect "with lock_table and kms_key_id: the lease in DynamoDB, the state key made once, unwrapped by KMS" \
"ok versioned=1
ok taken_over=0
held_by run-k kim@x
err -5
ok
err -2
ok ([0-9a-f]{8})
err -6
ok ([0-9a-f]{8})
ok s3 GET=[0-9]+ s3 PUT=2 s3 LIST=0 s3 DELETE=0 dynamodb=[1-9][0-9]* kms=[1-9][0-9]*" "$out"
    fp=$(grep -oE '^ok [0-9a-f]{8}$' <<<"$out" | sort -u | wc -l)
    [ "$fp" = 1 ] && ok "key_get unwraps the key key_create made" || not_ok "fingerprints: $out"
else
    echo "# DynamoDB lease and KMS key: state_ddb.c / state_kms.c not in this tree yet (h/ddb): not run"
fi
echo "# [${SECONDS}s] done"
t_done
