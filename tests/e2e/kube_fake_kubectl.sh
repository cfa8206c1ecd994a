#!/usr/bin/env bash
# kube_fake_kubectl.sh: the fake Kubernetes API server (tests/harness/kube) against the real kubectl.
# Two fakes (c1 with client certificates, c2 checking EKS tokens at the AWS harness's STS), a
# temporary HOME: namespaces, server-side apply and its conflicts, rollouts, patches, managed
# fields, deletion (namespaces held by finalizers too), whoami, service-account tokens, bad
# tokens, client certificates, a 429 that kubectl retries, a server not listening yet, and EKS
# tokens made by `aws eks get-token` (good, tampered, for another cluster, revoked).
# Prints "ok - NAME" / "not ok - NAME".
source "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$T_TESTS/.." && pwd)
t_setup
source "$ROOT/tests/harness/kube/kube.sh"
source "$ROOT/tests/harness/aws/harness.sh"

if ! command -v kubectl >/dev/null; then not_ok "kubectl on PATH"; exit 1; fi
# The pure parts first (patches, selectors, field ownership, protobuf): their own ok/not ok lines.
$PY "$ROOT/tests/harness/kube/selftest.py" >"$T_DIR/selftest.out" 2>&1
cat "$T_DIR/selftest.out"
T_PASSED=$((T_PASSED + $(grep -c '^ok - ' "$T_DIR/selftest.out")))
T_FAILED=$((T_FAILED + $(grep -c '^not ok - ' "$T_DIR/selftest.out")))
C1="$T_DIR/c1" C2="$T_DIR/c2" C3="$T_DIR/c3" H="$T_DIR/aws"
trap 'kube_fake_stop "$C1"; kube_fake_stop "$C2"; kube_fake_stop "$C3"; aws_harness_stop "$H"; t_cleanup' EXIT

# The AWS harness (signature checking on) starts in the background while c1 is tested: moto takes
# a while. c2, which checks EKS tokens at its proxy, starts once it is up.
( MESH_HARNESS_AUTH=1 aws_harness_start "$H" >"$T_DIR/aws.out" 2>&1 && touch "$T_DIR/aws.ready" ) &
AWS_BG=$!
check "c1 starts (client certificates on)" kube_fake_start "$C1" c1 --client-ca
[ -n "${KUBE_C1_URL:-}" ] || { not_ok "KUBE_C1_URL exported"; exit 1; }

k1() { kubectl --kubeconfig "$C1/kubeconfig" "$@" </dev/null; }
k2() { kubectl --kubeconfig "$C2/kubeconfig" "$@" </dev/null; }
# until_ok SECONDS CMD...: poll CMD until it succeeds (the controllers act within a second, but a
# loaded machine may be slower); the check after it says what was wanted.
until_ok() {
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done
}
jget() { $PY -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# ---- discovery, namespaces ----
kout "kubectl version names the server" 'Server Version: v1\.32' k1 version
kout "kubectl get ns lists the seeded namespaces" 'kube-system +Active' k1 get ns
kout "kubectl create namespace (a protobuf body)" 'namespace/app created' k1 create namespace app
k1 create namespace held-apart >/dev/null 2>&1
kout "the new namespace gets a default ServiceAccount" '^default ' k1 get sa -n app --no-headers
kout "... and a kube-root-ca.crt ConfigMap holding the fake's CA" 'BEGIN CERTIFICATE' \
    k1 get cm kube-root-ca.crt -n app -o jsonpath='{.data.ca\.crt}'
kfail "creating it twice: AlreadyExists" 'AlreadyExists|already exists' k1 create namespace app

# ---- server-side apply ----
cat >"$T_DIR/cm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: app, labels: {tier: web}}
data: {foo: bar, keep: "1"}
EOF
cat >"$T_DIR/dep.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.25", ports: [{containerPort: 80}]}]
EOF
kout "apply --server-side: a ConfigMap" 'configmap/settings serverside-applied' k1 apply --server-side -f "$T_DIR/cm.yaml"
kout "apply --server-side: a Deployment" 'deployment.apps/web serverside-applied' k1 apply --server-side -f "$T_DIR/dep.yaml"
kout "list by label selector" '^settings$' k1 get cm -n app -l 'tier=web' -o jsonpath='{.items[*].metadata.name}'
kout "list by label selector: none match" '^$' k1 get cm -n app -l 'tier=db' -o jsonpath='{.items[*].metadata.name}'
kout "list by field selector metadata.name" '^settings$' k1 get cm -n app --field-selector metadata.name=settings \
    -o jsonpath='{.items[*].metadata.name}'
