#!/usr/bin/env bash
# state_team.sh: team state on S3 (issue 14), end to end against moto behind the fault proxy.
# Two "machines" (working directories A and B with their own HOME, so no key file or cache is
# shared) use one state at s3://mesh-team/prod/mesh.state with a DynamoDB lease and a KMS-wrapped
# state key:
#   - A applies; B's plan is a no-op; a sensitive value reads the same on both (KMS), and no S3
#     object holds it in the clear; neither HOME holds a key file
#   - a third machine with virtual-hosted addressing (mesh-team.s3.localhost) plans the same state
#   - STATE_TEAM_RACES (default 50, the issue's count: ~45 s under ASan) races of an apply from each machine at once: exactly one
#     completes each time, the other fails at once naming the holder; state never torn
#   - kill -9 of A's apply while it writes (null resources with MESH_NULL_STORE): B's next apply
#     takes the lease over once expired, recovers and completes; 0 orphans, no-op plan
#   - 30 % of S3 and DynamoDB calls throttled / answering 500 / reset: applies converge
#   - a lease lost mid-run (deleted and taken by B): A stops writing with a clear error
#   - bad input: a missing bucket (apply and plan), a wrong region, an unversioned bucket (a warning), a state of
#     another lineage (push refused, --force accepted), a key that cannot be unwrapped (KMS key
#     disabled): each a clear error before anything is changed
#   - pull / push / migrate local -> S3 -> local keep lineage, serial, snapshots and journal;
#     the S3-object lease (no lock_table) refuses a second run too; a saved plan of A applies on B;
#     force-unlock from the other machine; SSE-KMS at rest; kill -9 during an apply of AWS objects
#     (VPC, gateway, subnets in moto), then the other machine's apply: 0 orphans, destroy leaves none
#   - snapshots beside the base: a run's snapshot becomes one object, written once; another
#     machine lists and restores it; a pull holds every snapshot itself
#   - a batch's intents wait for S3 before calls that change something outside the state (null
#     resources with MESH_NULL_STORE), not before calls that change nothing (without it)
#   - `mesh resources --iam-policy` allows every S3, DynamoDB and KMS call the suite made, scoped
#     to the state's bucket, key prefix, lock table and KMS key
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
t_setup
aws_harness_suite || { not_ok "the AWS harness started"; t_done; exit 1; }
export AWS_S3_USE_PATH_STYLE=true MESH_BACKOFF_SCALE=0.01
export MESH_NULL_STORE="$T_DIR/world"
mkdir -p "$MESH_NULL_STORE"
RACES=${STATE_TEAM_RACES:-50}
CANARY="canary-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

awsq s3api create-bucket --bucket mesh-team --create-bucket-configuration LocationConstraint=us-west-2 >/dev/null
awsq s3api put-bucket-versioning --bucket mesh-team --versioning-configuration Status=Enabled
awsq s3api create-bucket --bucket mesh-plain --create-bucket-configuration LocationConstraint=us-west-2 >/dev/null
awsq dynamodb create-table --table-name mesh-locks --attribute-definitions AttributeName=LockID,AttributeType=S \
    --key-schema AttributeName=LockID,KeyType=HASH --billing-mode PAY_PER_REQUEST >/dev/null
KMS_KEY=$(awsq kms create-key --query KeyMetadata.KeyId)
check "the bucket, the lock table and the KMS key exist" test -n "$KMS_KEY"

# spec DIR INPUT [EXTRA_STATE_YAML]: three null resources (one with a sensitive trigger) whose input is INPUT
spec() {
    mkdir -p "$1"
    cat >"$1/mesh.yaml" <<EOF
mesh: {name: team}
state:
  backend: s3
  bucket: mesh-team
  key: prod/mesh.state
  lock_table: mesh-locks
  kms_key_id: $KMS_KEY
${3:-}
resources:
  null_resource.a: {input: "$2", sensitive_triggers: {token: "$CANARY"}}
  null_resource.b: {input: "\${null_resource.a.output}"}
  null_resource.c: {input: "$2", depends_on: [null_resource.b]}
outputs:
  token: {value: "\${null_resource.a.sensitive_triggers}", sensitive: true}
EOF
}
# on MACHINE CMD...: run mesh in machine MACHINE's directory with its own HOME
on() { local m=$1; shift; (cd "$T_DIR/$m" && HOME="$T_DIR/$m/home" XDG_CONFIG_HOME="$T_DIR/$m/home/.config" "$MESH" "$@"); }
mkdir -p A/home B/home
spec A 1
spec B 1
t0=$SECONDS
expect_rc "machine A applies to team state" 0 on A apply --auto-approve
check "it says Apply complete" grep -q 'Apply complete' last.out
expect_rc "machine B's plan of the same spec is a no-op" 0 on B plan --detailed-exitcode
expect_rc "machine B reads the sensitive output (the key unwrapped through KMS)" 0 on B output token --json
check "B's value is A's" grep -q "$CANARY" last.out
aws s3 cp --recursive "s3://mesh-team/" "$T_DIR/s3copy" --endpoint-url "$MOTO_URL" >/dev/null 2>&1
check "S3 holds the state (base or logs)" test -n "$(ls -A "$T_DIR/s3copy" 2>/dev/null)"
check "no S3 object holds the sensitive value in the clear" sh -c "! grep -rq '$CANARY' '$T_DIR/s3copy'"
check "no key file under either machine's HOME" test -z "$(find A/home B/home -type f -name '*key*' 2>/dev/null)"
echo "# [${SECONDS}s] two machines ($((SECONDS - t0)) s)"

