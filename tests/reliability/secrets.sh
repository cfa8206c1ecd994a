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

# Watches a running mesh: every descendant's argv and environment once it has exec'd (a forked
# child shows mesh's own until then), the files under $TMPDIR and the state's -wal, as copies
# under $PROBE for the scan.
cat >"$PROBE/poll.py" <<'PY'
import hashlib, os, sys, time
root, probe, tmpdir, wal = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def read(p):
    try:
        with open(p, "rb") as f: return f.read()
    except OSError: return None
def stat(pid):
    s = read("/proc/%d/stat" % pid)
    if not s: return None
    s = s.decode(errors="replace"); f = s[s.rindex(")") + 2:].split()
    return f[0], int(f[1])
root_cmd = read("/proc/%d/cmdline" % root)
seen, kept, helm = set(), set(), 0
def keep(kind, data):
    d = hashlib.sha1(data).hexdigest()
    if (kind, d) in kept: return
    kept.add((kind, d))
    with open(os.path.join(probe, kind, d), "wb") as f: f.write(data)
while True:
    st = stat(root)
    if not st or st[0] == "Z": break
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            s = stat(int(d))
            if s: kids.setdefault(s[1], []).append(int(d))
    todo, desc = [root], []
    while todo:
        for c in kids.get(todo.pop(), []):
            desc.append(c); todo.append(c)
    for pid in desc:
        cmd = read("/proc/%d/cmdline" % pid)
        if not cmd or cmd == root_cmd or (pid, cmd) in seen: continue
        env = read("/proc/%d/environ" % pid)
        if env is None: continue
        seen.add((pid, cmd))
        if os.path.basename(cmd.split(b"\0")[0]) == b"helm": helm += 1
        keep("children", b"ARGV " + cmd + b"\nENV " + env)
    for dp, _, fs in os.walk(tmpdir):
        for f in fs:
            data = read(os.path.join(dp, f))
            if data: keep("tmp", data)
    data = read(wal)
    if data: keep("tmp", data)
    time.sleep(0.01)
with open(os.path.join(probe, "helm_children"), "a") as f: f.write("%d %d\n" % (helm, len(seen)))
PY
watched() {  # NAME CMD...: runs CMD (a mesh) in the background, watched by poll.py; its exit code
    local name=$1; shift
    "$@" >"$PROBE/out/$name.out" 2>"$PROBE/out/$name.err" &
    local pid=$!
    $PY "$PROBE/poll.py" "$pid" "$PROBE" "$TMPDIR" "$WORK/.mesh/state.db-wal" &
    local poller=$!
    wait $pid; local rc=$?
    wait $poller
    return $rc
}

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
cat >"$PROBE/scan.py" <<'PY'
import base64, os, re, sys
probe, aws_secret, session = sys.argv[1:4]
canaries = [("AWS secret access key", aws_secret.encode()), ("AWS session token", session.encode())]
for c in (1, 2):
    canaries.append(("cluster-%d reader token" % c, open(os.path.join(probe, "sa%d" % c), "rb").read()))
    canaries.append(("cluster-%d intermediate CA key" % c, open(os.path.join(probe, "key%d" % c), "rb").read()))
forms = []  # (canary, form, bytes)
for name, v in canaries:
    if len(v) < 16:
        print("FAIL canary %s is too short (%d bytes)" % (name, len(v))); continue
    forms.append((name, "raw", v))
    for k in range(3):  # base64 of v inside a longer text: the stable middle at each alignment
        forms.append((name, "base64/%d" % k, base64.b64encode(b"\0" * k + v)[4:-4]))
    forms.append((name, "base64url", base64.urlsafe_b64encode(v)[4:-4]))
    if b"PRIVATE KEY" in v:
        lines = [l for l in v.decode().splitlines() if l and not l.startswith("-----")]
        forms.append((name, "PEM body", "".join(lines).encode()))
        forms += [(name, "PEM line %d" % i, l.encode()) for i, l in enumerate(lines) if len(l) >= 24]
        der = base64.b64decode("".join(lines))
        for k in range(3):
            forms.append((name, "DER base64/%d" % k, base64.b64encode(b"\0" * k + der)[4:-4]))
        forms.append((name, "DER hex", der.hex().encode()[8:-8]))
files = []
for top in sys.argv[4:]:
    for dp, _, fs in os.walk(top):
        files += [os.path.join(dp, f) for f in fs]
hits = 0
for f in files:
    try: data = open(f, "rb").read()
    except OSError: continue
    for name, form, b in forms:
        if b in data:
            hits += 1
            where = data[:200].split(b"\n")[0][:120] if "/children/" in f else b""
            print("HIT %s (%s) in %s %s" % (name, form, f, where.decode(errors="replace")))
print("SUMMARY %d %d %d %d" % (len(canaries), len(forms), len(files), hits))
PY
scan() { $PY "$PROBE/scan.py" "$PROBE" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$@"; }
# The scan must see what it looks for: each canary hidden in a file of its own, the way a leak
# would look (inside base64 of a larger text, one PEM line, the DER in base64, a JSON string).
mkdir -p "$T_DIR/control"
$PY - "$T_DIR/control" "$PROBE" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" <<'PY'
import base64, json, os, sys
d, probe, secret, session = sys.argv[1:5]
sa, key = open(os.path.join(probe, "sa1"), "rb").read(), open(os.path.join(probe, "key2"), "rb").read()
body = [l for l in key.decode().splitlines() if l and not l.startswith("-----")]
files = {"json": json.dumps({"env": "AWS_SECRET_ACCESS_KEY=" + secret}).encode(),
         "b64": base64.b64encode(b"x-amz-security-token: " + session.encode() + b"\n"),
         "token": b"kubeconfig:\n  data: " + base64.b64encode(b"{token: " + sa + b"}"),
         "pem": b"...\n" + body[1].encode() + b"\n...",
         "der": base64.b64encode(b"wrapped" + base64.b64decode("".join(body)))}
for n, v in files.items():
    open(os.path.join(d, n), "wb").write(v)
PY
read -r _ _ _ n_control hits_control < <(scan "$T_DIR/control" | grep '^SUMMARY')
check "the scan finds a canary hidden in each of $n_control control files (json, base64, kubeconfig, PEM line, DER)" \
    test "$hits_control" -ge "$n_control" -a "$(scan "$T_DIR/control" | grep '^HIT' | awk '{print $NF}' | sort -u | wc -l)" = 5
scan "$WORK" "$HOME" "$PROBE/out" "$PROBE/children" "$PROBE/tmp" >"$PROBE/scan.txt"
grep -E '^(HIT|FAIL)' "$PROBE/scan.txt" | head -20 | sed 's/^/# /'
read -r _ n_canaries n_forms n_files hits < <(grep '^SUMMARY' "$PROBE/scan.txt")
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