kout "the Deployment rolls out (rollout status)" 'successfully rolled out' k1 rollout status deploy/web -n app --timeout=20s
kout "kubectl get prints the Deployment's table: READY 1/1" '^web +1/1 +1 +1 ' k1 get deploy web -n app --no-headers
kout "the Deployment becomes Available (wait)" 'condition met' k1 wait --for=condition=Available deploy/web -n app --timeout=20s
kout "the Deployment has a ReplicaSet with 1 ready replica (the default)" '^web-[a-z0-9]+ 1$' \
    k1 get rs -n app -o jsonpath='{range .items[*]}{.metadata.name} {.status.readyReplicas}{"\n"}{end}'
sed 's/foo: bar/foo: theirs/' "$T_DIR/cm.yaml" >"$T_DIR/cm-other.yaml"
kfail "another field manager setting a field kubectl owns: a conflict naming it" \
    'Apply failed with 1 conflict: conflict with "kubectl".*\.data\.foo' \
    k1 apply --server-side --field-manager other -f "$T_DIR/cm-other.yaml"
kout "the conflicting apply changed nothing" '^bar$' k1 get cm settings -n app -o jsonpath='{.data.foo}'
kout "--force-conflicts takes the field" 'serverside-applied' \
    k1 apply --server-side --field-manager other --force-conflicts -f "$T_DIR/cm-other.yaml"
kout "... and its value" '^theirs$' k1 get cm settings -n app -o jsonpath='{.data.foo}'
k1 get cm settings -n app -o json --show-managed-fields >"$T_DIR/mf.json" 2>&1
check "managedFields: kubectl no longer owns .data.foo, other does, both own .data.keep" \
    test "$(jget '" ".join(sorted("%s:%s" % (m["manager"], ",".join(sorted(m["fieldsV1"]["f:data"]))) for m in d["metadata"]["managedFields"]))' <"$T_DIR/mf.json")" \
    = "kubectl:f:keep other:f:foo,f:keep"
# kubectl re-applies without keep: the field stays (other still owns it); other drops it too: gone.
sed '/keep:/d; s/data: {foo: bar, keep: "1"}/data: {foo: theirs}/' "$T_DIR/cm-other.yaml" >"$T_DIR/cm-other2.yaml"
k1 apply --server-side --field-manager other -f "$T_DIR/cm-other2.yaml" >/dev/null 2>&1
kout "an apply that omits a field its manager alone owned... (kubectl still owns keep)" '^1$' \
    k1 get cm settings -n app -o jsonpath='{.data.keep}'
sed 's/foo: bar, keep: "1"/foo: theirs/' "$T_DIR/cm.yaml" >"$T_DIR/cm-kubectl2.yaml"
k1 apply --server-side -f "$T_DIR/cm-kubectl2.yaml" >/dev/null 2>&1
kout "... removes it once no manager owns it" '^none$' \
    k1 get cm settings -n app -o go-template='{{if .data.keep}}{{.data.keep}}{{else}}none{{end}}'

# ---- patches ----
kout "kubectl patch --type merge" 'patched' k1 patch cm settings -n app --type merge -p '{"data":{"merged":"yes"}}'
kout "kubectl patch --type json" 'patched' k1 patch deploy web -n app --type json \
    -p '[{"op":"replace","path":"/spec/replicas","value":3}]'
kout "kubectl patch (strategic): a container merged by name" 'patched' k1 patch deploy web -n app \
    -p '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}}}}'
k1 rollout status deploy/web -n app --timeout=20s >/dev/null 2>&1
kout "the patched Deployment: 3 replicas, the new image, its port kept, rolled out again" \
    '^3 nginx:1\.26 80 3$' k1 get deploy web -n app \
    -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort} {.status.readyReplicas}'
kout "managedFields name kubectl-patch as an Update manager" '"manager": "kubectl-patch"' \
    k1 get deploy web -n app -o json --show-managed-fields
