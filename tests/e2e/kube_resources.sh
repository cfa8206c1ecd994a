# kube_resources.sh: the Kubernetes resource types on two fake API servers (tests/harness/kube):
# a namespace, a secret, manifests (a ConfigMap, a ServiceAccount, a Deployment) and a
# service-account token in each cluster, each through its kubernetes_connection. Apply creates
# them, a second plan is empty, an update applies in place (SSA), an out-of-band change shows as
# drift and apply repairs it, a field another manager took makes a conflict naming it until
# force_conflicts, the token authenticates against its own cluster only, import adopts an
# existing namespace, a manifest renamed is made anew, another incarnation under the same name is
# never taken over, values mesh cannot apply are refused before any call, destroy reports a
# namespace's stuck finalizer and removes everything. Then fault loops (fail at every second
# driver call, crash-after at every sixth, crash before every eighth; MESH_FULL_LOOPS=1: all at
# every call): no orphan object (annotated mesh/address but not in state) after any of them.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TESTS/harness/kube/kube.sh"
t_setup
export MESH_BACKOFF_SCALE=0.05 MESH_PROGRESS_EVERY=0.5
F1="$T_DIR/fake1" F2="$T_DIR/fake2"
trap 'kube_fake_stop "$F1"; kube_fake_stop "$F2"; t_cleanup' EXIT
kube_fake_start "$F1" c1 >/dev/null 2>&1 && kube_fake_start "$F2" c2 >/dev/null 2>&1 || {
    not_ok "the fake API servers start"
    t_done
    exit 1
}
k1() { kubectl --kubeconfig "$F1/kubeconfig" "$@"; }
k2() { kubectl --kubeconfig "$F2/kubeconfig" "$@"; }

# spec FILE TEAM PASSWORD [EXTRA]: both clusters' objects; EXTRA is appended under resources:.
spec() {
    local out=$1 team=$2 pw=$3 extra=${4:-} c dir
    {
        echo "resources:"
        for c in c1 c2; do
            dir=$F1
            [ $c = c2 ] && dir=$F2
            cat <<EOF
  kubernetes_connection.$c: {cluster: $c, kubeconfig: "$dir/kubeconfig"}
  kubernetes_namespace.$c:
    connection: kubernetes_connection.$c
    name: app
    labels: {team: $team}
    annotations: {owner: "platform"}
  kubernetes_secret.$c:
    connection: kubernetes_connection.$c
    namespace: \${kubernetes_namespace.$c.name}
    name: creds
    data: {password: "$pw", user: admin}
  kubernetes_manifest.$c-cm:
    connection: kubernetes_connection.$c
    force_conflicts: ${FORCE:-false}
    manifest:
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings, namespace: "\${kubernetes_namespace.$c.name}", labels: {tier: web}}
      data: {mode: blue, level: "3"}
  kubernetes_manifest.$c-sa:
    connection: kubernetes_connection.$c
    manifest:
      apiVersion: v1
      kind: ServiceAccount
      metadata: {name: robot, namespace: "\${kubernetes_namespace.$c.name}"}
  kubernetes_manifest.$c-web:
    connection: kubernetes_connection.$c
    force_conflicts: ${FORCE:-false}
    manifest:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web, namespace: "\${kubernetes_namespace.$c.name}"}
      spec:
        replicas: 2
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            containers:
              - {name: web, image: "nginx:1.27", ports: [{containerPort: 80}]}
  kubernetes_service_account_token.$c:
    connection: kubernetes_connection.$c
    namespace: \${kubernetes_namespace.$c.name}
    service_account: robot
    name: robot-token
    depends_on: [kubernetes_manifest.$c-sa]
EOF
        done
        printf '%s' "$extra"
        cat <<'EOF'
outputs:
  tok1: ${kubernetes_service_account_token.c1.token}
  tok2: ${kubernetes_service_account_token.c2.token}
  ca1: ${kubernetes_service_account_token.c1.ca_crt}
EOF
    } >"$out"
}

