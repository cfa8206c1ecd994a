#!/usr/bin/env bash
# kube_client.sh: mesh's Kubernetes client (providers/kubernetes/) against the fake API server
# (tests/harness/kube/), over HTTPS with the CA in memory: a kubeconfig's token, client
# certificate and key (data), an exec plugin (token cached across 8 threads; a client
# certificate from the plugin; a missing one with its installHint), a bogus token's 401 naming
# the credential, a CA that did not sign the server refused, server-side apply with a conflict
# naming the other manager and force taking the field over, 429 + Retry-After retried, delete
# waiting for a namespace and naming a stuck one's finalizer, and kubernetes_connection through
# mesh waiting for a server that refuses connections at first. No token in any output or state.
# The probe (tests/e2e/kube_client_probe.c) is linked with build/asan/libmesh.a.
source "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$T_TESTS/.." && pwd)
source "$ROOT/tests/harness/kube/kube.sh"
t_setup
trap 'kube_fake_stop "$T_DIR/f1"; kube_fake_stop "$T_DIR/f2"; t_cleanup' EXIT

# ---- build the probe (ASan + UBSan) ----
PROBE="$T_DIR/kube_client_probe"
LIBS="$(pkg-config --libs libcurl openssl yaml-0.1 sqlite3 jansson libxml-2.0) -lpthread -lm"
if out=$(cd "$ROOT" && make -s build/asan/libmesh.a 2>&1 &&
         cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Iengine -Iproviders -I. \
            -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer $(pkg-config --cflags libxml-2.0) \
            -o "$PROBE" tests/e2e/kube_client_probe.c build/asan/libmesh.a $LIBS 2>&1); then
    ok "build probe"
else
    not_ok "build probe"; sed 's/^/    | /' <<<"$out"; exit 1
fi
export ASAN_OPTIONS=detect_leaks=1 MESH_BACKOFF_SCALE=0.05

F1="$T_DIR/f1"
kube_fake_start "$F1" c1 --client-ca || { not_ok "fake c1 starts"; exit 1; }
TOKEN=$(cat "$F1/token")
URL=$(cat "$F1/url")
CA64=$(base64 -w0 <"$F1/ca.crt")
cfg() { echo "{\"cluster\":\"cluster-1\",\"kubeconfig\":\"$1\"${2:+,\"context\":\"$2\"}}"; }
probe() { "$PROBE" "$@" >"$T_DIR/out" 2>"$T_DIR/err"; }
show() { sed 's/^/    | /' "$T_DIR/out" "$T_DIR/err" | tail -15; }
expect_ok() {  # NAME PROBE-ARGS...
    local name=$1; shift
    if probe "$@"; then ok "$name"; else not_ok "$name"; show; fi
}
expect_err() {  # NAME PATTERN PROBE-ARGS...
    local name=$1 pat=$2; shift 2
    if ! probe "$@" && grep -qF -- "$pat" "$T_DIR/err"; then ok "$name"; else not_ok "$name"; show; fi
}
no_secret_in_output() {  # NAME SECRET
    if grep -qF -- "$2" "$T_DIR/out" "$T_DIR/err"; then not_ok "$1"; else ok "$1"; fi
}

# ---- token from the kubeconfig ----
expect_ok "version with the kubeconfig's token" "$(cfg "$F1/kubeconfig")" version
check "gitVersion answered" grep -q '"gitVersion":"v1' "$T_DIR/out"
check "one API call counted" grep -q '"api_calls":1,' "$T_DIR/err"
no_secret_in_output "the token is never printed" "$TOKEN"
MESH_LOG=debug expect_ok "version with the debug log on" "$(cfg "$F1/kubeconfig")" version
check "the debug log shows the request" grep -q "http: > GET https://127.0.0.1:[0-9]*/version" "$T_DIR/err"
check "... with the Authorization header redacted" grep -q "http: > Authorization: REDACTED" "$T_DIR/err"
no_secret_in_output "the debug log never prints the token" "$TOKEN"

