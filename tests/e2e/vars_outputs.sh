# vars_outputs.sh: variables and outputs end to end. Precedence (default < --var-file <
# MESH_VAR_ < --var) seen in plans; errors name their source; outputs shown after apply, read by
# `mesh output` (all, one, --json, --raw), cleared by destroy; and the secret canary: a sensitive
# variable's value and a sensitive output never reach stdout, stderr, --json, state.db or its WAL,
# yet `mesh output NAME --raw` returns it.
. "$(dirname "$0")/../lib/common.sh"
t_setup
export MESH_NULL_STORE="$T_DIR/store"
mkdir -p "$MESH_NULL_STORE"
CANARY="canary-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
B64=$(printf '%s' "$CANARY" | base64)
cat > mesh.yaml <<'Y'
vars:
  size: {type: string, default: "from-default", description: "how many"}
  count: {type: number, default: 1}
  password: {type: string, sensitive: true}
resources:
  null_resource.a:
    triggers: {size: "${var.size}", count: "${var.count}"}
  null_resource.b:
    sensitive_triggers: {pw: "${var.password}"}
    triggers: {after: "${null_resource.a.id}"}
outputs:
  a_id: "${null_resource.a.id}"
  size: "size=${var.size}"
  count: "${var.count}"
  note: {value: "id ${null_resource.a.id}", sensitive: true}
  pw: "${var.password}"
Y
export MESH_VAR_password="$CANARY"

# ---- precedence ----
"$MESH" plan >out.txt 2>err.txt
check "default: the plan shows the default value" grep -q '"size" *= "from-default"' out.txt
printf 'size: from-file\ncount: 7\n' > a.yaml
printf 'size: from-second-file\n' > b.yaml
"$MESH" plan --var-file a.yaml >out.txt 2>err.txt
check "--var-file beats the default" grep -q '"size" *= "from-file"' out.txt
check "--var-file values are typed (count: 7 is a number)" grep -q '"count" *= 7$' out.txt
"$MESH" plan --var-file a.yaml --var-file b.yaml >out.txt 2>err.txt
check "a later --var-file beats an earlier one" grep -q '"size" *= "from-second-file"' out.txt
MESH_VAR_size=from-env "$MESH" plan --var-file a.yaml >out.txt 2>err.txt
check "MESH_VAR_ beats --var-file" grep -q '"size" *= "from-env"' out.txt
MESH_VAR_size=from-env "$MESH" plan --var-file a.yaml --var size=from-flag --var count=3 >out.txt 2>err.txt
check "--var beats MESH_VAR_" grep -q '"size" *= "from-flag"' out.txt
check "--var count=3 is the number 3" grep -q '"count" *= 3$' out.txt

# ---- errors name their source ----
expect_rc "an unknown --var is an error" 1 "$MESH" plan --var nope=1
check "the error names the --var" grep -q -- '--var nope=1: error: no variable `nope`' last.err
expect_rc "a --var of the wrong type is an error" 1 "$MESH" validate --var count=many
check "the error says what the type is" grep -q -- '--var count=many: error: variable `count` must be a number' last.err
expect_rc "an unknown MESH_VAR_ is ignored, as Terraform ignores an unknown TF_VAR_" 0 env MESH_VAR_nope=1 "$MESH" validate
check "the warning names the variable" grep -q 'MESH_VAR_nope: warning: ignored: no variable `nope`' last.err
printf 'count: [1]\nbogus: 2\n' > bad.yaml
expect_rc "a bad --var-file is an error" 1 "$MESH" validate --var-file bad.yaml
check "its errors carry file:line:col" grep -q 'bad.yaml:1:8: error: variable `count` must be a number, not a list' last.err
check "its unknown key is named at its position" grep -q 'bad.yaml:2:1: error: no variable `bogus`' last.err
expect_rc "a missing required variable is an error" 1 env -u MESH_VAR_password "$MESH" plan
check "it points at the declaration" grep -q 'mesh.yaml:4:3: error: variable `password` is required' last.err
check "nothing was created by the failed runs" test ! -e .mesh/state.db
sed -i 's/type: string, sensitive: true/type: number, sensitive: true/' mesh.yaml
printf 'password: "%s"\n' "$CANARY" > pw.yaml
expect_rc "a wrongly typed sensitive value in a var file is an error" 1 env -u MESH_VAR_password "$MESH" validate --var-file pw.yaml
cp last.out out.txt; cp last.err err.txt
check "a sensitive value's line is masked under the caret" grep -q 'password: \*\*\*' err.txt
env -u MESH_VAR_password "$MESH" validate --var "password=$CANARY" >>out.txt 2>>err.txt
check "a sensitive --var's value is not in its error" grep -q -- '--var password=(sensitive): error' err.txt
check "no canary in those errors" sh -c "! grep -q -e '$CANARY' out.txt err.txt"
sed -i 's/type: number, sensitive: true/type: string, sensitive: true/' mesh.yaml

leaks() {  # every place the canary must not be
    local hit=0 f
    for f in out.txt err.txt json.txt .mesh/state.db .mesh/state.db-wal; do
        [ -e "$f" ] || continue
        if grep -a -q -e "$CANARY" -e "$B64" "$f"; then echo "# canary found in $f"; hit=1; fi
    done
    return $hit
}

