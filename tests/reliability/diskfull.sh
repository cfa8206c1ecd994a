#!/usr/bin/env bash
# diskfull.sh: disk full and read-only state with real API calls (the AWS harness), where
# tests/e2e/tmpfs_full.sh and journal.sh use null resources. The state lives on an 8 MB tmpfs.
#   disk full: the tmpfs is filled to a few KB before an apply of a VPC and a dozen security
#     groups (one worker, MESH_LOG=debug so every request is logged in order). The apply must fail
#     saying the disk is full, start no AWS request after the first failed state write (the debug
#     log's order), and stay open; once space is back, one apply converges, a second plan is
#     empty, and a destroy leaves 0 orphans in the harness (nothing made was forgotten).
#   read-only: the tmpfs remounted read-only; an apply that would add a group must fail with a
#     clear error naming the file and make no AWS call (the proxy's /__stats count does not move);
#     once writable again the state is intact. (SQLite cannot open a WAL database on a read-only
#     file system at all, so nothing, not even `mesh state list`, reads it meanwhile.)
# Needs root (mount), as tmpfs_full.sh; CI runs as root, so there a failed mount fails.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"
. "$T_TESTS/harness/aws/harness.sh"
t_setup
T0=$SECONDS
t_tmpfs "$T_DIR/mnt"
export MESH_BACKOFF_SCALE=0.01
aws_harness_suite || { not_ok "the AWS harness starts"; exit 1; }
echo "# [${SECONDS}s] harness up"
STATE="$T_DIR/mnt/s/state.db"
calls() { curl -s "$PROXY_URL/__stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }
spec() {  # N: a VPC and N security groups in it
    echo "mesh: {name: diskfull, region: us-west-2}"
    echo "resources:"
    echo "  aws_vpc.main: {cidr_block: 10.7.0.0/16, assign_generated_ipv6_cidr_block: false}"
    for i in $(seq 1 "$1"); do
        echo "  aws_security_group.g$i: {name: diskfull-g$i, description: group $i, vpc_id: \"\${aws_vpc.main.id}\"}"
    done
}
spec 0 >one.yaml
spec 12 >full.yaml
spec 13 >more.yaml

# ---- disk full ----
filled=0 bad=""
for free in 64 160 24; do
    rm -rf "$T_DIR/mnt/"*
    "$MESH" apply -f one.yaml --state "$STATE" --auto-approve >setup.out 2>&1 || { bad="$bad setup-apply"; tail -3 setup.out; }
    avail=$(df -k --output=avail "$T_DIR/mnt" | tail -1)
    dd if=/dev/zero of="$T_DIR/mnt/filler" bs=1K count=$((avail - free)) 2>/dev/null
    before=$(calls)
    MESH_LOG=debug "$MESH" apply -f full.yaml --state "$STATE" --auto-approve --parallelism 1 >full.out 2>full.err
    rc=$?
    after=$(calls)
    echo "# [${SECONDS}s] ${free} KB free: apply exited $rc after $((after - before)) AWS requests"
    if [ "$rc" = 1 ] && grep -Eq 'disk full|database or disk is full' full.err full.out; then
        filled=1
        break
    fi
    "$MESH" destroy -f full.yaml --state "$STATE" --auto-approve >/dev/null 2>&1
    rm -f "$T_DIR/mnt/filler"
    "$MESH" destroy -f full.yaml --state "$STATE" --auto-approve >/dev/null 2>&1
done
check "disk full: an apply with AWS calls ran out of space and failed saying so" test "$filled" = 1
if [ "$filled" = 1 ]; then
    # The first line about the failed write, then: no request started after it.
    $PY - full.err <<'PY' >order.txt
import re, sys
lines = open(sys.argv[1], errors="replace").read().splitlines()
first = next((i for i, l in enumerate(lines) if re.search(r"disk full|database or disk is full", l)), None)
req = re.compile(r"^http: > (GET|POST|PUT|PATCH|DELETE|HEAD) ")
made = [l for l in lines if req.match(l)]
after = [l for l in lines[first + 1:] if req.match(l)] if first is not None else []
print(len(made), len(after))
for l in after[:5]: print("   ", l)
PY
    read -r made_n after_n <order.txt
    echo "# $made_n AWS requests before the failed state write, $after_n after it"
    rel_figure "AWS requests started after the failed state write" "$after_n" "bash tests/reliability/diskfull.sh"
    check "disk full: no AWS request starts after the failed state write" test "$after_n" = 0
    grep -q 'stays open in the journal' full.err full.out && ok "disk full: the run says it stays open" \
        || { not_ok "disk full: the run says it stays open"; grep -i 'error' full.err | tail -5 | sed 's/^/    | /'; }
    rm -f "$T_DIR/mnt/filler"
    "$MESH" plan -f full.yaml --state "$STATE" --detailed-exitcode >p.txt 2>&1
    prc=$?
    [ "$prc" = 2 ] && ok "disk full: the next plan shows the open run (exit 2)" || { not_ok "disk full: the next plan exits 2 (got $prc)"; tail -5 p.txt | sed 's/^/    | /'; }
    expect_rc "disk full: space back, one apply converges" 0 "$MESH" apply -f full.yaml --state "$STATE" --auto-approve
    expect_rc "disk full: then the plan is empty" 0 "$MESH" plan -f full.yaml --state "$STATE" --detailed-exitcode
fi
echo "# [${SECONDS}s] disk full done"

# ---- read-only state ----
[ -s "$STATE" ] || "$MESH" apply -f full.yaml --state "$STATE" --auto-approve >/dev/null 2>&1
sync
if mount -o remount,ro "$T_DIR/mnt"; then
    before=$(calls)
    "$MESH" apply -f more.yaml --state "$STATE" --auto-approve >ro.out 2>&1
    rc=$?
    after=$(calls)
    echo "# [${SECONDS}s] read-only state: apply exited $rc after $((after - before)) AWS requests"
    grep -iE 'error' ro.out | head -3 | sed 's/^/# /'
    rel_figure "AWS requests of an apply on a read-only state" "$((after - before))" "bash tests/reliability/diskfull.sh"
    check "read-only state: the apply fails" test "$rc" != 0
    check "read-only state: it makes no AWS call" test "$((after - before))" = 0
    grep -Eiq 'read-only|readonly|read only|permission|writable' ro.out && grep -Fq "$STATE" ro.out && ok "read-only state: the error names the file and why" \
        || { not_ok "read-only state: the error names the file and why"; sed 's/^/    | /' ro.out | tail -5; }
    mount -o remount,rw "$T_DIR/mnt"
    check "read-only state: intact once writable again (PRAGMA integrity_check)" test "$(sqlite3 "$STATE" 'PRAGMA integrity_check')" = ok
    kout "read-only state: state lists what the converged apply made" 'aws_security_group.g12' "$MESH" state list --state "$STATE"
else
    not_ok "the tmpfs remounts read-only"
fi

expect_rc "destroy" 0 "$MESH" destroy -f more.yaml --state "$STATE" --auto-approve
o=$(aws_harness_orphans | tail -1)
rel_figure "orphans after disk full, recovery and destroy" "$o" "bash tests/reliability/diskfull.sh"
check "0 orphans in the harness (nothing made was forgotten)" test "$o" = 0
rel_figure "disk-full suite seconds" "$((SECONDS - T0))" "bash tests/reliability/diskfull.sh"
echo "# [${SECONDS}s] done"
[ "$T_FAILED" -eq 0 ]
