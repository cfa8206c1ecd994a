#!/usr/bin/env bash
# recovery_inflight.sh: kill -9 while a create's request is still on its way (the proxy holds KMS
# CreateKey 3.5 s, then passes it on: the key appears after the killed process is gone), then the
# next apply at once. Recovery looks for a create journaled less than MESH_RECOVERY_GRACE seconds
# ago (default 5) only once it is that old, so it adopts the key instead of making a second one.
# With the grace off (0), the same race leaves the late key as an orphan: the case is real.
# (Found by the kill9 campaign: a kill 160 ms into the reference apply left one KMS key.)
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
t_setup
aws_harness_suite || { not_ok "harness starts"; t_done; exit 1; }
export MESH_BACKOFF_SCALE=0.01
cat > kms.yaml <<'YAML'
mesh: {name: inflight, region: us-west-2}
resources:
  aws_kms_key.k: {description: created while its run is killed}
YAML
# held objects: the IDs in state
held() { "$MESH" state list -f kms.yaml --json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    if line.strip(): print(json.loads(line).get("outputs", {}).get("id") or "")' >held.txt; }
orphan_count() { held; aws_harness_orphans held.txt 2>/dev/null | tail -1; }

# run GRACE: an apply killed while its CreateKey is held in the proxy, then the next apply at once
run() {
    rm -rf .mesh
    faults '{"rules": [{"kind": "delay", "service": "kms", "action": "CreateKey", "first": 1, "seconds": 3.5}]}'
    "$MESH" apply -f kms.yaml --auto-approve >killed.out 2>&1 &
    local pid=$!
    for _ in $(seq 1 100); do grep -q 'Creating' killed.out && break; sleep 0.05; done
    sleep 0.3
    kill -9 $pid; wait $pid 2>/dev/null
    MESH_RECOVERY_GRACE=$1 "$MESH" apply -f kms.yaml --auto-approve >rec.out 2>&1
    echo $?
}
rc=$(run 5)
check "after kill -9 with CreateKey in flight, the next apply completes (exit $rc)" test "$rc" = 0
check "it waits for the request that may still be landing" grep -q 'may still be landing' rec.out
check "and adopts the key the cut-off run created" grep -q 'aws_kms_key.k: adopted' rec.out
o=$(orphan_count)
check "0 orphans ($o)" test "$o" = 0
expect_rc "destroy" 0 "$MESH" destroy -f kms.yaml --auto-approve
rc=$(run 0)
for _ in $(seq 1 16); do o=$(orphan_count); [ "$o" = 0 ] || break; sleep 0.5; done   # the held request lands
check "with the grace off the race is real: the late key is an orphan (apply exit $rc, $o orphans)" test "$o" = 1
sed "s/^/    | /" rec.out | grep -i "kms\|recover\|wait" | head -8
t_done