# ---- apply shows the outputs ----
"$MESH" plan >out.txt 2>err.txt
check "the attribute a sensitive variable feeds shows (sensitive)" grep -q 'sensitive_triggers = (sensitive)' out.txt
"$MESH" apply --auto-approve --var size=applied >out.txt 2>err.txt
check "apply succeeds" grep -q 'Apply complete' out.txt
check "apply shows the outputs after its summary" grep -A8 'Apply complete' out.txt | grep -q '^Outputs:'
check "a plain output is shown" grep -q '^size = "size=applied"$' out.txt
check "a reference output is resolved" grep -q '^a_id = "null-' out.txt
check "a typed output keeps its type" grep -q '^count = 1$' out.txt
check "a declared-sensitive output shows (sensitive)" grep -q '^note = (sensitive)$' out.txt
check "an output fed by a sensitive variable shows (sensitive)" grep -q '^pw = (sensitive)$' out.txt
check "no canary after apply" leaks

# ---- mesh output ----
"$MESH" output >out.txt 2>err.txt
check "mesh output lists every output" test "$(grep -c ' = ' out.txt)" = 5
check "mesh output hides the sensitive ones" grep -q '^pw = (sensitive)$' out.txt
A_ID=$("$MESH" state show null_resource.a 2>/dev/null | sed -n 's/.*id *= *"\(null-[0-9a-f]*\)".*/\1/p' | head -1)
check "mesh output NAME prints one value" test "$("$MESH" output a_id)" = "\"$A_ID\""
check "mesh output NAME --raw prints the bare string" test "$("$MESH" output a_id --raw)" = "$A_ID"
check "mesh output NAME --json prints JSON" test "$("$MESH" output count --json)" = "1"
"$MESH" output --json >json.txt 2>>err.txt
check "mesh output --json is an object of every output" $PY -c '
import json, sys
d = json.load(open("json.txt"))
assert sorted(d) == ["a_id", "count", "note", "pw", "size"], d
assert d["size"] == {"value": "size=applied", "sensitive": False}, d
assert d["pw"] == {"sensitive": True}, d'
check "no canary in mesh output (all, --json)" leaks
check "the sensitive variable's value comes back with --raw" test "$("$MESH" output pw --raw)" = "$CANARY"
check "a sensitive output comes back when asked by name" test "$("$MESH" output note --raw)" = "id $A_ID"
expect_rc "an unknown output is an error" 1 "$MESH" output nope
check "it lists the outputs there are" grep -q 'no output `nope` in state (it has: a_id, count, note, pw, size)' last.err
check "--raw prints a number bare" test "$("$MESH" output count --raw)" = "1"
"$MESH" apply --auto-approve --json --var size=applied >json.txt 2>>err.txt
check "apply --json emits an outputs event" grep -q '"type": *"outputs"' json.txt
"$MESH" plan --json >>json.txt 2>>err.txt
"$MESH" state list --json >>json.txt 2>>err.txt
"$MESH" state show null_resource.b >>out.txt 2>>err.txt
check "no canary in --json, state show or state list" leaks
check "the outputs table holds the sensitive ones encrypted" $PY -c '
import sqlite3, json
db = sqlite3.connect(".mesh/state.db")
rows = dict((n, (v, s)) for n, v, s in db.execute("select name, value, sensitive from outputs"))
assert rows["pw"][1] == 1 and "$enc" in json.loads(rows["pw"][0]), rows["pw"]
assert rows["note"][1] == 1 and "$enc" in json.loads(rows["note"][0])
assert rows["size"] == ("\"size=applied\"", 0), rows["size"]'
# a changed secret: the plan says it changes, not to what
MESH_VAR_password="$CANARY-2" "$MESH" plan >out.txt 2>err.txt
check "a changed sensitive variable plans (sensitive) -> (sensitive)" grep -q 'sensitive_triggers = (sensitive) -> (sensitive)' out.txt
check "no canary after the changed plan" leaks

# ---- destroy clears them ----
"$MESH" destroy --auto-approve >out.txt 2>err.txt
check "destroy succeeds" grep -q 'Destroy complete' out.txt
check "after destroy mesh output --json is empty" test "$("$MESH" output --json)" = "{}"
expect_rc "after destroy a named output is gone" 1 "$MESH" output a_id
check "no canary after destroy" leaks

# ---- a saved plan's var file is held in memory while it is applied, never written to disk ----
VCANARY="varfile-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf 'password: %s\n' "$VCANARY" > secret-vars.yaml
expect_rc "plan --out with a var file holding the password" 0 env -u MESH_VAR_password "$MESH" plan --var-file secret-vars.yaml --out vf.plan
rm secret-vars.yaml
env -u MESH_VAR_password MESH_FAULTS="delay:ms=3000" "$MESH" apply vf.plan >vf.out 2>&1 &
vf_pid=$!
sleep 1.5
check "while the saved plan applies, no file under ${TMPDIR:-/tmp} holds the var file's text" \
    test -z "$(grep -rlsF "$VCANARY" "${TMPDIR:-/tmp}" 2>/dev/null | grep -v "^$T_DIR/")"
kill -9 $vf_pid 2>/dev/null
wait $vf_pid 2>/dev/null
check "nor after it was killed" test -z "$(grep -rlsF "$VCANARY" "${TMPDIR:-/tmp}" 2>/dev/null | grep -v "^$T_DIR/")"
t_done