# ---- client certificate and key (data), no token ----
{
    echo "clusters: [{name: k, cluster: {server: \"$URL\", certificate-authority-data: \"$CA64\"}}]"
    echo "contexts: [{name: cert, context: {cluster: k, user: cert}}]"
    echo "users:"
    echo "- name: cert"
    echo "  user:"
    echo "    client-certificate-data: $(base64 -w0 <"$F1/client.crt")"
    echo "    client-key-data: $(base64 -w0 <"$F1/client.key")"
} >"$T_DIR/kc-cert"
expect_ok "version with a client certificate held in memory" "$(cfg "$T_DIR/kc-cert" cert)" version
# The same thread (one cached curl handle) then asks as nobody: no certificate may carry over.
sed -e 's|^contexts: .*|contexts: [{name: cert, context: {cluster: k, user: cert}}, {name: anon, context: {cluster: k}}]|' \
    "$T_DIR/kc-cert" >"$T_DIR/kc-anon"
expect_ok "isolation probe runs" "$(cfg "$T_DIR/kc-cert" cert)" isolation "$(cfg "$T_DIR/kc-anon" anon)"
check "a handle without a certificate is not let in on the previous one's (same thread)" grep -qx "0 -1 0" "$T_DIR/out"
check "it is told unauthorized, naming no credentials" grep -q "unauthorized (401) using no credentials" "$T_DIR/err"

# ---- the CA matters: another cluster's CA is refused ----
F2="$T_DIR/f2"
kube_fake_start "$F2" c2 || { not_ok "fake c2 starts"; exit 1; }
sed "s|certificate-authority-data: .*|certificate-authority-data: $(base64 -w0 <"$F2/ca.crt")|" "$F1/kubeconfig" >"$T_DIR/kc-wrongca"
expect_err "a server whose certificate the CA did not sign is refused" "does not answer" "$(cfg "$T_DIR/kc-wrongca")" version
expect_ok "isolation probe runs (CA)" "$(cfg "$F1/kubeconfig")" isolation "$(cfg "$T_DIR/kc-wrongca")"
check "a handle with another CA is refused right after one with the right CA (same thread)" grep -qx "0 -1 0" "$T_DIR/out"
kube_fake_stop "$F2"

# ---- exec plugin: token with expiry, cached across threads ----
mkdir -p "$T_DIR/plugins"
{
    echo '#!/bin/sh'
    echo "echo run >>'$T_DIR/plugin-runs'"
    echo 'case "$KUBERNETES_EXEC_INFO" in *"\"interactive\":false"*) ;; *) exit 9 ;; esac'
    echo "tok=\$(cat '$F1/token')"
    echo 'exp=$(date -u -d "+10 min" +%Y-%m-%dT%H:%M:%SZ)'
    echo 'printf "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\",\"expirationTimestamp\":\"%s\"}}" "$tok" "$exp"'
} >"$T_DIR/plugins/get-token"
chmod +x "$T_DIR/plugins/get-token"
{
    echo "clusters: [{name: k, cluster: {server: \"$URL\", certificate-authority-data: \"$CA64\"}}]"
    echo "contexts: [{name: exec, context: {cluster: k, user: plug}}]"
    echo "current-context: exec"
    echo "users:"
    echo "- name: plug"
    echo "  user:"
    echo "    exec:"
    echo "      apiVersion: client.authentication.k8s.io/v1"
    echo "      command: plugins/get-token"
    echo "      installHint: run make deps"
} >"$T_DIR/kc-exec"
expect_ok "8 threads x 5 calls through an exec plugin's token" "$(cfg "$T_DIR/kc-exec")" threads 8
check "40 API calls counted" grep -q '"api_calls":40,' "$T_DIR/err"
check "the plugin ran once (its token kept until its expiry)" test "$(wc -l <"$T_DIR/plugin-runs")" = 1
no_secret_in_output "the plugin's token is never printed" "$TOKEN"