# marked DIR: "ADDRESS UID" of every object the fake holds annotated mesh/address, sorted.
marked() {
    kube_fake_objects "$1" | $PY -c '
import json, sys
for o in json.load(sys.stdin)["objects"]:
    m = o.get("metadata", {})
    a = (m.get("annotations") or {}).get("mesh/address")
    if a: print(a, m.get("uid"))' | sort
}

# orphans SPEC: objects annotated mesh/address in either fake whose uid no state row holds.
kube_orphans() {
    { marked "$F1"; marked "$F2"; } >marked.txt
    "$MESH" state list --json -f "$1" >rows.json 2>/dev/null
    $PY - marked.txt rows.json <<'PY'
import json, sys
ids = set()
for line in open(sys.argv[2]):
    ev = json.loads(line)
    if ev.get("type") == "resource":
        ids.add((ev.get("outputs") or {}).get("id"))
n = [l for l in open(sys.argv[1]) if l.split()[1] not in ids]
sys.stdout.write("".join("# orphan: " + l for l in n))
print(len(n))
PY
}

spec v1.yaml blue hunter2
expect_rc "apply creates both clusters' objects" 0 "$MESH" apply -f v1.yaml --auto-approve
cp last.out apply1.out
marked "$F1" >m1.txt
marked "$F2" >m2.txt
check "apply: 6 objects annotated mesh/address in cluster 1" test "$(wc -l <m1.txt)" = 6
check "apply: 6 objects annotated mesh/address in cluster 2" test "$(wc -l <m2.txt)" = 6
check "apply: each annotated with its own address" \
    test "$(cut -d' ' -f1 m1.txt | tr '\n' ' ')" = "kubernetes_manifest.c1-cm kubernetes_manifest.c1-sa kubernetes_manifest.c1-web kubernetes_namespace.c1 kubernetes_secret.c1 kubernetes_service_account_token.c1 "
check "the namespace carries mesh's markers and the user's label" \
    test "$(k1 get ns app -o jsonpath='{.metadata.labels.team} {.metadata.labels.app\.kubernetes\.io/managed-by} {.metadata.annotations.mesh/address}')" = "blue mesh kubernetes_namespace.c1"
check "the secret holds the value, base64-encoded by mesh" \
    test "$(k2 get secret -n app creds -o jsonpath='{.data.password}' | base64 -d)" = hunter2
check "the deployment was applied by field manager mesh" \
    sh -c "kubectl --kubeconfig '$F1/kubeconfig' get deploy -n app web -o jsonpath='{.metadata.managedFields[*].manager}' | grep -qw mesh"
id_ns=$(k1 get ns app -o jsonpath='{.metadata.uid}')
check "the namespace's id is its metadata.uid" sh -c "'$MESH' state show kubernetes_namespace.c1 -f v1.yaml | grep -q 'id = \"$id_ns\"'"
expect_rc "a second plan is empty" 0 "$MESH" plan -f v1.yaml --detailed-exitcode