kout "kubectl get -o json shows managedFields (--show-managed-fields)" '"operation": "Apply"' \
    k1 get cm settings -n app -o json --show-managed-fields

kout "kubectl create service loadbalancer (a protobuf Service)" 'service/lb created' \
    k1 create service loadbalancer lb -n default --tcp=80:8080
kout "no load balancer without the AWS Load Balancer Controller" '^<>$' \
    k1 get svc lb -n default -o jsonpath='<{.status.loadBalancer.ingress[0].hostname}>'
kubectl --kubeconfig "$C1/kubeconfig" apply -f - >/dev/null <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: aws-load-balancer-controller, namespace: kube-system}
spec:
  selector: {matchLabels: {app: lbc}}
  template:
    metadata: {labels: {app: lbc}}
    spec: {containers: [{name: c, image: lbc}]}
EOF
until_ok 15 sh -c "kubectl --kubeconfig '$C1/kubeconfig' get svc lb -n default -o jsonpath='{.status.loadBalancer.ingress[0].hostname}' | grep -q elb"
kout "with the controller, the Service gets a cluster IP and a load balancer hostname" '^10\.96\.[0-9]+\.[0-9]+ lb-default\.elb\.fake 8080$' \
    k1 get svc lb -n default -o jsonpath='{.spec.clusterIP} {.status.loadBalancer.ingress[0].hostname} {.spec.ports[0].targetPort}'

# ---- deletion ----
kout "kubectl delete a Deployment" 'deleted' k1 delete deploy web -n app --wait --timeout=10s
kout "its ReplicaSets go with it" 'No resources found' k1 get rs -n app
kout "kubectl delete namespace --wait: gone within the wait" 'namespace "app" deleted' \
    k1 delete namespace app --wait --timeout=15s
kfail "... and its content with it" 'not found' k1 get cm settings -n app
k1 create namespace held >/dev/null 2>&1
k1 patch ns held --type merge -p '{"metadata":{"finalizers":["example.com/block"]}}' >/dev/null 2>&1
k1 delete ns held --wait=false >/dev/null 2>&1
until_ok 15 sh -c "kubectl --kubeconfig '$C1/kubeconfig' get ns held -o jsonpath='{.status.conditions[*].message}' | grep -q example.com/block"
kout "a namespace with its own finalizer stays Terminating, its condition naming it" \
    'Terminating .*example\.com/block' k1 get ns held -o jsonpath='{.status.phase} {.status.conditions[*].message}'
kfail "nothing can be created in a terminating namespace (403)" 'forbidden.*being terminated' \
    k1 create configmap late -n held
k1 patch ns held --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
until_ok 15 sh -c "! kubectl --kubeconfig '$C1/kubeconfig' get ns held"
kfail "once the finalizer is removed, the namespace goes" 'not found' k1 get ns held

# ---- identity ----
kout "kubectl auth whoami: the static token's user" 'Username +admin' k1 auth whoami
kfail "a bad token: 401, kubectl says Unauthorized" 'Unauthorized' k1 get ns --token not-a-token
k1 create serviceaccount bot >/dev/null 2>&1
cat >"$T_DIR/tok.yaml" <<'EOF'
apiVersion: v1
kind: Secret
metadata: {name: bot-token, namespace: default, annotations: {kubernetes.io/service-account.name: bot}}
type: kubernetes.io/service-account-token
---
apiVersion: v1
kind: Secret
metadata: {name: ghost-token, namespace: default, annotations: {kubernetes.io/service-account.name: ghost}}
type: kubernetes.io/service-account-token
EOF
k1 apply --server-side -f "$T_DIR/tok.yaml" >/dev/null 2>&1
until_ok 15 sh -c "kubectl --kubeconfig '$C1/kubeconfig' get secret bot-token -o jsonpath='{.data.token}' | grep -q ."
SA_TOKEN=$(k1 get secret bot-token -o jsonpath='{.data.token}' | base64 -d)
kout "a service-account-token Secret gets its ca.crt and namespace" '^default [0-9]+$' \
    sh -c "kubectl --kubeconfig '$C1/kubeconfig' get secret bot-token -o jsonpath='{.data.namespace}' | base64 -d; echo ' '\$(kubectl --kubeconfig '$C1/kubeconfig' get secret bot-token -o jsonpath='{.data.ca\.crt}' | base64 -d | grep -c BEGIN)"
