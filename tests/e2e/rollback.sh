# rollback.sh: fail the N-th driver call of an apply with creates, updates, replaces and deletes,
# for every N until the run succeeds. After each failure in the first phase, state and the null
# store must equal what they were before the run; a failure among the deletes keeps progress and
# the next apply finishes the job, with no orphan either way.
. "$(dirname "$0")/../lib/common.sh"
t_setup
$GEN churn 1 > v1.yaml
$GEN churn 2 > v2.yaml
export MESH_NULL_STORE="$T_DIR/store"
# The state and world before every iteration: v1 applied once, then copied back each time.
mkdir -p "$MESH_NULL_STORE"
"$MESH" apply -f v1.yaml --auto-approve >/dev/null 2>&1 || not_ok "setup: apply v1"
cp -a .mesh base.mesh && cp -a "$MESH_NULL_STORE" base.store
base_state() { rm -rf .mesh "$MESH_NULL_STORE" && cp -a base.mesh .mesh && cp -a base.store "$MESH_NULL_STORE"; }

# What "as before" means, read once: every iteration starts from the same copy.
base_state
before_state=$(state_dump -f v1.yaml)
before_store=$(store_dump "$MESH_NULL_STORE")
check "the base state and null store were read" test -n "$before_state" -a -n "$before_store"
bad=0 n=0 rolled=0 phase2=0
for n in $(seq 1 200); do
    base_state
    MESH_FAULTS="fail:call=$n" "$MESH" apply -f v2.yaml --auto-approve --parallelism 1 >out.txt 2>err.txt
    rc=$?
    if [ $rc -eq 0 ]; then break; fi
    if grep -q 'stopped at a failed delete' out.txt; then
        phase2=$((phase2 + 1))
        "$MESH" apply -f v2.yaml --auto-approve >/dev/null 2>&1 || { not_ok "N=$n: apply after a failed delete"; bad=1; }
        [ "$(orphans "$MESH_NULL_STORE" -f v2.yaml)" = 0 ] || { not_ok "N=$n: orphans after a failed delete"; bad=1; }
        continue
    fi
    grep -q 'injected fault' err.txt || { not_ok "N=$n: failure was not the injected one"; cat err.txt; bad=1; }
    grep -q 'rolled back' out.txt && rolled=$((rolled + 1))
    [ "$(state_dump -f v1.yaml)" = "$before_state" ] || { not_ok "N=$n: state differs from before the run"; diff <(echo "$before_state") <(state_dump -f v1.yaml) | head -5; bad=1; }
    [ "$(store_dump "$MESH_NULL_STORE")" = "$before_store" ] || { not_ok "N=$n: null store differs from before the run"; diff <(echo "$before_store") <(store_dump "$MESH_NULL_STORE") | head -5; bad=1; }
    [ $bad -eq 0 ] || break
done
echo "# the run succeeded at N=$n; $rolled failures rolled back, $phase2 failed among deletes"
check "a fault at every driver call left state and world as before (N=1..$((n - 1)))" test $bad -eq 0
check "the loop reached a successful run" test $rc -eq 0
check "failures in the first phase were rolled back" test $rolled -gt 10
expect_rc "after success, the plan is empty" 0 "$MESH" plan -f v2.yaml --detailed-exitcode
check "no orphans after success" test "$(orphans "$MESH_NULL_STORE" -f v2.yaml)" = 0

# --no-rollback keeps progress, and the next apply converges
rm -rf "$MESH_NULL_STORE" .mesh && mkdir -p "$MESH_NULL_STORE"
"$MESH" apply -f v1.yaml --auto-approve >/dev/null 2>&1
MESH_FAULTS="fail:call=36" "$MESH" apply -f v2.yaml --auto-approve --parallelism 1 --no-rollback >out.txt 2>&1
check "--no-rollback: the run failed" test $? -ne 0
check "--no-rollback: progress was kept" grep -q 'Progress was kept' out.txt
expect_rc "--no-rollback: the next apply converges" 0 "$MESH" apply -f v2.yaml --auto-approve
expect_rc "--no-rollback: then the plan is empty" 0 "$MESH" plan -f v2.yaml --detailed-exitcode
check "--no-rollback: no orphans" test "$(orphans "$MESH_NULL_STORE" -f v2.yaml)" = 0

# random faults with parallelism: every run either succeeds or leaves state as before
rm -rf "$MESH_NULL_STORE" .mesh && mkdir -p "$MESH_NULL_STORE"
"$MESH" apply -f v1.yaml --auto-approve >/dev/null 2>&1
bad=0 incomplete=0
for seed in 1 2 3 4 5 6 7 8; do
    before_state=$(state_dump -f v1.yaml)
    MESH_FAULTS="fail:prob=0.03:seed=$seed" "$MESH" apply -f v2.yaml --auto-approve --parallelism 8 >out.txt 2>&1
    if [ $? -eq 0 ]; then "$MESH" apply -f v1.yaml --auto-approve >/dev/null 2>&1 || bad=1; continue; fi
    # A delete failed (phase 2), or a random fault also hit a rollback step: both are reported,
    # and the next apply converges.
    if grep -q -E 'stopped at a failed delete|rollback step\(s\) failed' out.txt; then
        incomplete=$((incomplete + 1))
        "$MESH" apply -f v1.yaml --auto-approve >/dev/null 2>&1 || bad=1
        continue
    fi
    [ "$(state_dump -f v1.yaml)" = "$before_state" ] || { bad=1; echo "# seed $seed: state differs"; }
done
echo "# random faults: $incomplete of 8 runs ended with a failed delete or rollback step, then converged"
check "random faults at parallelism 8: rolled back or converged every time" test $bad -eq 0
check "no orphans after the random runs" test "$(orphans "$MESH_NULL_STORE" -f v1.yaml)" = 0
t_done
