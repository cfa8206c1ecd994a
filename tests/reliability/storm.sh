#!/usr/bin/env bash
# storm.sh: the whole reference deployment (specs/reference.yaml, ECDSA keys, the stand-in charts)
# applied while the AWS harness throttles 30 % of the calls, answers 503 to 5 % and resets the
# connection of 2 % (proxy.py's POST /__faults), and both fake API servers answer 429 (with
# Retry-After) and 409 "the object has been modified" to a share of mesh's and helm's requests
# (fake_kube.py's POST /__fake/faults, "rate"). Each trial is a storm apply that must succeed in
# ONE run, then a plan under the same storm that must be empty, and 0 orphans (tests/harness/
# reference.sh ref_orphans: AWS objects, fake-cluster objects, helm releases state lacks).
# Trials alternate: apply from nothing, then (FULL) a storm destroy that must leave nothing and
# the next apply builds it again. CI: 1 trial; `make reliability`: 20.
# Figures: applies, converged, calls injected (from the proxy's and the fakes' stats), seconds.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/reference.sh"
source "$ROOT/tests/reliability/lib.sh"
t_setup
TRIALS=$(rel_trials 1 20)
STACK="$T_DIR/stack"
ref_stack_start "$STACK" >/dev/null 2>&1 || { not_ok "the reference stand-ins start"; t_done; exit 1; }
trap 'ref_stack_stop "$STACK"; t_cleanup' EXIT
export MESH_BACKOFF_SCALE=0.01
sed 's/algorithm: rsa4096/algorithm: ecdsa-p256/' "$ROOT/specs/reference.yaml" >ref.yaml
read -ra VARS <<<"$(ref_stack_vars)"
echo "# [${SECONDS}s] stand-ins up; $TRIALS trial(s)"

storm_on() {  # SEED
    curl -s -o /dev/null -X POST "$PROXY_URL/__reset"
    # The rules are tried in order: 5 % of all calls is 7.15 % of the 70 % not throttled, 2 % is
    # 3.07 % of the 65 % left. STS is spared: its presigned GetCallerIdentity is the fake API
    # servers checking an EKS token (AWS's side of EKS, not the user's calls).
    curl -s -o /dev/null -X POST "$PROXY_URL/__faults" -d "$($PY -c '
import json, sys
rules = []
for svc in ("ec2", "iam", "kms", "logs", "eks"):
    rules += [{"kind": "throttle", "service": svc, "rate": 0.30}, {"kind": "503", "service": svc, "rate": 0.0715},
              {"kind": "reset", "service": svc, "rate": 0.0307}]
print(json.dumps({"seed": int(sys.argv[1]), "rules": rules}))' "$1")"
    for c in 1 2; do
        curl -s -o /dev/null --cacert "$STACK/k$c/ca.crt" -X POST "$(cat "$STACK/k$c/url")/__fake/reset-faults"
        kube_fake_faults "$STACK/k$c" '{"rules": [
            {"method": "*", "path_re": "^/api", "status": 429, "retry_after": 0, "rate": 0.10,
             "message": "storm: too many requests"},
            {"method": "PATCH", "path_re": "fieldManager=mesh", "status": 409, "rate": 0.10,
             "message": "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again"}]}'
    done
}
storm_off() {
    curl -s -o /dev/null -X POST "$PROXY_URL/__faults" -d '{"rules": []}'
    for c in 1 2; do curl -s -o /dev/null --cacert "$STACK/k$c/ca.crt" -X POST "$(cat "$STACK/k$c/url")/__fake/reset-faults"; done
}
injected() {  # calls injected since storm_on: the proxy's by kind + each fake's fired rules
    {
        curl -s "$PROXY_URL/__stats"; echo
        for c in 1 2; do kube_fake_stats "$STACK/k$c"; echo; done
    } | $PY -c '
import json, sys
docs = [json.loads(l) for l in sys.stdin if l.strip()]
aws = docs[0].get("injected", {})
kube = sum(d.get("faults_fired", 0) for d in docs[1:])
print("%d %d %d %s" % (sum(aws.values()) + kube, docs[0].get("requests", 0), kube, ",".join("%s:%d" % kv for kv in sorted(aws.items()))))'
}
# the fakes' faults_fired counts since they started: take differences
kube_fired_base=0

kube_status() {  # STATUS: how many requests both fakes answered with it (since they started)
    for c in 1 2; do kube_fake_stats "$STACK/k$c"; echo; done |
        $PY -c 'import json, sys; print(sum(json.loads(l).get("by_status", {}).get(sys.argv[1], 0) for l in sys.stdin if l.strip()))' "$1"
}

