#!/usr/bin/env bash
# aws_clusters.sh: benchmark of issue 10: one `mesh apply` of the AWS part of specs/reference.yaml
# (network + both EKS clusters with their IAM, KMS, logs, node groups and add-ons) against the
# harness, which holds each cluster in CREATING for T seconds, node groups T/2 and add-ons T/4
# (BENCH_HOLD=T, default 20). Prints:
#   - the apply's wall time, its longest dependency path (the heaviest chain of the DAG, each
#     resource weighted by its own create+wait time from the run's progress events), and the
#     ratio of the two (target: <= 1.10: both clusters and their IAM, KMS and logs build side by
#     side, so the apply lasts about as long as its slowest chain, VPC -> subnets -> cluster ->
#     node group -> add-on);
#   - the API calls by service (the run summary's provider stats);
#   - a no-op plan's API calls and wall time; then destroy's.
# Polls back off as in production but scaled by MESH_BACKOFF_SCALE (default here 0.1: a 20 s hold
# stands for a 200 s wait at real polling intervals). Never a timed test: exits 0 whatever the
# figures; 1 only if it cannot run.
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
MESH=${MESH_BIN:-$ROOT/build/bench/mesh}
[ -x "$MESH" ] || MESH=$ROOT/mesh
HOLD=${BENCH_HOLD:-20}
export MESH_BACKOFF_SCALE=${MESH_BACKOFF_SCALE:-0.1}
source tests/harness/aws/harness.sh
source tests/harness/kube/kube.sh
T=$(mktemp -d /tmp/mesh-bench-eks.XXXXXX)
trap 'kube_fake_stop "$T/k1"; kube_fake_stop "$T/k2"; aws_harness_stop "$T/h"; rm -rf "$T"' EXIT
H="$T/h"
aws_harness_start "$H" >&2 || { echo "cannot start the AWS harness" >&2; exit 1; }
# each cluster's API server: a fake the EKS stand-in hands out as its endpoint (the connections wait for it)
for c in 1 2; do
    kube_fake_start "$T/k$c" "cluster-$c" --sts-url "$PROXY_URL" >/dev/null 2>&1 && kube_fake_eks "$T/k$c" "cluster-$c" ||
        { echo "cannot start the fake API server of cluster-$c" >&2; exit 1; }
done
for v in $(env | grep -o '^AWS_[A-Z_]*'); do unset "$v"; done
export HOME="$T/home" AWS_ENDPOINT_URL="$PROXY_URL" AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench
export AWS_REGION=us-west-2 AWS_EC2_METADATA_DISABLED=true NO_COLOR=1
mkdir -p "$HOME"
python3 - specs/reference.yaml > "$T/aws.yaml" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
block = lambda n: re.search(r'^%s:.*?(?=^\S)' % n, src, re.S | re.M).group(0)
# the AWS part only: the controller's IAM role, not its Helm release (nor the chart variable)
src = re.sub(r'(?m)^( +)load_balancer_controller:.*\n(?:\1 +.*\n)*', r'\1load_balancer_controller: {release: false}\n', src)
print(block("mesh") + block("network") + block("clusters"))
PY
cd "$T"
curl -s -X POST "$PROXY_URL/__eks" -d "{\"hold\": {\"cluster\": $HOLD, \"nodegroup\": $(python3 -c "print($HOLD/2)"), \"addon\": $(python3 -c "print($HOLD/4)")}}" >/dev/null
"$MESH" plan -f aws.yaml --explain --json > explain.json 2>/dev/null

run() {  # STEP CMD...: wall time + the JSON events in STEP.json
    local step=$1
    shift
    local t0 t1
    t0=$(date +%s.%N)
    "$@" --json > "$step.json" 2>"$step.err"
    echo "$? $t0 $(date +%s.%N)" > "$step.time"
}
run apply "$MESH" apply -f aws.yaml --auto-approve
run plan "$MESH" plan -f aws.yaml
run destroy "$MESH" destroy -f aws.yaml --auto-approve

python3 - "$HOLD" <<'PY'
import json, sys
hold = float(sys.argv[1])
def events(f):
    out = []
    for line in open(f):
        try: out.append(json.loads(line))
        except ValueError: pass
    return out
def timing(step):
    rc, t0, t1 = open(step + ".time").read().split()
    return int(rc), float(t1) - float(t0)
def stats(ev):  # the run's summary (apply, destroy), else the plan's (plan)
    for kind in ("summary", "plan_summary"):
        for e in ev:
            if e.get("type") == kind and e.get("provider_stats"):
                return e["provider_stats"].get("aws", {})
    return {}
deps = {e["address"]: e.get("depends_on", []) for e in events("explain.json") if e.get("type") == "explain"}
apply = events("apply.json")
took = {e["address"]: e.get("elapsed", 0.0) for e in apply
        if e.get("type") == "progress" and e.get("status") == "done" and e.get("action") in ("create", "replace")}
memo = {}
def chain(a):  # heaviest path ending at a: (seconds, [addresses])
    if a not in memo:
        best = (0.0, [])
        for d in deps.get(a, []):
            if d in deps: best = max(best, chain(d))
        memo[a] = (best[0] + took.get(a, 0.0), best[1] + [a])
    return memo[a]
path = max((chain(a) for a in deps), default=(0.0, []))
rc, wall = timing("apply")
if rc != 0:
    for e in apply:
        if e.get("type") == "diagnostic" and e.get("severity") == "error":
            print("apply error: %s%s" % (e.get("address", "") + ": " if e.get("address") else "", e.get("message")))
print("mesh apply of the AWS part of specs/reference.yaml, holds: cluster %gs, node group %gs, add-on %gs" % (hold, hold / 2, hold / 4))
print("%-34s %10s" % ("", "seconds"))
print("%-34s %10.2f%s" % ("apply wall time", wall, "" if rc == 0 else "  (exit %d)" % rc))
print("%-34s %10.2f" % ("longest dependency path", path[0]))
print("%-34s %10.3f   (target <= 1.10: %s)" % ("ratio", wall / path[0] if path[0] else float("nan"),
      "PASS" if path[0] and wall / path[0] <= 1.10 else "MISS"))
print("%-34s %10.2f   (cluster + node group + add-on)" % ("holds on that path", 1.75 * hold))
print("%-34s %10d" % ("resources created", len(took)))
print("longest path: " + " -> ".join("%s (%.1fs)" % (a, took.get(a, 0.0)) for a in path[1] if took.get(a, 0.0) >= 0.05))
a = stats(apply)
print("API calls by service (apply): " + ", ".join("%s %d" % kv for kv in sorted(a.get("api_calls_by_service", {}).items()))
      + "; total %s, retries %s" % (a.get("api_calls"), a.get("retries")))
rc, wall = timing("plan")
p = stats(events("plan.json"))
print("no-op plan: %.2f s, %s API calls (%s)%s" % (wall, p.get("api_calls", "-"),
      ", ".join("%s %d" % kv for kv in sorted(p.get("api_calls_by_service", {}).items())), "" if rc == 0 else "  (exit %d)" % rc))
rc, wall = timing("destroy")
d = stats(events("destroy.json"))
print("destroy: %.2f s, %s API calls%s" % (wall, d.get("api_calls", "-"), "" if rc == 0 else "  (exit %d)" % rc))
PY
