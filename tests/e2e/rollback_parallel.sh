# rollback_parallel.sh: rollback on the worker pool (issue 15). An apply whose undo has several
# independent branches (updates, a replacement and chains of creates under four roots) is failed
# at every driver call N with --parallelism 4; after each failure state and the null store must
# equal what they were before. Then the proof of parallelism without timing: the fault layer's
# stats (MESH_FAULTS stats:file=) give the most deletes in flight at once while 8 independent
# creates are rolled back (each call delayed 300 ms): more than 1 at --parallelism 8, never more
# than the bound at --parallelism 3, exactly 1 at --parallelism 1. Then a crash at every call of
# such a rollback: one apply recovers with no orphan. Last, `mesh plan` after a crash plans against
# the state recovery would leave.
. "$(dirname "$0")/../lib/common.sh"
t_setup
export MESH_NULL_STORE="$T_DIR/store"
mkdir -p "$MESH_NULL_STORE"

# v1: four roots with one child each. v2: every root updated in place, b2 replaced (trigger),
# and under each root a new chain c_i -> d_i: four independent branches to undo. v3: the same
# without b2's replacement.
branches() {  # VERSION
    echo "resources:"
    for i in 0 1 2 3; do
        k=t$i; [ "$1" = 2 ] && [ $i = 2 ] && k=changed
        inp=in$i; [ "$1" != 1 ] && inp=up$i
        echo "  null_resource.b$i:"
        echo "    triggers: {k: \"$k\"}"
        echo "    input: \"$inp\""
        echo "  null_resource.a$i:"
        echo "    triggers: {parent: \"\${null_resource.b$i.id}\"}"
        if [ "$1" != 1 ]; then
            echo "  null_resource.c$i:"
            echo "    triggers: {parent: \"\${null_resource.b$i.id}\"}"
            echo "  null_resource.d$i:"
            echo "    triggers: {parent: \"\${null_resource.c$i.id}\"}"
        fi
    done
}
branches 1 > v1.yaml
branches 2 > v2.yaml
branches 3 > v3.yaml  # v2 without the replacement: nothing to re-create (a new ID) on rollback
"$MESH" apply -f v1.yaml --auto-approve >/dev/null 2>&1 || not_ok "setup: apply v1"
cp -a .mesh base.mesh && cp -a "$MESH_NULL_STORE" base.store
base_state() { rm -rf .mesh "$MESH_NULL_STORE" && cp -a base.mesh .mesh && cp -a base.store "$MESH_NULL_STORE"; }

bad=0 rolled=0 rc=1
before_state=$(state_dump -f v1.yaml)
before_store=$(store_dump "$MESH_NULL_STORE")
for n in $(seq 1 80); do
    base_state
    MESH_FAULTS="fail:call=$n" "$MESH" apply -f v2.yaml --auto-approve --parallelism 4 >out.txt 2>err.txt
    rc=$?
    if [ $rc -eq 0 ]; then break; fi
    if grep -q 'stopped at a failed delete' out.txt; then continue; fi
    grep -q 'injected fault' err.txt || { not_ok "N=$n: failure was not the injected one"; cat err.txt; bad=1; }
    grep -q '(rollback)' out.txt && rolled=$((rolled + 1))
    [ "$(state_dump -f v1.yaml)" = "$before_state" ] || { not_ok "N=$n: state differs from before the run"; diff <(echo "$before_state") <(state_dump -f v1.yaml) | head -5; bad=1; }
    [ "$(store_dump "$MESH_NULL_STORE")" = "$before_store" ] || { not_ok "N=$n: null store differs from before the run"; diff <(echo "$before_store") <(store_dump "$MESH_NULL_STORE") | head -5; bad=1; }
    [ $bad -eq 0 ] || break
done
echo "# the run succeeded at N=$n; $rolled failures rolled back"
check "a fault at every call, --parallelism 4: state and world as before (N=1..$((n - 1)))" test $bad -eq 0
check "the loop reached a successful run" test $rc -eq 0
check "failures were rolled back (several branches each)" test $rolled -gt 5

# 8 independent creates, then z (which depends on all of them) fails: the rollback deletes 8
# objects that do not depend on each other.
{
    echo "resources:"
    for i in 0 1 2 3 4 5 6 7; do echo "  null_resource.r$i:"; echo "    input: \"v$i\""; done
    echo "  null_resource.z:"
    echo "    triggers: {$(for i in 0 1 2 3 4 5 6 7; do printf 'p%d: "${null_resource.r%d.id}", ' $i $i; done)k: z}"
} > wide.yaml
wide() {  # PARALLELISM: the most deletes in flight at once
    rm -rf .mesh "$MESH_NULL_STORE" stats.txt && mkdir -p "$MESH_NULL_STORE"
    MESH_FAULTS="delay:ms=300,fail:call=9,stats:file=$T_DIR/stats.txt" \
        "$MESH" apply -f wide.yaml --auto-approve --parallelism "$1" >wide.out 2>&1
    grep -q 'injected fault' wide.out || { echo "# wide $1: the run did not fail as planned"; tail -5 wide.out >&2; }
    [ "$(store_dump "$MESH_NULL_STORE")" = "" ] || echo "# wide $1: objects left in the null store"
    awk '$1 == "delete" {print $2}' stats.txt 2>/dev/null
}
m8=$(wide 8); echo "# --parallelism 8: at most $m8 deletes at once"
check "--parallelism 8: the rollback ran several deletes at once" test "${m8:-0}" -gt 1
check "--parallelism 8: it left nothing behind" test "$(store_dump "$MESH_NULL_STORE")" = ""
check "--parallelism 8: it said so" grep -q 'r5: rollback-delete (rollback)' wide.out
m3=$(wide 3); echo "# --parallelism 3: at most $m3 deletes at once"
check "--parallelism 3: never more deletes at once than the bound" test "${m3:-0}" -ge 1 -a "${m3:-9}" -le 3
m1=$(wide 1); echo "# --parallelism 1: at most $m1 deletes at once"
check "--parallelism 1: one delete at a time" test "${m1:-0}" = 1

