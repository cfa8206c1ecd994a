#!/usr/bin/env bash
# kill9_team.sh: kill -9 at a random moment of a team-state run, then the other machine's run
# must complete. Two machines (working directories A and B, each its own HOME) share one state
# on S3 (moto behind the harness proxy, a DynamoDB lease, a KMS-wrapped key); the world is a tree
# of 200 null resources with MESH_NULL_STORE (each one a file outside the state, found by
# recovery). Each cycle changes every resource, so each run also moves a 200-row snapshot out of
# the base at its compaction (state/sync_snap.c): a kill can land before the lease, among the
# intent logs, during the snapshot upload, the base write or the release.
#   - apply on one machine, killed at a random moment of a clean apply's length; the other
#     machine's apply (waiting out the dead lease) completes; 0 orphans (files the state does not
#     hold); a no-op plan on the first; the state pulls whole (every snapshot object there, its
#     hash right)
#   - destroy killed the same way; the other machine's destroy completes: no file left, state
#     empty
# Trials: rel_trials 2 40 cycles (each: one apply kill, one destroy kill). RELIABILITY_SEED
# replays the kill moments.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
source "$ROOT/tests/reliability/lib.sh"
t_setup
aws_harness_suite || { not_ok "the AWS harness started"; t_done; exit 1; }
export AWS_S3_USE_PATH_STYLE=true MESH_BACKOFF_SCALE=0.01 MESH_LOCK_TTL=2 MESH_RECOVERY_GRACE=0
# Recovery needs no grace here: a null store file is written before its create returns, so no
# request of a killed run is still on its way.
export MESH_NULL_STORE="$T_DIR/world"
mkdir -p "$MESH_NULL_STORE"
CYCLES=$(rel_trials 2 40)
SEED=${RELIABILITY_SEED:-$(( $(od -An -N2 -tu2 /dev/urandom) ))}
RANDOM=$SEED
echo "# seed $SEED (RELIABILITY_SEED=$SEED replays the kill moments); $CYCLES cycles"

awsq s3api create-bucket --bucket mesh-k9 --create-bucket-configuration LocationConstraint=us-west-2 >/dev/null
awsq s3api put-bucket-versioning --bucket mesh-k9 --versioning-configuration Status=Enabled
awsq dynamodb create-table --table-name mesh-k9-locks --attribute-definitions AttributeName=LockID,AttributeType=S \
    --key-schema AttributeName=LockID,KeyType=HASH --billing-mode PAY_PER_REQUEST >/dev/null
KMS_KEY=$(awsq kms create-key --query KeyMetadata.KeyId)
$PY "$ROOT/tests/lib/genspec.py" tree 200 --fanout 4 >tree.yaml
# spec VERSION: both machines' spec, every resource's root trigger at VERSION
spec() {
    local m
    for m in A B; do
        mkdir -p "$m/home"
        { printf 'state: {backend: s3, bucket: mesh-k9, key: team/mesh.state, lock_table: mesh-k9-locks, kms_key_id: "%s"}\n' "$KMS_KEY"
          sed "s/root: \"v1\"/root: \"$1\"/" tree.yaml; } >"$m/mesh.yaml"
    done
}
on() { local m=$1; shift; (cd "$T_DIR/$m" && HOME="$T_DIR/$m/home" "$MESH" "$@"); }
files() { ls "$MESH_NULL_STORE" | wc -l; }

# Clean applies and destroys: the shorter of two of each is the kill window.
ms_of() { local t0; t0=$(date +%s%N); "$@" >/dev/null 2>&1; echo $(( ($(date +%s%N) - t0) / 1000000 )); }
T_APPLY=999999 T_DESTROY=999999
for v in 1 2; do
    spec "v0-$v"
    t=$(ms_of on A apply --auto-approve); [ "$t" -lt "$T_APPLY" ] && T_APPLY=$t
    spec "v0-$v-b"
    on A apply --auto-approve >/dev/null 2>&1   # a second run: its snapshot leaves the base
    t=$(ms_of on A destroy --auto-approve); [ "$t" -lt "$T_DESTROY" ] && T_DESTROY=$t
done
check "clean applies and destroys (${T_APPLY} ms / ${T_DESTROY} ms at best) leave no file" test "$(files)" = 0

