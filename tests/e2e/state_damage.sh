# state_damage.sh: a damaged state is an error, never a new state, a crash or a silent orphan: an
# empty file, a row with a NULL address or garbage columns, and 100 random byte flips.
. "$(dirname "$0")/../lib/common.sh"
t_setup
export MESH_NULL_STORE="$T_DIR/store"
mkdir -p "$MESH_NULL_STORE"
cat > mesh.yaml <<'EOF'
resources:
  null_resource.r0: {triggers: {k: "zero"}}
  null_resource.r1: {triggers: {parent: "${null_resource.r0.id}"}, input: "one"}
  null_resource.r2: {triggers: {parent: "${null_resource.r0.id}"}}
  null_resource.r3: {triggers: {parent: "${null_resource.r1.id}"}, sensitive_triggers: {pw: "hunter2"}}
  null_resource.r4: {triggers: {parent: "${null_resource.r2.id}"}}
  null_resource.r5: {depends_on: [null_resource.r4]}
EOF
expect_rc "the first apply" 0 "$MESH" apply --auto-approve
cp -a .mesh pristine.mesh
cp -a "$MESH_NULL_STORE" pristine.store
reset_all() {
    rm -rf .mesh "$MESH_NULL_STORE"
    cp -a pristine.mesh .mesh
    cp -a pristine.store "$MESH_NULL_STORE"
}
world_unchanged() { test "$(ls "$MESH_NULL_STORE" | sort)" = "$(ls pristine.store | sort)"; }
no_crash() { ! grep -qE 'AddressSanitizer|runtime error|Segmentation|SIGSEGV|Assertion|core dumped' last.err; }

# --- an empty file where the state was
: > .mesh/state.db
expect_rc "apply on a 0-byte state fails" 1 "$MESH" apply --auto-approve
check "the error names the state file" grep -q '\.mesh/state.db' last.err
check "the error says it is empty" grep -q 'the state file is empty (0 bytes)' last.err
check "the error names --force-new-state" grep -q -- '--force-new-state' last.err
check "nothing was created in the world" world_unchanged
check "the file is left as it was (0 bytes)" test ! -s .mesh/state.db
expect_rc "plan on a 0-byte state fails too" 1 "$MESH" plan
expect_rc "apply --force-new-state starts over" 0 "$MESH" apply --auto-approve --force-new-state
check "it created the resources anew" test "$(ls "$MESH_NULL_STORE" | wc -l)" = 12
reset_all

# --- a row whose address is NULL (a well-formed record, as a damaged file can hold)
$PY - .mesh/state.db <<'PY'
import sys
# Makes the address of null_resource.r0's row NULL while keeping the record well formed, the
# way a damaged file can hold one (a NULL key sorts first, and r0 is the first row anyway).
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
d = b.find(b"null_resource.r0null_resource{")
assert d > 0, "row not found"

def varint(i):
    v = 0
    for k in range(9):
        v = (v << 7) | (b[i + k] & 0x7f)
        if not b[i + k] & 0x80:
            return v, i + k + 1

def size(t):
    return {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8, 7: 8, 8: 0, 9: 0}[t] if t < 12 else (t - 12) // 2

for hl in range(8, 30):     # the header ends where the data begins, its first type is the address
    h = d - hl
    if b[h] != hl or b[h + 1] != 13 + 2 * 16:
        continue
    i, total = h + 1, hl
    while i < d:
        t, i = varint(i)
        total += size(t)
    if i == d:
        break
else:
    raise SystemExit("record header not found")
for n in (1, 2, 3):        # the payload size varint just before the record
    if b[h - n - 1] & 0x80 == 0 or n == 3:
        v, end = varint(h - n)
        if end == h and v == total:
            break
else:
    raise SystemExit("payload size not found")
nv = total - 16
enc = [nv & 0x7f]
for _ in range(n - 1):
    nv >>= 7
    enc.insert(0, 0x80 | (nv & 0x7f))
b[h - n:h] = bytes(enc)
b[h + 1] = 0                                    # the address's serial type: NULL
b[d:h + total] = b[d + 16:h + total] + bytes(16)  # and its 16 bytes of data gone
open(p, "wb").write(b)
PY
check "the row's address is NULL now" test "$(sqlite3 .mesh/state.db "SELECT count(*) FROM resources WHERE quote(address) = 'NULL'")" = 1
for cmd in "plan" "state list" "apply --auto-approve"; do
    expect_rc "$cmd with a NULL address fails" 1 "$MESH" $cmd
    check "$cmd: a clear error" grep -qE 'Error: .*(the row of \(an unreadable address\) has no valid address|the state file is damaged \(SQLite.s quick_check: )' last.err
    check "$cmd: no crash" no_crash
