# day2.sh: saved plans, import, state mv/rm, guards and timeouts (issue 4).
. "$(dirname "$0")/../lib/common.sh"
t_setup
export MESH_NULL_STORE="$T_DIR/store"
mkdir -p "$MESH_NULL_STORE"
CANARY="canary-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
cat > mesh.yaml <<Y
resources:
  null_resource.a: {triggers: {v: "1"}, sensitive_triggers: {pw: "$CANARY"}}
  null_resource.b: {input: "\${null_resource.a.id}"}
  null_resource.c: {input: plain, depends_on: [null_resource.b]}
Y

# --- saved plans
expect_rc "plan -out on a fresh state" 0 "$MESH" plan -out p1.plan
check "the plan file is mode 0600" test "$(stat -c %a p1.plan)" = 600
check "the plan file holds no secret in the clear" sh -c "! grep -q '$CANARY' p1.plan"
expect_rc "apply of a fresh saved plan works (no prompt needed)" 0 "$MESH" apply p1.plan </dev/null
check "it created the three resources" test "$("$MESH" state list | wc -l)" = 3
expect_rc "the same plan again is refused: state moved on" 1 "$MESH" apply p1.plan
check "the refusal names the serial" grep -q 'state changed since the plan was saved' last.err
sed -i 's/input: plain/input: changed/' mesh.yaml
"$MESH" plan -out p2.plan >/dev/null 2>&1
cp p2.plan p3.plan
$PY - p3.plan <<'P'
import sys
p = sys.argv[1]; d = bytearray(open(p, "rb").read())
i = d.index(b'"$enc": "') + 20
d[i] = ord("A") if d[i] != ord("A") else ord("B")
open(p, "wb").write(bytes(d))
P
expect_rc "a plan file with one flipped byte is refused" 1 "$MESH" apply p3.plan
check "the refusal says it was altered" grep -q 'altered' last.err
sed -i 's/"serial": [0-9]*/"serial": 999/' p3.plan
expect_rc "a plan file with an edited header is refused" 1 "$MESH" apply p3.plan
id=$("$MESH" state list --json | $PY -c 'import json,sys; print([e for e in map(json.loads, sys.stdin) if e["address"]=="null_resource.b"][0]["outputs"]["id"])')
rm "$MESH_NULL_STORE/$id.json"
expect_rc "a saved plan is refused when the world changed since" 1 "$MESH" apply p2.plan
check "the refusal says the world changed" grep -q 'world changed' last.err
"$MESH" plan -out p4.plan >/dev/null 2>&1
expect_rc "a fresh plan after the change applies" 0 "$MESH" apply p4.plan
expect_rc "then nothing is left to do" 0 "$MESH" plan --detailed-exitcode

# --- import: a state made elsewhere, adopted object by object
"$MESH" state list --json | $PY -c '
import json, sys
for e in map(json.loads, sys.stdin): print(e["address"], e["outputs"]["id"])' > ids.txt
before_store=$(store_dump "$MESH_NULL_STORE")
mv .mesh old.mesh
while read -r addr id; do "$MESH" import "$addr" "$id" >>import.txt 2>&1 || echo "# import $addr failed"; done < ids.txt
check "import adopted every object" test "$("$MESH" state list | wc -l)" = 3
check "import did not touch the world" test "$(store_dump "$MESH_NULL_STORE")" = "$before_store"
expect_rc "after import, the only difference is the unobservable secret" 2 "$MESH" plan --detailed-exitcode
check "the plan wants only the sensitive trigger (it cannot be read back)" sh -c \
    'grep -q "sensitive_triggers" last.out && grep -q "Plan: 1 to add, 1 to change, 1 to destroy" last.out'
expect_rc "import of an address not in the spec is refused" 1 "$MESH" import null_resource.zz null-123
check "the error says to add it to the spec" grep -q 'not in the spec' last.err
expect_rc "import of an ID that does not exist is refused" 1 "$MESH" import null_resource.a null-doesnotexist
rm -rf .mesh && mv old.mesh .mesh

