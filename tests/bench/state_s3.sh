#!/usr/bin/env bash
# state_s3.sh: what team state costs (issue 14). The same tree of N null resources (fan-out 4,
# tests/lib/genspec.py) applied from empty, planned with no change, and destroyed, once with a
# local state file and twice with state on S3 (moto behind the harness proxy, a DynamoDB lease and
# a KMS-wrapped key): "s3-first" is the first writing run of that configuration in the directory
# (it also makes the backend's once-a-day checks), "s3" a run after it; then "local-store" and
# "s3-store", the same with MESH_NULL_STORE (each resource also a file outside the state, as an AWS
# object is: its intents must reach S3 before the call); at N = 1,000 and 10,000. Prints wall and CPU seconds of each command, the
# S3-over-local ratio of the apply (issue 14's target: under 2x), and the requests each command
# made to S3, DynamoDB and KMS (counted by the proxy), per resource for the apply; the no-op
# plan's own requests are listed (target: one GET of the state plus the lease). Not a timed test:
# exits 0 whatever the figures; 1 only if it cannot run.
#
#   BENCH_STATE_SIZES="1000 10000"   sizes
#   MESH_BIN                          the binary (default build/bench/mesh, else ./mesh)
#   BENCH_REPEAT=3                    cycles of local and s3 (the median is printed)
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
MESH=${MESH_BIN:-$ROOT/build/bench/mesh}
[ -x "$MESH" ] || MESH=$ROOT/mesh
[ -x "$MESH" ] || { echo "bench: no mesh binary (make mesh)" >&2; exit 1; }
command -v moto_server >/dev/null || { echo "bench: moto_server is missing (make deps)" >&2; exit 1; }
SIZES=${BENCH_STATE_SIZES:-"1000 10000"}
T=$(mktemp -d /tmp/mesh-bench-state.XXXXXX)
source "$ROOT/tests/harness/aws/harness.sh"
# The store's files on tmpfs where there is one: on ext4, creating 10,000 files in a directory
# where 10,000 were just deleted spins on the inode allocator (seconds), which is not the state's cost.
WORLD=$(mktemp -d /dev/shm/mesh-bench-world.XXXXXX 2>/dev/null || mktemp -d "$T/world.XXXXXX")
trap 'aws_harness_stop "$T/harness"; rm -rf "$T" "$WORLD"' EXIT
export HOME="$T/home" NO_COLOR=1
mkdir -p "$HOME"
aws_harness_start "$T/harness" >/dev/null 2>&1 || { echo "bench: the AWS harness did not start" >&2; exit 1; }
for v in $(env | grep -o '^AWS_[A-Z_]*'); do unset "$v"; done
export AWS_ENDPOINT_URL="$PROXY_URL" AWS_ACCESS_KEY_ID=AKIDMESHTEST AWS_SECRET_ACCESS_KEY=mesh-bench-secret
export AWS_REGION=us-west-2 AWS_DEFAULT_REGION=us-west-2 AWS_EC2_METADATA_DISABLED=true AWS_S3_USE_PATH_STYLE=true
awsq s3api create-bucket --bucket mesh-bench --create-bucket-configuration LocationConstraint=us-west-2 >/dev/null
awsq s3api put-bucket-versioning --bucket mesh-bench --versioning-configuration Status=Enabled
awsq dynamodb create-table --table-name mesh-locks --attribute-definitions AttributeName=LockID,AttributeType=S \
    --key-schema AttributeName=LockID,KeyType=HASH --billing-mode PAY_PER_REQUEST >/dev/null
KMS_KEY=$(awsq kms create-key --query KeyMetadata.KeyId)

