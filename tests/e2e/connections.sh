# connections.sh: the connection contract without a cluster. null_connection is a connection type
# (a node of the DAG whose outputs open provider handles); a null_resource that names one records,
# in its null-store file, the connection it was made through, and fails any later call made
# through another (providers/null/null.c). So every check below also proves that refresh, update,
# delete, rollback, recovery and import reached each object through its own connection.
. "$(dirname "$0")/../lib/common.sh"
t_setup
export MESH_NULL_STORE="$T_DIR/store"
mkdir -p "$MESH_NULL_STORE"

# "address connection" per object in the null store, sorted.
where() {
    $PY - "$MESH_NULL_STORE" <<'PY'
import json, os, sys
d = sys.argv[1]
print("\n".join(sorted("%s %s" % (j["address"], j.get("connection", "-"))
                       for j in (json.load(open(os.path.join(d, f))) for f in os.listdir(d) if f.endswith(".json")))))
PY
}

spec() {  # X2_CONNECTION [EXTRA]
    cat >spec.yaml <<EOF
resources:
  null_connection.a: {name: ${A_NAME:-alpha}}
  null_connection.b: {name: beta}
  null_resource.x1: {connection: null_connection.a, input: one}
  null_resource.x2: {connection: $1, input: two}
  null_resource.y: {connection: null_connection.b, input: "\${null_resource.x1.output}"}
  null_resource.plain: {input: none}
${2:-}
EOF
}

spec null_connection.a
expect_rc "apply: two connections and their resources" 0 "$MESH" apply -f spec.yaml --auto-approve
check "each object was made through its own connection" test "$(where)" = "$(printf '%s\n' \
    'null_resource.plain -' 'null_resource.x1 alpha' 'null_resource.x2 alpha' 'null_resource.y beta')"
expect_rc "a second plan is empty" 0 "$MESH" plan -f spec.yaml --detailed-exitcode
"$MESH" state show null_resource.x1 >show.txt 2>&1
check "state show names the connection" grep -q 'connection: null_connection.a' show.txt
"$MESH" state show null_resource.x1 --json >show.json 2>&1
check "state show --json names the connection" grep -q '"connection": *"null_connection.a"' show.json
check "the graph has the connection's edge" sh -c "'$MESH' graph -f spec.yaml | grep -q 'null_connection.a.*null_resource.x1\|null_resource.x1.*null_connection.a'"

# A cluster that does not answer: one error naming it, not one per object; --refresh=false plans.
MESH_NULL_UNREACHABLE=alpha "$MESH" plan -f spec.yaml >down.out 2>down.err
rc=$?
check "plan with an unreachable connection fails" test $rc = 1
check "the error names the connection" grep -q 'null_connection.a: connection alpha does not answer' down.err
check "only one error for it (not one per object)" test "$(grep -c 'Error' down.err)" = 1
expect_rc "plan --refresh=false with the connection down" 0 env MESH_NULL_UNREACHABLE=alpha "$MESH" plan -f spec.yaml --refresh=false --detailed-exitcode

# Moving an object to another connection replaces it: deleted where it lived, made in the other.
spec null_connection.b
"$MESH" plan -f spec.yaml >move.txt 2>&1
check "moving x2 to connection b plans a replacement" grep -q 'it moves from null_connection.a to null_connection.b' move.txt
check "plan --json names the connection of each change" sh -c "'$MESH' plan -f spec.yaml --json | grep -q '\"connection\": *\"null_connection.b\"'"
expect_rc "apply the move" 0 "$MESH" apply -f spec.yaml --auto-approve
check "x2 now lives in beta, and alpha's copy is gone" test "$(where | grep x2)" = "null_resource.x2 beta"

# An object the spec no longer names is deleted through the connection state recorded for it.
cat >spec.yaml <<EOF
resources:
  null_connection.a: {name: alpha}
  null_connection.b: {name: beta}
  null_resource.x2: {connection: null_connection.b, input: two}
  null_resource.plain: {input: none}
EOF
expect_rc "apply without x1 and y: deleted through their recorded connections" 0 "$MESH" apply -f spec.yaml --auto-approve
check "x1 and y are gone from the world" test "$(where)" = "$(printf '%s\n' 'null_resource.plain -' 'null_resource.x2 beta')"

