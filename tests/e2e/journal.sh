# journal.sh: what happens when the state store itself fails a write. SQLite triggers added to
# state.db with the sqlite3 CLI make a chosen write fail deterministically ("disk full" at the
# N-th resource row, the phase-2 marker, a rollback step's journal row, a snapshot), standing in
# for a full disk (tmpfs_full.sh does it with a real one). A run whose results could not be
# recorded must stay open, the next plan must say so (and --detailed-exitcode exit 2), and the
# next apply or destroy must recover it with no orphan in the null store.
. "$(dirname "$0")/../lib/common.sh"
t_setup
export MESH_NULL_STORE="$T_DIR/store"
mkdir -p "$MESH_NULL_STORE"
$GEN tree 1 > one.yaml
$GEN tree 120 > tree.yaml
$GEN churn 1 > v1.yaml
$GEN churn 2 > v2.yaml
db=.mesh/state.db
sql() { sqlite3 "$db" "$@"; }
open_runs() { sql "SELECT count(*) FROM runs WHERE status = 'running'"; }
objects() { ls "$MESH_NULL_STORE" | wc -l; }
rows() { sql "SELECT count(*) FROM resources"; }
fresh() { rm -rf .mesh "$MESH_NULL_STORE"; mkdir -p "$MESH_NULL_STORE"; "$MESH" apply -f "$1" --auto-approve >/dev/null 2>&1 || not_ok "setup: apply $1"; }

# 1. Results that cannot be recorded (the N-th resource row "fills the disk"), several N.
bad=0
for n in 7 40 83; do
    fresh one.yaml
    sql "CREATE TRIGGER full BEFORE INSERT ON resources WHEN (SELECT count(*) FROM resources) >= $n
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    "$MESH" apply -f tree.yaml --auto-approve >a.txt 2>&1 && { echo "# N=$n: apply succeeded"; bad=1; }
    grep -q 'stays open in the journal' a.txt || { echo "# N=$n: no word that the run stays open"; bad=1; }
    [ "$(open_runs)" = 1 ] || { echo "# N=$n: the run was closed ($(open_runs) open)"; bad=1; }
    echo "# N=$n: $(objects) objects for $(rows) rows after the failed apply"
    sql "DROP TRIGGER full"
    "$MESH" plan -f tree.yaml --detailed-exitcode >p.txt 2>&1
    prc=$?
    [ $prc = 2 ] || { echo "# N=$n: plan --detailed-exitcode exited $prc"; bad=1; }
    grep -q 'was cut off' p.txt || { echo "# N=$n: plan did not show the pending recovery"; bad=1; }
    "$MESH" plan -f tree.yaml --json >pj.txt 2>&1
    grep '"plan_summary"' pj.txt | grep -q '"recovery_pending":true' && grep '"plan_summary"' pj.txt | grep -q '"changes":true' ||
        { echo "# N=$n: plan --json's summary does not count the pending recovery as a change"; bad=1; }
    "$MESH" apply -f tree.yaml --auto-approve >r.txt 2>&1 || { echo "# N=$n: recovering apply failed"; tail -3 r.txt; bad=1; }
    o=$(orphans "$MESH_NULL_STORE" -f tree.yaml)
    echo "# N=$n: after the recovering apply: $(objects) objects, $(rows) rows, $o orphans"
    [ "$o" = 0 ] && [ "$(objects)" = "$(rows)" ] && [ "$(rows)" = 120 ] || bad=1
    "$MESH" plan -f tree.yaml --detailed-exitcode >/dev/null 2>&1 || { echo "# N=$n: plan not empty after recovery"; bad=1; }
done
check "a failed result write: the run stays open, plan says so and exits 2, one apply recovers with 0 orphans" test $bad = 0

# 2. The same during destroy: the advice is 'mesh destroy', never 'mesh apply' (it re-creates).
fresh tree.yaml
sql "CREATE TRIGGER full BEFORE DELETE ON resources WHEN (SELECT count(*) FROM resources) <= 60
     BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
