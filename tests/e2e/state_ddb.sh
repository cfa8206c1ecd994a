#!/usr/bin/env bash
# state_ddb.sh: team state's DynamoDB lease and KMS state key (providers/aws/state_ddb.c,
# state_kms.c; issue 14) against moto behind the fault proxy. moto checks no signature here
# (MESH_HARNESS_AUTH=0: its bootstrap and checks cost seconds; it checks none of DynamoDB's
# anyway); aws_signed.sh proves the JSON 1.1 calls of client_json.c pass its check.
# Lease: taken, refused to a second run naming holder, host and pid, renewed, lost by a stale
# run (ELOCKED naming the new holder), released, an expired one taken over with the old holder
# reported, force-cleared; a missing table is a clear error (a table with the wrong key: the
# unit test); 50 races of two processes acquiring at the same moment have exactly one winner
# each (tests/harness/aws/proxy.py serialises DynamoDB writes: moto's conditions are not atomic,
# real DynamoDB's are). KMS: a
# data key made on one client unwraps to the same key on another; a missing or disabled key
# names the key and what to do. 30 % throttling, 500s and resets (and a lost reply of a
# conditional write) change no answer. The probe (tests/e2e/state_ddb_probe.c) is linked with
# build/asan/libmesh.a.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
t_setup
echo "# [${SECONDS}s] build the probe"
PROBE="$T_DIR/state_ddb_probe"
LIBS="$(pkg-config --libs libcurl openssl yaml-0.1 sqlite3 jansson libxml-2.0) -lpthread -lm"
if out=$(cd "$ROOT" && make -s build/asan/libmesh.a 2>&1 &&
         cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Iengine -Iproviders -Istate -I. \
            -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer $(pkg-config --cflags libxml-2.0) \
            -o "$PROBE" tests/e2e/state_ddb_probe.c build/asan/libmesh.a $LIBS 2>&1); then
    ok "build the probe"
else
    not_ok "build the probe"; sed 's/^/    | /' <<<"$out"; exit 1
fi
echo "# [${SECONDS}s] start the harness"
MESH_HARNESS_AUTH=0 aws_harness_suite || { not_ok "harness starts"; t_done; exit 1; }
export MESH_BACKOFF_SCALE=0.01 ASAN_OPTIONS=detect_leaks=1
T=mesh-locks
L="team-bucket/envs/prod.state"
probe() { "$PROBE" "$@" 2>&1; }
lease() { probe "$T" "$L" "$@"; }

awsq dynamodb create-table --table-name "$T" --attribute-definitions AttributeName=LockID,AttributeType=S \
    --key-schema AttributeName=LockID,KeyType=HASH --billing-mode PAY_PER_REQUEST >/dev/null &&
    ok "lock table made (partition key LockID, a string)" || not_ok "create the lock table"

echo "# [${SECONDS}s] the lease"
kout "check_table: the table is there" '^ok table' probe "$T" x check
kfail "check_table: a missing table names it, the region and how to make it" \
    'err -2 .*lock table no-such-table does not exist in us-west-2: create it with a string partition key LockID' \
    probe no-such-table x check
kfail "acquire on a missing table: not found, naming the table" \
    'err -2 ResourceNotFoundException: dynamodb PutItem: lock table no-such-table does not exist in us-west-2' \
    probe no-such-table "$L" acquire r0 a@h h 1 60

kout "read: no lease at first" '^ok held=0 ' lease read
kout "acquire: run A takes the lease" '^ok taken_over=0 old=///0$' lease acquire runA alice@laptop laptop 4242 60
kout "read: RunID, Holder, Host, Pid, Command, Acquired and Expires read back" \
    '^ok held=1 run=runA holder=alice@laptop host=laptop pid=4242 command=apply age=[01] expires_in=(59|60)$' lease read
out=$(lease acquire runB bob@ci ci 77 60)
grep -q '^held_by run=runA holder=alice@laptop host=laptop pid=4242$' <<<"$out" &&
    grep -q '^err -5 -: state is locked by run runA (alice@laptop, host laptop, pid 4242, `mesh apply`' <<<"$out" &&
    ok "acquire: run B is refused, naming holder, host and pid" || not_ok "run B refused: $out"
kout "acquire: run A again (its own lease) succeeds" '^ok taken_over=0' lease acquire runA alice@laptop laptop 4242 60
kout "renew: run A pushes its expiry" '^ok renewed' lease renew runA 120
kout "read: run A holds it, 120 s to go" '^ok held=1 run=runA .* expires_in=1(19|20)$' lease read
kfail "renew by a stale run: ELOCKED naming the holder" \
    'err -5 -: run runB lost the state lock .*run runA \(alice@laptop, host laptop, pid 4242' lease renew runB 60
kfail "release by another run: conflict, nothing released" 'err -6 -: the state lock was no longer held by run runB.*runA' \
    lease release runB
kout "release: run A lets it go" '^ok released' lease release runA
kout "read: gone" '^ok held=0 ' lease read
kout "release again: already gone is fine" '^ok released' lease release runA