# ---- virtual-hosted addressing (BUCKET.HOST/KEY, the AWS CLI's default): curl resolves every
# *.localhost name to 127.0.0.1, and moto reads the bucket from the Host header
mkdir -p D/home
spec D 1 "  path_style: false"
export AWS_ENDPOINT_URL_S3=${PROXY_URL/127.0.0.1/s3.localhost}
expect_rc "machine D (virtual-hosted, state.path_style: false) plans the same state: a no-op" 0 \
    env AWS_S3_USE_PATH_STYLE=false MESH_LOG=debug bash -c 'cd "$0/D" && HOME="$0/D/home" "$1" plan --detailed-exitcode' "$T_DIR" "$MESH"
check "it read the state at mesh-team.s3.localhost" grep -q "GET http://mesh-team.s3.localhost:[0-9]*/prod/mesh.state (s3 GetObject" last.err
unset AWS_ENDPOINT_URL_S3

# ---- races: an apply from each machine at once ----
t0=$SECONDS
both=0 none=0 unnamed=0
for i in $(seq 1 "$RACES"); do
    spec A "ra$i"
    spec B "rb$i"
    # each run holds the lease a while (a delay in every driver call), so the two overlap
    MESH_FAULTS="delay:ms=150" on A apply --auto-approve >ra.out 2>ra.err &
    pa=$!
    MESH_FAULTS="delay:ms=150" on B apply --auto-approve >rb.out 2>rb.err &
    pb=$!
    wait $pa; ra=$?
    wait $pb; rb=$?
    if [ $ra = 0 ] && [ $rb = 0 ]; then
        both=$((both + 1))
    elif [ $ra != 0 ] && [ $rb != 0 ]; then
        none=$((none + 1))
        sed 's/^/    | /' ra.err rb.err | tail -6
    else
        loser=ra.err; [ $ra = 0 ] && loser=rb.err
        grep -q 'state is locked by run' $loser || { unnamed=$((unnamed + 1)); sed 's/^/    | /' $loser | tail -3; }
    fi
done
check "$RACES races: one apply won each time ($both with two winners, $none with none)" test $none = 0 -a $both = 0
check "$RACES races: every loser named the holder" test $unnamed = 0
spec A final
spec B final
expect_rc "after the races an apply converges" 0 on A apply --auto-approve
expect_rc "and B's plan of the same spec is a no-op" 0 on B plan --detailed-exitcode
echo "# [${SECONDS}s] $RACES races ($((SECONDS - t0)) s)"

# ---- kill -9 mid-apply on A; B takes over ----
t0=$SECONDS
spec A killed
spec B killed
export MESH_LOCK_TTL=3
(cd A && HOME="$T_DIR/A/home" MESH_FAULTS="delay:ms=800" exec "$MESH" apply --auto-approve >"$T_DIR/k.out" 2>&1) &
victim=$!
for _ in $(seq 1 100); do grep -q 'Modifying\|Creating' k.out 2>/dev/null && break; sleep 0.1; done
sleep 0.5
kill -9 $victim; wait $victim 2>/dev/null
expect_rc "after kill -9 on A, B's apply completes (lease taken over, run recovered)" 0 on B apply --auto-approve --lock-timeout 30s
check "B said it took the lease over" grep -q 'took over the state lock' last.err
unset MESH_LOCK_TTL
held=$(on B state list | wc -l)
objs=$(ls "$MESH_NULL_STORE" | wc -l)
check "0 orphans: the world holds as many objects as state ($objs / $held)" test "$objs" = "$held"
expect_rc "A's plan is a no-op after B's recovery" 0 on A plan --detailed-exitcode
echo "# [${SECONDS}s] kill -9 ($((SECONDS - t0)) s)"

