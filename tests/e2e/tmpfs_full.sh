# tmpfs_full.sh: issue 9's repro with a real full disk. The state lives on a small tmpfs filled
# up to a few hundred KB; an apply of 1,000 null resources runs out of space mid-run. The run must
# stay open, the next plan must show the pending recovery (--detailed-exitcode: 2), and once space
# is back one apply must recover it: as many objects in the null store as rows in state, 0 orphans.
# Needs root (mount); journal.sh covers the same logic without it.
. "$(dirname "$0")/../lib/common.sh"
t_setup
t_tmpfs "$T_DIR/mnt"   # journal.sh covers failed writes with triggers where it cannot be mounted
export MESH_NULL_STORE="$T_DIR/store"
$GEN tree 1 > one.yaml
$GEN tree 1000 > tree.yaml
state="$T_DIR/mnt/s/state.db"
rows() { sqlite3 "$state" "SELECT count(*) FROM resources"; }
objects() { ls "$MESH_NULL_STORE" | wc -l; }
bad=0 runs=0
for free in 200 500 1000; do
    rm -rf "$T_DIR/mnt/"* "$MESH_NULL_STORE" && mkdir -p "$MESH_NULL_STORE"
    "$MESH" apply -f one.yaml --state "$state" --auto-approve >/dev/null 2>&1 || { echo "# setup apply failed"; bad=1; }
    avail=$(df -k --output=avail "$T_DIR/mnt" | tail -1)
    dd if=/dev/zero of="$T_DIR/mnt/filler" bs=1K count=$((avail - free)) 2>/dev/null
    "$MESH" apply -f tree.yaml --state "$state" --auto-approve >a.txt 2>&1
    rc=$?
    echo "# ${free} KB free: apply exited $rc with $(objects) objects for $(rows) rows"
    [ $rc = 1 ] && grep -q 'disk full\|database or disk is full' a.txt || { echo "# the disk did not fill (WAL checkpoints vary)"; continue; }
    runs=$((runs + 1))
    grep -q 'stays open in the journal' a.txt || { echo "# no word that the run stays open"; bad=1; }
    rm -f "$T_DIR/mnt/filler"
    "$MESH" plan -f tree.yaml --state "$state" --detailed-exitcode >p.txt 2>&1
    prc=$?
    [ $prc = 2 ] && grep -q 'was cut off' p.txt || { echo "# plan exited $prc without the recovery"; bad=1; }
    "$MESH" apply -f tree.yaml --state "$state" --auto-approve >r.txt 2>&1 || { echo "# recovering apply failed"; tail -3 r.txt; bad=1; }
    o=$(orphans "$MESH_NULL_STORE" -f tree.yaml --state "$state")
    echo "# after the recovering apply: $(objects) objects, $(rows) rows, $o orphans"
    [ "$o" = 0 ] && [ "$(objects)" = 1000 ] && [ "$(rows)" = 1000 ] || bad=1
done
check "disk full mid-apply: the run stays open, plan exits 2, one apply recovers with 0 orphans ($runs runs)" test $bad = 0
check "disk full: at least two of the three applies filled the disk" test $runs -ge 2
t_done
