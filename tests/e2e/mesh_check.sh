# mesh_check.sh: `mesh check` against two fake API servers reached as existing: clusters. A spec
# of raw resources makes the wiring the istio: section compiles to (docs/check.md): the PKI's
# cacerts in each cluster, the reader service account and its token, and in each cluster the
# other's remote secret (a kubeconfig with the reader token); kubectl adds what the charts would
# (istiod's Deployment, helm's release record), and two helm_release rows are written into state
# by hand (no checksum: state reads them as edited by hand) so the release check has something to
# look at without helm. Then: all good -> 0 and a table; a missing remote secret, a bad token,
# two roots, a release not deployed, a pod not ready -> 1 naming it and what to do; --json
# parses; no state -> 2; --traffic with the fake's traffic simulation; no secret in any output.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TESTS/harness/kube/kube.sh"
t_setup
export MESH_BACKOFF_SCALE=0.05
K1="$T_DIR/fake1" K2="$T_DIR/fake2"
trap 'kube_fake_stop "$K1"; kube_fake_stop "$K2"; t_cleanup' EXIT
kube_fake_start "$K1" c1 >/dev/null 2>&1 && kube_fake_start "$K2" c2 >/dev/null 2>&1 ||
    { not_ok "the fake API servers start"; t_done; exit 1; }
LOGS="$T_DIR/logs"
mkdir -p "$LOGS"
n=0
m() {  # m ARGS...: runs mesh; stdout in out.txt, stderr in err.txt, both kept for the secret scan
    n=$((n + 1))
    "$MESH" "$@" >out.txt 2>err.txt
    local rc=$?
    cp out.txt "$LOGS/$n.out"
    cp err.txt "$LOGS/$n.err"
    return $rc
}
k1() { kubectl --kubeconfig "$K1/kubeconfig" "$@"; }
k2() { kubectl --kubeconfig "$K2/kubeconfig" "$@"; }

expect_rc "no state: exit 2" 2 "$MESH" check --state "$T_DIR/none.db"
check "...saying there is no state and to apply" grep -q 'no state at .*none.db; run mesh apply first' last.err
check "...and no state file was made" test ! -e "$T_DIR/none.db"

remote() {  # remote O C: the remote secret of cluster C in cluster O
    local K
    [ "$2" = c1 ] && K=$K1 || K=$K2
    cat <<EOF
  kubernetes_secret.$1-remote-$2:
    connection: kubernetes_connection.$1
    depends_on: [kubernetes_namespace.$1-istio]
    namespace: istio-system
    name: istio-remote-secret-$2
    labels: {istio/multiCluster: "true"}
    annotations: {networking.istio.io/cluster: $2}
    data:
      $2: |
        apiVersion: v1
        kind: Config
        clusters:
        - name: $2
          cluster: {server: "$(cat "$K/url")", certificate-authority-data: "$(base64 -w0 <"$K/ca.crt")"}
        users:
        - name: $2
          user: {token: "\${kubernetes_service_account_token.$2-reader.token}"}
        contexts:
        - name: $2
          context: {cluster: $2, user: $2}
        current-context: $2
EOF
}
cluster() {  # cluster C: Istio's namespace, cacerts, the reader account and its token
    cat <<EOF
  kubernetes_namespace.$1-istio:
    connection: kubernetes_connection.$1
    name: istio-system
    labels: {topology.istio.io/network: net1}
  kubernetes_secret.$1-cacerts:
    connection: kubernetes_connection.$1
    depends_on: [kubernetes_namespace.$1-istio]
    namespace: istio-system
    name: cacerts
    data:
      ca-cert.pem: \${pki_intermediate_ca.$1.ca_cert_pem}
      ca-key.pem: \${pki_intermediate_ca.$1.ca_key_pem}
      cert-chain.pem: \${pki_intermediate_ca.$1.cert_chain_pem}
      root-cert.pem: \${pki_intermediate_ca.$1.root_cert_pem}
  kubernetes_manifest.$1-reader-sa:
    connection: kubernetes_connection.$1
    depends_on: [kubernetes_namespace.$1-istio]
    manifest:
      apiVersion: v1
      kind: ServiceAccount
      metadata: {name: istio-reader-service-account, namespace: istio-system}
  kubernetes_service_account_token.$1-reader:
    connection: kubernetes_connection.$1
    depends_on: [kubernetes_manifest.$1-reader-sa]
    namespace: istio-system
    service_account: istio-reader-service-account
    name: istio-reader-service-account-istio-remote-secret-token
EOF
}
{
    echo "mesh: {name: check-e2e}"
    echo "pki:"
    echo "  root: {algorithm: ecdsa-p256, common_name: Check Root}"
    echo "  intermediate: {algorithm: ecdsa-p256}"
    echo "clusters:"
    echo "  c1: {existing: {kubeconfig: $K1/kubeconfig, context: c1}}"
    echo "  c2: {existing: {kubeconfig: $K2/kubeconfig, context: c2}}"
    echo "resources:"
    cluster c1
    cluster c2
    remote c1 c2
    remote c2 c1
} >spec.yaml
m apply -f spec.yaml --auto-approve
rc=$?
check "the wiring applies (rc $rc)" test $rc = 0
[ $rc = 0 ] || sed 's/^/    | /' err.txt | tail -20

