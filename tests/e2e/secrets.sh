# secrets.sh: the secret canary. A sensitive_triggers value never appears in state.db, its WAL,
# stdout, stderr, --json output, plan output, state show, or the null store; the state key lives
# outside the state directory with mode 0600, or comes from MESH_STATE_KEY.
. "$(dirname "$0")/../lib/common.sh"
t_setup
export MESH_NULL_STORE="$T_DIR/store"
mkdir -p "$MESH_NULL_STORE"
CANARY="canary-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
B64=$(printf '%s' "$CANARY" | base64)
cat > mesh.yaml <<Y
resources:
  null_resource.a:
    sensitive_triggers: {password: "$CANARY"}
    input: visible
  null_resource.b:
    triggers: {after: "\${null_resource.a.id}"}
Y
leaks() {  # every place the canary must not be
    local hit=0 f
    for f in out.txt err.txt json.txt .mesh/state.db .mesh/state.db-wal "$MESH_NULL_STORE"/*; do
        [ -e "$f" ] || continue
        if grep -a -q -e "$CANARY" -e "$B64" "$f"; then echo "# canary found in $f"; hit=1; fi
    done
    return $hit
}
"$MESH" plan >out.txt 2>err.txt
check "plan shows the sensitive value as (sensitive)" grep -q 'sensitive_triggers = (sensitive)' out.txt
check "no canary after plan" leaks
"$MESH" apply --auto-approve >out.txt 2>err.txt
check "no canary after apply" leaks
"$MESH" apply --auto-approve --json >json.txt 2>>err.txt
"$MESH" plan --json >>json.txt 2>>err.txt
check "no canary in --json output" leaks
"$MESH" state show null_resource.a >>out.txt 2>>err.txt
"$MESH" state list --json >>json.txt 2>>err.txt
check "state show redacts it" grep -q 'sensitive_triggers = (sensitive)' out.txt
check "no canary after state show and list --json" leaks
# a change of the secret: the plan says it changes, not what to
sed -i "s/$CANARY/$CANARY-2/" mesh.yaml
"$MESH" plan >out.txt 2>err.txt
check "a changed secret shows (sensitive) -> (sensitive)" grep -q 'sensitive_triggers = (sensitive) -> (sensitive)' out.txt
MESH_FAULTS=fail:call=4 "$MESH" apply --auto-approve --parallelism 1 >out.txt 2>err.txt
check "no canary after a failed, rolled back apply" leaks
"$MESH" apply --auto-approve >out.txt 2>err.txt
check "no canary after the replacement" leaks
# while a run holds the database open, the WAL has not been checkpointed yet
MESH_FAULTS="delay:ms=500" "$MESH" apply --auto-approve -f mesh.yaml >/dev/null 2>&1 &
sed -i "s/$CANARY-2/$CANARY-3/" mesh.yaml
sleep 0.3
check "no canary in the live WAL" leaks
wait
key=$(ls "$XDG_CONFIG_HOME"/mesh/keys/*.key 2>/dev/null | head -1)
check "the state key is a file under the config directory" test -n "$key"
check "the state key file is mode 0600" test "$(stat -c %a "$key")" = 600
check "the state key is not beside the state" sh -c '! ls .mesh | grep -q key'
expect_rc "without the key the state cannot be read" 1 env XDG_CONFIG_HOME="$T_DIR/elsewhere" HOME="$T_DIR/elsewhere" "$MESH" plan
check "the error names the key source" grep -q 'key' last.err
expect_rc "MESH_STATE_KEY that is not 32 bytes of base64 is refused" 1 env MESH_STATE_KEY=short "$MESH" plan
rm -rf .mesh "$MESH_NULL_STORE"/*
export MESH_STATE_KEY=$(head -c 32 /dev/urandom | base64)
expect_rc "MESH_STATE_KEY: apply" 0 "$MESH" apply --auto-approve
expect_rc "MESH_STATE_KEY: plan reads it back" 0 "$MESH" plan --detailed-exitcode
expect_rc "another MESH_STATE_KEY cannot read it" 1 env MESH_STATE_KEY="$(head -c 32 /dev/urandom | base64)" "$MESH" plan
t_done
