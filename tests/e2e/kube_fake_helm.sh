#!/usr/bin/env bash
# kube_fake_helm.sh: the stand-in charts (tests/charts) with the real helm against the fake API
# server, and what the fake plays of the cluster for issue 12: workload Pods, Job logs, the curl
# replies of a multi-primary mesh (traffic.py), load balancers that need the AWS Load Balancer
# Controller, and the aws-node DaemonSet of an EKS cluster patched with server-side apply.
# Two fakes: c1 (--eks-node) and c2. Prints "ok - NAME" / "not ok - NAME".
source "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$T_TESTS/.." && pwd)
CHARTS="$ROOT/tests/charts"
t_setup
source "$ROOT/tests/harness/kube/kube.sh"
C1="$T_DIR/c1" C2="$T_DIR/c2"
trap 'kube_fake_stop "$C1"; kube_fake_stop "$C2"; t_cleanup' EXIT

HELM=${MESH_HELM:-}
for h in "$ROOT/bin/helm" /opt/helm/helm/helm "$(command -v helm 2>/dev/null)"; do
    [ -z "$HELM" ] && [ -n "$h" ] && [ -x "$h" ] && HELM=$h
done
if [ -z "$HELM" ] || ! command -v kubectl >/dev/null; then not_ok "helm (MESH_HELM, bin/helm) and kubectl found"; exit 1; fi

kube_fake_start "$C2" c2 >"$T_DIR/c2.start" 2>&1 &
C2_PID=$!
check "c1 starts (--eks-node)" kube_fake_start "$C1" c1 --eks-node
check "c2 starts" wait "$C2_PID"
# c2's base and istiod are installed while c1 is tested (the traffic part needs them).
( "$HELM" --kubeconfig "$C2/kubeconfig" upgrade --install istio-base "$CHARTS/base" -n istio-system --create-namespace \
    --wait --timeout 30s && "$HELM" --kubeconfig "$C2/kubeconfig" upgrade --install istiod "$CHARTS/istiod" \
    -n istio-system --wait --timeout 30s --set global.multiCluster.clusterName=c2 --set global.meshID=mesh1 \
    --set global.network=network1 ) </dev/null >"$T_DIR/c2-istio.out" 2>&1 &
C2_ISTIO=$!

k1() { kubectl --kubeconfig "$C1/kubeconfig" "$@"; }
k2() { kubectl --kubeconfig "$C2/kubeconfig" "$@"; }
h1() { "$HELM" --kubeconfig "$C1/kubeconfig" "$@" </dev/null; }
h2() { "$HELM" --kubeconfig "$C2/kubeconfig" "$@" </dev/null; }
# knot NAME UNWANTED_REGEX CMD...: CMD succeeds and its output does not match
knot() {
    local name=$1 bad=$2 out
    shift 2
    if out=$("$@" 2>&1) && ! grep -Eq -- "$bad" <<<"$out"; then ok "$name"
    else not_ok "$name"; sed 's/^/    | /' <<<"$out" | tail -15; fi
}
# jout NAME WANT_REGEX PYEXPR FILE...: PYEXPR, over the objects of the kubectl -o json snapshots FILE...,
# prints something matching WANT_REGEX. In PYEXPR: o(KIND, NAME) is an object ({} if none; NAME
# "x-*": the first named x-...), names(KIND) their sorted names. One kubectl call serves many checks.
jout() {
    local name=$1 want=$2 expr=$3 out
    shift 3
    if out=$($PY - "$expr" "$@" 2>&1 <<'PY'
import json, sys
items = []
for f in sys.argv[2:]:
    d = json.load(open(f))
    items += d.get("items", [d])
def o(kind, name=None):
    for i in items:
        n = i["metadata"]["name"]
        if i["kind"] == kind and (name is None or n == name or (name.endswith("*") and n.startswith(name[:-1]))):
            return i
    return {}
def names(kind):
    return sorted(i["metadata"]["name"] for i in items if i["kind"] == kind)
r = eval(sys.argv[1])
print(" ".join(str(x) for x in r) if isinstance(r, tuple) else r)
PY
    ) && grep -Eq -- "$want" <<<"$out"; then ok "$name"
    else not_ok "$name"; sed 's/^/    | /' <<<"$out" | tail -15; fi
}
until_ok() {
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done
}