# What the charts would add: istiod's Deployment and helm's record of the release.
record() {  # record NAME STATUS VERSION: helm's storage Secret of a release revision
    cat <<EOF
apiVersion: v1
kind: Secret
type: helm.sh/release.v1
metadata:
  name: sh.helm.release.v1.$1.v$3
  namespace: istio-system
  labels: {owner: helm, name: $1, status: $2, version: "$3"}
data: {release: $(printf 'H4sIAAAA-not-decoded' | base64 -w0)}
EOF
}
istiod() {
    cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system, labels: {app: istiod}}
spec:
  replicas: 1
  selector: {matchLabels: {app: istiod}}
  template:
    metadata: {labels: {app: istiod}}
    spec: {containers: [{name: discovery, image: docker.io/istio/pilot:1.24.0}]}
EOF
}
# A Pod by hand only where the fake made none for the Deployment (a fake without CONTRACT §4's Pods).
pod() {
    cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: istiod-manual, namespace: istio-system, labels: {app: istiod}}
spec: {containers: [{name: discovery, image: docker.io/istio/pilot:1.24.0}]}
EOF
}
for k in k1 k2; do
    { istiod; echo ---; record istiod deployed 1; } | $k apply -f - >/dev/null || not_ok "kubectl apply istiod ($k)"
done
sleep 0.5
for k in k1 k2; do
    [ "$($k -n istio-system get pods -l app=istiod -o name 2>/dev/null | wc -l)" -ge 1 ] || pod | $k apply -f - >/dev/null
done
# The releases' rows, in state only while mesh check runs: mesh apply would refresh them through
# the helm driver, which is not what this suite tests.
rows_add() {
    for c in c1 c2; do
        sqlite3 .mesh/state.db "INSERT INTO resources (address, deposed, type, inputs, outputs, deps, sensitive, run_id, connection)
          VALUES ('helm_release.$c.istiod', '', 'helm_release', '{\"chart\":\"istiod\",\"name\":\"istiod\",\"namespace\":\"istio-system\"}',
          '{\"id\":\"istio-system/istiod\",\"revision\":1,\"status\":\"deployed\"}', '[]', '[]', NULL, 'kubernetes_connection.$c')"
    done
}
rows_rm() { sqlite3 .mesh/state.db "DELETE FROM resources WHERE type = 'helm_release'"; }
apply() { rows_rm; m apply -f spec.yaml --auto-approve; local rc=$?; rows_add; return $rc; }
rows_add
sleep 0.5

m check -f spec.yaml
rc=$?
check "all good: exit 0 (rc $rc)" test $rc = 0
[ $rc = 0 ] || sed 's/^/    | /' out.txt err.txt | tail -30
check "...a table per cluster" sh -c "grep -q '^Cluster c1' out.txt && grep -q '^Cluster c2' out.txt && grep -q 'CHECK.*RESULT.*DETAIL' out.txt"
check "...with each check" sh -c "grep -q 'remote secret for c2 .*ok' out.txt && grep -q 'remote secret for c2 authenticates .*ok.*kube-system uid matches' out.txt &&
  grep -q 'CA chains to the root .*ok' out.txt && grep -q 'root agrees across clusters .*ok' out.txt &&
  grep -q 'release istiod deployed .*ok.*revision 1' out.txt && grep -q 'deployment istiod ready .*ok' out.txt"
check "...and the verdict" grep -q 'every check passes in 2 clusters' out.txt

m check -f spec.yaml --json
check "--json parses, ok true, both clusters' rows" python3 -c '
import json, sys
r = json.load(open("out.txt"))
assert r["ok"] is True, r
assert set(r["clusters"]) == {"c1", "c2"}, r
rows = r["clusters"]["c1"]
assert all(set(x) >= {"check", "ok", "detail"} for x in rows), rows
assert any(x["check"] == "remote secret for c2 authenticates" and x["ok"] for x in rows), rows
'
check "...and jq reads it" sh -c "jq -e '.clusters.c2 | length > 5' out.txt >/dev/null"