# the token: sensitive everywhere, and it authenticates against its own cluster only
tok=$("$MESH" output --raw tok1 -f v1.yaml 2>/dev/null)
check "the token output is filled" test "${#tok}" -gt 20
who=$(curl -s --cacert "$F1/ca.crt" -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' -X POST \
    -d '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' \
    "$(cat "$F1/url")/apis/authentication.k8s.io/v1/selfsubjectreviews")
check "the token authenticates as the service account on its cluster" \
    sh -c "echo '$who' | grep -q 'system:serviceaccount:app:robot'"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$F2/ca.crt" -H "Authorization: Bearer $tok" "$(cat "$F2/url")/api/v1/namespaces")
check "the token of cluster 1 is refused by cluster 2 (401)" test "$code" = 401
"$MESH" plan -f v1.yaml >plan.out 2>&1
"$MESH" state show kubernetes_service_account_token.c1 -f v1.yaml >show.out 2>&1
check "the token and the secret's data appear in no output" \
    sh -c "! grep -rqF -e '$tok' -e hunter2 apply1.out plan.out show.out"
check "the state file holds neither in the clear" sh -c "! grep -rqaF -e '$tok' -e hunter2 .mesh"
check "state show says (sensitive) for the token" grep -q 'token = (sensitive)' show.out

# an update in place: secret data and labels change, the objects keep their uid
spec v2.yaml green hunter3
"$MESH" plan -f v2.yaml >plan.out 2>&1
check "update: the plan changes 4 in place, creates and destroys nothing" \
    grep -q 'Plan: 0 to add, 4 to change, 0 to destroy' plan.out
check "update: the plan hides the secret's data" sh -c "grep -q 'data = (sensitive) -> (sensitive)' plan.out && ! grep -q hunter plan.out"
expect_rc "update: apply (with the HTTP debug log on)" 0 env MESH_LOG=debug "$MESH" apply -f v2.yaml --auto-approve
check "update: the debug log shows the requests" grep -q 'PATCH .*/namespaces/app/secrets/creds' last.out last.err
check "update: the debug log holds neither the secret's data nor the token" \
    sh -c "! grep -qF -e hunter3 -e '$tok' -e 'aHVudGVyMw' last.out last.err"
check "update: the label changed" test "$(k1 get ns app -o jsonpath='{.metadata.labels.team}')" = green
check "update: the secret changed" test "$(k2 get secret -n app creds -o jsonpath='{.data.password}' | base64 -d)" = hunter3
check "update: in place (same uid)" test "$(k1 get ns app -o jsonpath='{.metadata.uid}')" = "$id_ns"
expect_rc "update: then the plan is empty" 0 "$MESH" plan -f v2.yaml --detailed-exitcode

# drift: changes to fields mesh owns show, others' additions do not; apply puts them back
k1 label ns app team=red --overwrite >/dev/null
k1 label ns app added-by=someone-else >/dev/null
k2 patch secret -n app creds -p '{"stringData":{"password":"stolen"}}' >/dev/null
"$MESH" plan -f v2.yaml --detailed-exitcode >plan.out 2>&1
rc=$?
check "drift: plan exits 2" test $rc = 2
check "drift: the label shows as changed outside mesh" grep -q '"team" = "red" -> "green"' plan.out
check "drift: the secret shows, still hidden" sh -c "grep -q 'data = (sensitive) -> (sensitive)  # changed outside mesh' plan.out && ! grep -q stolen plan.out"
check "drift: another manager's new label is no drift" sh -c "! grep -q added-by plan.out"
check "drift: 2 to change" grep -q 'Plan: 0 to add, 2 to change, 0 to destroy' plan.out
expect_rc "drift: apply repairs it" 0 "$MESH" apply -f v2.yaml --auto-approve
check "drift: label back" test "$(k1 get ns app -o jsonpath='{.metadata.labels.team}')" = green
check "drift: secret back" test "$(k2 get secret -n app creds -o jsonpath='{.data.password}' | base64 -d)" = hunter3
check "drift: the other manager's label is left alone" test "$(k1 get ns app -o jsonpath='{.metadata.labels.added-by}')" = someone-else
expect_rc "drift: then the plan is empty" 0 "$MESH" plan -f v2.yaml --detailed-exitcode

# a manifest's fields changed by another field manager: drift, and a conflict naming that
# manager until force_conflicts takes them over
k1 patch deploy -n app web -p '{"spec":{"replicas":5}}' >/dev/null
k2 patch configmap -n app settings -p '{"data":{"mode":"red"}}' >/dev/null
k2 annotate deploy -n app web note=not-mesh >/dev/null
"$MESH" plan -f v2.yaml >plan.out 2>&1
check "conflict: the plan shows the replicas as drift" grep -q '"replicas" = 5 -> 2' plan.out
check "conflict: the plan shows the ConfigMap's value as drift" grep -q '"mode" *= "red" -> "blue"' plan.out || sed 's/^/    | /' plan.out
check "conflict: 2 to change (what the server and others add is no drift)" grep -q 'Plan: 0 to add, 2 to change, 0 to destroy' plan.out
expect_rc "conflict: apply fails" 1 "$MESH" apply -f v2.yaml --auto-approve
check "conflict: the error names the other manager and the field" \
    grep -Eq 'kubernetes_manifest.c[12]-(cm|web): c[12]: .*conflict with "kubectl-patch".*\.(data\.mode|spec\.replicas)' last.err
check "conflict: the error says how to take it over" grep -q 'force_conflicts: true' last.err
FORCE=true spec v3.yaml green hunter3
expect_rc "conflict: force_conflicts takes the fields over" 0 "$MESH" apply -f v3.yaml --auto-approve
check "conflict: the ConfigMap's value is mesh's again" test "$(k2 get cm -n app settings -o jsonpath='{.data.mode}')" = blue
check "conflict: the replicas are mesh's again" test "$(k1 get deploy -n app web -o jsonpath='{.spec.replicas}')" = 2
check "conflict: kubectl-patch no longer owns a field of the ConfigMap" \
    sh -c "! kubectl --kubeconfig '$F2/kubeconfig' get cm -n app settings -o jsonpath='{.metadata.managedFields[*].manager}' | grep -q kubectl-patch"
expect_rc "conflict: then the plan is empty" 0 "$MESH" plan -f v3.yaml --detailed-exitcode

# another incarnation: someone deletes mesh's ConfigMap and makes one of the same name; mesh
# sees its own as gone (another uid) and will not take theirs over
k1 delete configmap -n app settings >/dev/null
k1 create configmap -n app settings --from-literal=mode=theirs >/dev/null
"$MESH" plan -f v3.yaml >plan.out 2>&1
check "re-made: the plan sees mesh's object as deleted outside mesh" \
    grep -q 'deleted outside mesh; it will be created again' plan.out
check "re-made: and plans to create it again" grep -q 'Plan: 1 to add, 0 to change, 0 to destroy' plan.out
expect_rc "re-made: apply refuses to take the other object over" 1 "$MESH" apply -f v3.yaml --auto-approve
check "re-made: the error says whose it is not" grep -q 'configmap app/settings already exists and mesh did not make it' last.err
check "re-made: their value is untouched" test "$(k1 get cm -n app settings -o jsonpath='{.data.mode}')" = theirs
k1 delete configmap -n app settings >/dev/null
expect_rc "re-made: once it is gone, apply makes mesh's again" 0 "$MESH" apply -f v3.yaml --auto-approve
expect_rc "re-made: then the plan is empty" 0 "$MESH" plan -f v3.yaml --detailed-exitcode

# a manifest that names another object: the update makes the new one, then deletes the old one
sed 's/name: settings,/name: settings-2,/' v3.yaml >v3b.yaml
old_uid=$(k1 get cm -n app settings -o jsonpath='{.metadata.uid}')
"$MESH" plan -f v3b.yaml >plan.out 2>&1
check "rename: the plan shows an update of the manifest" grep -q '"name" *= "settings" -> "settings-2"' plan.out
expect_rc "rename: apply" 0 "$MESH" apply -f v3b.yaml --auto-approve
check "rename: the new object exists" sh -c "kubectl --kubeconfig '$F1/kubeconfig' get cm -n app settings-2 >/dev/null"
check "rename: the old one is gone" sh -c "! kubectl --kubeconfig '$F1/kubeconfig' get cm -n app settings >/dev/null 2>&1"
check "rename: the id is the new object's uid" \
    sh -c "'$MESH' state show kubernetes_manifest.c1-cm -f v3b.yaml | grep -q 'id = \"$(k1 get cm -n app settings-2 -o jsonpath='{.metadata.uid}')\"'"
check "rename: a new incarnation" sh -c "test '$old_uid' != \"\$(kubectl --kubeconfig '$F1/kubeconfig' get cm -n app settings-2 -o jsonpath='{.metadata.uid}')\""
expect_rc "rename: then the plan is empty" 0 "$MESH" plan -f v3b.yaml --detailed-exitcode
expect_rc "rename: and back" 0 "$MESH" apply -f v3.yaml --auto-approve
check "rename: back: only the first name is left" \
    sh -c "kubectl --kubeconfig '$F1/kubeconfig' get cm -n app settings >/dev/null && ! kubectl --kubeconfig '$F1/kubeconfig' get cm -n app settings-2 >/dev/null 2>&1"

# import: a namespace made by someone else is refused by create, adopted by import
k2 create namespace legacy >/dev/null
k2 label namespace legacy owner=ops >/dev/null
extra='  kubernetes_namespace.legacy:
    connection: kubernetes_connection.c2
    name: legacy
    labels: {owner: ops}
  kubernetes_namespace.stuck:
    connection: kubernetes_connection.c2
    name: stuck
'
FORCE=true spec v4.yaml green hunter3 "$extra"
expect_rc "import: create refuses an existing namespace mesh did not make" 1 "$MESH" apply -f v4.yaml --auto-approve
check "import: the error says how to import it" \
    grep -q 'legacy already exists and mesh did not make it: `mesh import kubernetes_namespace.legacy legacy`' last.err
check "import: the other namespace of that run was rolled back" sh -c "! kubectl --kubeconfig '$F2/kubeconfig' get ns stuck >/dev/null 2>&1"
expect_rc "import: mesh import" 0 "$MESH" import -f v4.yaml kubernetes_namespace.legacy legacy
expect_rc "import: apply the rest" 0 "$MESH" apply -f v4.yaml --auto-approve
expect_rc "import: then the plan is empty" 0 "$MESH" plan -f v4.yaml --detailed-exitcode
check "import: the id is the namespace's uid" \
    sh -c "'$MESH' state show kubernetes_namespace.legacy -f v4.yaml | grep -q \"id = \\\"$(k2 get ns legacy -o jsonpath='{.metadata.uid}')\\\"\""

# destroy: a namespace held by a finalizer is reported by name, and waited for
k2 patch namespace stuck --type merge -p '{"metadata":{"finalizers":["example.com/hold"]}}' >/dev/null
"$MESH" destroy -f v4.yaml --auto-approve >destroy.out 2>&1 &
dpid=$!
for _ in $(seq 1 300); do grep -q 'example.com/hold' destroy.out && break; sleep 0.1; done
check "destroy: the stuck namespace's finalizer is named while waiting" grep -q 'kubernetes_namespace.stuck: .*finalizers.*example.com/hold' destroy.out
k2 patch namespace stuck --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null
wait $dpid
check "destroy: completes once the finalizer is gone" test $? = 0
check "destroy: nothing annotated mesh/address is left in cluster 1" test "$(marked "$F1" | wc -l)" = 0
check "destroy: nothing annotated mesh/address is left in cluster 2" test "$(marked "$F2" | wc -l)" = 0
check "destroy: state is empty" test "$("$MESH" state list -f v4.yaml 2>/dev/null | wc -l)" = 0

# a token of a service account that does not exist: the wait says so when it times out; and
# the checks of the spec (mesh's own keys, non-text values) before any call
cat >bad.yaml <<EOF
resources:
  kubernetes_connection.c1: {cluster: c1, kubeconfig: "$F1/kubeconfig"}
  kubernetes_service_account_token.t:
    connection: kubernetes_connection.c1
    namespace: default
    service_account: nobody
    name: nobody-token
    timeouts: {create: 3s}
EOF
expect_rc "token: a missing service account fails the create" 1 "$MESH" apply -f bad.yaml --state bad.db --auto-approve
check "token: the error says the service account does not exist" \
    grep -q 'kubernetes_service_account_token.t: .*service account nobody does not exist in namespace default' last.err
check "token: the rollback left no Secret" sh -c "! kubectl --kubeconfig '$F1/kubeconfig' get secret nobody-token >/dev/null 2>&1"
# bad values are refused before any call (the engine calls check() of raw resources not at
# compile time, so create does)
bad() {  # NAME TYPE BODY
    printf 'resources:\n  kubernetes_connection.c1: {cluster: c1, kubeconfig: "%s"}\n  %s.x:\n    connection: kubernetes_connection.c1\n%s\n' \
        "$F1/kubeconfig" "$2" "$3" >"$1.yaml"
    "$MESH" apply -f "$1.yaml" --state "$1.db" --auto-approve >"$1.out" 2>&1
}
bad b1 kubernetes_namespace '    name: n1
    labels: {mesh/address: spoof}'
check "checks: a label key of mesh's own is refused" grep -q 'labels: `mesh/address` is mesh.s own marker' b1.out
bad b2 kubernetes_namespace '    name: n2
    labels: {port: 80}'
check "checks: a label value that is not text is refused" grep -q 'the value of `port` must be a string' b2.out
bad b3 kubernetes_secret '    namespace: default
    name: s3
    data: {pin: 1234}'
check "checks: secret data that is not text is refused, without the value" \
    sh -c "grep -q 'data: the value of .pin. must be a string' b3.out && ! grep -q 1234 b3.out"
bad b4 kubernetes_manifest '    manifest: {apiVersion: v1, metadata: {name: m, namespace: default}}'
check "checks: a manifest without a kind is refused" grep -q 'the manifest needs kind' b4.out
check "checks: none of them made an object" test "$(marked "$F1" | grep -c '\.x ')" = 0

# fault loops over the Kubernetes resources only (cluster 1). From a base (f1.yaml applied), a
# run that creates, updates, replaces and deletes (f2.yaml) is cut at its N-th driver call, for
# every N until it completes: after a fail the rollback, after a crash one apply, must leave no
# orphan object (annotated mesh/address, not in state); then f1.yaml is applied again.
fspec() {  # SECRET-VALUE CM-VALUE TOKEN-NAME EXTRA-CM(0|1) NEW-SECRET(0|1)
    cat <<EOF
resources:
  kubernetes_connection.c1: {cluster: c1, kubeconfig: "$F1/kubeconfig"}
  kubernetes_namespace.n:
    connection: kubernetes_connection.c1
    name: loop
  kubernetes_secret.s:
    connection: kubernetes_connection.c1
    namespace: \${kubernetes_namespace.n.name}
    name: s
    data: {k: "$1"}
  kubernetes_manifest.cm:
    connection: kubernetes_connection.c1
    manifest: {apiVersion: v1, kind: ConfigMap, metadata: {name: cm, namespace: "\${kubernetes_namespace.n.name}"}, data: {a: "$2"}}
  kubernetes_manifest.sa:
    connection: kubernetes_connection.c1
    manifest: {apiVersion: v1, kind: ServiceAccount, metadata: {name: bot, namespace: "\${kubernetes_namespace.n.name}"}}
  kubernetes_service_account_token.t:
    connection: kubernetes_connection.c1
    namespace: \${kubernetes_namespace.n.name}
    service_account: bot
    name: $3
    depends_on: [kubernetes_manifest.sa]
EOF
    [ "$4" = 1 ] && cat <<EOF
  kubernetes_manifest.old:
    connection: kubernetes_connection.c1
    manifest: {apiVersion: v1, kind: ConfigMap, metadata: {name: old, namespace: "\${kubernetes_namespace.n.name}"}}
EOF
    [ "$5" = 1 ] && cat <<EOF
  kubernetes_secret.new:
    connection: kubernetes_connection.c1
    namespace: \${kubernetes_namespace.n.name}
    name: new
    data: {x: "y"}
EOF
    return 0
}
fspec v1 one bot-token 1 0 >f1.yaml
fspec v2 two bot-token-2 0 1 >f2.yaml
rm -rf .mesh
expect_rc "loops: the base applies" 0 "$MESH" apply -f f1.yaml --auto-approve
k1 create configmap -n loop stray >/dev/null && k1 annotate configmap -n loop stray mesh/address=kubernetes_manifest.stray >/dev/null
check "loops: the orphan count sees an object state does not hold" test "$(kube_orphans f1.yaml | tail -1)" = 1
k1 delete configmap -n loop stray >/dev/null
check "loops: and none without it" test "$(kube_orphans f1.yaml | tail -1)" = 0

fault_loop() {  # KIND STRIDE: fail | crash | crash-after, every STRIDE-th call
    local kind=$1 stride=$2 n rc bad=0 faults=0 adopted=0
    for n in $(seq 1 "$stride" 80); do
        MESH_FAULTS="$kind:call=$n" "$MESH" apply -f f2.yaml --auto-approve --parallelism 1 >out.txt 2>&1
        rc=$?
        [ $rc = 0 ] && break
        faults=$((faults + 1))
        if [ $kind = fail ]; then
            # a failed read (refresh) stops the run before any change; a later failure rolls back
            grep -Eq 'rolled back|read failed: injected fault|stopped at a failed delete' out.txt || { echo "# N=$n: exit $rc without a rollback"; tail -3 out.txt; bad=1; break; }
        else
            [ $rc = 137 ] || { echo "# N=$n: exit $rc, not a crash"; tail -3 out.txt; bad=1; break; }
            "$MESH" apply -f f2.yaml --auto-approve >rec.txt 2>&1 || { echo "# N=$n: recovery failed"; tail -5 rec.txt; bad=1; break; }
            grep -q 'adopted an object' rec.txt && adopted=$((adopted + 1))
            # a sample: every plan costs a refresh
            if [ $((n % 3)) = 1 ]; then
                "$MESH" plan -f f2.yaml --detailed-exitcode >plan.txt 2>&1 || { echo "# N=$n: plan not empty after recovery"; sed 's/^/#   /' plan.txt rec.txt; bad=1; break; }
            fi
        fi
        o=$(kube_orphans f2.yaml)
        [ "$(echo "$o" | tail -1)" = 0 ] || { echo "# N=$n: orphans"; echo "$o"; bad=1; break; }
        # a rollback already went back to the base
        if [ $kind != fail ] || grep -q 'stopped at a failed delete' out.txt; then
            "$MESH" apply -f f1.yaml --auto-approve >back.txt 2>&1 || { echo "# N=$n: back to the base failed"; tail -3 back.txt; bad=1; break; }
        fi
    done
    echo "# $kind: $faults faulted runs before one completed; $adopted recoveries adopted an object"
    check "$kind at call N (N=1..$((n - 1)), every $stride): no orphan object after any" test $bad = 0
    check "$kind: the loop reached a run that completed" test "$rc" = 0
    check "$kind: it cut the run at $((12 / stride)) calls or more" test $faults -ge $((12 / stride))
    [ $kind = crash-after ] && check "crash-after: recovery adopted objects created before the crash (find)" test $adopted -gt 0
    check "$kind: no orphan after the completed run" test "$(kube_orphans f2.yaml | tail -1)" = 0
    "$MESH" apply -f f1.yaml --auto-approve >/dev/null 2>&1
}
# fail at every second call; crash-after (the object exists, state does not know it: find adopts
# it) at every sixth and crash before a call at every eighth (MESH_FULL_LOOPS=1: every call), to
# keep the suite short
echo "# ${SECONDS}s before the loops"
fail_stride=2 after_stride=6 crash_stride=8
[ -n "${MESH_FULL_LOOPS:-}" ] && fail_stride=1 after_stride=1 crash_stride=1
fault_loop fail $fail_stride
fault_loop crash-after $after_stride
fault_loop crash $crash_stride
echo "# ${SECONDS}s"
expect_rc "loops: destroy" 0 "$MESH" destroy -f f1.yaml --auto-approve
check "loops: nothing annotated mesh/address is left" test "$(marked "$F1" | wc -l)" = 0
t_done
