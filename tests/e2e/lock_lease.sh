# lock_lease.sh: a run that lost its lease stops without writing; a dead holder is taken over at
# once, even before its parent reaps it; the null store's temporary files of dead processes go.
. "$(dirname "$0")/../lib/common.sh"
t_setup
export MESH_NULL_STORE="$T_DIR/store"
mkdir -p "$MESH_NULL_STORE"
$GEN tree 30 > mesh.yaml
count_objects() { ls "$MESH_NULL_STORE" | grep -c '\.json$'; }
count_rows() { sqlite3 .mesh/state.db "SELECT count(*) FROM resources"; }

# --- 1. suspended past its lease: apply #2 takes over, #1 resumes and must stop, writing nothing
export MESH_LOCK_TTL=1
MESH_FAULTS="delay:ms=700" "$MESH" apply --auto-approve >first.txt 2>&1 &
first=$!
for _ in $(seq 1 100); do grep -q 'Creation complete' first.txt 2>/dev/null && break; sleep 0.05; done
sleep 0.2   # the next creates are in flight (inside their delay) now
# A process stopped inside one of its SQLite write transactions (a commit, a heartbeat renewal)
# holds the database's write lock until it resumes; no one can write the state meanwhile, lease or
# not. That window is a few ms in 330 (the 1 s lease renews every third of it) but a busy machine
# widens it, so stop #1 again until it is stopped outside one.
stopped_outside_tx=0
for _ in $(seq 1 20); do
    kill -STOP $first
    if sqlite3 -cmd '.timeout 0' .mesh/state.db 'BEGIN IMMEDIATE; ROLLBACK;' >/dev/null 2>&1; then
        stopped_outside_tx=1; break
    fi
    kill -CONT $first; sleep 0.03
done
check "apply #1 was stopped outside a write transaction" test $stopped_outside_tx = 1
check "apply #1 committed some objects before it was stopped" test "$(count_rows)" -gt 0
sleep 2     # its 1 s lease runs out
expect_rc "apply #2 takes the lock over and finishes" 0 "$MESH" apply --auto-approve
check "it said it took the lock over" grep -q 'took over the state lock' last.err
rows_after_2=$(count_rows)
journal_after_2=$(sqlite3 .mesh/state.db "SELECT count(*) FROM journal")
serial_after_2=$(sqlite3 .mesh/state.db "SELECT value FROM meta WHERE key = 'serial'")
objects_after_2=$(ls "$MESH_NULL_STORE" | sort)
kill -CONT $first
wait $first
rc=$?
check "apply #1 fails once resumed (exit $rc)" test $rc = 1
check "apply #1 names the loss of its lock" grep -q 'lost the state lock' first.txt
check "apply #1 says so once, not once per queued job ($(grep -c 'lost the state lock' first.txt))" \
    test "$(grep -c 'lost the state lock' first.txt)" = 1
check "apply #1's closing line says another run took over (not 'recovers from the journal')" \
    grep -q 'another run took the state lock over' first.txt
check "apply #1 did not report success" test "$(grep -c 'Apply complete' first.txt)" = 0
check "apply #1 created nothing after it resumed" test "$(ls "$MESH_NULL_STORE" | sort)" = "$objects_after_2"
check "apply #1 wrote nothing to state after it resumed (journal, serial)" \
    test "$(sqlite3 .mesh/state.db "SELECT count(*) FROM journal")/$(sqlite3 .mesh/state.db "SELECT value FROM meta WHERE key = 'serial'")" = "$journal_after_2/$serial_after_2"
check "state rows ($rows_after_2) == objects ($(count_objects)) == 30" \
    test "$rows_after_2/$(count_objects)" = "30/30"
check "no orphans" test "$(orphans "$MESH_NULL_STORE")" = 0
expect_rc "the plan is empty afterwards" 0 "$MESH" plan --detailed-exitcode
check "and shows no cut-off run" test "$(grep -c 'cut off' last.out)" = 0
unset MESH_LOCK_TTL

# --- 4. kill -9 of a holder whose parent has not reaped it (a zombie): taken over at once
$GEN tree 30 --version 2 > mesh.yaml
bash -c 'MESH_FAULTS=delay:ms=3000 "$0" apply --auto-approve >victim.txt 2>&1 & echo $! >victim.pid; exec sleep 60' "$MESH" &
parent=$!
for _ in $(seq 1 100); do grep -q 'Creating\|Modifying\|Destroying' victim.txt 2>/dev/null && break; sleep 0.05; done
victim=$(cat victim.pid)
kill -9 "$victim"
sleep 0.2
check "the killed holder is a zombie (its parent has not reaped it)" \
    grep -q '^[0-9]* ([^)]*) Z' "/proc/$victim/stat"
t0=$(date +%s%N)
expect_rc "the next apply (--lock-timeout 60s) proceeds" 0 "$MESH" apply --auto-approve --lock-timeout 60s
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "it took the lock over within 2 s (took ${ms} ms; the lease is 30 s)" test "$ms" -lt 2000
check "it said so, naming the dead pid" grep -q "took over the state lock of run .*pid $victim" last.err
kill "$parent" 2>/dev/null
wait "$parent" 2>/dev/null
check "state rows == objects after the takeover" test "$(count_rows)" = "$(count_objects)"

# --- the null store's temporary files of dead processes are removed
( exit 0 ) & deadpid=$!
wait $deadpid
echo '{}' > "$MESH_NULL_STORE/null-0000.json.tmp.$deadpid"
echo '{}' > "$MESH_NULL_STORE/null-0001.json.tmp.$$"
expect_rc "plan runs" 0 "$MESH" plan
check "a temporary file of a dead pid is removed" test ! -e "$MESH_NULL_STORE/null-0000.json.tmp.$deadpid"
check "a temporary file of a live pid is kept" test -e "$MESH_NULL_STORE/null-0001.json.tmp.$$"
rm -f "$MESH_NULL_STORE/null-0001.json.tmp.$$"
t_done