kout "its token works as a bearer token, as the ServiceAccount" 'system:serviceaccount:default:bot' \
    k1 auth whoami --token "$SA_TOKEN"
kout "a token Secret for a ServiceAccount that does not exist stays empty" '^empty$' \
    k1 get secret ghost-token -o go-template='{{if .data}}{{.data.token}}{{else}}empty{{end}}'
k1 delete secret bot-token >/dev/null 2>&1
kfail "the token dies with its Secret" 'Unauthorized' k1 get ns --token "$SA_TOKEN"
kout "kube.sh's kubeconfig-cert: the client certificate (CN admin, O system:masters)" 'Groups +\[system:masters system:authenticated\]' \
    kubectl --kubeconfig "$C1/kubeconfig-cert" auth whoami
kout "a client certificate (CN admin) signed by the fake's CA" 'Username +admin' \
    kubectl auth whoami --kubeconfig /dev/null --server "$KUBE_C1_URL" --certificate-authority "$C1/ca.crt" \
    --client-certificate "$C1/client.crt" --client-key "$C1/client.key"
check "no credentials at all: 401 with an Unauthorized Status" test "$(curl -s --cacert "$C1/ca.crt" \
    -w ' %{http_code}' "$KUBE_C1_URL/api/v1/namespaces" | tr -d '\n' | sed 's/.*"reason": *"\([A-Za-z]*\)".* \([0-9]*\)$/\1 \2/')" \
    = "Unauthorized 401"

# ---- the raw API, as the mesh client calls it ----
(umask 077; echo "Authorization: Bearer $(cat "$C1/token")" >"$T_DIR/auth.hdr")
# kapi METHOD PATH [CONTENT_TYPE BODY]: prints "HTTP_CODE BODY" on one line
kapi() {
    local args=(-s --cacert "$C1/ca.crt" -H @"$T_DIR/auth.hdr" -X "$1" -w '\n%{http_code}')
    [ $# -ge 4 ] && args+=(-H "Content-Type: $3" --data-binary "$4")
    curl "${args[@]}" "$KUBE_C1_URL$2" | $PY -c 'import sys; d=sys.stdin.read().rsplit("\n",1); print(d[1], " ".join(d[0].split()))'
}
CM='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"m1","namespace":"default"},"data":{"a":"1"}}'
APPLY=application/apply-patch+yaml
kout "apply (JSON body, fieldManager=mesh, force) creates: 201" '^201 .*"manager": "mesh", "operation": "Apply"' \
    kapi PATCH "/api/v1/namespaces/default/configmaps/m1?fieldManager=mesh&force=true" $APPLY "$CM"
kout "the same apply again: 200, same uid" '^200 ' \
    kapi PATCH "/api/v1/namespaces/default/configmaps/m1?fieldManager=mesh&force=true" $APPLY "$CM"
kout "an apply without fieldManager: 400" '^400 ' kapi PATCH "/api/v1/namespaces/default/configmaps/m1" $APPLY "$CM"
kout "a missing object: 404 Status, reason NotFound, details" \
    '^404 .*"message": "configmaps .{1,2}nope.{1,2} not found", "reason": "NotFound", "code": 404, "details": [{]"name": "nope"' \
    kapi GET /api/v1/namespaces/default/configmaps/nope
kout "a create without a name: 422 Invalid" '^422 .*"reason": "Invalid"' \
    kapi POST /api/v1/namespaces/default/configmaps application/json '{"metadata":{},"data":{}}'
kout "a PUT with a stale resourceVersion: 409 Conflict" '^409 .*"reason": "Conflict"' \
    kapi PUT /api/v1/namespaces/default/configmaps/m1 application/json \
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"m1","resourceVersion":"1"},"data":{}}'
kout "a DELETE whose uid precondition does not match: 409 Conflict" '^409 .*Precondition failed: UID' \
    kapi DELETE /api/v1/namespaces/default/configmaps/m1 application/json '{"preconditions":{"uid":"00000000-0000-0000-0000-000000000000"}}'
UID1=$(kapi GET /api/v1/namespaces/default/configmaps/m1 | sed 's/.*"uid": "\([^"]*\)".*/\1/')
kout "a watch streams the current object as ADDED, then ends at timeoutSeconds" '^200 \{"type": "ADDED".*"name": "m1"' \
    kapi GET "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dm1"