# ---- a saved plan made on A applies on B (encrypted with the team's key) ----
spec A saved
spec B saved
expect_rc "A saves a plan" 0 on A plan --out "$T_DIR/team.plan"
expect_rc "B applies A's saved plan" 0 on B apply "$T_DIR/team.plan"
check "it applied" grep -q 'Apply complete' last.out

# ---- force-unlock from the other machine ----
spec A held
(cd A && HOME="$T_DIR/A/home" MESH_FAULTS="delay:ms=3000" exec "$MESH" apply --auto-approve >"$T_DIR/h.out" 2>&1) &
victim=$!
for _ in $(seq 1 100); do grep -q 'Modifying\|Creating' h.out 2>/dev/null && break; sleep 0.1; done
kill -9 $victim; wait $victim 2>/dev/null
spec B held
expect_rc "B is refused while the dead run's lease lasts" 1 on B apply --auto-approve
run=$(sed -n 's/.*state is locked by run \([^ ]*\) .*/\1/p' last.err | head -1)
check "the refusal names the run ($run)" test -n "$run"
expect_rc "B force-unlocks that run on DynamoDB" 0 on B force-unlock "$run"
expect_rc "A's plan then shows the cut-off run (force-unlock leaves an expired record: its logs are read)" 2 \
    on A plan --detailed-exitcode
check "saying it was cut off" grep -q "Run $run was cut off" last.out
expect_rc "a second force-unlock of it says the state is not locked" 1 on B force-unlock "$run"
check "in those words" grep -q 'not locked' last.err
expect_rc "then B's apply recovers the killed run and completes" 0 on B apply --auto-approve
expect_rc "and A's plan of it is a no-op" 0 on A plan --detailed-exitcode

# ---- faults: 30 % of S3 and DynamoDB calls fail ----
t0=$SECONDS
faults '{"rules": [{"kind": "throttle", "service": "s3", "action": "*", "rate": 0.1},
                   {"kind": "500", "service": "s3", "action": "*", "rate": 0.1},
                   {"kind": "reset", "service": "s3", "action": "*", "rate": 0.1},
                   {"kind": "throttle", "service": "dynamodb", "action": "*", "rate": 0.15},
                   {"kind": "500", "service": "dynamodb", "action": "*", "rate": 0.15}], "seed": 7}'
conv=0
for i in 1 2 3 4 5; do
    spec A "fault$i"
    on A apply --auto-approve >f.out 2>f.err && conv=$((conv + 1))
done
injected=$(curl -s "$PROXY_URL/__stats" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["injected"].values()))')
faults '{}'
check "5 applies under 30 % S3/DynamoDB faults all converged ($conv/5; $injected faults injected)" test "$conv" = 5 -a "$injected" -gt 0
spec B fault5
expect_rc "B's plan of the same spec is a no-op after them" 0 on B plan --detailed-exitcode
echo "# [${SECONDS}s] faults ($((SECONDS - t0)) s)"

# ---- a lease lost mid-run ----
t0=$SECONDS
spec A lost
(cd A && HOME="$T_DIR/A/home" MESH_LOCK_TTL=3 MESH_FAULTS="delay:ms=1500" exec "$MESH" apply --auto-approve >"$T_DIR/l.out" 2>&1) &
victim=$!
for _ in $(seq 1 100); do grep -q 'Modifying\|Creating' l.out 2>/dev/null && break; sleep 0.1; done
awsq dynamodb delete-item --table-name mesh-locks --key '{"LockID": {"S": "mesh-team/prod/mesh.state"}}'
spec B lostb
on B apply --auto-approve --lock-timeout 30s >lb.out 2>lb.err; rb=$?
wait $victim; ra=$?
check "A, whose lease was taken, fails ($ra)" test "$ra" != 0
check "A says its lease was lost" grep -qi 'lock\|lease' l.out
check "B's apply completed ($rb)" test "$rb" = 0
# A's driver call was in flight when it lost the lease (inside its 1.5 s delay): it may land
# after B's, in the world but never in state. So: B's state holds B's value; B's next plan at most
# names that as drift, and an apply repairs it.
on B state list --json >lstate.json 2>/dev/null
check "B's state holds B's input, not A's (A wrote nothing after losing its lease)" \
    $PY -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
a = [r for r in rows if r.get("address") == "null_resource.a"]
sys.exit(0 if a and a[0]["attributes"].get("input") == "lostb" else 1)' lstate.json
expect_rc "B's apply converges (repairing A's late call, if it landed last)" 0 on B apply --auto-approve
expect_rc "then B's plan is a no-op" 0 on B plan --detailed-exitcode
echo "# [${SECONDS}s] lost lease ($((SECONDS - t0)) s)"

