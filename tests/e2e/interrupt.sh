# interrupt.sh: Ctrl-C during a slow apply stops new work, lets calls in flight finish, rolls back
# and exits promptly; the journal and state stay consistent and the next apply completes. A second
# Ctrl-C exits at once.
. "$(dirname "$0")/../lib/common.sh"
t_setup
export MESH_NULL_STORE="$T_DIR/store"
mkdir -p "$MESH_NULL_STORE"
$GEN tree 16 > mesh.yaml
$GEN tree 16 --version 2 > v2.yaml
"$MESH" apply --auto-approve >/dev/null 2>&1
before_state=$(state_dump)
before_store=$(store_dump "$MESH_NULL_STORE")

MESH_FAULTS="delay:ms=150" "$MESH" apply -f v2.yaml --auto-approve --parallelism 2 >int.txt 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q 'Replacing' int.txt 2>/dev/null && break; sleep 0.1; done
sleep 1
t0=$(date +%s%N)
kill -INT $pid
wait $pid
rc=$?
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
echo "# exited $ms ms after SIGINT with status $rc"
check "Ctrl-C: the apply exited within 10 s" test $ms -lt 10000
check "Ctrl-C: the exit status says it failed" test $rc -ne 0
check "Ctrl-C: it said it was interrupted" grep -q 'interrupt' int.txt
check "Ctrl-C: it rolled back" grep -q 'rolled back' int.txt
check "Ctrl-C: state is as before the run" test "$(state_dump)" = "$before_state"
check "Ctrl-C: the null store is as before the run" test "$(store_dump "$MESH_NULL_STORE")" = "$before_store"
check "Ctrl-C: the run is recorded as rolled back" test "$(sqlite3 .mesh/state.db "SELECT status FROM runs ORDER BY started DESC LIMIT 1")" = rolled_back
expect_rc "Ctrl-C: the next apply completes" 0 "$MESH" apply -f v2.yaml --auto-approve
expect_rc "Ctrl-C: then the plan is empty" 0 "$MESH" plan -f v2.yaml --detailed-exitcode

# --no-rollback: Ctrl-C keeps what was done; the next apply finishes
MESH_FAULTS="delay:ms=150" "$MESH" apply --auto-approve --parallelism 2 --no-rollback >int2.txt 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q 'complete after' int2.txt 2>/dev/null && break; sleep 0.1; done
kill -INT $pid
wait $pid
check "Ctrl-C --no-rollback: progress kept" grep -q 'Progress was kept' int2.txt
expect_rc "Ctrl-C --no-rollback: the next apply converges" 0 "$MESH" apply --auto-approve
check "Ctrl-C --no-rollback: no orphans" test "$(orphans "$MESH_NULL_STORE")" = 0

# a second Ctrl-C exits at once; the journal is intact and the next apply recovers
MESH_FAULTS="delay:ms=2000" "$MESH" apply -f v2.yaml --auto-approve --parallelism 2 >int3.txt 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q 'Replacing' int3.txt 2>/dev/null && break; sleep 0.1; done
kill -INT $pid; sleep 0.2; t0=$(date +%s%N); kill -INT $pid
wait $pid
rc=$?
t1=$(date +%s%N)
check "second Ctrl-C: exit status 130" test $rc -eq 130
check "second Ctrl-C: exited within 2 s" test $(( (t1 - t0) / 1000000 )) -lt 2000
check "second Ctrl-C: state database intact" test "$(sqlite3 .mesh/state.db 'PRAGMA integrity_check')" = ok
expect_rc "second Ctrl-C: the next apply recovers and converges" 0 "$MESH" apply -f v2.yaml --auto-approve
check "second Ctrl-C: no orphans" test "$(orphans "$MESH_NULL_STORE" -f v2.yaml)" = 0
expect_rc "second Ctrl-C: then the plan is empty" 0 "$MESH" plan -f v2.yaml --detailed-exitcode

# Ctrl-C during destroy: destroy never rolls back, so the message says what it does instead
MESH_FAULTS="delay:ms=300" "$MESH" destroy -f v2.yaml --auto-approve --parallelism 2 >int4.txt 2>&1 &
pid=$!
for _ in $(seq 1 150); do grep -q 'Destruction complete' int4.txt 2>/dev/null && break; sleep 0.1; done
kill -INT $pid
wait $pid
check "Ctrl-C in destroy: the exit status says it failed" test $? -ne 0
check "Ctrl-C in destroy: it does not promise a rollback" sh -c "! grep -qi 'rolling back\|rolled back' $T_DIR/int4.txt"
check "Ctrl-C in destroy: it says the rest stays in state" grep -q 'the rest stays in state' int4.txt
check "Ctrl-C in destroy: the summary says it was interrupted" grep -q 'destroy was interrupted while deleting' int4.txt
expect_rc "Ctrl-C in destroy: destroy again finishes" 0 "$MESH" destroy -f v2.yaml --auto-approve
check "Ctrl-C in destroy: the null store is empty" test "$(ls "$MESH_NULL_STORE" | wc -l)" = 0
t_done