total409=0 total429=0
applies=0 converged=0 total_injected=0 total_calls=0 destroys=0 destroyed=0 t_storm=0
for trial in $(seq 1 "$TRIALS"); do
    storm_on "$trial"
    read -r _ _ kube0 _ <<<"$(injected)"
    c409=$(kube_status 409) c429=$(kube_status 429)
    t0=$SECONDS
    "$MESH" apply -f ref.yaml "${VARS[@]}" --auto-approve >apply.out 2>apply.err
    rc=$?
    applies=$((applies + 1))
    read -r inj calls kube1 kinds <<<"$(injected)"
    inj=$((inj - kube0)) c409=$(($(kube_status 409) - c409)) c429=$(($(kube_status 429) - c429))
    "$MESH" plan -f ref.yaml "${VARS[@]}" --detailed-exitcode >plan.out 2>plan.err
    prc=$?
    storm_off
    t_storm=$((t_storm + SECONDS - t0))
    total_injected=$((total_injected + inj))
    total_calls=$((total_calls + calls))
    total409=$((total409 + c409)) total429=$((total429 + c429))
    n_orphans=$(ref_orphans ref.yaml 2>orphans.txt)
    if [ $rc = 0 ] && [ $prc = 0 ] && [ "$n_orphans" = 0 ]; then
        converged=$((converged + 1))
        ok "trial $trial: the storm apply converged in one run, the plan under the storm is empty, 0 orphans ($inj faults injected of $calls AWS calls: $kinds; $((kube1 - kube0)) in the API servers: $c429 429, $c409 409)"
    else
        not_ok "trial $trial: apply exit $rc (want 0), plan exit $prc (want 0), $n_orphans orphan(s)"
        tail -15 apply.err plan.out plan.err orphans.txt | sed 's/^/    | /'
        "$MESH" apply -f ref.yaml "${VARS[@]}" --auto-approve >/dev/null 2>&1  # calm weather, for the next trial
    fi
    echo "# [${SECONDS}s] trial $trial applied"
    if [ "$trial" -lt "$TRIALS" ]; then
        # the next trial starts from nothing: destroy under the same storm
        storm_on "$((trial + 1000))"
        read -r _ _ kube0 _ <<<"$(injected)"
        t0=$SECONDS
        "$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve >destroy.out 2>destroy.err
        rc=$?
        destroys=$((destroys + 1))
        read -r inj calls kube1 _ <<<"$(injected)"
        storm_off
        t_storm=$((t_storm + SECONDS - t0))
        total_injected=$((total_injected + inj - kube0))
        total_calls=$((total_calls + calls))
        held=$("$MESH" state list -f ref.yaml 2>/dev/null | wc -l)
        n_orphans=$(ref_orphans ref.yaml 2>orphans.txt)
        if [ $rc = 0 ] && [ "$held" = 0 ] && [ "$n_orphans" = 0 ]; then
            destroyed=$((destroyed + 1))
            ok "trial $trial: the storm destroy emptied state and left nothing behind"
        else
            not_ok "trial $trial: destroy exit $rc, $held held, $n_orphans left"
            tail -15 destroy.err orphans.txt | sed 's/^/    | /'
            "$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve >/dev/null 2>&1
        fi
        echo "# [${SECONDS}s] trial $trial destroyed"
    fi
done
check "no AWS secret key in any output of the storm" sh -c "! grep -qF '$AWS_SECRET_ACCESS_KEY' apply.out apply.err plan.out plan.err"

CMD="RELIABILITY_TRIALS=$TRIALS bash tests/reliability/run tests/reliability/storm.sh"
rel_figure "storm applies (each followed by an empty plan under the storm and an orphan count)" "$applies" "$CMD"
rel_figure "converged in one run, empty plan, 0 orphans" "$converged of $applies" "$CMD"
[ "$destroys" -gt 0 ] && rel_figure "storm destroys leaving nothing" "$destroyed of $destroys" "$CMD"
rel_figure "faults injected (AWS throttle/503/reset + API-server 429/409) / AWS calls" "$total_injected / $total_calls" "$CMD"
rel_figure "API-server 429 / 409 answers during the applies (mesh and helm retried them)" "$total429 / $total409" "$CMD"
rel_figure "seconds under the storm (applies, plans, destroys)" "$t_storm" "$CMD"
t_done