# ---- the charts ----
kout "base: Istio's CRDs, installed with --wait" 'STATUS: deployed' \
    h1 upgrade --install istio-base "$CHARTS/base" -n istio-system --create-namespace --wait --timeout 30s
kout "... and usable (kubectl get peerauthentications)" 'No resources found' k1 get peerauthentications -A
kfail "istiod without global.multiCluster.clusterName fails (required)" 'clusterName is required' \
    h1 upgrade --install istiod "$CHARTS/istiod" -n istio-system --wait --timeout 10s
cat >"$T_DIR/istiod-c1.yaml" <<'EOF'
global:
  meshID: mesh1
  multiCluster: {clusterName: c1}
  network: network1
podAnnotations: {mesh.io/ca-bundle-hash: aaaa}
ipFamilyPolicy: RequireDualStack
ipFamilies: [IPv6, IPv4]
pilot: {env: {ISTIO_DUAL_STACK: "true"}}
EOF
kout "istiod installed with --wait" 'STATUS: deployed' \
    h1 upgrade --install istiod "$CHARTS/istiod" -n istio-system -f "$T_DIR/istiod-c1.yaml" --wait --timeout 30s
k1 get deploy,svc,sa,cm,pods -n istio-system -o json >"$T_DIR/is1.json"
k1 get mutatingwebhookconfigurations,validatingwebhookconfigurations,clusterrolebindings,crd -o json >"$T_DIR/cl1.json"
jout "base: Istio's CRDs peerauthentications, destinationrules, virtualservices" \
    'destinationrules\.networking\.istio\.io.*peerauthentications\.security\.istio\.io.*virtualservices\.networking\.istio\.io' \
    'names("CustomResourceDefinition")' "$T_DIR/cl1.json"
jout "istiod: Deployment ready, its Pod app=istiod Running with the podAnnotations" '^1 Running aaaa$' \
    'o("Deployment", "istiod")["status"]["readyReplicas"], o("Pod", "istiod-*")["status"]["phase"], o("Pod", "istiod-*")["metadata"]["annotations"]["mesh.io/ca-bundle-hash"]' "$T_DIR/is1.json"
jout "istiod: CLUSTER_ID c1 and ISTIO_DUAL_STACK in its env" "'CLUSTER_ID', 'c1'.*'ISTIO_DUAL_STACK', 'true'" \
    '[(e["name"], e.get("value")) for e in o("Deployment", "istiod")["spec"]["template"]["spec"]["containers"][0]["env"]]' "$T_DIR/is1.json"
jout "istiod: the Service's IP families from ipFamilyPolicy/ipFamilies" "^RequireDualStack \['IPv6', 'IPv4'\]$" \
    'o("Service", "istiod")["spec"]["ipFamilyPolicy"], o("Service", "istiod")["spec"]["ipFamilies"]' "$T_DIR/is1.json"
jout "istiod: ServiceAccounts istiod and istio-reader-service-account, the reader's ClusterRoleBinding" \
    "'istio-reader-service-account', 'istiod'.*'istio-reader-clusterrole-istio-system'" \
    'names("ServiceAccount"), names("ClusterRoleBinding")' "$T_DIR/is1.json" "$T_DIR/cl1.json"
jout "istiod: the webhooks istio-sidecar-injector and istio-validator-istio-system" \
    "^\['istio-sidecar-injector'\] .*'istio-validator-istio-system'" \
    'names("MutatingWebhookConfiguration"), names("ValidatingWebhookConfiguration")' "$T_DIR/cl1.json"