# ---- bad input: each a clear error before anything changes ----
before=$(ls "$MESH_NULL_STORE" | sort | md5sum)
mkdir -p C/home
spec C bad
sed -i 's/bucket: mesh-team/bucket: mesh-no-such-bucket/' C/mesh.yaml
expect_rc "a missing bucket fails" 1 on C apply --auto-approve
check "it names the bucket" grep -q 'mesh-no-such-bucket' last.err
expect_rc "so does a plan (a missing bucket is not an empty state: no plan to add everything)" 1 on C plan
check "it names the bucket" grep -q "bucket mesh-no-such-bucket does not exist" last.err
spec C bad
sed -i 's/  lock_table: mesh-locks/  lock_table: mesh-no-such-table/' C/mesh.yaml
expect_rc "a missing lock table fails" 1 on C apply --auto-approve
check "it names the table" grep -q 'mesh-no-such-table' last.err
spec C bad "  region: eu-north-9"
expect_rc "a wrong region fails" 1 on C apply --auto-approve
check "the error says something about the region or bucket" grep -qi 'region\|bucket' last.err
check "nothing in the world changed after the bad runs" test "$(ls "$MESH_NULL_STORE" | sort | md5sum)" = "$before"
spec C plain
sed -i 's/bucket: mesh-team/bucket: mesh-plain/' C/mesh.yaml
expect_rc "an unversioned bucket works" 0 on C apply --auto-approve
check "with a warning about versioning" grep -qi 'versioning' last.err
on C destroy --auto-approve >/dev/null 2>&1

# ---- pull, push, migrate ----
expect_rc "state pull writes the team state to a file" 0 on A state pull "$T_DIR/pulled.db"
lin=$(sqlite3 pulled.db "SELECT value FROM meta WHERE key = 'lineage'")
ser=$(sqlite3 pulled.db "SELECT value FROM meta WHERE key = 'serial'")
check "the pulled file is a state (lineage $lin, serial $ser)" test -n "$lin" -a -n "$ser"
check "it is intact" test "$(sqlite3 pulled.db 'PRAGMA integrity_check')" = ok
mkdir -p L/home
printf 'resources:\n  null_resource.l: {input: "local"}\n' >L/mesh.yaml
on L apply --auto-approve >/dev/null 2>&1
expect_rc "push of another lineage is refused" 1 on A state push "$T_DIR/L/.mesh/state.db"
check "naming both lineages" grep -q 'lineage' last.err
expect_rc "migrate a local state to S3 (another key)" 0 on L state migrate --to s3://mesh-team/other/mesh.state
llin=$(sqlite3 L/.mesh/state.db "SELECT value FROM meta WHERE key = 'lineage'")
on L state pull "$T_DIR/other.db" >/dev/null 2>&1 --state s3://mesh-team/other/mesh.state
check "the migrated state keeps its lineage" test "$(sqlite3 other.db "SELECT value FROM meta WHERE key = 'lineage'")" = "$llin"
check "and its snapshots" test "$(sqlite3 other.db 'SELECT count(*) FROM snapshots')" = "$(sqlite3 L/.mesh/state.db 'SELECT count(*) FROM snapshots')"
check "and its journal" test "$(sqlite3 other.db 'SELECT count(*) FROM journal')" = "$(sqlite3 L/.mesh/state.db 'SELECT count(*) FROM journal')"
expect_rc "migrate it back to a local file" 0 on L state migrate --state s3://mesh-team/other/mesh.state --to "local:$T_DIR/back.db"
check "the local copy keeps the lineage" test "$(sqlite3 back.db "SELECT value FROM meta WHERE key = 'lineage'")" = "$llin"
expect_rc "push of the same serial of the same lineage is accepted" 0 on A state push "$T_DIR/pulled.db"
spec A newer
on A apply --auto-approve >/dev/null 2>&1
expect_rc "push of an older serial of the same lineage is refused" 1 on A state push "$T_DIR/pulled.db"
check "naming both serials" grep -q 'serial' last.err
expect_rc "push --force accepts it" 0 on A state push "$T_DIR/pulled.db" --force
# A push that outlives its lease while another run takes the lock is stopped at the fence (the
# lease renewed right before the base is replaced): nothing is overwritten. Its first two S3 GETs
# (the key, then the base) are held 4 s each; its lease lasts 1 s; meanwhile "another run" holds it.
etag0=$(awsq s3api head-object --bucket mesh-team --key prod/mesh.state --query ETag)
curl -s -o /dev/null -X POST "$PROXY_URL/__faults" \
    -d '{"rules": [{"kind": "delay", "service": "s3", "action": "GetObject", "first": 2, "seconds": 4}]}'
