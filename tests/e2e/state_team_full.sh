# state_team_full.sh: team state (issue 14) when the local disk fills. Machine A's working copy
# (.mesh/, where the cache of the S3 state lives) is a small tmpfs left with a few hundred KB; an
# apply of 1,000 null resources to S3 state runs out of space mid-run. It must fail saying so,
# with nothing on S3 that the world does not back: machine B's plan then shows the run to recover,
# and B's apply recovers it with 0 orphans. Once space is back, A's plan of it is a no-op. Needs
# root (mount), as tmpfs_full.sh.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/aws/harness.sh"
t_setup
mkdir -p A/home B/home
t_tmpfs "$T_DIR/A/.mesh"
aws_harness_suite || { not_ok "the AWS harness started"; t_done; exit 1; }
export AWS_S3_USE_PATH_STYLE=true MESH_BACKOFF_SCALE=0.01 MESH_STATE_KEY=$(head -c 32 /dev/urandom | base64)
export MESH_NULL_STORE="$T_DIR/world"
mkdir -p "$MESH_NULL_STORE"
awsq s3api create-bucket --bucket mesh-full --create-bucket-configuration LocationConstraint=us-west-2 >/dev/null
awsq s3api put-bucket-versioning --bucket mesh-full --versioning-configuration Status=Enabled
awsq dynamodb create-table --table-name mesh-locks --attribute-definitions AttributeName=LockID,AttributeType=S \
    --key-schema AttributeName=LockID,KeyType=HASH --billing-mode PAY_PER_REQUEST >/dev/null
for m in A B; do
    { printf 'state: {backend: s3, bucket: mesh-full, key: full.state, lock_table: mesh-locks}\n'
      $GEN tree 1000; } >"$m/mesh.yaml"
done
on() { local m=$1; shift; (cd "$T_DIR/$m" && HOME="$T_DIR/$m/home" "$MESH" "$@"); }
objects() { ls "$MESH_NULL_STORE" | wc -l; }
# a first small state, so that the run below starts from a base and a cache
sed -n '1p' A/mesh.yaml >A/one.yaml && $GEN tree 1 >>A/one.yaml
expect_rc "A applies one resource to team state" 0 on A apply -f one.yaml --auto-approve
avail=$(df -k --output=avail "$T_DIR/A/.mesh" | tail -1)
dd if=/dev/zero of="$T_DIR/A/.mesh/filler" bs=1K count=$((avail - 300)) 2>/dev/null
on A apply --auto-approve >a.out 2>a.err
rc=$?
echo "# A's apply with ~300 KB free exited $rc; $(objects) objects in the world"
check "A's apply on a full disk fails" test "$rc" = 1
check "saying the disk is full" grep -q 'disk full\|database or disk is full\|No space left' a.err
check "no crash" sh -c "! grep -q 'AddressSanitizer\|runtime error' a.err"
sed "s/^/    | /" a.err | head -4; tail -1 a.out | sed "s/^/    | /"
expect_rc "B's plan (another machine) shows what to recover or do" 2 on B plan --detailed-exitcode
expect_rc "B's apply recovers and completes" 0 on B apply --auto-approve
held=$(on B state list | wc -l)
check "0 orphans: the world holds as many objects as state ($(objects) / $held)" test "$(objects)" = "$held" -a "$held" = 1000
rm -f "$T_DIR/A/.mesh/filler"
expect_rc "space back, A's plan is a no-op" 0 on A plan --detailed-exitcode
expect_rc "and A destroys it all" 0 on A destroy --auto-approve
check "nothing left in the world" test "$(objects)" = 0
t_done
