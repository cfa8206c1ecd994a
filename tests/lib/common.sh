# common.sh: shared by the shell suites. Each suite sources it, calls t_setup, and reports each
# check as "ok - NAME" or "not ok - NAME"; tests/run counts those lines.
set -u
T_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MESH=${MESH_BIN:-$T_TESTS/../mesh}
# Debian's python3 starts in 20 ms; a pyenv shim takes half a second, which a loop of 100 feels.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
GEN="$PY $T_TESTS/lib/genspec.py"
# helm as mesh finds it (docs/helm.md): MESH_HELM, else bin/helm of the checkout (`make deps`),
# else PATH. The suites run a copy of mesh from a temporary folder, beside which no bin/ is.
if [ -z "${MESH_HELM:-}" ] && [ -x "$T_TESTS/../bin/helm" ]; then
    MESH_HELM="$(cd "$T_TESTS/.." && pwd)/bin/helm"
    export MESH_HELM
fi
T_FAILED=0
T_PASSED=0

t_setup() {
    T_DIR=$(mktemp -d /tmp/mesh-test.XXXXXX)
    export HOME="$T_DIR/home" XDG_CONFIG_HOME="$T_DIR/home/.config" NO_COLOR=1
    mkdir -p "$HOME"
    unset MESH_STATE MESH_FAULTS MESH_STATE_KEY MESH_NULL_STORE
    trap t_cleanup EXIT
    cd "$T_DIR" || exit 1
}

# t_tmpfs DIR: an 8 MB tmpfs mounted on DIR (made if missing), unmounted by t_cleanup. Where it
# cannot be mounted (not root), the suite ends there: a SKIP, but a failure under CI, which runs
# as root (a skip there would hide a broken test).
T_MOUNTS=()
t_tmpfs() {
    mkdir -p "$1"
    if ! mount -t tmpfs -o size=8M tmpfs "$1" 2>/dev/null; then
        if [ -n "${CI:-}" ]; then not_ok "cannot mount a tmpfs (CI runs as root, so this should work)"
        else ok "# SKIP cannot mount a tmpfs here (not root?)"; fi
        t_done
        exit
    fi
    T_MOUNTS+=("$1")
}

t_cleanup() {
    local pids m
    pids=$(jobs -p)
    [ -n "$pids" ] && kill -9 $pids 2>/dev/null
    cd /
    for m in "${T_MOUNTS[@]}"; do umount "$m" 2>/dev/null; done
    rm -rf "$T_DIR"
}

ok() { echo "ok - $*"; T_PASSED=$((T_PASSED + 1)); }
not_ok() { echo "not ok - $*"; T_FAILED=$((T_FAILED + 1)); }

# check NAME CMD...: ok when CMD succeeds.
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# kout NAME WANT_REGEX CMD...: CMD succeeds and its output matches WANT_REGEX
kout() {
    local name=$1 want=$2 out
    shift 2
    if out=$("$@" 2>&1) && grep -Eq -- "$want" <<<"$out"; then ok "$name"
    else not_ok "$name"; sed 's/^/    | /' <<<"$out" | tail -15; fi
}
# kfail NAME WANT_REGEX CMD...: CMD fails and says WANT_REGEX
kfail() {
    local name=$1 want=$2 out
    shift 2
    if ! out=$("$@" 2>&1) && grep -Eq -- "$want" <<<"$out"; then ok "$name"
    else not_ok "$name"; sed 's/^/    | /' <<<"$out" | tail -15; fi
}
# expect_rc NAME RC CMD...: ok when CMD exits with RC.
expect_rc() {
    local name=$1 want=$2
    shift 2
    "$@" >"$T_DIR/last.out" 2>"$T_DIR/last.err"
    local rc=$?
    if [ "$rc" = "$want" ]; then ok "$name"; else
        not_ok "$name (exit $rc, want $want)"
        sed 's/^/    | /' "$T_DIR/last.out" "$T_DIR/last.err" | tail -20
    fi
}

# Canonical dump of state: address, deposed, inputs, outputs (sensitive redacted), sorted.
state_dump() {
    "$MESH" state list --json "$@" | $PY -c '
import json, sys
rows = []
for line in sys.stdin:
    ev = json.loads(line)
    if ev.get("type") != "resource": continue
    ev.pop("time", None)
    rows.append(json.dumps(ev, sort_keys=True))
print("\n".join(sorted(rows)))'
}

# The null store as "address id" lines, sorted.
store_dump() {
    $PY - "$1" <<'PY'
import json, os, sys
d = sys.argv[1]
out = []
for f in os.listdir(d) if os.path.isdir(d) else []:
    if f.endswith(".json"):
        doc = json.load(open(os.path.join(d, f)))
        out.append("%s %s %s" % (doc["address"], doc["id"], json.dumps(doc["attributes"], sort_keys=True)))
print("\n".join(sorted(out)))
PY
}

# Objects in the null store that state does not hold (orphans).
orphans() {
    local store=$1
    shift
    $PY - "$store" <(state_dump "$@") <<'PY'
import json, os, sys
d, dump = sys.argv[1], sys.argv[2]
ids = set()
for line in open(dump):
    line = line.strip()
    if line: ids.add(json.loads(line)["outputs"].get("id"))
n = 0
for f in os.listdir(d) if os.path.isdir(d) else []:
    if f.endswith(".json") and f[:-5] not in ids:
        n += 1
print(n)
PY
}

t_done() {
    echo "# $(basename "$0"): $T_PASSED passed, $T_FAILED failed"
    [ "$T_FAILED" -eq 0 ]
}