jout "istiod: ConfigMap istio holds the mesh ID; istio-sidecar-injector the network and cluster" \
    '^mesh1 c1 network1$' 'json.loads(o("ConfigMap", "istio-sidecar-injector")["data"]["values"])["global"]["meshID"] if "meshId: mesh1" in o("ConfigMap", "istio")["data"]["mesh"] else "-", json.loads(o("ConfigMap", "istio-sidecar-injector")["data"]["values"])["global"]["multiCluster"]["clusterName"], json.loads(o("ConfigMap", "istio-sidecar-injector")["data"]["values"])["global"]["network"]' "$T_DIR/is1.json"

# The gateway's LoadBalancer Service gets its address only from the AWS Load Balancer Controller:
# helm --wait on it cannot finish before the controller exists.
GW_VALUES='{"annotations":{"service.beta.kubernetes.io/aws-load-balancer-type":"external","service.beta.kubernetes.io/aws-load-balancer-ip-address-type":"dualstack"}}'
kfail "gateway before the load balancer controller: helm --wait times out" 'timed out|context deadline' \
    h1 upgrade --install istio-ingressgateway "$CHARTS/gateway" -n istio-system --set-json "service=$GW_VALUES" --wait --timeout 2s
kout "... its Service has no load balancer address" '^LoadBalancer <>$' \
    k1 get svc istio-ingressgateway -n istio-system -o jsonpath='{.spec.type} <{.status.loadBalancer.ingress[0].hostname}>'
h1 upgrade --install istio-ingressgateway "$CHARTS/gateway" -n istio-system --set-json "service=$GW_VALUES" \
    --wait --timeout 30s >"$T_DIR/gw.out" 2>&1 &
GW_PID=$!
kfail "aws-load-balancer-controller without clusterName fails (required)" 'without a valid clusterName' \
    h1 upgrade --install aws-load-balancer-controller "$CHARTS/aws-load-balancer-controller" -n kube-system --wait
cat >"$T_DIR/lbc.yaml" <<'EOF'
clusterName: c1
region: us-west-2
vpcId: vpc-0123
serviceAccount:
  name: aws-load-balancer-controller
  annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::123456789012:role/c1-lbc"}
EOF
kout "aws-load-balancer-controller installed with --wait" 'STATUS: deployed' \
    h1 upgrade --install aws-load-balancer-controller "$CHARTS/aws-load-balancer-controller" -n kube-system \
    -f "$T_DIR/lbc.yaml" --wait --timeout 30s
if wait "$GW_PID"; then ok "the gateway's helm --wait finishes once the controller runs"
else not_ok "the gateway's helm --wait finishes once the controller runs"; sed 's/^/    | /' "$T_DIR/gw.out"; fi
k1 get deploy,svc,sa -n kube-system -o json >"$T_DIR/ks1.json"
k1 get deploy,svc -n istio-system -o json >"$T_DIR/is2.json"
jout "lbc: its ServiceAccount annotated with the IRSA role, its args with the cluster, region, VPC" \
    "^arn:aws:iam::123456789012:role/c1-lbc \['--cluster-name=c1', '--ingress-class=alb', '--aws-region=us-west-2', '--aws-vpc-id=vpc-0123'\]$" \
    'o("ServiceAccount", "aws-load-balancer-controller")["metadata"]["annotations"]["eks.amazonaws.com/role-arn"], o("Deployment", "aws-load-balancer-controller")["spec"]["template"]["spec"]["containers"][0]["args"]' "$T_DIR/ks1.json"
jout "lbc: its webhook Service" '^aws-load-balancer-webhook-service$' \
    'o("Service", "aws-load-balancer-webhook-service")["metadata"]["name"]' "$T_DIR/ks1.json"
jout "gateway: Deployment and LoadBalancer Service named after the release, the NLB annotations, an address" \
    '^1 LoadBalancer dualstack external istio-ingressgateway-istio-system\.elb\.fake$' \
    'o("Deployment", "istio-ingressgateway")["status"]["readyReplicas"], o("Service", "istio-ingressgateway")["spec"]["type"], o("Service", "istio-ingressgateway")["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-ip-address-type"], o("Service", "istio-ingressgateway")["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-type"], o("Service", "istio-ingressgateway")["status"]["loadBalancer"]["ingress"][0]["hostname"]' "$T_DIR/is2.json"
