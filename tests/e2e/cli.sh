# cli.sh: plan / apply / destroy on null resources: output, exit codes, targets, JSON, state commands.
. "$(dirname "$0")/../lib/common.sh"
t_setup
export MESH_NULL_STORE="$T_DIR/store"
mkdir -p "$MESH_NULL_STORE"
cat > mesh.yaml <<'Y'
resources:
  null_resource.a:
    triggers: {size: "3"}
  null_resource.b:
    triggers: {after: "${null_resource.a.id}"}
    depends_on: [null_resource.c]
  null_resource.c:
    input: hello
  null_resource.d:
    input: "$${literal}"
Y

expect_rc "plan on a fresh state has changes (detailed exit code 2)" 2 "$MESH" plan --detailed-exitcode
check "plan shows creates and the summary" grep -q 'Plan: 4 to add, 0 to change, 0 to destroy.' last.out
check "plan shows known after apply for a reference" grep -q '+ "after" = (known after apply)' last.out
check "plan did not create a state" test ! -e .mesh/state.db
expect_rc "apply without a terminal and without --auto-approve is refused" 1 "$MESH" apply
check "the refusal says what to do" grep -q -- '--auto-approve' last.err
expect_rc "apply --auto-approve succeeds" 0 "$MESH" apply --auto-approve
check "apply printed progress lines" grep -q 'null_resource.b: Creation complete after' last.out
check "apply printed its summary" grep -q 'Apply complete! Resources: 4 added, 0 changed, 0 destroyed' last.out
check "b was created after a and c" $PY -c '
import sys
lines = open("last.out").read().splitlines()
idx = {l.split(":")[0]: i for i, l in enumerate(lines) if "Creation complete" in l}
sys.exit(0 if idx["null_resource.b"] > idx["null_resource.a"] and idx["null_resource.b"] > idx["null_resource.c"] else 1)'
check "state file is mode 0600" test "$(stat -c %a .mesh/state.db)" = 600
check "state dir is mode 0700" test "$(stat -c %a .mesh)" = 700
expect_rc "a second plan is empty (exit 0 with --detailed-exitcode)" 0 "$MESH" plan --detailed-exitcode
check "no-op plan says so" grep -q 'No changes.' last.out
expect_rc "state list" 0 "$MESH" state list
check "state list is sorted addresses" diff -u <(printf 'null_resource.a\nnull_resource.b\nnull_resource.c\nnull_resource.d\n') last.out
expect_rc "state show" 0 "$MESH" state show null_resource.d
check "a \$\${ literal is stored unescaped" grep -q 'input = "${literal}"' last.out
expect_rc "state show of an unknown address fails" 1 "$MESH" state show null_resource.zz

# update in place, replace with the reason, delete
sed -i 's/input: hello/input: world/; s/size: "3"/size: "4"/; /null_resource.d:/,$d' mesh.yaml
expect_rc "plan after edits has changes" 2 "$MESH" plan --detailed-exitcode
check "update in-place shown old -> new" grep -q '~ input = "hello" -> "world"' last.out
check "replace names the attribute that forces it" grep -q 'triggers forces replacement' last.out
check "delete of a removed resource shown" grep -q 'null_resource.d will be destroyed' last.out
check "plan summary counts" grep -q 'Plan: 2 to add, 1 to change, 3 to destroy.' last.out

# --target: the target and what it depends on
expect_rc "plan --target b" 2 "$MESH" plan --detailed-exitcode --target null_resource.b
check "--target b includes its dependency a" grep -q 'null_resource.a must be replaced' last.out
check "--target b includes c (depends_on) and leaves out d" sh -c 'grep -q "null_resource.c will be updated" last.out && ! grep -q "null_resource.d" last.out'
expect_rc "a target glob matches within a segment" 2 "$MESH" plan --detailed-exitcode --target 'null_resource.*'
expect_rc "a target that matches nothing is an error" 1 "$MESH" plan --target null_resource.nope
check "the error names the target" grep -q "null_resource.nope" last.err

