# lock.sh: the state lock. 20 concurrent applies on one state run one at a time and leave it
# intact; a second run fails at once naming the holder (or waits with --lock-timeout); a lock left
# by a killed run is taken over; force-unlock releases a lock from elsewhere.
. "$(dirname "$0")/../lib/common.sh"
t_setup
export MESH_NULL_STORE="$T_DIR/store"
mkdir -p "$MESH_NULL_STORE"
spec() {  # N: three resources whose input is N, so every apply updates them
    printf 'resources:\n  null_resource.a: {input: "%s"}\n  null_resource.b: {input: "${null_resource.a.output}"}\n  null_resource.c: {input: "%s", depends_on: [null_resource.b]}\n' "$1" "$1"
}
spec 0 > mesh.yaml
"$MESH" apply --auto-approve >/dev/null 2>&1
for i in $(seq 1 20); do spec "$i" > "s$i.yaml"; done
for i in $(seq 1 20); do
    MESH_FAULTS="delay:ms=20" "$MESH" apply -f "s$i.yaml" --state .mesh/state.db --auto-approve --lock-timeout 120s >"o$i.txt" 2>&1 &
done
wait
fails=0
for i in $(seq 1 20); do grep -q 'Apply complete' "o$i.txt" || fails=$((fails + 1)); done
check "20 concurrent applies all completed (each waited its turn)" test $fails -eq 0
check "the state database is intact" test "$(sqlite3 .mesh/state.db 'PRAGMA integrity_check')" = ok
overlap=$(sqlite3 .mesh/state.db "SELECT count(*) FROM runs a JOIN runs b ON a.run_id < b.run_id
    WHERE a.command = 'apply' AND b.command = 'apply' AND a.started < b.finished AND b.started < a.finished")
runs=$(sqlite3 .mesh/state.db "SELECT count(*) FROM runs WHERE command = 'apply' AND status = 'ok'")
check "21 runs recorded as ok (got $runs)" test "$runs" = 21
check "no two runs overlapped in time (got $overlap overlaps)" test "$overlap" = 0
last=$(sqlite3 .mesh/state.db "SELECT run_id FROM runs ORDER BY finished DESC LIMIT 1")
val=$("$MESH" state show null_resource.a | sed -n 's/.*input = "\(.*\)"/\1/p')
check "state holds the value of one of the applies, consistently across resources" \
    test "$("$MESH" state show null_resource.c | sed -n 's/.*input = "\(.*\)"/\1/p')" = "$val"

# a second run fails at once, naming the holder
spec 100 > mesh.yaml
MESH_FAULTS="delay:ms=1500" "$MESH" apply --auto-approve >slow.txt 2>&1 &
slow=$!
for _ in $(seq 1 50); do grep -q 'Modifying' slow.txt 2>/dev/null && break; sleep 0.1; done
t0=$(date +%s%N)
expect_rc "a second apply while one runs fails" 1 "$MESH" apply --auto-approve
t1=$(date +%s%N)
check "it fails at once (under 3 s)" test $(( (t1 - t0) / 1000000 )) -lt 3000
check "the error names the holder's run and pid" grep -q "state is locked by run .*pid $slow" last.err
check "the error says what to do" grep -q -- '--lock-timeout' last.err
expect_rc "plan still works while an apply holds the lock" 0 "$MESH" plan
expect_rc "with --lock-timeout it waits and then succeeds" 0 "$MESH" apply --auto-approve --lock-timeout 60s
wait $slow
check "the slow apply completed" grep -q 'Apply complete' slow.txt

# a run killed with SIGKILL leaves its lease; the next run takes it over with a warning
spec 200 > mesh.yaml
MESH_FAULTS="delay:ms=3000" "$MESH" apply --auto-approve >killed.txt 2>&1 &
victim=$!
for _ in $(seq 1 50); do grep -q 'Modifying' killed.txt 2>/dev/null && break; sleep 0.1; done
kill -9 $victim; wait $victim 2>/dev/null
expect_rc "after kill -9 the next apply proceeds" 0 "$MESH" apply --auto-approve
check "it warned that it took the lock over" grep -q 'took over the state lock' last.err
expect_rc "and the plan is empty after" 0 "$MESH" plan --detailed-exitcode

# a lock held from another host cannot be taken over; force-unlock releases it
sqlite3 .mesh/state.db "UPDATE lock SET run_id='r-other', holder='ops@elsewhere', host='elsewhere', pid=4242,
    command='apply', acquired=strftime('%s','now'), expires=strftime('%s','now')+3600" 2>/dev/null
held=$(sqlite3 .mesh/state.db "SELECT count(*) FROM lock WHERE run_id='r-other'")
check "simulated a lease from another host" test "$held" = 1
expect_rc "apply refuses the foreign lock" 1 "$MESH" apply --auto-approve
check "the error names the other host" grep -q 'elsewhere' last.err
expect_rc "force-unlock with a wrong run id is refused" 1 "$MESH" force-unlock r-wrong
expect_rc "force-unlock RUN_ID" 0 "$MESH" force-unlock r-other
expect_rc "then apply works" 0 "$MESH" apply --auto-approve
t_done
