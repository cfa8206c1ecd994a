# crash.sh: kill the process (SIGKILL) before, and right after, the N-th driver call of an apply
# with creates, updates, replaces and deletes, for every N until the run completes. After each
# crash one `mesh apply` must recover (adopting what the cut-off run created), converge, and leave
# no orphan in the null store; at the end destroy leaves it empty.
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

# Every call is cut by one of the two loops: crash before the odd calls, crash-after the even ones
# (MESH_FULL_LOOPS=1: both at every call).
stride=${MESH_FULL_LOOPS:+1}
stride=${stride:-2}
loop() {  # KIND FIRST: crash | crash-after, from call FIRST every stride-th
    local kind=$1 n bad=0 noted=0 adopted=0 crashes=0
    for n in $(seq "$2" "$stride" 200); do
        base_state
        MESH_FAULTS="$kind:call=$n" "$MESH" apply -f v2.yaml --auto-approve --parallelism 1 >out.txt 2>&1
        rc=$?
        if [ $rc -eq 0 ]; then break; fi
        [ $rc -eq 137 ] || { echo "# N=$n: exit $rc, not a crash"; tail -3 out.txt; bad=1; break; }
        crashes=$((crashes + 1))
        if [ $((n % 4)) -le 2 ]; then  # the announcement, on a sample: each plan costs a run
            "$MESH" plan -f v2.yaml >plan.txt 2>&1 && grep -q 'was cut off' plan.txt && noted=$((noted + 1))
        fi
        "$MESH" apply -f v2.yaml --auto-approve >rec.txt 2>&1 || { echo "# N=$n: recovery apply failed"; tail -5 rec.txt; bad=1; break; }
        grep -q 'adopted an object' rec.txt && adopted=$((adopted + 1))
        o=$(orphans "$MESH_NULL_STORE" -f v2.yaml)
        [ "$o" = 0 ] || { echo "# N=$n: $o orphans after recovery"; bad=1; break; }
        "$MESH" plan -f v2.yaml --detailed-exitcode >/dev/null 2>&1 || { echo "# N=$n: plan not empty after recovery"; bad=1; break; }
    done
    echo "# $kind: $crashes crashes; the plan announced recovery $noted times; $adopted recoveries adopted an object"
    check "$kind at every ${stride}. call: one apply recovers, converges, no orphans (N=$2..$((n - stride)))" test $bad -eq 0
    check "$kind: the loop reached a run that completed" test $rc -eq 0
    check "$kind: plan announced the cut-off run" test $noted -gt 0
    [ "$kind" = crash-after ] && check "crash-after: recovery adopted objects created before the crash" test $adopted -gt 0
    expect_rc "$kind: destroy after the loop" 0 "$MESH" destroy -f v2.yaml --auto-approve
    check "$kind: destroy leaves the null store empty" test "$(ls "$MESH_NULL_STORE" | wc -l)" = 0
}
loop crash 1
loop crash-after 2

# --resume keeps the cut-off run's progress instead of rolling it back
rm -rf "$MESH_NULL_STORE" .mesh && mkdir -p "$MESH_NULL_STORE"
"$MESH" apply -f v1.yaml --auto-approve >/dev/null 2>&1
MESH_FAULTS="crash-after:call=40" "$MESH" apply -f v2.yaml --auto-approve --parallelism 1 >/dev/null 2>&1
expect_rc "--resume: apply after a crash" 0 "$MESH" apply -f v2.yaml --auto-approve --resume
check "--resume: it kept the cut-off run's progress" grep -q 'kept its progress' last.out
check "--resume: no rollback happened" sh -c '! grep -q "(rollback)" last.out'
check "--resume: no orphans" test "$(orphans "$MESH_NULL_STORE" -f v2.yaml)" = 0
expect_rc "--resume: then the plan is empty" 0 "$MESH" plan -f v2.yaml --detailed-exitcode
t_done