# killed MACHINE MS CMD...: starts CMD on MACHINE, kill -9 after MS ms; prints 1 if it landed
killed() {
    local m=$1 ms=$2; shift 2
    (cd "$T_DIR/$m" && HOME="$T_DIR/$m/home" exec "$MESH" "$@" >"$T_DIR/victim.out" 2>&1) &
    local pid=$!
    sleep "$(awk -v ms="$ms" 'BEGIN {printf "%.3f", ms / 1000}')"
    if kill -9 "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null; echo 1; else wait "$pid" 2>/dev/null; echo 0; fi
}

a_landed=0 a_rec=0 d_landed=0 d_rec=0 orphans_total=0 max_rec=0 bad=0
for c in $(seq 1 "$CYCLES"); do
    x=A y=B
    [ $((c % 2)) = 0 ] && x=B y=A
    spec "v$c"
    ms=$(( RANDOM % (T_APPLY * 11 / 10 + 1) ))
    a_landed=$(( a_landed + $(killed $x "$ms" apply --auto-approve) ))
    t0=$(date +%s%N)
    if on $y apply --auto-approve --lock-timeout 30s >rec.out 2>&1; then
        rec=$(( ($(date +%s%N) - t0) / 1000000 )); [ "$rec" -gt "$max_rec" ] && max_rec=$rec
        n=$(cd $y && HOME="$T_DIR/$y/home" orphans "$MESH_NULL_STORE")
        orphans_total=$(( orphans_total + n ))
        if [ "$n" = 0 ] && on $x plan --detailed-exitcode >/dev/null 2>&1 &&
           on $x state pull --force "$T_DIR/pulled.db" >/dev/null 2>&1; then
            a_rec=$((a_rec + 1))
        else
            bad=1; echo "# cycle $c: apply killed at $ms ms on $x: $n orphans, or $x's plan is not a no-op, or the pull failed"
        fi
    else
        bad=1; echo "# cycle $c: apply killed at $ms ms on $x, then $y's apply failed:"; sed 's/^/#   | /' rec.out | tail -5
    fi
    ms=$(( RANDOM % (T_DESTROY * 11 / 10 + 1) ))
    d_landed=$(( d_landed + $(killed $y "$ms" destroy --auto-approve) ))
    t0=$(date +%s%N)
    if on $x destroy --auto-approve --lock-timeout 30s >rec.out 2>&1; then
        rec=$(( ($(date +%s%N) - t0) / 1000000 )); [ "$rec" -gt "$max_rec" ] && max_rec=$rec
        left=$(files)
        if [ "$left" = 0 ] && [ -z "$(on $y state list 2>/dev/null | grep null_resource)" ]; then
            d_rec=$((d_rec + 1))
        else
            bad=1; echo "# cycle $c: destroy killed at $ms ms on $y: $left files left, or state not empty"
        fi
    else
        bad=1; echo "# cycle $c: destroy killed at $ms ms on $y, then $x's destroy failed:"; sed 's/^/#   | /' rec.out | tail -5
    fi
done
check "apply killed $CYCLES times ($a_landed landed mid-run): each time the other machine's apply completed, 0 orphans, a no-op plan, the state pulls whole" \
    test "$bad" = 0 -a "$a_rec" = "$CYCLES"
check "destroy killed $CYCLES times ($d_landed landed mid-run): each time the other machine's destroy completed and left nothing" \
    test "$bad" = 0 -a "$d_rec" = "$CYCLES"
cmd="RELIABILITY_TRIALS=$CYCLES RELIABILITY_SEED=$SEED bash tests/reliability/kill9_team.sh"
rel_figure "apply kills (landed during the apply)" "$CYCLES ($a_landed)" "$cmd"
rel_figure "apply recoveries completed from the other machine (0 orphans, no-op plan, whole pull)" "$a_rec" "$cmd"
rel_figure "destroy kills (landed during the destroy)" "$CYCLES ($d_landed)" "$cmd"
rel_figure "destroy recoveries completed from the other machine (nothing left)" "$d_rec" "$cmd"
rel_figure "orphans found (total)" "$orphans_total" "$cmd"
rel_figure "max ms to recover (the other machine's run, lease wait included)" "$max_rec" "$cmd"
rel_figure "clean apply / destroy length (ms, the kill window)" "$T_APPLY / $T_DESTROY" "$cmd"
t_done