{
    echo '#!/bin/sh'
    echo "exec $PY -c 'import json; print(json.dumps({\"apiVersion\": \"client.authentication.k8s.io/v1\", \"kind\": \"ExecCredential\", \"status\": {\"clientCertificateData\": open(\"$F1/client.crt\").read(), \"clientKeyData\": open(\"$F1/client.key\").read()}}))'"
} >"$T_DIR/plugins/get-cert"
chmod +x "$T_DIR/plugins/get-cert"
sed 's|plugins/get-token|plugins/get-cert|' "$T_DIR/kc-exec" >"$T_DIR/kc-exec-cert"
expect_ok "an exec plugin's client certificate and key" "$(cfg "$T_DIR/kc-exec-cert")" version

sed 's|plugins/get-token|plugins/missing-plugin|' "$T_DIR/kc-exec" >"$T_DIR/kc-exec-missing"
expect_err "a missing plugin: its name and the installHint" \
    "exec plugin plugins/missing-plugin cannot be run: No such file or directory; run make deps" \
    "$(cfg "$T_DIR/kc-exec-missing")" version

# ---- a bogus token: one clear 401 naming the cluster and the credential ----
sed "s|token: .*|token: bogus-token-xyz|" "$F1/kubeconfig" >"$T_DIR/kc-bogus"
expect_err "a bogus token: 401 naming the cluster and the credential" \
    "cluster-1: unauthorized (401) using the token of kubeconfig user c1-admin" "$(cfg "$T_DIR/kc-bogus")" version
no_secret_in_output "the bogus token is never printed" "bogus-token-xyz"

# ---- server-side apply: a conflict names the other manager; force takes the field over ----
C="$(cfg "$F1/kubeconfig")"
CM='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"ns1"},"data":{"foo":"VALUE"}}'
expect_ok "apply a namespace" "$C" apply '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ns1"}}'
expect_ok "apply a configmap" "$C" apply "${CM/VALUE/mesh}"
curl -s -o "$T_DIR/kubectl.out" --cacert "$F1/ca.crt" -H "Authorization: Bearer $TOKEN" -X PATCH \
    -H 'Content-Type: application/apply-patch+yaml' \
    "$URL/api/v1/namespaces/ns1/configmaps/cm?fieldManager=kubectl&force=true" -d "${CM/VALUE/kubectl}"
expect_err "a conflict names the other manager and the field" \
    'cluster-1: configmap ns1/cm: conflict with "kubectl" on .data.foo; set force_conflicts to take the fields over' \
    "$C" apply "${CM/VALUE/mesh2}"
expect_ok "force takes the field over" "$C" apply "${CM/VALUE/mesh2}" force
check "the live object has mesh's value" grep -q '"foo":"mesh2"' "$T_DIR/out"
MESH_LOG=debug expect_ok "apply a secret with the debug log on" "$C" apply \
    '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"sec","namespace":"ns1"},"stringData":{"pw":"hunter2-secret-value"}}'
if grep -q "hunter2-secret-value\|aHVudGVyMi1zZWNyZXQtdmFsdWU" "$T_DIR/err"; then not_ok "a Secret's data stays out of the debug log"; else
    ok "a Secret's data stays out of the debug log"; fi

# ---- 429 with Retry-After is retried; 404 is MESH_ENOTFOUND ----
kube_fake_faults "$F1" '{"rules":[{"method":"GET","path_re":"^/api/v1/namespaces/ns1/configmaps/cm","status":429,"retry_after":1,"count":2}]}'
expect_ok "429 with Retry-After retried" "$C" get v1 ConfigMap ns1 cm
check "two retries counted" grep -q '"retries":2' "$T_DIR/err"
expect_err "404 is not found" "error -2: cluster-1: configmap ns1/nope: not found (404)" "$C" get v1 ConfigMap ns1 nope

# ---- delete: waits for the namespace; a stuck one's finalizer is named ----
UID1=$("$PROBE" "$C" get v1 Namespace - ns1 2>/dev/null | $PY -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["uid"])')
expect_err "delete with another uid: not ours (MESH_ENOTFOUND)" "error -2:" "$C" delete v1 Namespace - ns1 not-the-uid
expect_ok "delete a namespace and wait until it is gone" "$C" delete v1 Namespace - ns1 "$UID1"
check "progress named the namespace" grep -q "note: waiting for namespace ns1 to be deleted" "$T_DIR/err"
expect_err "it is gone" "not found (404)" "$C" get v1 Namespace - ns1
expect_ok "apply a namespace with a finalizer of its own" "$C" apply \
    '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"stuck","finalizers":["example.com/hold"]}}'
