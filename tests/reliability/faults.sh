#!/usr/bin/env bash
# faults.sh: a failure injected at a driver call of the whole reference apply (specs/reference.yaml,
# ECDSA keys, against tests/harness/reference.sh's stand-ins; MESH_FAULTS=fail:call=N, engine/fault.h,
# --parallelism 1 so the N-th call is the same one each run), one run per call:
#   rollback     the failed apply must leave state and world as before it: from an empty world,
#                state empty and 0 objects anywhere (tests/harness/world.py: AWS of every type,
#                objects in both fake clusters, helm releases); from a partly applied world (the
#                helm part destroyed with --target), the same state rows, the same plan, 0 orphans
#   no-rollback  with --no-rollback the failed apply keeps what it did, with 0 orphans relative to
#                state; the next apply converges: 0 orphans and a no-op plan
# plus HTTP-level faults from both harnesses during some of those runs: the AWS proxy answering
# 500, resetting the connection, or losing the reply of a call that took effect (one call of an
# action), and a fake API server answering 500 to one of helm's writes.
#
# Which calls: RELIABILITY_FULL=1 (make reliability): every call of a full apply (counted first
# with the stats fault) in both modes, and every call of the helm part's re-apply in both modes.
# RELIABILITY_TRIALS=N: N calls per mode drawn over the whole apply (N-1 for --no-rollback), one in
# the helm part (in both modes). CI: 2 rollback runs and 1 --no-rollback run in the first 40 calls
# (the AWS network and IAM part), one call of the helm part in both modes. The seed is printed,
# RELIABILITY_SEED replays it.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/reference.sh"
source "$ROOT/tests/reliability/lib.sh"
t_setup
rel_reference_setup "the choice of calls and HTTP faults"
proxy_faults() { curl -s -o /dev/null -X POST "$PROXY_URL/__faults" -d "$1"; }
apply() { "$MESH" apply -f ref.yaml "${VARS[@]}" --auto-approve "$@"; }
FULL=${RELIABILITY_FULL:-0}
[ -n "${RELIABILITY_TRIALS:-}" ] && FULL=0
PER_MODE=$(rel_trials 2 all)
cmd="make reliability"
[ "$FULL" = 1 ] || cmd="RELIABILITY_SEED=$SEED RELIABILITY_TRIALS=$PER_MODE bash tests/reliability/run tests/reliability/faults.sh"
runs=0 as_before=0 orphans_total=0 bad=0
# HTTP faults for the AWS part: one call of a write each, as real AWS does now and then.
HTTP_AWS=('{"kind": "lost", "service": "ec2", "action": "CreateSubnet", "first": 1}'
          '{"kind": "reset", "service": "ec2", "action": "CreateRouteTable", "first": 1}'
          '{"kind": "500", "service": "iam", "action": "CreateRole", "first": 1}'
          '{"kind": "lost", "service": "iam", "action": "CreatePolicy", "first": 1}'
          '{"kind": "reset", "service": "ec2", "action": "CreateSecurityGroup", "first": 1}'
          '{"kind": "lost", "service": "kms", "action": "CreateKey", "first": 1}'
          '{"kind": "lost", "service": "ec2", "action": "CreateVpc", "first": 1}'
          '{"kind": "lost", "service": "ec2", "action": "CreateInternetGateway", "first": 1}'
          '{"kind": "lost", "service": "ec2", "action": "AllocateAddress", "first": 1}'
          '{"kind": "500", "service": "kms", "action": "CreateKey", "first": 1}'
          '{"kind": "lost", "service": "ec2", "action": "CreateNatGateway", "first": 1}'
          '{"kind": "lost", "service": "ec2", "action": "CreateEgressOnlyInternetGateway", "first": 1}')