expect_rc "destroy with a failing state write fails" 1 "$MESH" destroy -f tree.yaml --auto-approve
check "destroy: the advice is to run 'mesh destroy' again" grep -q "run 'mesh destroy' again" last.out
check "destroy: no advice to run 'mesh apply'" sh -c "! grep -q \"mesh apply\" last.out last.err"
check "destroy: the run stays open" test "$(open_runs)" = 1
sql "DROP TRIGGER full"
expect_rc "destroy again: recovers and finishes" 0 "$MESH" destroy -f tree.yaml --auto-approve
check "destroy again: state and the null store are empty" test "$(rows)/$(objects)" = 0/0

# 3. The phase-2 marker cannot be written: no delete starts, and the run stays open.
fresh v1.yaml
sql "CREATE TRIGGER nomark BEFORE INSERT ON journal WHEN NEW.action = 'phase2'
     BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
expect_rc "marker: apply fails when the phase-2 marker cannot be written" 1 "$MESH" apply -f v2.yaml --auto-approve
check "marker: it says why" grep -q 'cannot record the start of the deletes' last.err
check "marker: no delete was started" sh -c "! grep -q 'Destroying' $T_DIR/last.out"
check "marker: n28 and n29 (deleted by v2) still exist" test "$(store_dump "$MESH_NULL_STORE" | grep -c '^null_resource.n2[89] ')" = 2
check "marker: the run stays open" test "$(open_runs)" = 1
sql "DROP TRIGGER nomark"
expect_rc "marker: the next apply recovers and converges" 0 "$MESH" apply -f v2.yaml --auto-approve
check "marker: no orphans" test "$(orphans "$MESH_NULL_STORE" -f v2.yaml)" = 0
expect_rc "marker: then the plan is empty" 0 "$MESH" plan -f v2.yaml --detailed-exitcode

# 4. A rollback step's journal row cannot be written: the rollback stops before its driver call.
fresh v1.yaml
sql "CREATE TRIGGER norb BEFORE INSERT ON journal WHEN NEW.action LIKE 'rollback-%'
     BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
MESH_FAULTS=fail:call=36 "$MESH" apply -f v2.yaml --auto-approve --parallelism 1 >rb.txt 2>&1
check "rollback journal: the apply failed" test $? = 1
check "rollback journal: it says the rollback stopped" grep -q 'rollback stopped' rb.txt
check "rollback journal: no rollback step ran" sh -c "! grep -q '(rollback)' rb.txt"
check "rollback journal: the run stays open" test "$(open_runs)" = 1
sql "DROP TRIGGER norb"
expect_rc "rollback journal: the next apply recovers" 0 "$MESH" apply -f v2.yaml --auto-approve
check "rollback journal: it rolled the cut-off run back" grep -q 'Recovered cut-off run .* (rolled back)' last.out
check "rollback journal: no orphans" test "$(orphans "$MESH_NULL_STORE" -f v2.yaml)" = 0
expect_rc "rollback journal: then the plan is empty" 0 "$MESH" plan -f v2.yaml --detailed-exitcode

# 5. A run is recorded together with its snapshot, or not at all.
fresh v1.yaml
sql "CREATE TRIGGER nosnap BEFORE INSERT ON snapshots BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
expect_rc "snapshot: apply fails when the snapshot cannot be taken" 1 "$MESH" apply -f v2.yaml --auto-approve
check "snapshot: no run was left recorded without its snapshot" test "$(open_runs)" = 0
sql "DROP TRIGGER nosnap"
expect_rc "snapshot: the next apply works" 0 "$MESH" apply -f v2.yaml --auto-approve

# 6. A run recorded without a snapshot (a state written before the fix): closed, not fatal forever.
sql "INSERT INTO runs (run_id, command, pid, pid_start, host, started, status)
     VALUES ('old-run', 'destroy', 2147483646, 0, '$(hostname)', 1, 'running')"