(export MESH_LOCK_TTL=1; on A state push "$T_DIR/pulled.db" --force) >push.out 2>&1 &
pid=$!
sleep 5.5   # A took the lease at ~4 s and waits for the base until ~8 s
# the other run's item, written in well under a second (the aws CLI can take seconds to start on a
# loaded machine, and land after A's fence)
PYTHONPATH="$HARNESS_DIR" python3 -c '
import sys, time, sigv4
now = int(time.time())
item = {"LockID": {"S": "mesh-team/prod/mesh.state"}, "RunID": {"S": "other-run"}, "Holder": {"S": "eve@elsewhere"},
        "Host": {"S": "elsewhere"}, "Pid": {"N": "1"}, "Command": {"S": "apply"}, "Acquired": {"N": str(now)},
        "Expires": {"N": str(now + 600)}}
st, _ = sigv4.json_call(sys.argv[1], "us-west-2", "dynamodb", "DynamoDB_20120810.PutItem",
                        {"TableName": "mesh-locks", "Item": item}, sigv4.env_creds())
sys.exit(0 if st == 200 else 1)' "$MOTO_URL" || echo "# the other run's item could not be written"
wait $pid
rc=$?
curl -s -o /dev/null -X POST "$PROXY_URL/__faults" -d '{"rules": []}'
check "a push past its lease, the lock taken meanwhile: refused (exit $rc), saying so" \
    sh -c "[ $rc != 0 ] && grep -q 'taken by another run while this push ran' push.out"
check "the base was not replaced" test "$(awsq s3api head-object --bucket mesh-team --key prod/mesh.state --query ETag)" = "$etag0"
awsq dynamodb delete-item --table-name mesh-locks --key '{"LockID": {"S": "mesh-team/prod/mesh.state"}}'
# A push slower than its lease keeps it (a heartbeat renews it while the push reads and writes):
# its GETs of the key and of the base are held 3 s each, its lease lasts 1 s; at ~4.8 s, with the
# lease taken at ~3 s, another machine's apply is refused, naming the push, and the push lands.
curl -s -o /dev/null -X POST "$PROXY_URL/__faults" \
    -d '{"rules": [{"kind": "delay", "service": "s3", "action": "GetObject", "first": 2, "seconds": 3}]}'
(export MESH_LOCK_TTL=1; on A state push "$T_DIR/pulled.db" --force) >push2.out 2>&1 &
pid=$!
sleep 4.8
expect_rc "a push slower than its lease still holds it: B's apply is refused" 1 on B apply --auto-approve
check "naming the push" grep -q 'state push' last.err
wait $pid
rc=$?
curl -s -o /dev/null -X POST "$PROXY_URL/__faults" -d '{"rules": []}'
etag1=$(awsq s3api head-object --bucket mesh-team --key prod/mesh.state --query ETag)
check "and the push lands (exit $rc; base $etag0 -> $etag1)" test "$rc" = 0 -a "$etag1" != "$etag0"
# A push stopped (SIGSTOP) past its lease while another machine applies: once continued, it is
# refused at the fence and the other machine's state stands.
spec B stopped
on B apply --auto-approve >/dev/null 2>&1
curl -s -o /dev/null -X POST "$PROXY_URL/__faults" \
    -d '{"rules": [{"kind": "delay", "service": "s3", "action": "GetObject", "first": 2, "seconds": 2}]}'
(cd A && HOME="$T_DIR/A/home" XDG_CONFIG_HOME="$T_DIR/A/home/.config" MESH_LOCK_TTL=1 exec "$MESH" state push "$T_DIR/pulled.db" --force >"$T_DIR/push3.out" 2>&1) &
pid=$!
sleep 2.8   # the lease taken at ~2 s; the base GET held
kill -STOP $pid
sleep 2
curl -s -o /dev/null -X POST "$PROXY_URL/__faults" -d '{"rules": []}'
expect_rc "while the push is stopped past its lease, B's apply takes the lock over and completes" 0 on B apply --auto-approve
kill -CONT $pid
wait $pid
rc=$?
check "the continued push is refused (exit $rc), saying the lock was taken" \
    sh -c "[ $rc != 0 ] && grep -q 'taken by another run while this push ran' push3.out"
sed "s/^/    | /" push3.out
expect_rc "B's state stands: its plan is a no-op" 0 on B plan --detailed-exitcode
spec A final
expect_rc "after the forced push, an apply converges (the world moves back to the pushed state's spec)" 0 on A apply --auto-approve