kout "an expired lease (run C) is written" '^ok ' lease acquire runC carol@old old-host 99 -5
kout "run D takes the expired lease over, reporting run C" '^ok taken_over=1 old=runC/carol@old/old-host/99$' \
    lease acquire runD dave@new new-host 100 60
kfail "renew by the run taken over: ELOCKED naming run D" 'err -5 -: run runC lost the state lock.*run runD \(dave@new, host new-host, pid 100' \
    lease renew runC 60
kfail "force_clear with another run's ID: conflict naming the holder" 'err -6 .*locked by another run, not by run runC.*runD' \
    lease force runC
kout "force_clear with the holder's run ID" '^ok cleared' lease force runD
kfail "force_clear when nothing is held: not found" 'err -2 -: the state is not locked' lease force runD

echo "# [${SECONDS}s] 50 races of two processes"
if out=$(probe "$T" race-lock race 50); then ok "50 races: exactly one winner each ($(tail -1 <<<"$out"))"
else not_ok "50 races: $(tail -5 <<<"$out")"; fi

echo "# [${SECONDS}s] KMS"
KEY=$(awsq kms create-key --description "mesh state" --query KeyMetadata.KeyId)
made=$(probe - - kms-generate "$KEY" wrapped.bin | sed -n 's/^ok key sha256=//p')
got=$(probe - - kms-unwrap wrapped.bin | sed -n 's/^ok key sha256=//p')
[ -n "$made" ] && [ "$made" = "$got" ] && ok "kms: a key made by GenerateDataKey unwraps to the same key on a second client" ||
    not_ok "kms unwrap: '$made' vs '$got'"
[ "$(wc -c <wrapped.bin)" -gt 32 ] && ok "kms: the wrapped key is not the key itself" || not_ok "wrapped size"
kfail "kms: a missing key names it and what to check" \
    "err -7 NotFoundException: making the state key with KMS key alias/no-such-key failed \(kms:GenerateDataKey\): .*check state.kms_key_id" \
    probe - - kms-generate alias/no-such-key w.bin
# moto neither refuses a disabled key nor checks key policies: the proxy answers as KMS does.
faults '{"rules": [{"kind": "error", "service": "kms", "action": "GenerateDataKey", "first": 1, "code": "DisabledException",
  "message": "arn:aws:kms:us-west-2:123456789012:key/off is disabled."}]}'
kfail "kms: a disabled key names it and says to enable it" \
    'err -1 DisabledException: making the state key with KMS key alias/off failed \(kms:GenerateDataKey\): .*is disabled.*; enable it' \
    probe - - kms-generate alias/off w.bin
faults '{"rules": [{"kind": "error", "service": "kms", "action": "Decrypt", "first": 1, "code": "AccessDeniedException",
  "message": "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: kms:Decrypt on this resource"}]}'
kfail "kms: Decrypt denied names kms:Decrypt and what to ask for" \
    'err -1 AccessDeniedException: unwrapping the state key .*\(kms:Decrypt\): .*not authorized.*; ask for that permission on the key' \
    probe - - kms-unwrap wrapped.bin
faults '{}'
head -c 100 /dev/urandom >junk.bin
kfail "kms: a blob KMS did not make cannot be unwrapped, with kms:Decrypt named" \
    'err -1 InvalidCiphertextException: unwrapping the state key .*\(kms:Decrypt\)' probe - - kms-unwrap junk.bin

echo "# [${SECONDS}s] 30 % faults"
faults '{"seed": 14, "rules": [
  {"kind": "throttle", "service": "dynamodb", "rate": 0.1}, {"kind": "500", "service": "dynamodb", "rate": 0.1},
  {"kind": "reset", "service": "dynamodb", "rate": 0.1},
  {"kind": "throttle", "service": "kms", "rate": 0.1}, {"kind": "500", "service": "kms", "rate": 0.1},
  {"kind": "reset", "service": "kms", "rate": 0.1}]}'
kout "under faults: acquire, refuse naming the holder, renew, release, 10 times" '^cycle ok=10$' lease cycle 10
made=$(probe - - kms-generate "$KEY" wrapped3.bin | sed -n 's/^ok key sha256=//p')
got=$(probe - - kms-unwrap wrapped3.bin | sed -n 's/^ok key sha256=//p')
[ -n "$made" ] && [ "$made" = "$got" ] && ok "under faults: generate then unwrap agree" || not_ok "kms under faults"
injected=$(curl -s "$PROXY_URL/__stats" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["injected"].values()))')
[ "$injected" -ge 5 ] && ok "the proxy injected $injected faults" || not_ok "only $injected faults injected"

# A reply lost after the write took effect: the retry's condition fails against our own item.
faults '{"rules": [{"kind": "lost", "service": "dynamodb", "action": "PutItem", "first": 1}]}'
kout "a lost PutItem reply: the retry sees its own lease, acquired" '^ok taken_over=0' lease acquire runL l@z z 5 60
faults '{"rules": [{"kind": "lost", "service": "dynamodb", "action": "DeleteItem", "first": 1}]}'
kout "a lost DeleteItem reply on force_clear: cleared, not 'not locked'" '^ok cleared' lease force runL
faults '{}'
t_done