# A connection made anew (its cluster replaced) replaces everything in it.
spec null_connection.a
expect_rc "apply x1, x2, y again" 0 "$MESH" apply -f spec.yaml --auto-approve
A_NAME=alpha2 spec null_connection.a
"$MESH" plan -f spec.yaml >repl.txt 2>&1
check "a replaced connection replaces its resources" test "$(grep -c 'its connection null_connection.a is replaced' repl.txt)" = 2
check "...and not the others" sh -c "! grep -q 'null_resource.y must be replaced' repl.txt"
expect_rc "apply the replacement" 0 "$MESH" apply -f spec.yaml --auto-approve
check "x1 and x2 were made in the new connection" test "$(where | grep -c 'x[12] alpha2')" = 2
expect_rc "plan after it is empty" 0 "$MESH" plan -f spec.yaml --detailed-exitcode
A_NAME=alpha spec null_connection.a
expect_rc "and back" 0 "$MESH" apply -f spec.yaml --auto-approve
rm -f "$MESH_NULL_STORE"/*.json
"$MESH" state rm null_resource.x1 null_resource.x2 null_resource.y null_resource.plain >/dev/null 2>&1
expect_rc "a clean start for the loops" 0 "$MESH" apply -f spec.yaml --auto-approve

# Spec errors: before any call, with their positions.
cat >bad.yaml <<EOF
resources:
  null_connection.a: {name: alpha}
  null_resource.p: {input: 1}
  null_resource.q: {connection: null_resource.p}
  null_resource.r: {connection: null_connection.nope}
  null_resource.s: {connection: "not an address"}
  pki_private_key.k: {algorithm: ECDSA, connection: null_connection.a}
EOF
"$MESH" validate -f bad.yaml >bad.out 2>&1
check "a connection that is not one" grep -q 'bad.yaml:4:.*null_resource.q.*names null_resource.p, which is not a connection' bad.out
check "an unknown connection" grep -q 'bad.yaml:5:.*unknown resource `null_connection.nope`' bad.out
check "a connection that is not an address" grep -q 'bad.yaml:6:.*`connection` is the address of a connection' bad.out
check "a type that needs no connection" grep -q 'bad.yaml:7:.*pki_private_key needs no connection' bad.out

# Import through a connection: the object must be reached through the one the spec names.
id=$("$MESH" state show null_resource.x2 --json | $PY -c '
import json, sys
for line in sys.stdin:
    ev = json.loads(line)
    if ev.get("type") == "resource": print(ev["outputs"]["id"])')
"$MESH" state rm null_resource.x2 >/dev/null 2>&1
expect_rc "import x2 through its connection" 0 "$MESH" import -f spec.yaml null_resource.x2 "$id"
"$MESH" state show null_resource.x2 >imp.txt 2>&1
check "the imported row records the connection" grep -q 'connection: null_connection.a' imp.txt
expect_rc "plan after the import is empty" 0 "$MESH" plan -f spec.yaml --detailed-exitcode

# Fail and crash at every driver call of an apply that makes a connection and its resources:
# rollback and recovery reach every object through its connection; nothing is left behind.
cp -a .mesh base.mesh && cp -a "$MESH_NULL_STORE" base.store
base_state() { rm -rf .mesh "$MESH_NULL_STORE" && cp -a base.mesh .mesh && cp -a base.store "$MESH_NULL_STORE"; }
cat >v2.yaml <<EOF
resources:
  null_connection.a: {name: alpha}
  null_connection.b: {name: beta}
  null_connection.c: {name: gamma}
  null_resource.x1: {connection: null_connection.a, input: changed}
  null_resource.x2: {connection: null_connection.c, input: two}
  null_resource.z: {connection: null_connection.c, input: "\${null_resource.x1.output}"}
  null_resource.plain: {input: none}
EOF
for kind in fail crash; do
    bad=0 n=0 runs=0
    for n in $(seq 1 40); do
        base_state
        (MESH_FAULTS="$kind:call=$n" exec "$MESH" apply -f v2.yaml --auto-approve --parallelism 1 >out.txt 2>&1)
        rc=$?
        [ $rc = 0 ] && break
        runs=$((runs + 1))
        if [ $kind = fail ] && grep -q 'stopped at a failed delete' out.txt; then
            # phase 2 keeps its progress: the next apply finishes the deletes
            "$MESH" apply -f v2.yaml --auto-approve >rec.txt 2>&1 || { echo "# fail N=$n: the next apply failed"; bad=1; break; }
            o=$(orphans "$MESH_NULL_STORE" -f v2.yaml)
            [ "$o" = 0 ] || { echo "# fail N=$n: $o orphans after finishing the deletes"; bad=1; break; }
        elif [ $kind = fail ]; then
            o=$(orphans "$MESH_NULL_STORE" -f spec.yaml)
            [ "$o" = 0 ] || { echo "# fail N=$n: $o orphans after rollback"; bad=1; break; }
            "$MESH" plan -f spec.yaml --detailed-exitcode >/dev/null 2>&1 || { echo "# fail N=$n: not back where it was"; bad=1; break; }
        else
            "$MESH" apply -f v2.yaml --auto-approve >rec.txt 2>&1 || { echo "# crash N=$n: recovery failed"; tail -5 rec.txt; bad=1; break; }
            o=$(orphans "$MESH_NULL_STORE" -f v2.yaml)
            [ "$o" = 0 ] || { echo "# crash N=$n: $o orphans after recovery"; bad=1; break; }
        fi
    done
    echo "# $kind: $runs runs cut at a call"
    check "$kind at every call: back where it was (fail) or recovered (crash), 0 orphans" test $bad = 0
    check "$kind: the loop reached a run that completed" test "$rc" = 0 -a "$runs" -gt 3
    check "$kind: after the loop every object lives in its connection" test "$(where)" = "$(printf '%s\n' \
        'null_resource.plain -' 'null_resource.x1 alpha' 'null_resource.x2 gamma' 'null_resource.z gamma')"
done
# state mv of a connection: the rows that belong to it follow.
expect_rc "state mv null_connection.c null_connection.cc" 0 "$MESH" state mv null_connection.c null_connection.cc
"$MESH" state show null_resource.z >mv.txt 2>&1
check "its resources now belong to the new address" grep -q 'connection: null_connection.cc' mv.txt
sed 's/null_connection\.c\b/null_connection.cc/g' v2.yaml >v3.yaml
expect_rc "a spec that says so plans no change" 0 "$MESH" plan -f v3.yaml --detailed-exitcode
expect_rc "destroy" 0 "$MESH" destroy -f v3.yaml --auto-approve
check "destroy leaves the null store empty" test "$(ls "$MESH_NULL_STORE" | wc -l)" = 0
t_done