# run WHAT CMD...: runs mesh in $T/w, prints "WALL CPU" (seconds) and keeps the request counts
# the proxy saw in $T/req-WHAT ("svc Action count" lines)
run() {
    local what=$1; shift
    curl -s -X POST "$PROXY_URL/__reset" >/dev/null
    (cd "$T/w" && /usr/bin/time -f '%e %U %S' -o "$T/time" "$MESH" "$@" >"$T/out" 2>&1) ||
        { echo "bench: mesh $* failed:" >&2; tail -5 "$T/out" >&2; }
    curl -s "$PROXY_URL/__stats" | python3 -c 'import json,sys
for k, v in sorted(json.load(sys.stdin)["by_action"].items()): print(k, v)' >"$T/req-$what"
    awk '{printf "%s %.2f", $1, $2 + $3}' "$T/time"
}
requests() { awk '{n += $NF} END {print n + 0}' "$T/req-$1"; }

REPEAT=${BENCH_REPEAT:-3}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
printf '%-8s %-11s %-8s %10s %10s %10s %10s   %s\n' "N" "state" "command" "wall s" "cpu s" "requests" "req/res" "wall s of each cycle"
for n in $SIZES; do
    rm -rf "$T/w" && mkdir -p "$T/w"
    python3 "$ROOT/tests/lib/genspec.py" tree "$n" --fanout 4 >"$T/tree.yaml"
    declare -A wall=()
    # s3-first: the first writing run of a configuration on a machine also checks the bucket, the
    # lock table and versioning (3 requests, then once a day): one cycle; local and s3 (the runs
    # after it): BENCH_REPEAT cycles, the median printed
    for mode in local s3-first s3 local-store s3-store; do
        # *-store: every null resource is also a file in MESH_NULL_STORE, an object outside the
        # state as an AWS resource is, so each batch's intents wait for their log on S3
        unset MESH_NULL_STORE
        case $mode in *-store) rm -rf "$WORLD" && mkdir -p "$WORLD" && export MESH_NULL_STORE="$WORLD" ;; esac
        if [ "${mode%-store}" = local ]; then
            rm -f "$T/w/.mesh/state.db"*   # each local mode from a new state file
            cp "$T/tree.yaml" "$T/w/mesh.yaml"
        else
            { printf 'state: {backend: s3, bucket: mesh-bench, key: "bench/%s.state", lock_table: mesh-locks, kms_key_id: "%s"}\n' \
                "$n" "$KMS_KEY"; cat "$T/tree.yaml"; } >"$T/w/mesh.yaml"
        fi
        reps=$REPEAT
        [ "$mode" = s3-first ] && reps=1
        declare -A ws=() cs=()
        for _ in $(seq 1 "$reps"); do
            for cmd in apply plan destroy; do
                args=(--auto-approve)
                [ "$cmd" = plan ] && args=(--detailed-exitcode)
                read -r w c <<<"$(run "$mode-$cmd-$n" "$cmd" "${args[@]}")"
                ws[$cmd]="${ws[$cmd]:-} $w" cs[$cmd]="${cs[$cmd]:-} $c"
            done
        done
        for cmd in apply plan destroy; do
            w=$(echo "${ws[$cmd]}" | median) c=$(echo "${cs[$cmd]}" | median)
            wall[$mode-$cmd]=$w
            r=$(requests "$mode-$cmd-$n")
            printf '%-8s %-11s %-8s %10s %10s %10s %10s  %s\n' "$n" "$mode" "$cmd" "$w" "$c" "$r" \
                "$(awk -v r="$r" -v n="$n" 'BEGIN {printf "%.3f", r / n}')" "${ws[$cmd]}"
        done
    done
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / (b > 0 ? b : 0.01)}'; }
    echo "# N=$n: S3 apply / local apply = $(ratio "${wall[s3-apply]}" "${wall[local-apply]}") (target < 2x)"
    echo "# N=$n: with an outside object per resource (MESH_NULL_STORE; intents wait for S3): $(ratio "${wall[s3-store-apply]}" "${wall[local-store-apply]}")"
    echo "# N=$n: the no-op plan's requests against S3 state:"
    sed 's/^/#   /' "$T/req-s3-plan-$n"
    echo "# N=$n: the apply's requests against S3 state:"
    sed 's/^/#   /' "$T/req-s3-apply-$n"
    echo "# N=$n: with an outside object per resource:"
    sed 's/^/#   /' "$T/req-s3-store-apply-$n"
done
exit 0
