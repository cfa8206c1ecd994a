#!/usr/bin/env bash
# secrets.sh: canaries through the whole reference deployment (specs/reference.yaml, ECDSA keys,
# the stand-in charts). The canaries: the AWS secret access key and an AWS session token mesh is
# given (random per run), both intermediate CAs' private keys (the PKI's, read back from the cacerts
# secrets with kubectl) and both istio-reader service-account tokens (read back with kubectl).
# None may appear, raw, base64-encoded (at any alignment: inside a larger base64 text too), as a
# PEM body line or as the key's whole DER in base64, in: any file under the working directory
# (state.db, copies of its -wal taken while mesh runs, snapshots inside it, a saved plan file
# `mesh plan -out`), $HOME, mesh's stdout/stderr with MESH_LOG=debug, `--json` output, `state
# list --json` / `state show`, the files mesh keeps under $TMPDIR while it runs (helm's session:
# kubeconfig, values), or the argv and environment of any process mesh starts (helm, and helm's
# `mesh token --broker` plugin), read from /proc while the applies run. The second apply (a saved
# plan repairing a helm value and a deleted remote secret, whose data holds a reader token) runs
# with the tokens already known, so its children are checked against all the canaries; at least
# one helm child must be seen in each apply.
# The harness runs without SigV4 checking here (MESH_HARNESS_AUTH=0): moto refuses a session
# token it did not issue, and the EKS stand-in accepts only the harness's own key.
# Figures: canaries, forms searched, files and processes searched, helm children seen, hits.
# The watcher and the scan are tests/harness/canary/; CI runs them in tests/e2e/istio_reference.sh
# (the same apply and repair, without the session token), not this suite.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/reference.sh"
source "$ROOT/tests/reliability/lib.sh"
t_setup
STACK="$T_DIR/stack" PROBE="$T_DIR/probe" WORK="$T_DIR/work"
mkdir -p "$PROBE/children" "$PROBE/tmp" "$PROBE/out" "$WORK" "$T_DIR/tmp"
MESH_HARNESS_AUTH=0 ref_stack_start "$STACK" >/dev/null 2>&1 || { not_ok "the reference stand-ins start"; t_done; exit 1; }
trap 'ref_stack_stop "$STACK"; t_cleanup' EXIT
rnd() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }
export AWS_SECRET_ACCESS_KEY="canary-aws-secret-$(rnd)" AWS_SESSION_TOKEN="canary-session-token-$(rnd)"
export MESH_BACKOFF_SCALE=0.01 TMPDIR="$T_DIR/tmp"
HELM=${MESH_HELM:-helm}
k() { local c=$1; shift; kubectl --kubeconfig "$STACK/k$c/kubeconfig" "$@"; }
h() { local c=$1; shift; "$HELM" --kubeconfig "$STACK/k$c/kubeconfig" "$@"; }
cd "$WORK" || exit 1
sed 's/algorithm: rsa4096/algorithm: ecdsa-p256/' "$ROOT/specs/reference.yaml" >ref.yaml
read -ra VARS <<<"$(ref_stack_vars)"

# The watcher, the scan and its controls: tests/harness/canary/.
source "$ROOT/tests/harness/canary/canary.sh"
CANARY_PROBE=$PROBE
watched() { canary_watched "$@"; }

export MESH_LOG=debug
watched apply1 "$MESH" apply -f ref.yaml "${VARS[@]}" --auto-approve --json
check "apply of the reference with MESH_LOG=debug --json, watched" test $? = 0
read -r helm1 procs1 <"$PROBE/helm_children"
check "helm children seen while it ran ($helm1 helm of $procs1 processes)" test "${helm1:-0}" -gt 0
echo "# [${SECONDS}s] applied"

# The canaries that exist only now: the reader tokens and the intermediates' keys, read back from
# the clusters as a user would.
: >"$PROBE/canaries"
for c in 1 2; do
    k $c -n istio-system get secret istio-reader-service-account-istio-remote-secret-token -o jsonpath='{.data.token}' |
        base64 -d >"$PROBE/sa$c" 2>/dev/null
    k $c -n istio-system get secret cacerts -o jsonpath='{.data.ca-key\.pem}' | base64 -d >"$PROBE/key$c" 2>/dev/null