# a local state with secrets moves to S3 + KMS: its own key is wrapped by KMS, nothing re-encrypted
mkdir -p M/home N/home
spec M mig
python3 - M/mesh.yaml <<'PY'
import sys, re
p = sys.argv[1]; s = open(p).read()
s = re.sub(r"state:\n(  .*\n)+", "", s)   # the same resources, with local state
open(p, "w").write(s)
PY
expect_rc "a local state with a secret applies" 0 on M apply --auto-approve
expect_rc "migrate it to S3 with a KMS key and a lock table (URL options)" 0 on M state migrate \
    --to "s3://mesh-team/m/mesh.state?lock_table=mesh-locks&kms_key_id=$KMS_KEY"
spec N mig
sed -i 's#key: prod/mesh.state#key: m/mesh.state#' N/mesh.yaml
expect_rc "another machine's plan of the migrated state is a no-op" 0 on N plan --detailed-exitcode
expect_rc "and it reads the secret (the migrated state's key, wrapped by KMS)" 0 on N output token --json
check "the secret is the one M stored" grep -q "$CANARY" last.out
check "no key file on that machine" test -z "$(find N/home -type f -name '*key*' 2>/dev/null)"

# ---- a key that cannot be unwrapped ----
# (moto decrypts with a disabled key: the proxy answers Decrypt as KMS does then)
faults '{"rules": [{"kind": "error", "service": "kms", "action": "Decrypt", "rate": 1, "status": 400, "code": "DisabledException", "message": "key is disabled."}]}'
mkdir -p D/home
spec D final
before=$(ls "$MESH_NULL_STORE" | sort | md5sum)
expect_rc "with the KMS key disabled, a new machine cannot read the state" 1 on D apply --auto-approve
check "the error names KMS and the key" grep -qi 'kms' last.err
check "and nothing in the world changed" test "$(ls "$MESH_NULL_STORE" | sort | md5sum)" = "$before"
faults '{}'
expect_rc "with the key enabled again, that machine's plan is a no-op" 0 on D plan --detailed-exitcode

# ---- SSE-KMS at rest ----
mkdir -p S/home
spec S sse "  encrypt: true"
sed -i 's#key: prod/mesh.state#key: sse/mesh.state#' S/mesh.yaml
expect_rc "team state with encrypt: true applies" 0 on S apply --auto-approve
check "the state object is stored with SSE-KMS" \
    test "$(awsq s3api head-object --bucket mesh-team --key sse/mesh.state --query ServerSideEncryption)" = aws:kms

# ---- kill -9 during an apply of AWS objects (moto), then the other machine ----
mkdir -p W/home V/home
for m in W V; do
    cat >"$m/mesh.yaml" <<EOF
mesh: {name: teamnet}
state: {backend: s3, bucket: mesh-team, key: net/mesh.state, lock_table: mesh-locks, kms_key_id: $KMS_KEY}
resources:
  aws_vpc.main: {cidr_block: 10.42.0.0/16}
  aws_internet_gateway.main: {vpc_id: "\${aws_vpc.main.id}"}
  aws_subnet.a: {vpc_id: "\${aws_vpc.main.id}", cidr_block: 10.42.1.0/24, az_index: 0}
  aws_subnet.b: {vpc_id: "\${aws_vpc.main.id}", cidr_block: 10.42.2.0/24, az_index: 1}
  aws_subnet.c: {vpc_id: "\${aws_vpc.main.id}", cidr_block: 10.42.3.0/24, az_index: 2}
EOF
done
export MESH_LOCK_TTL=3
(cd W && HOME="$T_DIR/W/home" MESH_FAULTS="delay:ms=700" exec "$MESH" apply --auto-approve >"$T_DIR/w.out" 2>&1) &
victim=$!
for _ in $(seq 1 300); do grep -q 'aws_subnet.*Creating' w.out 2>/dev/null && break; sleep 0.1; done
kill -9 $victim; wait $victim 2>/dev/null
check "the kill landed mid-apply (objects being created, the apply not complete)" \
    sh -c "grep -q 'Creating' w.out && ! grep -q 'Apply complete' w.out"
expect_rc "after kill -9 on W, V's apply of the network completes" 0 on V apply --auto-approve --lock-timeout 30s
unset MESH_LOCK_TTL
# what state holds (addresses and IDs, one per line) and the state's own KMS key: not orphans
on V state list --json 2>/dev/null | python3 -c 'import json, sys
for l in sys.stdin:
    e = json.loads(l)
    if e.get("type") == "resource": print(e["address"]); print(e["outputs"].get("id", ""))' >held.txt