done
check "the error says the state is damaged" grep -qE 'state (file )?is damaged' last.err
check "nothing changed in the world" world_unchanged
reset_all

# --- garbage in a row: an id changed behind mesh's back would look like a deleted object
sqlite3 .mesh/state.db "UPDATE resources SET outputs = '{\"id\":\"null-0000000000000000\",\"output\":\"one\"}' WHERE address = 'null_resource.r1'"
expect_rc "apply with a changed id fails" 1 "$MESH" apply --auto-approve
check "it names the row and its checksum" grep -q 'the row of null_resource.r1 does not match its checksum' last.err
check "no second object was made (no orphan)" world_unchanged
reset_all
sqlite3 .mesh/state.db "UPDATE resources SET sum = NULL, inputs = '[1,2]' WHERE address = 'null_resource.r2'"
expect_rc "apply with inputs that are not an object fails" 1 "$MESH" apply --auto-approve
check "it says so" grep -q 'inputs is not an object' last.err
check "no crash" no_crash
reset_all

# --- 100 random byte flips: each apply either errs clearly (world untouched) or is correct.
# Two at a time, each in its own copy (spec, state, null store).
$PY - "$MESH" <<'PY' > flips.txt
import json, os, random, shutil, sqlite3, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
mesh = sys.argv[1]
rnd = random.Random(20261205)
pristine = open("pristine.mesh/state.db", "rb").read()
world0 = sorted(os.listdir("pristine.store"))
# half the flips land on row data (addresses, ids, JSON), half anywhere in the file
hot = [i for i in range(len(pristine)) if pristine[i:i + 5] in (b"null_", b"null-")]
flips = []
for n in range(100):
    off = rnd.choice(hot) + rnd.randrange(-24, 40) if n % 2 else rnd.randrange(len(pristine))
    flips.append((n, max(0, min(len(pristine) - 1, off)), rnd.randrange(1, 256)))

def one(flip):
    n, off, x = flip
    d = "flip%d" % (n % 2)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    shutil.copy("mesh.yaml", d)
    shutil.copytree("pristine.mesh", d + "/.mesh")
    shutil.copytree("pristine.store", d + "/store")
    b = bytearray(pristine)
    b[off] ^= x
    open(d + "/.mesh/state.db", "wb").write(b)
    env = dict(os.environ, MESH_NULL_STORE=os.path.abspath(d + "/store"))
    r = subprocess.run([mesh, "apply", "--auto-approve"], cwd=d, env=env, capture_output=True, text=True, errors="replace", timeout=120)
    if r.returncode not in (0, 1) or any(s in r.stderr for s in ("Sanitizer", "runtime error", "Segmentation")):
        return "crash", "crash at offset %d: rc %d: %s" % (off, r.returncode, r.stderr[-300:])
    world = sorted(os.listdir(d + "/store"))
    if r.returncode == 1:
        if "Error: " not in r.stderr:
            return "crash", "silent failure at offset %d" % off
        if world != world0:
            return "orphan", "failed and changed the world at offset %d: %s" % (off, r.stderr[-300:])
        return "errors", None
    # success: state and world agree, one object per row
    db = sqlite3.connect(d + "/.mesh/state.db")
    ids = sorted(json.loads(o)["id"] + ".json" for (o,) in db.execute("SELECT outputs FROM resources"))
    db.close()
    if ids != world:
        return "orphan", "silent orphan at offset %d: state %s, world %s" % (off, ids, world)
    return "ok", None

counts = {"crash": 0, "orphan": 0, "errors": 0, "ok": 0}
with ThreadPoolExecutor(2) as pool:
    # two workers, each on its own directory: flips of even n go to flip0, odd to flip1
    evens, odds = [f for f in flips if f[0] % 2 == 0], [f for f in flips if f[0] % 2]
    def run_all(fs):
        return [one(f) for f in fs]
    for results in pool.map(run_all, [evens, odds]):
        for kind, msg in results:
            counts[kind] += 1
            if msg: print(msg)
print("summary crash=%(crash)d orphan=%(orphan)d errors=%(errors)d ok=%(ok)d" % counts)
PY
sed 's/^/    # /' flips.txt | tail -6
check "100 flips: no crash" grep -q 'summary crash=0 ' flips.txt
check "100 flips: no silent orphan and no change to the world on an error" grep -q ' orphan=0 ' flips.txt
check "100 flips: some were caught as errors, some were harmless" grep -qE 'errors=[1-9][0-9]* ok=[1-9]' flips.txt
t_done