# A crash at every call of a parallel rollback (and right after each): calls 10.. are the undo's
# deletes (1-8 creates, 9 fails). One apply recovers; nothing is left behind.
bad=0 cuts=0
for kind in crash crash-after; do
    for k in $(seq 10 17); do
        rm -rf .mesh "$MESH_NULL_STORE" && mkdir -p "$MESH_NULL_STORE"
        MESH_FAULTS="fail:call=9,$kind:call=$k" "$MESH" apply -f wide.yaml --auto-approve --parallelism 8 >c1.txt 2>&1
        rc=$?
        [ $rc -eq 137 ] || { echo "# $kind $k: exit $rc, not a crash"; bad=1; continue; }
        cuts=$((cuts + 1))
        "$MESH" apply -f v1.yaml --auto-approve --parallelism 8 >c2.txt 2>&1 || { echo "# $kind $k: recovery failed"; tail -5 c2.txt; bad=1; continue; }
        grep -q 'Recovered cut-off run .* (rolled back)' c2.txt || { echo "# $kind $k: not rolled back"; bad=1; }
        [ "$(orphans "$MESH_NULL_STORE" -f v1.yaml)" = 0 ] || { echo "# $kind $k: orphans"; bad=1; }
        "$MESH" state list -f v1.yaml 2>/dev/null | grep -q 'null_resource.r' && { echo "# $kind $k: r* left in state"; bad=1; }
    done
done
check "a crash at every call of a parallel rollback: recovered, no orphan ($cuts cuts)" test $bad -eq 0 -a $cuts -eq 16

# A failed undo stops its branch only: d2's create fails the apply, then c2's delete fails the
# rollback. What waits for c2 (b2's replacement, whose delete must come first, so the old b2 stays
# deposed; a2, which depended on b2) is not attempted and said so; the three other branches finish.
base_state
MESH_FAULTS="fail:address=null_resource.d2:op=create,fail:address=null_resource.c2:op=delete" \
    "$MESH" apply -f v2.yaml --auto-approve --parallelism 4 >br.txt 2>&1
check "failed undo: the run failed" test "$?" = 1
check "failed undo: c2's delete failed" grep -q 'null_resource.c2: delete failed: injected fault' br.txt
check "failed undo: b2 stays deposed, said" grep -q 'null_resource.b2: the old object stays deposed' br.txt
check "failed undo: a2 not rolled back, said with what to do" \
    grep -q 'null_resource.a2: not rolled back (rollback-restore) because null_resource.c2 could not be rolled back first; fix that' br.txt
check "failed undo: the report counts the steps not done" grep -q 'and 4 rollback step(s) failed too' br.txt
left=$("$MESH" state list -f v1.yaml 2>/dev/null | grep -E 'null_resource\.(c|d)[0-9]' | tr '\n' ' ')
check "failed undo: the other branches finished (only c2 is left of the new objects: $left)" test "$left" = "null_resource.c2 "
check "failed undo: b0 has its old input back" sh -c "'$MESH' state show null_resource.b0 -f v1.yaml 2>/dev/null | grep -q in0"
expect_rc "failed undo: the next apply converges" 0 "$MESH" apply -f v1.yaml --auto-approve
check "failed undo: no orphans after it" test "$(orphans "$MESH_NULL_STORE" -f v1.yaml)" = 0
expect_rc "failed undo: then the plan is empty" 0 "$MESH" plan -f v1.yaml --detailed-exitcode

# `mesh plan` after a crash plans against the state recovery would leave. Cut off mid-apply of v3
# (roots updated, some of the chains created), the plan for v1 is empty (the rollback would return
# to v1); with --resume (progress kept) it is not; and the apply that really recovers agrees. (v3:
# an object the rollback re-creates gets a new ID, which the plan cannot know beforehand.)
base_state
MESH_FAULTS=crash-after:call=16 "$MESH" apply -f v3.yaml --auto-approve --parallelism 1 >/dev/null 2>&1
check "plan after a crash: the apply was cut off" test "$?" = 137
"$MESH" plan -f v1.yaml >p1.txt 2>&1
check "plan after a crash: it says which state it assumed" grep -q 'against the state that recovery would leave: the state before that run' p1.txt
check "plan after a crash: against the rolled-back state, v1 needs no change" grep -q '^No changes' p1.txt
"$MESH" plan -f v1.yaml --resume >p2.txt 2>&1
check "plan --resume after a crash: against the kept progress, v1 needs changes" grep -q '^Plan: .* to change' p2.txt
check "plan --resume after a crash: it says so" grep -q 'with the objects it finds adopted' p2.txt
"$MESH" apply -f v1.yaml --auto-approve >p3.txt 2>&1
check "plan after a crash: the recovering apply rolled back and found nothing to do, as planned" \
    sh -c "grep -q 'Recovered cut-off run .* (rolled back)' p3.txt && grep -q '^No changes' p3.txt"
t_done