kout "a DELETE with the right uid: 200" '^200 .*"status": "Success"' \
    kapi DELETE /api/v1/namespaces/default/configmaps/m1 application/json "{\"preconditions\":{\"uid\":\"$UID1\"},\"propagationPolicy\":\"Background\"}"
$PY -c 'import sys; sys.stdout.buffer.write(b"k8s\x00\x0a\x15\x0a\x07apps/v1\x12\x0aDeployment")' >"$T_DIR/dep.pb"
kout "a protobuf body of a kind it cannot decode: 415" '^415 .*UnsupportedMediaType' \
    kapi POST /apis/apps/v1/namespaces/default/deployments application/vnd.kubernetes.protobuf "@$T_DIR/dep.pb"

# ---- faults ----
kube_fake_faults "$C1" '{"rules":[{"method":"GET","path_re":"^/api/v1/namespaces/kube-system$","status":429,"retry_after":1,"count":2}]}'
t0=$SECONDS
kout "a 429 with Retry-After (twice) is retried by kubectl" '^kube-system$' k1 get ns kube-system -o jsonpath='{.metadata.name}'
check "... after waiting about a second each time" test $((SECONDS - t0)) -ge 1
check "... and the fake counted the two faults" test "$(kube_fake_stats "$C1" | jget 'd["faults_fired"]')" = 2
kube_fake_faults "$C1" '{"rules":[{"method":"GET","path_re":"^/api/v1/namespaces/kube-public$","delay":1.5,"count":1}]}'
t0=$(date +%s%N)
kout "a delay rule: the reply comes, late" '^kube-public$' k1 get ns kube-public -o jsonpath='{.metadata.name}'
check "... at least 1.5 s late" test $(( ($(date +%s%N) - t0) / 1000000 )) -ge 1500
k1 create configmap fault409 -n default >/dev/null 2>&1
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fault409, namespace: default}\ndata: {a: "1"}\n' >"$T_DIR/f409.yaml"
kube_fake_faults "$C1" '{"rules":[{"method":"PUT","path_re":"/configmaps/fault409","status":409,"count":1}]}'
kfail "an injected 409 on a PUT reaches kubectl replace" 'injected by fake_kube' k1 replace -f "$T_DIR/f409.yaml"
kout "... the rule is spent: the next replace works" 'replaced' k1 replace -f "$T_DIR/f409.yaml"
kube_fake_faults "$C1" '{"rules":[{"method":"GET","path_re":"configmaps","status":500,"count":1}]}'
kfail "an injected 500 reaches kubectl" 'InternalError|Internal' k1 get cm -n default --request-timeout=5s
curl -s --cacert "$C1/ca.crt" -X POST "$KUBE_C1_URL/__fake/reset-faults" >/dev/null
check "the objects dump holds what was made (ServiceAccount bot) and redacts Secret data" \
    test "$(kube_fake_objects "$C1" | jget '",".join(sorted(set(o["kind"] for o in d["objects"] if o["metadata"].get("name") in ("bot", "ghost-token")))) + " " + str(all(v == "(redacted)" for o in d["objects"] if o["kind"] == "Secret" for v in (o.get("data") or {}).values()))')" \
    = "Secret,ServiceAccount True"
(umask 077; { echo "$SA_TOKEN"; cat "$C1/token"; } >"$T_DIR/secrets")
check "the log names requests, never a token" \
    sh -c "grep -q 'GET /api/v1/namespaces' '$C1/fake.log' && ! grep -qFf '$T_DIR/secrets' '$C1/fake.log'"

# ---- a server that does not listen yet ----
kube_fake_start "$C3" c3 --refuse-seconds 2 >/dev/null 2>&1
kfail "--refuse-seconds: connection refused at first" 'connection refused' \
    kubectl --kubeconfig "$C3/kubeconfig" get ns --request-timeout=2s
until_ok 15 curl -s -o /dev/null --cacert "$C3/ca.crt" "$KUBE_C3_URL/healthz"
kout "... then it answers" 'default' kubectl --kubeconfig "$C3/kubeconfig" get ns
kube_fake_stop "$C3"

