#!/usr/bin/env bash
# rollback.sh: benchmark of issue 15 (rollback in parallel). An apply creates 40 independent
# null_resources, then fails (a 41st resource that depends on all of them fails its create:
# MESH_FAULTS fail:call=41); every driver call takes 500 ms longer (the fault layer's delay). The
# rollback deletes the 40 objects. Timed: from the "Rolling back" line to the end of the run, at
# --parallelism 1 (one delete after the other: 40 delays) and at --parallelism 10 (the default:
# about 40/10 delays). Prints both, the ratio, and the delays each is worth. Then the same against
# the AWS network (moto_server behind the fault proxy, whose delay rule slows every request), when
# moto_server is there (BENCH_AWS=0 skips it). Not a timed test: exits 0 whatever the figures; 1
# only if it cannot run.
#
#   BENCH_N=40 BENCH_DELAY_MS=500 BENCH_PARALLELISM=10   the shape (defaults: the issue's)
#   BENCH_AWS_DELAY_S=0.5                                the proxy's delay per AWS request
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
MESH=${MESH_BIN:-$ROOT/build/bench/mesh}
[ -x "$MESH" ] || MESH=$ROOT/mesh
[ -x "$MESH" ] || { echo "bench: no mesh binary (make mesh)" >&2; exit 1; }
N=${BENCH_N:-40} DELAY=${BENCH_DELAY_MS:-500} P=${BENCH_PARALLELISM:-10}
T=$(mktemp -d /tmp/mesh-bench-rollback.XXXXXX)
trap 'rm -rf "$T"' EXIT
export HOME="$T/home" NO_COLOR=1 MESH_NULL_STORE="$T/store"
mkdir -p "$HOME"
{
    echo "resources:"
    for i in $(seq 0 $((N - 1))); do echo "  null_resource.r$i:"; echo "    input: \"v$i\""; done
    echo "  null_resource.z:"
    printf '    triggers: {'
    for i in $(seq 0 $((N - 1))); do printf 'p%d: "${null_resource.r%d.id}", ' "$i" "$i"; done
    echo 'k: z}'
} > "$T/spec.yaml"