done
check "read both reader tokens back with kubectl" sh -c "test -s '$PROBE/sa1' && test -s '$PROBE/sa2'"
check "read both intermediate CA keys back with kubectl" sh -c "grep -q 'PRIVATE KEY' '$PROBE/key1' && grep -q 'PRIVATE KEY' '$PROBE/key2'"

# ---- drift (a helm value, a remote secret holding a token) repaired from a saved plan ----
h 1 -n istio-system upgrade istiod "$ROOT/tests/charts/istiod" --reuse-values --set global.meshID=drifted >/dev/null 2>&1
k 2 -n istio-system delete secret istio-remote-secret-cluster-1 >/dev/null
watched plan "$MESH" plan -f ref.yaml "${VARS[@]}" -out saved.plan --json
check "plan -out saves the repair" test -s saved.plan
watched apply2 "$MESH" apply saved.plan --json
check "the saved plan applies" test $? = 0
read -r helm2 procs2 < <(tail -1 "$PROBE/helm_children")
check "helm children seen while the saved plan ran ($helm2 helm of $procs2 processes)" test "${helm2:-0}" -gt 0
"$MESH" state list --json -f ref.yaml >"$PROBE/out/state-list.json" 2>&1
"$MESH" state show kubernetes_secret.cluster-2.istio-remote-secret-cluster-1 -f ref.yaml >"$PROBE/out/state-show.txt" 2>&1
"$MESH" state show pki_private_key.cluster-1.intermediate -f ref.yaml >>"$PROBE/out/state-show.txt" 2>&1
unset MESH_LOG
echo "# [${SECONDS}s] repaired from a saved plan"

# ---- the scan ----
scan() { canary_scan "$@"; }
# The scan must see what it looks for: each canary hidden in a file of its own, the way a leak
# would look (inside base64 of a larger text, one PEM line, the DER in base64, a JSON string).
canary_control "$T_DIR/control"
read -r _ _ _ n_control hits_control < <(scan "$T_DIR/control" | grep '^SUMMARY')
check "the scan finds a canary hidden in each of $n_control control files (json, base64, kubeconfig, PEM line, DER)" \
    test "$hits_control" -ge "$n_control" -a "$(scan "$T_DIR/control" | grep '^HIT' | awk '{print $NF}' | sort -u | wc -l)" = 5
scan "$WORK" "$HOME" "$PROBE/out" "$PROBE/children" "$PROBE/tmp" >"$PROBE/scan.txt"
grep -aE '^(HIT|FAIL)' "$PROBE/scan.txt" | tr -d '\0' | head -20 | sed 's/^/# /'
read -r _ n_canaries n_forms n_files hits < <(grep -a '^SUMMARY' "$PROBE/scan.txt")
check "$n_canaries canaries in $n_forms forms: none in $n_files files (work dir, state.db and -wal copies, saved plan, HOME, debug logs, --json, state show/list, TMPDIR, children's argv/env) ($hits hits)" \
    test "${hits:-1}" = 0 -a "${n_canaries:-0}" = 6
check "the scan saw state.db, a -wal copy, the saved plan and the children" sh -c \
    "test -s '$WORK/.mesh/state.db' && test -s '$WORK/saved.plan' && [ \$(ls '$PROBE/children' | wc -l) -gt 0 ] && [ \$(ls '$PROBE/tmp' | wc -l) -gt 0 ]"
n_orphans=$(ref_orphans ref.yaml 2>"$PROBE/orphans.txt")
check "0 orphans ($n_orphans)" test "$n_orphans" = 0
CMD="bash tests/reliability/run tests/reliability/secrets.sh"
rel_figure "canaries (AWS secret key, session token, 2 CA keys, 2 reader tokens)" "${n_canaries:-0}" "$CMD"
rel_figure "forms searched (raw, base64 at 3 alignments, base64url, PEM lines, DER)" "${n_forms:-0}" "$CMD"
rel_figure "files searched (incl. children's argv/env and TMPDIR/-wal copies)" "${n_files:-0}" "$CMD"
rel_figure "processes mesh started, seen while running (helm)" "$((procs1 + procs2)) ($((helm1 + helm2)))" "$CMD"
rel_figure "canary hits" "${hits:-?}" "$CMD"
t_done
