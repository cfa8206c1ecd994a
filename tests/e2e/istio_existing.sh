#!/usr/bin/env bash
# istio_existing.sh: Istio multi-primary over clusters mesh does not make: no AWS at all, three
# fake API servers reached through kubeconfigs whose users run an exec credential plugin. One
# apply makes the PKI, the namespaces, cacerts, istio-base and istiod releases (the real helm),
# reader tokens and 3 x 2 = 6 remote secrets; `mesh check` passes. (kill -9 of mesh while helm runs:
# helm_release.sh.) Then fail-at-call over
# the Kubernetes and Helm calls (a sample: every STRIDE-th, 20; MESH_FULL_LOOPS=1: every call;
# tests/reliability/faults.sh does every call of the whole reference deployment): after
# each failed apply's rollback, no object and no release is left that state does not hold.
# No ingress gateway here: its LoadBalancer Service waits for a load balancer controller, which
# only EKS clusters get (istio_reference.sh has it).
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/harness/kube/kube.sh"
t_setup
export MESH_BACKOFF_SCALE=0.02
HELM=${MESH_HELM:-helm}
CLUSTERS="east west north"
trap 'for c in $CLUSTERS; do kube_fake_stop "$T_DIR/f-$c"; done; t_cleanup' EXIT
for c in $CLUSTERS; do
    kube_fake_start "$T_DIR/f-$c" "$c" >/dev/null 2>&1 || not_ok "the fake API server of $c starts"
done

# One exec plugin for all: prints the token of the fake named by FAKE_DIR.
mkdir -p bin
cat >bin/get-token <<'SH'
#!/bin/sh
[ "$KUBERNETES_EXEC_INFO" ] || { echo "no KUBERNETES_EXEC_INFO" >&2; exit 3; }
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}\n' "$(cat "$FAKE_DIR/token")"
SH
chmod +x bin/get-token
for c in $CLUSTERS; do
    cat >kubeconfig-$c <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $c
  cluster: {server: "$(cat "f-$c/url")", certificate-authority-data: "$(base64 -w0 <"f-$c/ca.crt")"}
users:
- name: sso
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: $T_DIR/bin/get-token
      env: [{name: FAKE_DIR, value: "$T_DIR/f-$c"}]
      interactiveMode: Never
contexts:
- {name: $c, context: {cluster: $c, user: sso}}
current-context: $c
EOF
done
cat >spec.yaml <<EOF
mesh: {name: onprem}
pki:
  root: {common_name: Root CA, organization: Istio, algorithm: ecdsa-p256}
  intermediate: {common_name: Intermediate CA, organization: Istio, algorithm: ecdsa-p256}
clusters:
  east: {existing: {kubeconfig: $T_DIR/kubeconfig-east}}
  west: {existing: {kubeconfig: $T_DIR/kubeconfig-west}}
  north: {existing: {kubeconfig: $T_DIR/kubeconfig-north}}
istio:
  version: 1.24.2
  charts: {repository: $ROOT/tests/charts}
  ingress_gateway: false
EOF
k() { local c=$1; shift; kubectl --kubeconfig "$T_DIR/f-$c/kubeconfig" "$@"; }
held_addresses() { "$MESH" state list -f spec.yaml 2>/dev/null | sort; }
# Objects mesh made (annotated mesh/address) and releases helm holds that state does not: orphans.
orphans_k8s() {
    held_addresses >held.txt
    local c n=0
    for c in $CLUSTERS; do
        kube_fake_objects "$T_DIR/f-$c" >obj-$c.json
        "$HELM" --kubeconfig "$T_DIR/f-$c/kubeconfig" list -A -a -o json >rel-$c.json 2>/dev/null || echo '[]' >rel-$c.json
        n=$((n + $($PY - obj-$c.json rel-$c.json held.txt $c <<'PY'
import json, sys
objs, rels, held, c = json.load(open(sys.argv[1]))["objects"], json.load(open(sys.argv[2])), set(open(sys.argv[3]).read().split()), sys.argv[4]
bad = []
for o in objs:
    a = ((o.get("metadata") or {}).get("annotations") or {}).get("mesh/address")
    if a and a not in held: bad.append(a)
for r in rels:
    if "helm_release.%s.%s" % (c, r["name"]) not in held: bad.append("release " + r["name"])
for b in bad: print(c, b, file=sys.stderr)
print(len(bad))
PY
)))
    done
    echo $n
}

# ---- one apply, three clusters ----
expect_rc "apply over three existing clusters (exec plugin kubeconfigs)" 0 "$MESH" apply -f spec.yaml --auto-approve
n_remote=$(held_addresses | grep -c '^kubernetes_secret\..*\.istio-remote-secret-')
check "3 clusters: 6 remote secrets ($n_remote)" test "$n_remote" = 6
check "no AWS resource in state" test -z "$(held_addresses | grep '^aws_')"
for c in $CLUSTERS; do
    n=$(k $c -n istio-system get secrets -l istio/multiCluster=true -o name | wc -l)
    check "$c holds the remote secrets of the two others ($n)" test "$n" = 2
done
check "east's istiod is deployed with clusterName east" sh -c "$HELM --kubeconfig $T_DIR/f-east/kubeconfig -n istio-system get values istiod -o json | grep -q '\"clusterName\":\"east\"'"
expect_rc "mesh check passes over three clusters" 0 "$MESH" check -f spec.yaml
check "no token of the plugin in state" sh -c "! grep -a -q \"\$(cat $T_DIR/f-east/token)\" .mesh/state.db*"
expect_rc "a second plan is empty" 0 "$MESH" plan -f spec.yaml --detailed-exitcode
echo "# [${SECONDS}s] applied"

# ---- fail at every STRIDE-th call: rollback leaves nothing state does not hold ----
expect_rc "destroy before the loop" 0 "$MESH" destroy -f spec.yaml --auto-approve
stride=${MESH_FULL_LOOPS:+1}
stride=${stride:-20}
bad=0 faults=0
for n in $(seq 2 "$stride" 200); do
    MESH_FAULTS="fail:call=$n" "$MESH" apply -f spec.yaml --auto-approve >loop.out 2>&1
    rc=$?
    [ $rc = 0 ] && break
    faults=$((faults + 1))
    o=$(orphans_k8s 2>orphans.err)
    if [ "$o" != 0 ]; then bad=1; echo "# fail at call $n: $o orphans"; sed 's/^/#   /' orphans.err; fi
    "$MESH" destroy -f spec.yaml --auto-approve >/dev/null 2>&1
done
check "fail at call N (every $stride): no orphan object or release after any rollback" test $bad = 0
check "the loop cut $faults runs short" test $faults -ge 2
expect_rc "after the loop: destroy" 0 "$MESH" destroy -f spec.yaml --auto-approve
check "after the loop: nothing left" test "$(orphans_k8s 2>/dev/null)" = 0
echo "# [${SECONDS}s] loop"
t_done