PROBE_DEADLINE=3 expect_err "a stuck namespace's finalizer is named in the timeout" "example.com/hold (metadata.finalizers)" \
    "$C" delete v1 Namespace - stuck -

# ---- kubernetes_connection through mesh: waits for a server that refuses at first ----
kube_fake_stop "$F1"
kube_fake_start "$F1" c1 --refuse-seconds 4 || { not_ok "fake c1 restarts refusing"; exit 1; }
{
    echo "mesh: {name: kc}"
    echo "resources:"
    echo "  kubernetes_connection.c1:"
    echo "    cluster: cluster-1"
    echo "    kubeconfig: f1/kubeconfig"
} >"$T_DIR/spec.yaml"
export MESH_PROGRESS_EVERY=1
if "$MESH" apply --auto-approve spec.yaml >"$T_DIR/out" 2>"$T_DIR/err"; then ok "mesh apply: the connection is created"; else not_ok "mesh apply: the connection is created"; show; fi
check "it waited for the API server, saying so" grep -q "waiting for the API server of cluster-1 at https://127.0.0.1" "$T_DIR/out" "$T_DIR/err"
"$MESH" state show kubernetes_connection.c1 >"$T_DIR/show" 2>&1
check "the kubeconfig path is stored absolute" grep -q "$T_DIR/f1/kubeconfig" "$T_DIR/show"
check "the version is an output" grep -q "v1.32" "$T_DIR/show"
if grep -qF -- "$TOKEN" "$T_DIR/show" "$T_DIR/out" "$T_DIR/err"; then not_ok "no token in state or output"; else ok "no token in state or output"; fi

if "$MESH" plan spec.yaml >"$T_DIR/out" 2>"$T_DIR/err"; then ok "a second plan reads the connection"; else not_ok "a second plan reads the connection"; show; fi
check "... and is empty (the path as written matches; the stored one is absolute)" grep -q "No changes" "$T_DIR/out"
kube_fake_stop "$F1"
if "$MESH" plan spec.yaml >"$T_DIR/out" 2>"$T_DIR/err"; then not_ok "an unreachable cluster fails the plan"; else ok "an unreachable cluster fails the plan"; fi
check "... with one error naming the cluster and the way out" \
    grep -q "cluster-1: the API server at https://127.0.0.1:[0-9]* does not answer: .*plan with --refresh=false" "$T_DIR/out" "$T_DIR/err"

# A credential that cannot be made is not waited for: the connection fails at once, saying why.
mkdir -p "$T_DIR/m2" && cp "$T_DIR/kc-exec-missing" "$T_DIR/m2/kubeconfig" && cp -r "$T_DIR/plugins" "$T_DIR/m2/"
{
    echo "mesh: {name: kc2}"
    echo "resources:"
    echo "  kubernetes_connection.c2: {cluster: cluster-2, kubeconfig: kubeconfig}"
} >"$T_DIR/m2/spec.yaml"
t0=$SECONDS
(cd "$T_DIR/m2" && timeout 120 "$MESH" apply --auto-approve spec.yaml >"$T_DIR/out" 2>"$T_DIR/err")
rc=$?
if [ "$rc" = 1 ] && [ $((SECONDS - t0)) -lt 30 ]; then ok "a missing exec plugin fails the connection at once"; else
    not_ok "a missing exec plugin fails the connection at once (exit $rc after $((SECONDS - t0)) s)"; show; fi
check "... naming the cluster, the plugin and its installHint" \
    grep -q "cluster-2: exec plugin plugins/missing-plugin cannot be run: .*run make deps" "$T_DIR/out" "$T_DIR/err"

echo "# $T_PASSED passed, $T_FAILED failed"
[ "$T_FAILED" -eq 0 ]
