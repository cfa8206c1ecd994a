# secrets_refs.sh: sensitivity follows a reference. The root CA's private key and a sensitive
# variable's value flow into null_resource attributes directly, interpolated into a longer string,
# nested in maps and lists, and transitively (through null_resource's `output`, two hops); none of
# them may appear in state.db (resources and snapshots), its WAL, plan / plan --json, apply output,
# state show or state list --json; each attribute that holds them shows (sensitive).
. "$(dirname "$0")/../lib/common.sh"
t_setup
CANARY="canary-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export MESH_VAR_secret="$CANARY"
cat > mesh.yaml <<'Y'
vars:
  secret: {type: string, sensitive: true}
resources:
  pki_private_key.root: {algorithm: ecdsa-p256}
  pki_root_ca.root: {private_key_pem: "${pki_private_key.root.private_key_pem}", common_name: Refs Root}
  null_resource.direct:
    triggers: {k: "${pki_root_ca.root.ca_key_pem}"}
  null_resource.interp:
    input: "key=${pki_root_ca.root.ca_key_pem};"
  null_resource.nested:
    input: {a: {b: [x, "${pki_root_ca.root.ca_key_pem}"]}}
  null_resource.hop1:
    input: "${pki_root_ca.root.ca_key_pem}"
  null_resource.hop2:
    input: "one more hop: ${null_resource.hop1.output}"
  null_resource.hop3:
    triggers: {k: "${null_resource.hop2.output}"}
  null_resource.var1:
    input: "${var.secret}"
  null_resource.var2:
    triggers: {k: "${null_resource.var1.output}"}
  null_resource.plain:
    triggers: {k: "${pki_root_ca.root.cert_pem}", id: "${null_resource.hop3.id}"}
outputs:
  rootkey: "${pki_root_ca.root.ca_key_pem}"
  hop: "${null_resource.hop2.output}"
  cert: "${pki_root_ca.root.cert_pem}"