"$MESH" plan -f v2.yaml --detailed-exitcode >p.txt 2>&1
check "no snapshot: plan exits 2 and shows the recovery" test $? = 2
check "no snapshot: plan says what recovery does" grep -q 'no create was in flight' p.txt
check "no snapshot: plan does not say '0 interrupted create(s)'" sh -c "! grep -q '0 interrupted' p.txt"
expect_rc "no snapshot: apply closes the run and goes on" 0 "$MESH" apply -f v2.yaml --auto-approve
check "no snapshot: it said so" grep -q 'has no snapshot' last.out
check "no snapshot: the run is closed" test "$(open_runs)" = 0
expect_rc "no snapshot: destroy works" 0 "$MESH" destroy -f v2.yaml --auto-approve

# 7. The same cut made by a debugger between recording the run and its snapshot (issue 9's repro).
if command -v gdb >/dev/null; then
    fresh v1.yaml
    gdb -batch -ex 'break store_snapshot_take' -ex run -ex kill --args "$MESH" destroy -f v1.yaml --auto-approve \
        >gdb.txt 2>&1
    check "gdb: the destroy stopped at store_snapshot_take" grep -q 'Breakpoint 1, store_snapshot_take' gdb.txt
    expect_rc "gdb: the next apply works" 0 "$MESH" apply -f v1.yaml --auto-approve
    expect_rc "gdb: and destroy" 0 "$MESH" destroy -f v1.yaml --auto-approve
else
    ok "gdb: # SKIP gdb not installed (case 5 covers the same with a trigger)"
fi

# 8. A recovery cut off in turn (crash before its odd driver calls, after its even ones: each call
#    is cut once, as in crash.sh; MESH_FULL_LOOPS=1: both at every call) is recovered by the next
#    apply from the same journal, with no orphan.
fresh v1.yaml
MESH_FAULTS=crash-after:call=40 "$MESH" apply -f v2.yaml --auto-approve --parallelism 1 >/dev/null 2>&1
cp -a .mesh cut.mesh && cp -a "$MESH_NULL_STORE" cut.store
bad=0 cuts=0
step=${MESH_FULL_LOOPS:+1}
step=${step:-2}
for kind in crash crash-after; do
    first=1
    [ "$kind" = crash-after ] && [ "$step" = 2 ] && first=2
    for k in $(seq "$first" "$step" 16); do  # the recovery makes ~14 driver calls (finds, rollback steps)
        rm -rf .mesh "$MESH_NULL_STORE" && cp -a cut.mesh .mesh && cp -a cut.store "$MESH_NULL_STORE"
        MESH_FAULTS=$kind:call=$k "$MESH" apply -f v2.yaml --auto-approve --parallelism 1 >r1.txt 2>&1
        rc=$?
        [ $rc = 0 ] && break
        [ $rc = 137 ] || { echo "# $kind:call=$k: exit $rc, not a crash"; bad=1; break; }
        grep -q 'Rolling back the cut-off run' r1.txt && cuts=$((cuts + 1))
        "$MESH" apply -f v2.yaml --auto-approve >r2.txt 2>&1 || { echo "# $kind:call=$k: the next apply failed"; tail -3 r2.txt; bad=1; }
        o=$(orphans "$MESH_NULL_STORE" -f v2.yaml)
        [ "$o" = 0 ] || { echo "# $kind:call=$k: $o orphans"; bad=1; }
        "$MESH" plan -f v2.yaml --detailed-exitcode >/dev/null 2>&1 || { echo "# $kind:call=$k: plan not empty"; bad=1; }
    done
done
echo "# $cuts recoveries cut off during their rollback"
check "a recovery cut off at any call: the next apply recovers it with no orphan" test $bad = 0
check "a recovery cut off: the loop cut some recoveries during their rollback" test $cuts -gt 5

# 9. destroy with empty state says there is nothing to destroy.
rm -rf .mesh
"$MESH" apply -f one.yaml --auto-approve >/dev/null 2>&1
"$MESH" destroy -f one.yaml --auto-approve >/dev/null 2>&1
expect_rc "empty state: destroy succeeds" 0 "$MESH" destroy -f one.yaml --auto-approve
check "empty state: destroy says there is nothing to destroy" grep -q 'Nothing to destroy' last.out
check "empty state: not 'the world matches the spec'" sh -c "! grep -q 'matches the spec' $T_DIR/last.out"

t_done