echo "$KMS_KEY" >>held.txt
n_orphans=$(aws_harness_orphans held.txt | tee orph.txt | tail -1)
[ "$n_orphans" = 0 ] || sed "s/^/#   /" orph.txt
check "0 AWS objects that state does not hold ($n_orphans)" test "$n_orphans" = 0
expect_rc "W's plan is a no-op" 0 on W plan --detailed-exitcode
expect_rc "V destroys the network" 0 on V destroy --auto-approve
echo "$KMS_KEY" >kms.txt
n_left=$(aws_harness_orphans kms.txt | tail -1)
check "nothing of it is left in AWS ($n_left)" test "$n_left" = 0

# ---- the S3-object lease (no lock_table) ----
spec E s3lease
sed -i '/lock_table/d; s#key: prod/mesh.state#key: s3lease/mesh.state#' E/mesh.yaml
mkdir -p E/home
expect_rc "team state with an S3-object lease applies" 0 on E apply --auto-approve
spec E s3lease2
sed -i '/lock_table/d; s#key: prod/mesh.state#key: s3lease/mesh.state#' E/mesh.yaml
(cd E && HOME="$T_DIR/E/home" MESH_FAULTS="delay:ms=1500" exec "$MESH" apply --auto-approve >"$T_DIR/e.out" 2>&1) &
slow=$!
for _ in $(seq 1 100); do grep -q 'Modifying\|Creating' e.out 2>/dev/null && break; sleep 0.1; done
expect_rc "a second run while it holds the S3 lease fails" 1 on E apply --auto-approve
check "naming the holder" grep -q 'state is locked by run' last.err
wait $slow
check "the run holding it completed" grep -q 'Apply complete' e.out

# ---- snapshots beside the base: each written once as its own object, read from any machine ----
mkdir -p S/home R/home
for m in S R; do
    { printf 'state: {backend: s3, bucket: mesh-team, key: snaps/mesh.state, lock_table: mesh-locks, kms_key_id: "%s"}\n' "$KMS_KEY"
      $PY "$ROOT/tests/lib/genspec.py" tree 60 --fanout 4
      printf '  null_resource.secret: {input: "s", sensitive_triggers: {token: "%s"}}\n' "$CANARY"; } >$m/mesh.yaml
done
on S apply --auto-approve >/dev/null 2>&1
sed -i 's/root: "v1"/root: "v2"/' S/mesh.yaml
expect_rc "an apply of 60 resources, then a change of all of them" 0 on S apply --auto-approve
# base_refs: the snapshot objects the base refers to, one name a line (the base is a header of two
# lines, then a SQLite image); snaps: how many of them are there in S3
base_refs() {
    aws s3 cp s3://mesh-team/snaps/mesh.state "$T_DIR/snapbase" --endpoint-url "$MOTO_URL" >/dev/null 2>&1
    tail -n +3 "$T_DIR/snapbase" >"$T_DIR/snapbase.db"
    sqlite3 "$T_DIR/snapbase.db" "SELECT rows ->> 'object' FROM snapshots WHERE rows LIKE '{\"object\":%'"
}
snaps() {
    local n=0 name
    for name in $(base_refs); do
        aws s3 cp "s3://mesh-team/snaps/mesh.state.snap/$name" "$T_DIR/snapobj.$name" --endpoint-url "$MOTO_URL" \
            >/dev/null 2>&1 && n=$((n + 1))
    done
    echo $n
}
check "the second run's snapshot (61 rows) is an object of its own beside the base, which refers to it" \
    test "$(snaps)" = 1
sed -i 's/root: "v2"/root: "v3"/' S/mesh.yaml
on S apply --auto-approve >/dev/null 2>&1
check "a third run adds one object; the base refers to both" test "$(snaps)" = 2
check "neither holds a sensitive value in the clear" sh -c "! grep -q '$CANARY' '$T_DIR'/snapobj.*"
check "(a sensitive value is in them, encrypted)" grep -q '"\$enc"' $T_DIR/snapobj.*
expect_rc "machine R lists the snapshots" 0 on R state snapshots
check "all three" test "$(grep -c '^ *[0-9]' last.out)" -ge 3
expect_rc "and restores the second run's (60 rows, read through its object)" 0 on R state restore 2
expect_rc "machine S then plans: the world has v3, the state v1 again" 2 on S plan --detailed-exitcode
check "all 60 to make again (refresh finds v1's objects gone)" grep -q '60 to add, 0 to change' last.out
expect_rc "R pulls the state" 0 on R state pull "$T_DIR/snaps.db"
check "the pulled file holds every snapshot's rows itself" \
    test "$(sqlite3 snaps.db "SELECT count(*) FROM snapshots WHERE rows LIKE '[%'")" = "$(sqlite3 snaps.db 'SELECT count(*) FROM snapshots')"
