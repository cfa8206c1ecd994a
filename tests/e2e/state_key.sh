# state_key.sh: the state key is created once, by the first apply that stores a secret, and that
# says where; a reader without the key (plan, apply, a changed HOME) says where it looked and
# creates nothing.
. "$(dirname "$0")/../lib/common.sh"
t_setup
export MESH_NULL_STORE="$T_DIR/store"
mkdir -p "$MESH_NULL_STORE"
keys="$XDG_CONFIG_HOME/mesh/keys"
printf 'resources:\n  null_resource.plain: {input: "x"}\n' > mesh.yaml
expect_rc "an apply without secrets" 0 "$MESH" apply --auto-approve
expect_rc "a plan" 0 "$MESH" plan
check "no key is created while nothing is secret" test ! -e "$keys"

cat > mesh.yaml <<'EOF'
resources:
  null_resource.plain: {input: "x"}
  null_resource.secret: {sensitive_triggers: {pw: "hunter2"}}
EOF
expect_rc "the first apply with a secret" 0 "$MESH" apply --auto-approve
lineage=$(sqlite3 .mesh/state.db "SELECT value FROM meta WHERE key = 'lineage'")
key="$keys/$lineage.key"
check "the key file exists, mode 0600" test "$(stat -c %a "$key" 2>/dev/null)" = 600
check "the apply said where it created the key" grep -q "created a new state key at $key" last.err
check "it said so once" test "$(grep -c 'created a new state key' last.err)" = 1
sed -i 's/hunter2/hunter3/' mesh.yaml
expect_rc "the next apply" 0 "$MESH" apply --auto-approve
check "it says nothing about the key" test "$(grep -c 'state key' last.err)" = 0

mv "$key" "$T_DIR/key.bak"
expect_rc "plan without the key fails" 1 "$MESH" plan
check "it says no state key was found" grep -q 'holds encrypted values, but no state key was found' last.err
check "it names where it looked" grep -q "there is no key file $key" last.err
check "plan created no key" test ! -e "$key"
check "and no other file in the key directory" test -z "$(ls -A "$keys")"
check "it does not blame tampering" test "$(grep -c 'tampered' last.err)" = 0
expect_rc "apply without the key fails too" 1 "$MESH" apply --auto-approve
check "apply created no key either" test ! -e "$key"
expect_rc "with another HOME, plan fails" 1 env HOME="$T_DIR/other" XDG_CONFIG_HOME= "$MESH" plan
check "naming the key path under that HOME" grep -q "no key file $T_DIR/other/.config/mesh/keys/$lineage.key" last.err
check "and creating nothing there" test ! -e "$T_DIR/other"

mv "$T_DIR/key.bak" "$key"
expect_rc "with the key back, the plan is empty" 0 "$MESH" plan --detailed-exitcode
t_done