# ---- EKS tokens, checked at the AWS harness's STS ----
wait "$AWS_BG"
if [ ! -e "$T_DIR/aws.ready" ]; then not_ok "AWS harness starts"; cat "$T_DIR/aws.out"; t_done; exit 1; fi
PROXY_URL="http://127.0.0.1:$(cat "$H/proxy.port")"
read -r HARNESS_ACCESS_KEY_ID HARNESS_SECRET_ACCESS_KEY < <($PY -c \
    'import json,sys; k=json.load(open(sys.argv[1])); print(k["key"], k["secret"])' "$H/keys.json")
check "c2 starts (EKS tokens checked at the proxy)" kube_fake_start "$C2" c2 --sts-url "$PROXY_URL"
kube_fake_eks "$C2" c2
check "kube_fake_eks: the EKS stand-in reports c2's URL and CA for cluster c2" \
    test "$(curl -s "$PROXY_URL/__eks" | jget 'd["endpoints"]["c2"]["endpoint"] + " " + d["endpoints"]["c2"]["ca"]')" \
    = "$KUBE_C2_URL $(base64 -w0 <"$C2/ca.crt")"
kfail "the two clusters are apart: c2 has no namespace held-apart" 'namespaces "held-apart" not found' \
    k2 get ns held-apart
eks_token() {  # CLUSTER: a token from the real aws CLI, presigned for the proxy's STS
    AWS_ACCESS_KEY_ID=$HARNESS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$HARNESS_SECRET_ACCESS_KEY \
        AWS_DEFAULT_REGION=us-west-2 AWS_ENDPOINT_URL_STS=$PROXY_URL AWS_EC2_METADATA_DISABLED=true \
        aws eks get-token --cluster-name "$1" --output json | jget 'd["status"]["token"]'
}
(umask 077; eks_token c2 >"$T_DIR/eks-c2" & eks_token c1 >"$T_DIR/eks-c1" & wait)
EKS_TOK=$(cat "$T_DIR/eks-c2")
kout "an EKS token from aws eks get-token is accepted: the user is the caller's ARN" \
    'arn:aws:iam::123456789012:user/mesh-harness' k2 auth whoami --token "$EKS_TOK"
check "... the proxy's STS was asked (GetCallerIdentity)" \
    test "$(curl -s "$PROXY_URL/__stats" | jget 'd["by_action"].get("sts GetCallerIdentity", 0) > 0')" = True
TAMPERED=$($PY -c '
import base64, sys
b = sys.argv[1][len("k8s-aws-v1."):]
url = base64.urlsafe_b64decode(b + "=" * (-len(b) % 4)).decode()
i = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
url = url[:i] + ("0" if url[i] != "0" else "1") + url[i + 1:]
print("k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("="))' "$EKS_TOK")
kfail "a tampered EKS token (one signature digit changed) is refused" 'Unauthorized' k2 get ns --token "$TAMPERED"
check "... the fake's log says why: STS answered SignatureDoesNotMatch" \
    grep -q 'EKS token refused: STS answered 403 SignatureDoesNotMatch' "$C2/fake.log"
EXPIRED=$($PY -c '
import base64, re, sys
b = sys.argv[1][len("k8s-aws-v1."):]
url = base64.urlsafe_b64decode(b + "=" * (-len(b) % 4)).decode()
url = re.sub(r"X-Amz-Date=\d{8}T", "X-Amz-Date=20200101T", url)
print("k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("="))' "$EKS_TOK")
kfail "an EKS token signed more than 15 minutes ago is refused" 'Unauthorized' k2 get ns --token "$EXPIRED"
check "... as expired, without asking STS" grep -q 'EKS token refused: expired: signed 20200101T' "$C2/fake.log"
kfail "a token made for another cluster (x-k8s-aws-id c1) is refused by c2" 'Unauthorized' \
    k2 get ns --token "$(cat "$T_DIR/eks-c1")"
kfail "c1 (no --sts-url) refuses EKS tokens" 'Unauthorized' k1 get ns --token "$EKS_TOK"
printf '{"token": "%s"}' "$EKS_TOK" | curl -s --cacert "$C2/ca.crt" -X POST "$KUBE_C2_URL/__fake/revoke" --data-binary @- >/dev/null
kfail "a revoked token is refused, cached or not" 'Unauthorized' k2 get ns --token "$EKS_TOK"

t_done