on S destroy --auto-approve >/dev/null 2>&1

# ---- an intent waits for S3 only before a call that changes something outside the state ----
# A chain of 12 null resources: 12 batches of one call each.
mkdir -p N/home
{ printf 'state: {backend: s3, bucket: mesh-team, key: nulls/mesh.state, lock_table: mesh-locks, kms_key_id: "%s"}\n' "$KMS_KEY"
  $PY "$ROOT/tests/lib/genspec.py" tree 12 --fanout 1; } >N/mesh.yaml
logputs() { grep -c 'PUT http://[^ ]*/nulls/mesh.state.log/' "$1"; }
expect_rc "a chain of 12 null resources with an outside store (MESH_NULL_STORE): apply" 0 \
    env MESH_LOG=debug bash -c 'cd "$0/N" && HOME="$0/N/home" "$1" apply --auto-approve' "$T_DIR" "$MESH"
check "each call's intent went to S3 before it: $(logputs last.err) log writes for 12 calls" test "$(logputs last.err)" -ge 12
sed -i 's/root: "v1"/root: "v2"/' N/mesh.yaml
expect_rc "the same chain without the store (its calls change nothing outside the state): apply" 0 \
    env -u MESH_NULL_STORE MESH_LOG=debug bash -c 'cd "$0/N" && HOME="$0/N/home" "$1" apply --auto-approve' "$T_DIR" "$MESH"
# the writer still puts what is queued every second: a slow run may write one or two
check "no call waited for a log: $(logputs last.err) log writes for 24 calls" test "$(logputs last.err)" -le 2
on N state pull "$T_DIR/nulls.db" >/dev/null 2>&1
run2=$(sqlite3 nulls.db "SELECT run_id FROM runs ORDER BY started DESC LIMIT 1")
check "and that run's intents are in the journal all the same (12 replaced: 24)" \
    test "$(sqlite3 nulls.db "SELECT count(*) FROM journal WHERE run_id = '$run2' AND phase = 'intent' AND address != ''")" = 24
env -u MESH_NULL_STORE bash -c 'cd "$0/N" && HOME="$0/N/home" "$1" destroy --auto-approve' "$T_DIR" "$MESH" >/dev/null 2>&1

# ---- the IAM policy mesh prints for team state allows every S3, DynamoDB and KMS call made above ----
spec P 1 "  encrypt: true"
expect_rc "mesh resources --iam-policy for a spec with team state" 0 bash -c 'cd "$0/P" && "$1" resources --iam-policy -f mesh.yaml' "$T_DIR" "$MESH"
cp last.out policy.json
curl -s "$PROXY_URL/__stats" >stats.json
$PY - policy.json stats.json "$KMS_KEY" <<'PY' && ok "it allows every state call of this suite, on the state's bucket, key prefix, table and KMS key" || not_ok "the state's IAM policy"
import json, sys
doc = json.load(open(sys.argv[1]))
calls = json.load(open(sys.argv[2]))["by_action"]
iam = {"s3 HeadBucket": "s3:ListBucket", "s3 ListObjectsV2": "s3:ListBucket", "s3 DeleteObjects": "s3:DeleteObject",
       "s3 HeadObject": "s3:GetObject"}
called = {iam.get(k, k.replace(" ", ":", 1)) for k in calls if k.split(" ")[0] in ("s3", "dynamodb", "kms")}
allowed = {a: st for st in doc["Statement"] for a in st["Action"]}
missing = sorted(called - set(allowed))
assert not missing, "called but not allowed: %s" % missing
for must in ("s3:PutObject", "s3:GetObject", "s3:ListBucket", "dynamodb:PutItem", "kms:Decrypt"):
    assert must in called, "the suite did not call %s: the check would prove little" % must
assert allowed["s3:PutObject"]["Resource"] == "arn:aws:s3:::mesh-team/prod/mesh.state*", allowed["s3:PutObject"]
assert allowed["s3:ListBucket"]["Resource"] == "arn:aws:s3:::mesh-team"
assert allowed["dynamodb:PutItem"]["Resource"].endswith(":table/mesh-locks")
assert allowed["kms:Decrypt"]["Resource"].endswith(":key/" + sys.argv[3]), allowed["kms:Decrypt"]
print("# %d distinct state actions called, all allowed" % len(called))
PY
t_done