kfail "gateway: an unknown service value is refused (values.schema.json, as the real chart)" 'bogus' \
    h1 upgrade --install gw2 "$CHARTS/gateway" -n istio-system --set service.bogus=1

# ---- helm's read, upgrade, rollback ----
kout "helm list: the four releases deployed" \
    'aws-load-balancer-controller.*deployed.*aws-load-balancer-controller-1\.11\.0.*istio-base.*deployed.*base-1\.24\.2.*istio-ingressgateway.*deployed.*gateway-1\.24\.2.*istiod.*deployed.*istiod-1\.24\.2' \
    sh -c "'$HELM' --kubeconfig '$C1/kubeconfig' list -A | tr '\n' ' '"
kout "helm status, get values, get manifest of each release" \
    '^deployed: 7 \{"clusterName":"c1",.*,deployed: 7 null,deployed: 5 \{"service".*,deployed: 10 \{"global":\{"meshID":"mesh1","multiCluster":\{"clusterName":"c1"\}' sh -c \
    "for r in kube-system/aws-load-balancer-controller istio-system/istio-base istio-system/istio-ingressgateway istio-system/istiod; do
        h() { '$HELM' --kubeconfig '$C1/kubeconfig' \"\$@\" -n \${r%/*} </dev/null; }
        echo -n \$(h status \${r#*/} | sed -n 's/^STATUS: //p'): \$(h get manifest \${r#*/} | grep -c '^kind:') \$(h get values \${r#*/} -o json | tr -d ' '),
    done"
kout "an upgrade of base leaving a CRD out (base.excludedCRDs) deletes it, and only it" '^0 5$' sh -c \
    "'$HELM' --kubeconfig '$C1/kubeconfig' upgrade istio-base '$CHARTS/base' -n istio-system --wait --set 'base.excludedCRDs={authorizationpolicies.security.istio.io}' </dev/null >/dev/null && kubectl --kubeconfig '$C1/kubeconfig' get crd -o name >'$T_DIR/crds' && echo \$(grep -c authorizationpolicies '$T_DIR/crds') \$(grep -c istio.io '$T_DIR/crds')"
kout "... helm rollback istio-base 1 brings it back" 'authorizationpolicies\.security\.istio\.io' sh -c \
    "'$HELM' --kubeconfig '$C1/kubeconfig' rollback istio-base 1 -n istio-system --wait </dev/null >/dev/null && kubectl --kubeconfig '$C1/kubeconfig' get crd authorizationpolicies.security.istio.io -o name"
POD0=$(k1 get pods -n istio-system -l app=istiod -o jsonpath='{.items[0].metadata.name}')
kout "an upgrade with another podAnnotations value rolls istiod's Pod" 'REVISION: 2' \
    h1 upgrade istiod "$CHARTS/istiod" -n istio-system -f "$T_DIR/istiod-c1.yaml" \
    --set podAnnotations.mesh\\.io/ca-bundle-hash=bbbb --wait --timeout 30s
kout "... a new Pod with the new annotation" "^bbbb [a-z0-9-]+$" sh -c \
    "kubectl --kubeconfig '$C1/kubeconfig' get pods -n istio-system -l app=istiod -o jsonpath='{.items[*].metadata.annotations.mesh\.io/ca-bundle-hash} {.items[*].metadata.name}' | grep -v '$POD0'"
kout "helm rollback istiod 1 --wait" 'Rollback was a success' h1 rollback istiod 1 -n istio-system --wait --timeout 30s
kout "... the Pod has the first annotation again; helm status says revision 3" '^aaaa REVISION: 3$' sh -c \
    "kubectl --kubeconfig '$C1/kubeconfig' get pods -n istio-system -l app=istiod -o jsonpath='{.items[*].metadata.annotations.mesh\.io/ca-bundle-hash} '; '$HELM' --kubeconfig '$C1/kubeconfig' status istiod -n istio-system | grep REVISION"

# ---- traffic: helloworld v1 in c1, v2 in c2, a curl Job in each ----
if wait "$C2_ISTIO"; then ok "c2: base and istiod installed (in the background)"
else not_ok "c2: base and istiod installed (in the background)"; sed 's/^/    | /' "$T_DIR/c2-istio.out"; fi
sample() {  # VERSION
    cat <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: sample, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: helloworld, namespace: sample, labels: {app: helloworld, service: helloworld}}
spec:
  ports: [{port: 5000, name: http}]
  selector: {app: helloworld}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: helloworld-$1, namespace: sample, labels: {app: helloworld, version: $1}}
spec:
  replicas: 1
  selector: {matchLabels: {app: helloworld, version: $1}}
  template:
    metadata: {labels: {app: helloworld, version: $1}}
    spec:
      containers:
      - {name: helloworld, image: docker.io/istio/examples-helloworld-$1:1.0, ports: [{containerPort: 5000}]}
EOF
}
curl_job() {  # NAME [PORT]
    cat <<EOF
apiVersion: batch/v1
kind: Job
metadata: {name: $1, namespace: sample}
spec:
  backoffLimit: 0
  template:
    metadata: {labels: {app: curl}}
    spec:
      restartPolicy: Never
      containers:
      - name: curl
        image: curlimages/curl:8.8.0
        command: [sh, -c, 'for i in \$(seq 1 10); do curl -sS helloworld.sample:${2:-5000}/hello; sleep 0.1; done']
EOF
}
# reader_token DIR: the istio-reader-service-account token the fake's token controller makes
reader_token() {
    local k="kubectl --kubeconfig $1/kubeconfig"
    $k apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Secret
metadata:
  name: istio-reader-service-account-istio-remote-secret-token
  namespace: istio-system
  annotations: {kubernetes.io/service-account.name: istio-reader-service-account}
type: kubernetes.io/service-account-token
EOF
    until_ok 10 sh -c "$k get secret istio-reader-service-account-istio-remote-secret-token -n istio-system -o jsonpath='{.data.token}' | grep -q ."
    $k get secret istio-reader-service-account-istio-remote-secret-token -n istio-system -o jsonpath='{.data.token}' | base64 -d
}
# remote_secret CLUSTER DIR TOKEN: what istioctl create-remote-secret makes for CLUSTER
remote_secret() {
    local kc
    kc=$(printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: %s\n  cluster:\n    server: %s\n    certificate-authority-data: %s\ncontexts:\n- name: %s\n  context: {cluster: %s, user: %s}\ncurrent-context: %s\nusers:\n- name: %s\n  user:\n    token: %s\n' \
        "$1" "$(cat "$2/url")" "$(base64 -w0 <"$2/ca.crt")" "$1" "$1" "$1" "$1" "$1" "$3" | base64 -w0)
    cat <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: istio-remote-secret-$1
  namespace: istio-system
  labels: {istio/multiCluster: "true"}
  annotations: {networking.istio.io/cluster: $1}
data:
  $1: $kc
EOF
}
sample v1 | k1 apply -f - >/dev/null
sample v2 | k2 apply -f - >/dev/null
TOK1=$(reader_token "$C1")
TOK2=$(reader_token "$C2")
if [ -n "$TOK1" ] && [ -n "$TOK2" ] && [ "$TOK1" != "$TOK2" ]; then ok "reader tokens made by each fake's token controller"
else not_ok "reader tokens made by each fake's token controller"; fi
kout "the reader token authenticates against its own cluster as istio-reader-service-account" \
    'system:serviceaccount:istio-system:istio-reader-service-account' \
    k2 --token "$TOK2" auth whoami
remote_secret c2 "$C2" "$TOK2" | k1 apply -f - >/dev/null
remote_secret c1 "$C1" "$TOK1" | k2 apply -f - >/dev/null
until_ok 10 sh -c "kubectl --kubeconfig '$C1/kubeconfig' get pods -n sample -l version=v1 | grep -q Running"
until_ok 10 sh -c "kubectl --kubeconfig '$C2/kubeconfig' get pods -n sample -l version=v2 | grep -q Running"
{ curl_job curl; echo ---; curl_job curl-port 5001; } | k1 apply -f - >/dev/null
curl_job curl | k2 apply -f - >/dev/null
kout "c1's curl Jobs complete" 'curl-port condition met' k1 wait --for=condition=complete job/curl job/curl-port -n sample --timeout=15s
kout "c2's curl Job completes" 'condition met' k2 wait --for=condition=complete job/curl -n sample --timeout=15s
both='Hello version: v1, instance: helloworld-v1-.*Hello version: v2, instance: helloworld-v2-|Hello version: v2, instance: helloworld-v2-.*Hello version: v1, instance: helloworld-v1-'
kout "c1: kubectl logs job/curl holds v1 and v2 replies" "$both" sh -c "kubectl --kubeconfig '$C1/kubeconfig' logs job/curl -n sample | tr '\n' ' '"
kout "c2: kubectl logs job/curl holds v1 and v2 replies" "$both" sh -c "kubectl --kubeconfig '$C2/kubeconfig' logs job/curl -n sample | tr '\n' ' '"
kout "... one reply line per call (10)" '^10$' sh -c "kubectl --kubeconfig '$C1/kubeconfig' logs job/curl -n sample | grep -c '^Hello version: '"
kout "the Job's Pod Succeeded, named by job-name" '^Succeeded$' k1 get pods -n sample -l job-name=curl -o jsonpath='{.items[0].status.phase}'
kout "a port the Service does not have: curl's connect error" 'curl: \(7\) Failed to connect to helloworld\.sample port 5001' \
    k1 logs job/curl-port -n sample

# A remote secret whose token c2 refuses: c1 sees only its own endpoints.
remote_secret c2 "$C2" "fk-sa-not-a-token" | k1 apply -f - >/dev/null
curl_job curl-bad | k1 apply -f - >/dev/null
k1 wait --for=condition=complete job/curl-bad -n sample --timeout=15s >/dev/null 2>&1
kout "a remote secret with a bad token: c1's replies are v1 only" '^10 0$' sh -c \
    "kubectl --kubeconfig '$C1/kubeconfig' logs job/curl-bad -n sample > '$T_DIR/bad.log'; echo \$(grep -c 'version: v1' '$T_DIR/bad.log') \$(grep -c 'version: v2' '$T_DIR/bad.log')"
kout "... c2 answered c1's reader 401 (in c1's fake log)" 'remote cluster c2 .*401' cat "$C1/fake.log"
# Without istiod, c2's curl reaches only c2.
kout "c2: helm uninstall istiod --wait" 'uninstalled' h2 uninstall istiod -n istio-system --wait --timeout 30s
curl_job curl-noistiod | k2 apply -f - >/dev/null
k2 wait --for=condition=complete job/curl-noistiod -n sample --timeout=15s >/dev/null 2>&1
kout "no istiod in c2: c2's replies are v2 only" '^0 10$' sh -c \
    "kubectl --kubeconfig '$C2/kubeconfig' logs job/curl-noistiod -n sample > '$T_DIR/noistiod.log'; echo \$(grep -c 'version: v1' '$T_DIR/noistiod.log') \$(grep -c 'version: v2' '$T_DIR/noistiod.log')"
kout "a Deployment's Pod has an (empty) log" '^$' sh -c \
    "kubectl --kubeconfig '$C1/kubeconfig' logs deploy/helloworld-v1 -n sample"

# ---- aws-node (--eks-node): the reference's egress settings by server-side apply ----
kout "aws-node: a DaemonSet with the aws-vpc-cni-init init container, and its Pod" \
    '^aws-vpc-cni-init amazon-k8s-cni-init:v1\.19\.0-eksbuild\.1 Running$' sh -c \
    "kubectl --kubeconfig '$C1/kubeconfig' get ds aws-node -n kube-system -o jsonpath='{.spec.template.spec.initContainers[0].name} {.spec.template.spec.initContainers[0].image}' | sed 's|[^ ]*/||'; echo -n ' '; kubectl --kubeconfig '$C1/kubeconfig' get pods -n kube-system -l k8s-app=aws-node -o jsonpath='{.items[0].status.phase}'"
NODE_POD=$(k1 get pods -n kube-system -l k8s-app=aws-node -o jsonpath='{.items[0].metadata.name}')
cat >"$T_DIR/egress.yaml" <<'EOF'
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: aws-node, namespace: kube-system}
spec:
  template:
    spec:
      initContainers:
      - name: aws-vpc-cni-init
        env:
        - {name: ENABLE_V6_EGRESS, value: "true"}
EOF
kout "a server-side apply of the init container's env (field manager mesh)" 'serverside-applied' \
    k1 apply --server-side --field-manager=mesh -f "$T_DIR/egress.yaml"
kout "... merged by name: the image and the other env kept, ENABLE_V6_EGRESS added" \
    '^amazon-k8s-cni-init:v1\.19\.0-eksbuild\.1 DISABLE_TCP_EARLY_DEMUX=false ENABLE_IPv6=false ENABLE_V6_EGRESS=true $' sh -c \
    "kubectl --kubeconfig '$C1/kubeconfig' get ds aws-node -n kube-system -o jsonpath='{.spec.template.spec.initContainers[0].image} {range .spec.template.spec.initContainers[0].env[*]}{.name}={.value} {end}' | sed 's|^[^ ]*/||'"
kout "... mesh owns just that env entry; eks keeps the image" \
    'mesh Apply k:\{"name":"ENABLE_V6_EGRESS"\}.*eks Apply .*f:image' sh -c \
    "kubectl --kubeconfig '$C1/kubeconfig' get ds aws-node -n kube-system -o json --show-managed-fields | $PY -c '
import json, sys
d = json.load(sys.stdin)
for m in sorted(d[\"metadata\"][\"managedFields\"], key=lambda m: m[\"manager\"], reverse=True):
    ic = m[\"fieldsV1\"].get(\"f:spec\", {}).get(\"f:template\", {}).get(\"f:spec\", {}).get(\"f:initContainers\", {})
    item = ic.get(\"k:{\\\"name\\\":\\\"aws-vpc-cni-init\\\"}\", {})
    print(m[\"manager\"], m[\"operation\"], \" \".join(sorted(item.get(\"f:env\", {}))), \" \".join(sorted(item)))
' | tr '\n' ' '"
kout "... the pod template changed: aws-node's Pod is replaced" '^1 [a-z0-9-]+$' sh -c \
    "kubectl --kubeconfig '$C1/kubeconfig' get pods -n kube-system -l k8s-app=aws-node -o jsonpath='{.items[*].metadata.name}' | grep -v '$NODE_POD' | wc -w | tr '\n' ' '; echo x"
sed 's/"true"/"false"/' "$T_DIR/egress.yaml" >"$T_DIR/egress2.yaml"
kout "mesh re-applies another value: no conflict (it owns the field)" 'serverside-applied' \
    k1 apply --server-side --field-manager=mesh -f "$T_DIR/egress2.yaml"
kfail "another manager applying that field: a conflict naming mesh" 'conflict with "mesh".*ENABLE_V6_EGRESS' \
    k1 apply --server-side --field-manager=someone -f "$T_DIR/egress.yaml"
kout "the reference's kubectl patch (strategic merge) keeps the rest too" \
    'amazon-k8s-cni-init.* ENABLE_V6_EGRESS=false ENABLE_V4_EGRESS=true $' sh -c \
    "kubectl --kubeconfig '$C1/kubeconfig' patch daemonset aws-node -n kube-system -p '{\"spec\": {\"template\": {\"spec\": {\"initContainers\": [{\"env\":[{\"name\":\"ENABLE_V4_EGRESS\",\"value\":\"true\"}],\"name\":\"aws-vpc-cni-init\"}]}}}}' >/dev/null && kubectl --kubeconfig '$C1/kubeconfig' get ds aws-node -n kube-system -o jsonpath='{.spec.template.spec.initContainers[0].image} {range .spec.template.spec.initContainers[0].env[*]}{.name}={.value} {end}'"
kfail "c2 (no --eks-node) has no aws-node" 'NotFound' k2 get ds aws-node -n kube-system

# ---- uninstall, in the order mesh destroys them ----
kout "helm uninstall the gateway --wait (the controller releases its Service)" 'uninstalled' \
    h1 uninstall istio-ingressgateway -n istio-system --wait --timeout 30s
kout "helm uninstall the controller, istiod, base --wait" 'istio-base" uninstalled' sh -c \
    "for r in kube-system/aws-load-balancer-controller istio-system/istiod istio-system/istio-base; do '$HELM' --kubeconfig '$C1/kubeconfig' uninstall \${r#*/} -n \${r%/*} --wait --timeout 30s </dev/null || exit 1; done"
kout "... no release, no CRD, no webhook, nothing of them in istio-system" '^0 0 0 0$' sh -c \
    "echo \$('$HELM' --kubeconfig '$C1/kubeconfig' list -A -q | wc -l) \$(kubectl --kubeconfig '$C1/kubeconfig' get crd -o name | wc -l) \$(kubectl --kubeconfig '$C1/kubeconfig' get mutatingwebhookconfigurations,validatingwebhookconfigurations -o name | wc -l) \$(kubectl --kubeconfig '$C1/kubeconfig' get deploy,svc,sa,cm -n istio-system -o name | grep -v -e serviceaccount/default -e serviceaccount/istio-reader -e configmap/kube-root-ca.crt | wc -l)"

# A LoadBalancer Service deleted after the controller went: held by its finalizer, as on EKS.
cat >"$T_DIR/lb.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: default}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: aws-load-balancer-controller, namespace: kube-system}
spec:
  selector: {matchLabels: {app: lbc}}
  template:
    metadata: {labels: {app: lbc}}
    spec: {containers: [{name: c, image: lbc}]}
EOF
k1 apply -f "$T_DIR/lb.yaml" >/dev/null
until_ok 10 sh -c "kubectl --kubeconfig '$C1/kubeconfig' get svc lb -o jsonpath='{.status.loadBalancer.ingress[0].hostname}' | grep -q elb"
kout "a controller's LoadBalancer Service gets its finalizer" 'service.k8s.aws/resources' \
    k1 get svc lb -o jsonpath='{.metadata.finalizers}'
k1 delete deploy aws-load-balancer-controller -n kube-system --wait=true >/dev/null 2>&1
kfail "controller gone first: deleting the Service hangs (Terminating)" 'timed out' \
    k1 delete svc lb --timeout=1s
kout "... its address is gone with the controller" '^<>$' k1 get svc lb -o jsonpath='<{.status.loadBalancer.ingress[0].hostname}>'
k1 apply -f "$T_DIR/lb.yaml" >/dev/null 2>&1
kfail "... the controller back: the Service goes" 'NotFound' sh -c \
    "kubectl --kubeconfig '$C1/kubeconfig' wait --for=delete svc/lb --timeout=10s >/dev/null 2>&1; kubectl --kubeconfig '$C1/kubeconfig' get svc lb"

# ---- stable namespace uids ----
UID1=$(k1 get ns kube-system -o jsonpath='{.metadata.uid}')
UID2=$(k2 get ns kube-system -o jsonpath='{.metadata.uid}')
PORT2=$(cat "$C2/port")
kube_fake_stop "$C2"
kube_fake_start "$C2" c2 --port "$PORT2" >/dev/null 2>&1
if [ -n "$UID2" ] && [ "$UID1" != "$UID2" ] && [ "$(k2 get ns kube-system -o jsonpath='{.metadata.uid}')" = "$UID2" ]; then
    ok "kube-system's uid: stable across a restart, different between clusters"
else not_ok "kube-system's uid: stable across a restart, different between clusters ($UID1 $UID2)"; fi
t_done