# (RANDOM is never drawn in $(...): a subshell reseeds it, and the seed would not replay)
pick_http() { HTTP=${HTTP_AWS[$((RANDOM % ${#HTTP_AWS[@]}))]}; }
draw() {  # N MAX: PICKS = N calls in [1, MAX], sorted
    local i
    PICKS=""
    for i in $(seq 1 "$1"); do PICKS="$PICKS $((RANDOM % $2 + 1))"; done
    PICKS=$(echo $PICKS | tr ' ' '\n' | sort -n)
}
failed_at() { grep -ho 'failed: injected fault (call [0-9]*)' fail.txt | head -1; grep -E '^Error|: .*injected fault' fail.txt | head -1 | cut -c1-120; }

# ---- the calls of a full apply: counted (full runs and RELIABILITY_TRIALS), or the first 40 (CI:
# the AWS network and IAM part, where a failed run is cheap) ----
if [ "$FULL" = 1 ] || [ -n "${RELIABILITY_TRIALS:-}" ]; then
    MESH_FAULTS="stats:file=$T_DIR/stats.txt" apply --parallelism 1 >count.txt 2>&1 || { not_ok "the counting apply"; tail -5 count.txt; }
    NCALLS=$(awk '$1 == "calls" {print $2}' stats.txt)
    check "a clean apply leaves 0 orphans" test "$(world)" = 0
    "$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve >/dev/null 2>&1
    check "a clean destroy leaves nothing" test "$(world all)" = 0
    rel_figure "driver calls in a full apply (--parallelism 1)" "$NCALLS" "$cmd"
    if [ "$FULL" = 1 ]; then picks=$(seq 1 "$NCALLS"); else
        draw "$PER_MODE" "$NCALLS"; picks=$PICKS
    fi
    echo "# [${SECONDS}s] a full apply makes $NCALLS driver calls; rollback runs at: $(echo $picks)"
else
    NCALLS=40
    draw "$PER_MODE" "$NCALLS"; picks=$PICKS
    echo "# [${SECONDS}s] rollback runs at calls: $(echo $picks) of the first $NCALLS"
fi

# ---- rollback, from an empty world ----
http_i=0
for n in $picks; do
    http=""
    if [ $((http_i % 2)) = 0 ]; then pick_http; http=$HTTP; fi  # every other run also meets an HTTP fault
    http_i=$((http_i + 1))
    proxy_faults "{\"rules\": [${http}]}"
    MESH_FAULTS="fail:call=$n" apply --parallelism 1 >fail.txt 2>&1
    rc=$?
    proxy_faults '{"rules": []}'
    if [ $rc = 0 ]; then
        # Past the last call, or the failed call was retried: an HTTP fault on the same object
        # (a lost reply) makes the engine find it, and a failed find is tried again. Either
        # way the run completed, and must have left nothing state lacks.
        o=$(world)
        echo "# call $n: the apply completed (past its last call, or the failed call was retried); $o orphans"
        [ "$o" = 0 ] || { bad=1; orphans_total=$((orphans_total + ${o#-})); cat orphans.txt; }
        "$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve >/dev/null 2>&1
        [ "$FULL" = 1 ] && [ "$n" -ge "$NCALLS" ] && break
        continue
    fi
    runs=$((runs + 1))
    grep -q 'injected fault' fail.txt || { echo "# call $n: failed, but not at the injected fault:"; tail -4 fail.txt; }
    o=$(world all) s=$("$MESH" state list -f ref.yaml 2>&1 | wc -l)
    echo "# [${SECONDS}s] rollback, call $n${http:+ (and HTTP $http)}: $(failed_at | head -1); after it $o objects, $s state rows"
    if [ "$o" = 0 ] && [ "$s" = 0 ]; then as_before=$((as_before + 1)); else
        bad=1; orphans_total=$((orphans_total + ${o#-})); cat orphans.txt; "$MESH" state list -f ref.yaml | head -5
        "$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve >/dev/null 2>&1
    fi
done
check "rollback: each failed apply left state empty and nothing anywhere" test $bad = 0 -a $runs -ge 1

# converge LABEL: the apply after a failed --no-rollback one must complete with 0 orphans and leave a
# no-op plan; 1 (saying why) if not. A failed apply's whole output is kept: its error is far above
# the rollback's closing lines.
converge() {
    local o rc=0
    if ! apply >conv.txt 2>&1; then
        rc=1
        local keep="${TMPDIR:-/tmp}/mesh-faults-failed-converge.$$.${1// /-}.txt"
        cp conv.txt "$keep"
        echo "# $1: the converging apply failed (whole output: $keep)"
        { grep -m 8 -i 'error' conv.txt; tail -6 conv.txt; } | sed 's/^/#   /'
    fi
    o=$(world)
    [ "$o" = 0 ] || { rc=1; orphans_total=$((orphans_total + ${o#-})); echo "# $1: $o orphans after converging"; cat orphans.txt; }
    "$MESH" plan -f ref.yaml "${VARS[@]}" --detailed-exitcode >plan.txt 2>&1 ||
        { rc=1; echo "# $1: the plan after converging is not empty"; grep -E '^ *[-+~]|Plan:' plan.txt | head -8; }
    return $rc
}

# ---- --no-rollback, from an empty world, then a converging apply ----
if [ "$FULL" = 1 ]; then nr_picks=$picks; else
    draw $((PER_MODE > 1 ? PER_MODE - 1 : 1)) "$NCALLS"; nr_picks=$PICKS
fi
nbad=0 nruns=0
for n in $nr_picks; do
    [ "$(world all)" != 0 ] && "$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve >/dev/null 2>&1
    pick_http; http=$HTTP
    proxy_faults "{\"rules\": [${http}]}"
    MESH_FAULTS="fail:call=$n" apply --parallelism 1 --no-rollback >fail.txt 2>&1
    rc=$?
    proxy_faults '{"rules": []}'
    if [ $rc = 0 ]; then  # past the last call, or the failed call was retried (see above)
        o=$(world)
        echo "# call $n: the apply completed (past its last call, or the failed call was retried); $o orphans"
        [ "$o" = 0 ] || { nbad=1; orphans_total=$((orphans_total + ${o#-})); cat orphans.txt; }
        [ "$FULL" = 1 ] && [ "$n" -lt "$NCALLS" ] && continue
        break
    fi
    runs=$((runs + 1)) nruns=$((nruns + 1))
    o=$(world)
    echo "# [${SECONDS}s] --no-rollback, call $n (and HTTP $http): $(failed_at | head -1); $o orphans; converging apply"
    [ "$o" = 0 ] || { nbad=1; orphans_total=$((orphans_total + ${o#-})); cat orphans.txt; }
    converge "call $n" || nbad=1
    [ "$nbad" = 0 ] && as_before=$((as_before + 1))  # its world is the spec's, as a converged run's must be
    [ "$FULL" = 1 ] && [ "$n" != "$(echo "$nr_picks" | tail -1)" ] && "$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve >/dev/null 2>&1
done
check "--no-rollback: each failed apply kept its work with 0 orphans; the next apply converged to a no-op plan" test $nbad = 0 -a $nruns -ge 1
echo "# [${SECONDS}s] AWS part done"

# ---- the helm part: from a world with everything but cluster-2's Istio releases ----
# (the world is whole here: the last converging apply made it)
if [ "$(world all)" = 0 ]; then apply >/dev/null 2>&1 || not_ok "an apply for the helm part"; fi
"$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve --target helm_release.cluster-2.istio-base >tdestroy.txt 2>&1 ||
    { not_ok "destroy --target helm_release.cluster-2.istio-base"; tail -5 tdestroy.txt; }
state_dump -f ref.yaml >before.txt
# one plan gives what "as before" is, and how many calls (reads) an apply makes before the helm part's
MESH_FAULTS="stats:file=$T_DIR/pstats.txt" "$MESH" plan -f ref.yaml "${VARS[@]}" --parallelism 1 >plan-before.txt 2>&1
want_plan=$(grep -o 'Plan: .*' plan-before.txt)
READS=$(awk '$1 == "calls" {print $2}' pstats.txt)
echo "# [${SECONDS}s] helm part: $want_plan; a plan makes $READS reads, the apply's next calls are the helm part's"
if [ "$FULL" = 1 ]; then hpicks=$(seq $((READS + 1)) $((READS + 200))); else hpicks=$((READS + 1 + RANDOM % 6)); fi
hbad=0 hruns=0
same_as_before() {
    local o
    o=$(world)
    state_dump -f ref.yaml >after.txt
    "$MESH" plan -f ref.yaml "${VARS[@]}" >plan-after.txt 2>&1
    if [ "$o" = 0 ] && cmp -s before.txt after.txt && [ "$(grep -o 'Plan: .*' plan-after.txt)" = "$want_plan" ]; then return 0; fi
    echo "# $1: not as before: $o orphans; state $(cmp -s before.txt after.txt && echo same || echo differs); $(grep -o 'Plan: .*' plan-after.txt)"
    cat orphans.txt; diff before.txt after.txt | head -6 | cut -c1-200
    orphans_total=$((orphans_total + ${o#-}))
    return 1
}
for n in $hpicks; do
    MESH_FAULTS="fail:call=$n" apply --parallelism 1 >fail.txt 2>&1 && { echo "# helm part: call $n is past its last call"; break; }
    runs=$((runs + 1)) hruns=$((hruns + 1))
    echo "# [${SECONDS}s] helm part, rollback, call $n: $(failed_at | tail -1)"
    if same_as_before "helm part call $n"; then as_before=$((as_before + 1)); else
        hbad=1; apply >/dev/null 2>&1
        "$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve --target helm_release.cluster-2.istio-base >/dev/null 2>&1
        state_dump -f ref.yaml >before.txt
    fi
done
check "helm part: each failed apply left state, plan and world as before ($hruns runs)" test $hbad = 0 -a $hruns -ge 1

# The same calls with --no-rollback: the failed apply keeps what it did with 0 orphans, the next
# apply converges to a no-op plan; then the helm part is destroyed again for the next call.
nhbad=0 nhruns=0
for n in $hpicks; do
    MESH_FAULTS="fail:call=$n" apply --parallelism 1 --no-rollback >fail.txt 2>&1 && {
        echo "# helm part, --no-rollback: call $n is past its last call"; break; }
    runs=$((runs + 1)) nhruns=$((nhruns + 1))
    o=$(world)
    echo "# [${SECONDS}s] helm part, --no-rollback, call $n: $(failed_at | tail -1); $o orphans; converging apply"
    [ "$o" = 0 ] || { nhbad=1; orphans_total=$((orphans_total + ${o#-})); cat orphans.txt; }
    converge "helm part call $n" && [ "$nhbad" = 0 ] && as_before=$((as_before + 1)) || nhbad=1
    "$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve --target helm_release.cluster-2.istio-base >/dev/null 2>&1
done
state_dump -f ref.yaml >before.txt   # what "as before" is for the next check
check "helm part, --no-rollback: each failed apply kept its work with 0 orphans; the next apply converged ($nhruns runs)" \
    test $nhbad = 0 -a $nhruns -ge 1

# One of helm's writes answered 500 by cluster-2's API server (istiod's Deployment): helm fails or
# mesh retries; either way the run ends converged or as before, with 0 orphans.
kube_fake_faults "$T_DIR/stack/k2" '{"rules": [{"method": "POST", "path_re": "/namespaces/istio-system/deployments", "status": 500, "count": 1}]}'
apply >kfail.txt 2>&1
krc=$?
curl -s -o /dev/null --cacert "$T_DIR/stack/k2/ca.crt" -X POST "$(cat "$T_DIR/stack/k2/url")/__fake/reset-faults"
runs=$((runs + 1))
if [ $krc = 0 ]; then
    o=$(world)
    echo "# [${SECONDS}s] helm part, API server 500 on a Deployment: the apply completed; $o orphans"
    "$MESH" plan -f ref.yaml "${VARS[@]}" --detailed-exitcode >/dev/null 2>&1 && [ "$o" = 0 ] && kok=1 || kok=0
    [ "$o" = 0 ] || orphans_total=$((orphans_total + ${o#-}))
else
    echo "# [${SECONDS}s] helm part, API server 500 on a Deployment: the apply failed: $(grep -m1 -i 'error' kfail.txt | cut -c1-120)"
    same_as_before "API server 500" && kok=1 || kok=0
fi
[ $kok = 1 ] && as_before=$((as_before + 1))
check "helm part, an API server 500 during helm: converged or as before, 0 orphans" test $kok = 1

rel_figure "runs (failed apply at call N, plus HTTP faults)" "$runs" "$cmd"
rel_figure "runs ending as before (rollback) or converged (--no-rollback)" "$as_before" "$cmd"
rel_figure "orphans found (total)" "$orphans_total" "$cmd"
echo "# [${SECONDS}s] done"
t_done