# A missing remote secret: exit 1 naming it and what to do.
k1 -n istio-system get secret istio-remote-secret-c2 -o json >saved-remote.json
k1 -n istio-system delete secret istio-remote-secret-c2 >/dev/null
m check -f spec.yaml
rc=$?
check "a missing remote secret: exit 1 (rc $rc)" test $rc = 1
check "...naming it" grep -q 'remote secret for c2 .*FAIL.*istio-system/istio-remote-secret-c2 is missing' out.txt
check "...and what to do" grep -q 'remote secret for c2: run mesh apply.*istioctl create-remote-secret' out.txt
check "...the other cluster still passes" sh -c "sed -n '/^Cluster c2/,\$p' out.txt | grep -q 'remote secret for c1 .*ok'"

# A remote secret with a bad token: exit 1.
python3 - saved-remote.json >bad-remote.json <<'PY'
import base64, json, re, sys
s = json.load(open(sys.argv[1]))
kc = base64.b64decode(s["data"]["c2"]).decode()
kc = re.sub(r'token: "[^"]*"', 'token: "bogus-token-0123456789"', kc)
s["data"]["c2"] = base64.b64encode(kc.encode()).decode()
for k in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
    s["metadata"].pop(k, None)
json.dump(s, sys.stdout)
PY
k1 apply -f bad-remote.json >/dev/null
m check -f spec.yaml
rc=$?
check "a remote secret with a bad token: exit 1 (rc $rc)" test $rc = 1
check "...its authentication fails with a 401" grep -q 'remote secret for c2 authenticates .*FAIL.*unauthorized (401)' out.txt
check "...saying what to do" grep -q 'authenticates: the reader token or server in secret istio-system/istio-remote-secret-c2 is stale' out.txt
check "...and not the bogus token" sh -c "! grep -q bogus-token out.txt err.txt"
k1 delete -f bad-remote.json >/dev/null
apply
check "mesh apply puts the remote secret back" sh -c "$MESH check -f spec.yaml >/dev/null"

# Two roots: c2's cacerts from another root.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.pem -days 2 \
    -subj /CN=Other-Root -addext basicConstraints=critical,CA:TRUE >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout int.key -out int.csr -subj /CN=Other-Int >/dev/null 2>&1
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >ext.cnf
openssl x509 -req -in int.csr -CA other.pem -CAkey other.key -CAcreateserial -out int.pem -days 2 -extfile ext.cnf >/dev/null 2>&1
cat int.pem other.pem >chain.pem
k2 -n istio-system create secret generic cacerts --dry-run=client -o yaml --from-file=ca-cert.pem=int.pem \
    --from-file=ca-key.pem=int.key --from-file=cert-chain.pem=chain.pem --from-file=root-cert.pem=other.pem >other-cacerts.yaml
k2 apply --server-side --force-conflicts -f other-cacerts.yaml >/dev/null
m check -f spec.yaml --json
rc=$?
check "two different roots: exit 1 (rc $rc)" test $rc = 1
check "...c2's root differs from c1's, its own chain is fine" python3 -c '
import json
r = json.load(open("out.txt"))
c2 = {x["check"]: x for x in r["clusters"]["c2"]}
assert not c2["root agrees across clusters"]["ok"] and "differs from c1" in c2["root agrees across clusters"]["detail"], c2
assert "same root" in c2["root agrees across clusters"]["fix"], c2
assert c2["CA chains to the root"]["ok"], c2
'
# An intermediate of the other root beside the mesh's root: does not chain.
k1 -n istio-system get secret cacerts -o jsonpath='{.data.root-cert\.pem}' | base64 -d >mesh-root.pem
python3 - mesh-root.pem int.pem other-cacerts.yaml >mixed.yaml <<'PY'
import base64, sys
root, inter = open(sys.argv[1]).read(), open(sys.argv[2]).read()
b = lambda s: base64.b64encode(s.encode()).decode()
print("apiVersion: v1\nkind: Secret\nmetadata: {name: cacerts, namespace: istio-system}\ndata:")
print("  root-cert.pem: " + b(root))
print("  ca-cert.pem: " + b(inter))
print("  cert-chain.pem: " + b(inter))
PY
k2 apply --server-side --force-conflicts -f mixed.yaml >/dev/null
m check -f spec.yaml
rc=$?
check "an intermediate of another root: exit 1 (rc $rc)" test $rc = 1
check "...it does not chain to the root" grep -q 'CA chains to the root .*FAIL.*does not chain to the root' out.txt
apply
m check -f spec.yaml
rc=$?
check "mesh apply repairs cacerts: exit 0 again (rc $rc)" test $rc = 0
[ $rc = 0 ] || sed 's/^/    | /' out.txt | tail -30

