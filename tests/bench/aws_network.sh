#!/usr/bin/env bash
# aws_network.sh: benchmark of the issue 6 network against moto_server (through the fault proxy,
# no faults): apply from empty, a no-op plan, destroy, BENCH_REPEAT times (default 3). Prints wall
# time, API calls, retries and calls per resource of each step (the run summary's "AWS: N API
# calls, M retries"), and the parallelism the graph allowed (most resources in progress at once).
# Never a timed test: exits 0 whatever the figures; 1 only if it cannot run.
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
MESH=${MESH_BIN:-$ROOT/build/bench/mesh}
[ -x "$MESH" ] || MESH=$ROOT/mesh
source tests/harness/aws/harness.sh
T=$(mktemp -d /tmp/mesh-bench-aws.XXXXXX)
trap 'aws_harness_stop "$T/h"; rm -rf "$T"' EXIT
aws_harness_start "$T/h" >&2 || { echo "cannot start moto" >&2; exit 1; }
for v in $(env | grep -o '^AWS_[A-Z_]*'); do unset "$v"; done
export HOME="$T/home" AWS_ENDPOINT_URL="$PROXY_URL" AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench
export AWS_REGION=us-west-2 AWS_EC2_METADATA_DISABLED=true NO_COLOR=1
mkdir -p "$HOME"
python3 - specs/reference.yaml > "$T/net.yaml" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
block = lambda n: re.search(r'^%s:.*?(?=^\S)' % n, src, re.S | re.M).group(0)
print(block("mesh") + block("network") + "clusters:\n  cluster-1: {ip_family: ipv4}\n  cluster-2: {ip_family: ipv6}")
PY
cd "$T"
# The network's resources only: the clusters' EKS parts (clusters:) are compiled but not made.
NET_TARGETS=(--target 'aws_vpc.*' --target 'aws_subnet.*' --target 'aws_internet_gateway.*'
             --target 'aws_egress_only_internet_gateway.*' --target 'aws_eip.*' --target 'aws_nat_gateway.*'
             --target 'aws_route_table.*' --target 'aws_security_group.*'
             --target 'aws_security_group_rule.*.from_*' --target 'aws_security_group_rule.*.egress_*')
printf '%-8s %-8s %9s %10s %8s %10s %9s\n' cycle step seconds api_calls retries calls/res parallel
for i in $(seq 1 "${BENCH_REPEAT:-3}"); do
    for step in apply plan destroy; do
        t0=$(date +%s.%N)
        case $step in
        apply) "$MESH" apply -f net.yaml --auto-approve --json "${NET_TARGETS[@]}" > out.json 2>&1 ;;
        plan) "$MESH" plan -f net.yaml --json "${NET_TARGETS[@]}" > out.json 2>&1 ;;
        destroy) "$MESH" destroy -f net.yaml --auto-approve --json "${NET_TARGETS[@]}" > out.json 2>&1 ;;
        esac
        rc=$?
        t1=$(date +%s.%N)
        python3 - "$step" "$i" "$t0" "$t1" "$rc" out.json <<'PY'
import json, sys
step, i, t0, t1, rc, f = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
calls = retries = "-"; n = 0; live = peak = 0
for line in open(f):
    try: ev = json.loads(line)
    except ValueError: continue
    if ev.get("type") == "progress" and ev.get("status") == "start": live += 1; peak = max(peak, live)
    if ev.get("type") == "progress" and ev.get("status") in ("done", "failed"): live -= 1; n += 1
    if ev.get("type") == "summary" and ev.get("provider_stats"):
        a = ev["provider_stats"].get("aws", {}); calls, retries = a.get("api_calls"), a.get("retries")
per = "%.1f" % (calls / n) if isinstance(calls, int) and n else "-"
print("%-8s %-8s %9.2f %10s %8s %10s %9s%s" % (i, step, t1 - t0, calls, retries, per, peak or "-", "" if rc == "0" else "  (exit %s)" % rc))
PY
    done
done
