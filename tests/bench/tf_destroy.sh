#!/usr/bin/env bash
# tf_destroy.sh N: times `terraform destroy` of the benchmark's tree of N terraform_data resources,
# starting from a state written by gentf.py --state instead of from a `terraform apply` (which takes
# ~45 min at 10,000 on this machine). Before the timed destroy, `terraform plan -detailed-exitcode`
# must find no changes: the proof that the written state is what Terraform's own apply leaves.
#
#   TF_DESTROY_DEADLINE=SECONDS   stop the destroy after that long (timeout, TERM) and report how far
#                                 it got; no figure is estimated
#
# Prints one line of figures (wall s, peak RSS MB, CPU s) and what is left in state.
set -u
N=${1:?usage: tf_destroy.sh N}
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
TF_BIN=${TF_BIN:-$(command -v terraform)}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
: >"$WORK/terraformrc"
export TF_CLI_CONFIG_FILE=$WORK/terraformrc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
unset TF_DATA_DIR TF_LOG TF_CLI_ARGS TF_CLI_ARGS_plan TF_CLI_ARGS_destroy
log() { echo "$(date -u +%H:%M:%S) tf_destroy: $*" >&2; }

cd "$WORK"
python3 "$ROOT/tests/bench/gentf.py" "$N" >main.tf
version=$("$TF_BIN" version -json | python3 -c 'import json,sys; print(json.load(sys.stdin)["terraform_version"])')
python3 "$ROOT/tests/bench/gentf.py" "$N" --state |
    python3 -c 'import json,sys; s=json.load(sys.stdin); s["terraform_version"]=sys.argv[1]; json.dump(s,sys.stdout,indent=2)' \
        "$version" >terraform.tfstate
"$TF_BIN" init -input=false -no-color >init.log 2>&1 || { log "init failed"; tail -5 init.log >&2; exit 1; }
log "$N resources: no-op plan on the written state (not timed)"
"$TF_BIN" plan -input=false -no-color -detailed-exitcode >plan.log 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
    log "plan exit $rc: the written state is not what Terraform would have; last lines:"
    tail -5 plan.log >&2
    exit 1
fi
log "$N resources: destroy (timed)"
cmd=("$TF_BIN" destroy -auto-approve -input=false -no-color)
[ -n "${TF_DESTROY_DEADLINE:-}" ] && cmd=(timeout "$TF_DESTROY_DEADLINE" "${cmd[@]}")
# progress on stderr every minute, so a run stopped from outside still says how far it got
( while sleep 60; do log "$(grep -c 'Destruction complete' destroy.log 2>/dev/null) of $N destroyed"; done ) &
progress=$!
/usr/bin/time -o time.out -f '%e %M %U %S' "${cmd[@]}" >destroy.log 2>&1
rc=$?
kill $progress 2>/dev/null
left=$("$TF_BIN" state list 2>/dev/null | grep -c .)
read -r wall rss user sys < <(tail -1 time.out)
if [ "$rc" -ne 0 ]; then
    log "destroy exit $rc after ${wall} s with $left of $N resources left in state: not measured"
    tail -3 destroy.log >&2
    echo "terraform $N destroy: stopped after ${wall} s (exit $rc), $((N - left)) of $N destroyed, CPU $(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}') s"
    exit 1
fi
printf 'terraform %s destroy (from a written state): %.2f s wall, %.0f MB peak RSS, %.2f s CPU; %s left in state\n' \
    "$N" "$wall" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" "$left"
