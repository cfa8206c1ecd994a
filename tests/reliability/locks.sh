#!/usr/bin/env bash
# locks.sh: races of two `mesh apply` on one state (null resources, MESH_NULL_STORE). In each race
# both start at the same instant without --lock-timeout: exactly one completes, the other fails at
# once naming the holder (run, user@host, pid of the winner) and changes nothing; state passes
# `PRAGMA integrity_check` after every race and holds exactly what the winner applied (state rows ==
# objects, no orphans). Odd races start on a state file that does not exist yet (both create it),
# even ones on the existing state. Then a run killed with SIGKILL while it holds the lock: on this
# host its lock is taken over at once with a message naming the dead pid; left by a run on another
# host (the row rewritten, as a shared state file would show it) it is refused while its lease
# (12 s) lasts and taken over, with the message, once it has run out.
# CI: 5 races; `make reliability`: 100. Figures: races, one winner, holder named, integrity ok.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/reliability/lib.sh"
t_setup
RACES=$(rel_trials 5 100)
export MESH_NULL_STORE="$T_DIR/store"
mkdir -p "$MESH_NULL_STORE"
HOST=$(hostname)
spec() {  # N: three resources whose inputs are N (every apply changes them), one slow to hold the lock
    printf 'resources:\n  null_resource.a: {input: "%s"}\n  null_resource.b: {input: "${null_resource.a.output}"}\n  null_resource.c: {input: "%s", depends_on: [null_resource.b]}\n' "$1" "$1"
}
integrity() { $PY -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' "$1"; }
rows() { $PY -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM resources").fetchone()[0])' "$1"; }

one_winner=0 named=0 intact=0 consistent=0
for i in $(seq 1 "$RACES"); do
    [ $((i % 2)) = 1 ] && rm -rf .mesh "$MESH_NULL_STORE" && mkdir -p "$MESH_NULL_STORE"
    spec "$i-a" >a.yaml
    spec "$i-b" >b.yaml
    # the delay keeps each apply inside its lock for ~0.6 s, far longer than the start skew
    MESH_FAULTS="delay:ms=200" "$MESH" apply -f a.yaml --state .mesh/state.db --auto-approve >a.out 2>&1 &
    pa=$!
    MESH_FAULTS="delay:ms=200" "$MESH" apply -f b.yaml --state .mesh/state.db --auto-approve >b.out 2>&1 &
    pb=$!
    wait $pa; ra=$?
    wait $pb; rb=$?
    if [ "$ra/$rb" = 0/1 ]; then win=a lose=b wpid=$pa
    elif [ "$ra/$rb" = 1/0 ]; then win=b lose=a wpid=$pb
    else
        not_ok "race $i: exactly one apply wins (exits $ra/$rb)"
        sed 's/^/    a| /' a.out | tail -5; sed 's/^/    b| /' b.out | tail -5
        continue
    fi
    one_winner=$((one_winner + 1))
    if grep -q "state is locked by run .* ([^,]*@$HOST, pid $wpid, \`mesh apply\`" $lose.out && grep -q 'Apply complete' $win.out; then
        named=$((named + 1))
    else
        not_ok "race $i: the loser names the winner's run, user@$HOST and pid $wpid"
        sed 's/^/    | /' $lose.out | tail -5
    fi
    [ "$(integrity .mesh/state.db)" = ok ] && intact=$((intact + 1)) || not_ok "race $i: PRAGMA integrity_check"
    # state holds the winner's value, the loser changed nothing (null store == state)
    want="$i-$win"
    got=$("$MESH" state show null_resource.c --state .mesh/state.db 2>/dev/null | sed -n 's/.*input = "\(.*\)"/\1/p')
    if [ "$got" = "$want" ] && [ "$(rows .mesh/state.db)" = 3 ] && [ "$(orphans "$MESH_NULL_STORE" --state .mesh/state.db)" = 0 ] &&
        [ "$(ls "$MESH_NULL_STORE" | grep -c '\.json$')" = 3 ]; then
        consistent=$((consistent + 1))
    else
        not_ok "race $i: state holds the winner's apply ($got, want $want), 3 rows, 3 objects, no orphans"
    fi
done
check "$RACES races: exactly one apply won each ($one_winner)" test "$one_winner" = "$RACES"
check "$RACES races: the loser named the holder (run, user@host, pid) each time ($named)" test "$named" = "$RACES"
check "$RACES races: PRAGMA integrity_check = ok after each ($intact)" test "$intact" = "$RACES"
check "$RACES races: state == the winner's apply == the objects, no orphans ($consistent)" test "$consistent" = "$RACES"
echo "# [${SECONDS}s] races"

# ---- kill -9 while holding the lock, on this host: taken over at once, naming the dead pid ----
spec killed >mesh.yaml
MESH_FAULTS="delay:ms=3000" "$MESH" apply --state .mesh/state.db --auto-approve >victim.out 2>&1 &
victim=$!
for _ in $(seq 1 100); do grep -q 'Modifying' victim.out 2>/dev/null && break; sleep 0.05; done
kill -9 $victim; wait $victim 2>/dev/null
t0=$(date +%s%N)
expect_rc "after kill -9 of the holder, the next apply proceeds" 0 "$MESH" apply --state .mesh/state.db --auto-approve
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
takeovers=0
grep -q "took over the state lock of run .*pid $victim" "$T_DIR/last.err" && takeovers=$((takeovers + 1))
check "it took the lock over, naming the dead pid $victim" grep -q "took over the state lock of run .*pid $victim" "$T_DIR/last.err"
check "... without waiting for its 30 s lease: the dead pid is seen on this host (${ms} ms)" test "$ms" -lt 20000
check "PRAGMA integrity_check = ok after the kill" test "$(integrity .mesh/state.db)" = ok
expect_rc "the plan is empty after" 0 "$MESH" plan --state .mesh/state.db --detailed-exitcode
check "no orphans after the kill" test "$(orphans "$MESH_NULL_STORE" --state .mesh/state.db)" = 0

# ---- kill -9 of a holder on another host: refused while its lease lasts, then taken over ----
spec remote >mesh.yaml
MESH_FAULTS="delay:ms=3000" "$MESH" apply --state .mesh/state.db --auto-approve >victim.out 2>&1 &
victim=$!
for _ in $(seq 1 100); do grep -q 'Modifying' victim.out 2>/dev/null && break; sleep 0.05; done
kill -9 $victim; wait $victim 2>/dev/null
# as a state shared with another machine shows it: its pid cannot be checked from here; the lease
# (12 s from now: long enough for a slow ASan start to see it live) is what is left
expiry=$($PY - .mesh/state.db <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE lock SET host = 'elsewhere', holder = 'ops@elsewhere', acquired = ?, expires = ?", (time.time(), time.time() + 12))
db.commit()
print(int(time.time()) + 12)
PY
)
expect_rc "the killed remote holder's live lease is refused" 1 "$MESH" apply --state .mesh/state.db --auto-approve
check "... naming the holder ops@elsewhere and its pid $victim" grep -q "state is locked by run .*ops@elsewhere, pid $victim" "$T_DIR/last.err"
expect_rc "with --lock-timeout 60s the next apply takes the lock over once the lease ran out" 0 \
    "$MESH" apply --state .mesh/state.db --auto-approve --lock-timeout 60s
ended=$(date +%s)
check "it said so, naming the remote holder's run" grep -q "took over the state lock of run .*ops@elsewhere, pid $victim.*lease expired" "$T_DIR/last.err" &&
    [ "$ended" -ge "$expiry" ] && takeovers=$((takeovers + 1))
check "... after the lease, not before (done at $ended, the lease ran to $expiry)" test "$ended" -ge "$expiry"
check "PRAGMA integrity_check = ok after the takeover" test "$(integrity .mesh/state.db)" = ok
expect_rc "the plan is empty after the takeover" 0 "$MESH" plan --state .mesh/state.db --detailed-exitcode
echo "# [${SECONDS}s] takeovers"

CMD="RELIABILITY_TRIALS=$RACES bash tests/reliability/run tests/reliability/locks.sh"
rel_figure "races of two applies on one state" "$RACES" "$CMD"
rel_figure "races with exactly one winner" "$one_winner of $RACES" "$CMD"
rel_figure "losers naming the holder (run, user@host, pid)" "$named of $RACES" "$CMD"
rel_figure "PRAGMA integrity_check = ok" "$intact of $RACES" "$CMD"
rel_figure "state == winner's apply == objects, 0 orphans" "$consistent of $RACES" "$CMD"
rel_figure "killed holder's lock taken over (this host: at once; other host: after its lease)" "$takeovers of 2" "$CMD"
t_done