# --- state mv / rm never touch the world
before_store=$(store_dump "$MESH_NULL_STORE")
sed -i 's/null_resource.b/null_resource.bee/g' mesh.yaml
expect_rc "after a rename in the spec, the plan would replace" 2 "$MESH" plan --detailed-exitcode
expect_rc "state mv" 0 "$MESH" state mv null_resource.b null_resource.bee
expect_rc "after state mv, the plan is empty" 0 "$MESH" plan --detailed-exitcode
check "state mv did not touch the world" test "$(store_dump "$MESH_NULL_STORE")" = "$before_store"
expect_rc "state mv to an existing address is refused" 1 "$MESH" state mv null_resource.a null_resource.c
expect_rc "state mv across types is refused" 1 "$MESH" state mv null_resource.a pki_root_ca.a
expect_rc "state rm" 0 "$MESH" state rm null_resource.c
check "state rm forgot it" sh -c "! \"$MESH\" state list | grep -q null_resource.c"
check "state rm did not touch the world" test "$(store_dump "$MESH_NULL_STORE")" = "$before_store"
check "state mv and rm are journaled" test "$(sqlite3 .mesh/state.db "SELECT count(*) FROM journal WHERE action IN ('state-mv','state-rm')")" = 2
expect_rc "state restore 1 undoes the rm" 0 "$MESH" state restore 1
check "after restore it is back" sh -c "\"$MESH\" state list | grep -q null_resource.c"

# --- guards: the root CA is replaced only with --allow-replace
mkdir g && cd g
cat > mesh.yaml <<'Y'
pki:
  root: {algorithm: ecdsa-p256}
  intermediate: {algorithm: ecdsa-p256}
clusters:
  cluster-1: {existing: {kubeconfig: ./kubeconfig}}
Y
"$MESH" apply --auto-approve >/dev/null 2>&1
sed -i 's/root: {algorithm: ecdsa-p256}/root: {algorithm: ecdsa-p256, common_name: Other Root}/' mesh.yaml
expect_rc "plan of a root CA replacement" 0 "$MESH" plan
check "the plan flags the guarded replacement" grep -q 'GUARDED: pki_root_ca.root' "$T_DIR/last.out"
expect_rc "apply refuses to replace a guarded resource" 1 "$MESH" apply --auto-approve
check "the refusal names --allow-replace" grep -q -- '--allow-replace pki_root_ca.root' "$T_DIR/last.err"
check "nothing was changed" sh -c "\"$MESH\" state show pki_root_ca.root | grep -q 'common_name = \"Root CA\"'"
expect_rc "apply --allow-replace replaces it" 0 "$MESH" apply --auto-approve --allow-replace pki_root_ca.root
check "the root was replaced" sh -c "\"$MESH\" state show pki_root_ca.root | grep -q 'Other Root'"
expect_rc "destroy needs no --allow-replace" 0 "$MESH" destroy --auto-approve
cd ..

# --- timeouts: a create that runs past its timeout fails and is rolled back
cat > t.yaml <<'Y'
timeouts:
  null_resource: {create: 1s}
resources:
  null_resource.slow: {input: x}
  null_resource.patient: {input: y, timeouts: {create: 1m}}
Y
rm -rf "$MESH_NULL_STORE"/* 
expect_rc "a create past its timeout fails" 1 env MESH_FAULTS=delay:ms=1500 "$MESH" apply -f t.yaml --state t.db --auto-approve
check "the error says it timed out and how to allow longer" grep -q 'null_resource.slow: create timed out after 1s (set timeouts.create' last.err
check "the timed-out create was rolled back" grep -q 'rolled back' last.out
check "no object was left behind" test "$(ls "$MESH_NULL_STORE" | wc -l)" = 0
sed -i 's/create: 1s/create: 10s/' t.yaml
expect_rc "with a longer timeout it succeeds" 0 env MESH_FAULTS=delay:ms=1500 MESH_PROGRESS_EVERY=0.5 "$MESH" apply -f t.yaml --state t.db --auto-approve
check "a long create prints 'Still creating... (Ns elapsed)'" grep -q 'null_resource.slow: Still creating... (.*s elapsed)' last.out
printf 'timeouts:\n  null_resorce: {create: 1s}\nresources:\n  null_resource.x: {timeouts: {create: soon}}\n' > tbad.yaml
expect_rc "bad timeouts are spec errors" 1 "$MESH" validate -f tbad.yaml
check "unknown type in timeouts is named with a suggestion" grep -q "did you mean \`null_resource\`" last.err
check "a bad duration is named with its position" grep -q 'tbad.yaml:4:.*positive duration' last.err
t_done
