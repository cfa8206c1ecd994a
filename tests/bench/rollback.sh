#!/usr/bin/env bash
# rollback.sh: benchmark of issue 15 (rollback in parallel). An apply creates 40 independent
# null_resources, then fails (a 41st resource that depends on all of them fails its create:
# MESH_FAULTS fail:call=41); every driver call takes 500 ms longer (the fault layer's delay). The
# rollback deletes the 40 objects. Timed: from the "Rolling back" line to the end of the run, at
# --parallelism 1 (one delete after the other: 40 delays) and at --parallelism 10 (the default:
# about 40/10 delays). Prints both, the ratio, and the delays each is worth. Not a timed test:
# exits 0 whatever the figures; 1 only if it cannot run.
#
#   BENCH_N=40 BENCH_DELAY_MS=500 BENCH_PARALLELISM=10   the shape (defaults: the issue's)
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

# run PARALLELISM: prints "ROLLBACK_S TOTAL_S LEFT" (LEFT: objects still in the null store)
run() {
    rm -rf "$T/.mesh" "$MESH_NULL_STORE" && mkdir -p "$MESH_NULL_STORE"
    (cd "$T" && MESH_FAULTS="delay:ms=$DELAY,fail:call=$((N + 1))" python3 - "$MESH" "$1" <<'PY'
import subprocess, sys, time
mesh, par = sys.argv[1], sys.argv[2]
t0 = time.monotonic(); t_rb = None
p = subprocess.Popen([mesh, "apply", "-f", "spec.yaml", "--auto-approve", "--parallelism", par],
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
for line in p.stdout:
    if t_rb is None and "Rolling back" in line: t_rb = time.monotonic()
p.wait()
t1 = time.monotonic()
print("%.2f %.2f" % (t1 - t_rb if t_rb else -1, t1 - t0))
PY
    ) | tr -d '\n'
    echo " $(ls "$MESH_NULL_STORE" | grep -c '\.json$')"
}
echo "rollback of $N independent null_resources, ${DELAY} ms delay per driver call" >&2
read -r seq_rb seq_total seq_left <<<"$(run 1)"
read -r par_rb par_total par_left <<<"$(run "$P")"
python3 - "$N" "$DELAY" "$P" "$seq_rb" "$seq_total" "$seq_left" "$par_rb" "$par_total" "$par_left" <<'PY'
import sys
n, delay, p = int(sys.argv[1]), int(sys.argv[2]) / 1000.0, int(sys.argv[3])
rows = [("1", *map(float, sys.argv[4:6]), sys.argv[6]), (str(p), *map(float, sys.argv[7:9]), sys.argv[9])]
print("%-12s %11s %9s %14s %12s" % ("parallelism", "rollback_s", "delays", "whole_apply_s", "left_after"))
for par, rb, total, left in rows:
    print("%-12s %11.2f %9.1f %14.2f %12s" % (par, rb, rb / delay, total, left))
seq, par = rows[0][1], rows[1][1]
print("ratio sequential/parallel rollback: %.1f (ideal %d: %d delays against %d)" % (seq / par if par > 0 else 0, p, n, -(-n // p)))
PY
exit 0