# timed SPEC PARALLELISM MESH_FAULTS [ARGS...]: prints "ROLLBACK_S TOTAL_S STEPS" (STEPS: rollback lines)
timed() {
    (cd "$T" && MESH_FAULTS="$3" python3 - "$MESH" "$1" "$2" "${@:4}" <<'PY'
import subprocess, sys, time
mesh, spec, par = sys.argv[1:4]
t0 = time.monotonic(); t_rb = None; steps = 0
p = subprocess.Popen([mesh, "apply", "-f", spec, "--auto-approve", "--parallelism", par] + sys.argv[4:],
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
for line in p.stdout:
    if t_rb is None and "Rolling back" in line: t_rb = time.monotonic()
    if line.rstrip().endswith("(rollback)"): steps += 1
p.wait()
t1 = time.monotonic()
print("%.2f %.2f %d" % (t1 - t_rb if t_rb else -1, t1 - t0, steps))
PY
    )
}

# report TITLE DELAY_S P SEQ_LINE PAR_LINE: the table and the ratio
report() {
    python3 - "$@" <<'PY'
import sys
title, delay, p = sys.argv[1], float(sys.argv[2]), sys.argv[3]
rows = [("1",) + tuple(sys.argv[4].split()), (p,) + tuple(sys.argv[5].split())]
print(title)
print("%-12s %11s %14s %14s %15s" % ("parallelism", "rollback_s", "in_delays", "whole_apply_s", "rollback_steps"))
for par, rb, total, steps in rows:
    print("%-12s %11.2f %14.1f %14.2f %15s" % (par, float(rb), float(rb) / delay, float(total), steps))
seq, par = float(rows[0][1]), float(rows[1][1])
print("ratio sequential/parallel rollback: %.1f" % (seq / par if par > 0 else 0))
PY
}

echo "null: rollback of $N independent null_resources, ${DELAY} ms delay per driver call" >&2
fresh() { rm -rf "$T/.mesh" "$MESH_NULL_STORE" && mkdir -p "$MESH_NULL_STORE"; }
fresh; seq_line=$(timed spec.yaml 1 "delay:ms=$DELAY,fail:call=$((N + 1))"); seq_left=$(ls "$MESH_NULL_STORE" | grep -c '\.json$')
fresh; par_line=$(timed spec.yaml "$P" "delay:ms=$DELAY,fail:call=$((N + 1))"); par_left=$(ls "$MESH_NULL_STORE" | grep -c '\.json$')
report "null_resource x $N, ${DELAY} ms per driver call (ideal ratio $P: $N delays against $(( (N + P - 1) / P )))" \
    "$(python3 -c "print($DELAY / 1000)")" "$P" "$seq_line" "$par_line"
echo "objects left in the null store after the rollback: $seq_left (parallelism 1), $par_left (parallelism $P)"

# The AWS network of issue 6 (VPC, subnets, gateways, route tables, security groups of two
# clusters: 21 resources) against moto_server through the fault proxy, every request delayed
# BENCH_AWS_DELAY_S (default 0.5 s); the 20th driver call fails, near the end of the creates.
command -v moto_server >/dev/null || { echo "AWS part skipped: no moto_server"; exit 0; }
[ "${BENCH_AWS:-1}" = 1 ] || { echo "AWS part skipped: BENCH_AWS=0"; exit 0; }
source tests/harness/aws/harness.sh
trap 'aws_harness_stop "$T/h"; rm -rf "$T"' EXIT
aws_harness_start "$T/h" >&2 || { echo "AWS part skipped: cannot start moto"; exit 0; }
for v in $(env | grep -o '^AWS_[A-Z_]*'); do unset "$v"; done
export AWS_ENDPOINT_URL="$PROXY_URL" AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench
export AWS_REGION=us-west-2 AWS_EC2_METADATA_DISABLED=true
python3 - specs/reference.yaml > "$T/net.yaml" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
block = lambda n: re.search(r'^%s:.*?(?=^\S)' % n, src, re.S | re.M).group(0)
print(block("mesh") + block("network") + "clusters:\n  cluster-1: {ip_family: ipv4}\n  cluster-2: {ip_family: ipv6}")
PY
AD=${BENCH_AWS_DELAY_S:-0.5}
curl -s -X POST "$PROXY_URL/__faults" \
    -d "{\"rules\": [{\"kind\": \"delay\", \"service\": \"*\", \"action\": \"*\", \"rate\": 1, \"seconds\": $AD}]}" >/dev/null
echo "aws: the network of two clusters, ${AD} s delay per request at the proxy" >&2
# The network's resources only: the clusters' EKS parts (clusters:) are compiled but not made.
NET_TARGETS=(--target 'aws_vpc.*' --target 'aws_subnet.*' --target 'aws_internet_gateway.*'
             --target 'aws_egress_only_internet_gateway.*' --target 'aws_eip.*' --target 'aws_nat_gateway.*'
             --target 'aws_route_table.*' --target 'aws_security_group.*'
             --target 'aws_security_group_rule.*.from_*' --target 'aws_security_group_rule.*.egress_*')
rm -rf "$T/.mesh"; aseq=$(timed net.yaml 1 "fail:call=20" "${NET_TARGETS[@]}")
rm -rf "$T/.mesh"; apar=$(timed net.yaml "$P" "fail:call=20" "${NET_TARGETS[@]}")
left=$(curl -s -X POST "$PROXY_URL/__reset" >/dev/null; cd "$T" && "$MESH" state list -f net.yaml 2>/dev/null | wc -l)
report "AWS network (moto + proxy), ${AD} s per request" "$AD" "$P" "$aseq" "$apar"
echo "resources in state after the second rollback: $left"
exit 0