# A release not deployed (a newer revision failed), then a Deployment's pod not ready.
record istiod failed 2 | k2 apply -f - >/dev/null
m check -f spec.yaml
rc=$?
check "a release not deployed: exit 1 (rc $rc)" test $rc = 1
check "...naming it and its status" grep -q 'release istiod deployed .*FAIL.*istio-system/istiod revision 2 is failed' out.txt
check "...and what to do" grep -q 'helm history istiod -n istio-system' out.txt
k2 -n istio-system delete secret sh.helm.release.v1.istiod.v2 >/dev/null
for p in $(k2 -n istio-system get pods -l app=istiod -o name); do
    k2 -n istio-system patch "$p" --subresource=status --type merge \
        -p '{"status":{"conditions":[{"type":"Ready","status":"False"}]}}' >/dev/null
done
m check -f spec.yaml
rc=$?
check "a Deployment whose pods are not Ready: exit 1 (rc $rc)" test $rc = 1
check "...naming it" grep -q 'deployment istiod ready .*FAIL.*0 pods Ready' out.txt
k2 -n istio-system delete pods -l app=istiod >/dev/null
pod | k2 apply -f - >/dev/null
sleep 0.5

# --traffic: the fake's traffic simulation (CONTRACT §4) answers from the Ready pods the Service
# selects here and, when istiod runs and injection is on, in the clusters of the remote secrets.
m check -f spec.yaml --traffic --timeout 60s
rc=$?
check "--traffic passes: both versions heard in both clusters (rc $rc)" test $rc = 0
[ $rc = 0 ] || sed 's/^/    | /' out.txt err.txt | tail -30
check "...counts per version per cluster" sh -c "[ \$(grep -c 'traffic across clusters .*ok.*10 calls: v1 [1-9][0-9]*, v2 [1-9]' out.txt) = 2 ]"
check "...and the sample namespace is gone" sh -c "! kubectl --kubeconfig $K1/kubeconfig get ns sample >/dev/null 2>&1 && ! kubectl --kubeconfig $K2/kubeconfig get ns sample >/dev/null 2>&1"
k1 -n istio-system delete secret istio-remote-secret-c2 >/dev/null
m check -f spec.yaml --traffic --timeout 60s
rc=$?
check "--traffic with c1's remote secret removed: exit 1 (rc $rc)" test $rc = 1
check "...c1 hears only v1, with a clear message" sh -c "grep -q 'traffic across clusters .*FAIL.*v1 [1-9][0-9]*, v2 0' out.txt && grep -q 'hears only its own version' out.txt"
check "...and the sample namespace is gone afterwards" sh -c "! kubectl --kubeconfig $K1/kubeconfig get ns sample >/dev/null 2>&1 && ! kubectl --kubeconfig $K2/kubeconfig get ns sample >/dev/null 2>&1"
# Ctrl-C while it waits for the curl Jobs (each poll of c1's Job held 2 s by the fake): the
# sample goes all the same.
kube_fake_faults "$K1" '{"rules": [{"method": "GET", "path_re": "/namespaces/sample/jobs/curl", "delay": 2}]}'
"$MESH" check -f spec.yaml --traffic --timeout 60s >int.out 2>int.err &
pid=$!
# Wait by listing the Jobs: a GET of the Job itself would be held 2 s too, and mesh's first poll
# could return meanwhile, its check done before the signal.
for i in $(seq 1 100); do k1 -n sample get jobs -o name 2>/dev/null | grep -q 'job.batch/curl$' && break; sleep 0.1; done
sleep 0.5
kill -INT $pid
wait $pid
rc=$?
cp int.out "$LOGS/int.out"; cp int.err "$LOGS/int.err"
curl -s -o /dev/null --cacert "$K1/ca.crt" -X POST "$(cat "$K1/url")/__fake/reset-faults"
check "Ctrl-C during --traffic: exit 1 (rc $rc)" test $rc = 1
check "...says it was interrupted and removes the sample" sh -c "grep -q 'interrupt received' int.err && grep -q 'traffic across clusters .*FAIL.*interrupted' int.out && grep -q 'sample removed .*ok' int.out"
check "...which is gone from both clusters" sh -c "! kubectl --kubeconfig $K1/kubeconfig get ns sample >/dev/null 2>&1 && ! kubectl --kubeconfig $K2/kubeconfig get ns sample >/dev/null 2>&1"

# No secret of any kind in anything mesh printed.
secrets=$(for K in "$K1" "$K2"; do cat "$K/token"; done
          for k in k1 k2; do $k -n istio-system get secret istio-reader-service-account-istio-remote-secret-token \
              -o jsonpath='{.data.token}' 2>/dev/null | base64 -d; echo; done)
leak=0
for s in $secrets; do grep -rqF "$s" "$LOGS" && leak=1; done
grep -rq 'PRIVATE KEY' "$LOGS" && leak=1
check "no token or key in any output of mesh" test $leak = 0
t_done