# JSON mode: every stdout line is an object with a type
expect_rc "apply --json" 0 "$MESH" apply --auto-approve --json
check "every --json line is a JSON object with a type" $PY -c '
import json, sys
types = set()
for l in open("last.out"):
    ev = json.loads(l); assert isinstance(ev, dict) and "type" in ev; types.add(ev["type"])
sys.exit(0 if {"plan_entry", "progress", "summary", "plan_summary"} <= types else 1)'
expect_rc "destroy --target a takes its dependents too" 0 "$MESH" destroy --auto-approve --target null_resource.a
check "destroy --target a removed a and b, kept c" diff -u <(echo null_resource.c) <("$MESH" state list)

# graph
expect_rc "graph" 0 "$MESH" graph
check "graph has the edge a -> b (b depends on a)" grep -q '"null_resource.a" -> "null_resource.b";' last.out
check "graph has the depends_on edge c -> b" grep -q '"null_resource.c" -> "null_resource.b";' last.out
expect_rc "graph --plan colours by action" 0 "$MESH" graph --plan
check "graph --plan labels creates" grep -q 'null_resource.a.*color=green' last.out

# drift: an object deleted outside mesh is planned for creation again
id=$("$MESH" state list --json | $PY -c 'import json,sys; print(json.loads(sys.stdin.readline())["outputs"]["id"])')
rm -f "$MESH_NULL_STORE/$id.json"
expect_rc "plan after an out-of-band delete" 2 "$MESH" plan --detailed-exitcode
check "the plan says it was deleted outside mesh" grep -q 'deleted outside mesh' last.out
# drift: an attribute changed outside mesh
"$MESH" apply --auto-approve >/dev/null
id=$("$MESH" state list --json | $PY -c 'import json,sys; print([e for e in map(json.loads, sys.stdin) if e["address"] == "null_resource.c"][0]["outputs"]["id"])')
$PY - "$MESH_NULL_STORE/$id.json" <<'P'
import json, sys
d = json.load(open(sys.argv[1])); d["attributes"]["input"] = "tampered"; json.dump(d, open(sys.argv[1], "w"))
P
expect_rc "plan shows drift" 2 "$MESH" plan --detailed-exitcode
check "drift is marked" grep -q '~ input = "tampered" -> "world"  # changed outside mesh' last.out
expect_rc "apply fixes drift" 0 "$MESH" apply --auto-approve
expect_rc "then nothing to do" 0 "$MESH" plan --detailed-exitcode

expect_rc "destroy" 0 "$MESH" destroy --auto-approve
check "destroy leaves the store empty" test "$(ls "$MESH_NULL_STORE" | wc -l)" = 0
check "destroy leaves state empty" test -z "$("$MESH" state list)"

# commands and help
expect_rc "help lists commands" 0 "$MESH" help
check "help mentions force-unlock" grep -q force-unlock last.out
expect_rc "help plan" 0 "$MESH" help plan
check "plan --help is the same text" diff -u last.out <("$MESH" plan --help)
expect_rc "unknown command" 1 "$MESH" frobnicate
expect_rc "unknown option" 1 "$MESH" plan --bogus
check "unknown option is named" grep -q -- "--bogus" last.err
expect_rc "version" 0 "$MESH" version
expect_rc "resources lists every type" 0 "$MESH" resources
check "resources shows null_resource's flags" grep -q 'sensitive_triggers .*forces replacement, sensitive' last.out
check "docs/resources.md is what 'mesh resources --markdown' prints" diff -u "$T_TESTS/../docs/resources.md" <("$MESH" resources --markdown)
expect_rc "bad --parallelism" 1 "$MESH" apply --parallelism 0
expect_rc "missing spec is an error" 1 "$MESH" plan -f nope.yaml
MESH_STATE="$T_DIR/other/state.db" "$MESH" apply --auto-approve >/dev/null 2>&1
check "MESH_STATE moves the state" test -f "$T_DIR/other/state.db"
"$MESH" apply --auto-approve --state "$T_DIR/third.db" >/dev/null 2>&1
check "--state moves the state" test -f "$T_DIR/third.db"
t_done