Y
LOGS="$T_DIR/logs"
mkdir -p "$LOGS"
n=0
m() {  # m ARGS...: runs mesh, keeps stdout and stderr in $LOGS and in last.out/last.err
    n=$((n + 1))
    "$MESH" "$@" >"$T_DIR/last.out" 2>"$T_DIR/last.err"
    local rc=$?
    cp "$T_DIR/last.out" "$LOGS/$n.out"
    cp "$T_DIR/last.err" "$LOGS/$n.err"
    return $rc
}
needles() {  # the canary, and every 64-char line and the whole body of the root key
    printf '%s\n' "$CANARY" >needles.txt
    [ -s rootkey.pem ] || return 0
    grep -v -- '-----' rootkey.pem | grep -E '^.{64}$' >>needles.txt
    grep -v -- '-----' rootkey.pem | tr -d '\n' >>needles.txt
    echo >>needles.txt
}
leaks() {  # every place a secret must not be: the state database, its WAL, everything mesh printed
    local hit=0 f
    needles
    for f in .mesh/state.db .mesh/state.db-wal "$LOGS"/*; do
        [ -e "$f" ] || continue
        if grep -a -q -F -f needles.txt "$f"; then echo "# a secret found in $f"; hit=1; fi
    done
    return $hit
}
shown_sensitive() {  # shown_sensitive FILE ADDRESS ATTR: the plan or state show prints ATTR as (sensitive)
    awk -v a="$2" -v k="$3" '
        /^  # / || /^# / { inside = index($0, a " ") > 0 || $0 == "# " a }
        inside && $0 ~ "[+~]? *" k " += \\(sensitive\\)" { found = 1 }
        END { exit !found }' "$1"
}

m plan
check "plan: references to a sensitive output or variable are planned" grep -q 'null_resource.hop3' last.out
check "plan: the variable's attribute shows (sensitive)" shown_sensitive last.out null_resource.var1 input
check "plan: an attribute fed by a sensitive variable through a reference shows (sensitive)" \
    shown_sensitive last.out null_resource.var2 triggers
m apply --auto-approve
check "apply succeeds" test $? -eq 0
"$MESH" output rootkey --raw >rootkey.pem 2>/dev/null
check "the root key is readable by name (so the canary has something to look for)" grep -q 'PRIVATE KEY' rootkey.pem
check "no secret after plan and apply" leaks
m state list --json
for a in direct interp nested hop1 hop2 hop3 var1 var2 plain; do
    m state show null_resource.$a
    cp last.out "show_$a.txt"
    m state show null_resource.$a --json
done
check "state show: direct reference (sensitive)" shown_sensitive show_direct.txt null_resource.direct triggers
check "state show: interpolated (sensitive)" shown_sensitive show_interp.txt null_resource.interp input
check "state show: nested in a map and a list (sensitive)" shown_sensitive show_nested.txt null_resource.nested input
check "state show: the output that echoes a sensitive input (sensitive)" shown_sensitive show_hop1.txt null_resource.hop1 output
check "state show: two hops away (sensitive)" shown_sensitive show_hop3.txt null_resource.hop3 triggers
check "state show: via a sensitive variable and a reference (sensitive)" shown_sensitive show_var2.txt null_resource.var2 triggers
check "state show: a public certificate stays visible" grep -q 'BEGIN CERTIFICATE' show_plain.txt
check "state show: an id stays visible" grep -q 'id = "null-' show_hop1.txt
m output
check "an output two hops from the key is sensitive" grep -q '^hop = (sensitive)$' last.out
check "an output of the certificate is not" grep -q '^cert = "-----BEGIN CERTIFICATE' last.out
m output --json
check "no secret in state show, state list --json, output" leaks
# updates in place print old and new values: each must say (sensitive)
sed -i 's/key=\${pki/key2=${pki/; s/one more hop/two more hops/' mesh.yaml
m plan
cp last.out plan2.txt
check "plan of an update: interpolated value (sensitive) -> (sensitive)" grep -q 'input = (sensitive) -> (sensitive)' plan2.txt
m plan --json
check "plan --json marks the changed attributes sensitive" $PY - last.out <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ch = {(e["address"], c["name"]): c for e in ev if e.get("type") == "plan_entry" for c in e["changes"]}
assert ch[("null_resource.interp", "input")].get("sensitive") is True, ch
assert ch[("null_resource.hop2", "input")].get("sensitive") is True, ch
assert "old" not in ch[("null_resource.interp", "input")], ch
PY
m apply --auto-approve
m apply --auto-approve --json
# the key no longer flows into direct: its old value must still not be printed
sed -i 's/triggers: {k: "\${pki_root_ca.root.ca_key_pem}"}/triggers: {k: plain}/' mesh.yaml
m plan
check "an attribute that held a secret shows its old value as (sensitive)" \
    grep -q 'triggers = (sensitive) -> (sensitive)' last.out
m apply --auto-approve
# a saved plan of a change that moves a secret: the file and its apply show none
sed -i 's/key2=\${pki/key3=${pki/' mesh.yaml
m plan -out saved.plan
check "a saved plan of a sensitive change shows (sensitive)" grep -q 'input = (sensitive) -> (sensitive)' last.out
cp saved.plan "$LOGS/saved.plan"
m apply saved.plan
check "the saved plan applies" grep -q 'Apply complete' last.out
check "no secret after updates, replacements, --json applies and a saved plan" leaks
check "snapshots hold the sensitive attributes encrypted" $PY - .mesh/state.db <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = [r[0] for r in db.execute("select rows from snapshots")]
assert rows, "no snapshot"
assert any('"$enc"' in r for r in rows), "no encrypted value in snapshots"
PY

# a create cut off by a crash is adopted by the next run: its row keeps the spec's marks
mkdir crash && cd crash || exit 1
mkdir store
cat > mesh.yaml <<'Y'
vars:
  secret: {type: string, sensitive: true}
resources:
  null_resource.var1:
    input: "${var.secret}"
Y
MESH_NULL_STORE="$T_DIR/crash/store" MESH_FAULTS=crash-after:call=1 "$MESH" apply --auto-approve --parallelism 1 \
    >/dev/null 2>&1
MESH_NULL_STORE="$T_DIR/crash/store" m apply --auto-approve --resume
check "recovery adopts the cut-off create" grep -q "adopted an object" "$T_DIR/last.out"
MESH_NULL_STORE="$T_DIR/crash/store" m state show null_resource.var1
check "the adopted row shows the secret as (sensitive)" grep -q "input = (sensitive)" "$T_DIR/last.out"
check "no secret in state after an adopted create" sh -c 'test -s .mesh/state.db && ! grep -a -q -F -- "$1" .mesh/state.db .mesh/state.db-wal 2>/dev/null' _ "$CANARY"
cd "$T_DIR" || exit 1
t_done
