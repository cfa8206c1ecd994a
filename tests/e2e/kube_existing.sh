# kube_existing.sh: a cluster mesh does not make, declared as `clusters: {c1: {existing:
# {kubeconfig, context}}}`, reached through its kubeconfig whose user runs an exec credential
# plugin (client.authentication.k8s.io/v1), as EKS, GKE and OIDC kubeconfigs do. The compiler
# makes kubernetes_connection.c1 because a namespace belongs to it; apply, an empty second plan,
# then a plugin that hands out a bogus token, and a token the server revoked: each fails the plan
# with one clear 401 naming the cluster (with --refresh=false the plan goes on).
. "$(dirname "$0")/../lib/common.sh"
. "$T_TESTS/harness/kube/kube.sh"
t_setup
export MESH_BACKOFF_SCALE=0.05
K="$T_DIR/fake"
trap 'kube_fake_stop "$K"; t_cleanup' EXIT
kube_fake_start "$K" c1 >/dev/null 2>&1 || { not_ok "the fake API server starts"; t_done; exit 1; }

# The plugin: prints the token in TOKEN_FILE (the fake's admin token) and counts its runs.
mkdir -p bin
cat >bin/get-token <<'SH'
#!/bin/sh
echo run >>"$PLUGIN_LOG"
[ "$KUBERNETES_EXEC_INFO" ] || { echo "no KUBERNETES_EXEC_INFO" >&2; exit 3; }
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"2099-01-01T00:00:00Z"}}\n' "$(cat "$TOKEN_FILE")"
SH
chmod +x bin/get-token
cp "$K/token" good.token
cat >kubeconfig <<EOF
apiVersion: v1
kind: Config
clusters:
- name: onprem
  cluster: {server: "$(cat "$K/url")", certificate-authority-data: "$(base64 -w0 <"$K/ca.crt")"}
users:
- name: plugin-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/get-token
      env: [{name: TOKEN_FILE, value: "$T_DIR/good.token"}, {name: PLUGIN_LOG, value: "$T_DIR/plugin.log"}]
      interactiveMode: Never
contexts:
- {name: other, context: {cluster: onprem, user: nobody}}
- {name: admin@onprem, context: {cluster: onprem, user: plugin-user}}
current-context: other
EOF
cat >spec.yaml <<EOF
clusters:
  c1: {existing: {kubeconfig: ./kubeconfig, context: admin@onprem}}
resources:
  kubernetes_namespace.c1-apps:
    connection: kubernetes_connection.c1
    name: apps
    labels: {team: platform}
    timeouts: {delete: 3s}
EOF

"$MESH" plan -f spec.yaml --explain >explain.txt 2>&1
check "the compiler made the existing cluster's connection (something belongs to it)" grep -q 'kubernetes_connection.c1' explain.txt
expect_rc "apply through the kubeconfig's exec plugin" 0 "$MESH" apply -f spec.yaml --auto-approve
check "the plugin was run" test -s plugin.log
kube_fake_objects "$K" >objects.json
check "the namespace is in the cluster" grep -q '"apps"' objects.json
"$MESH" state show kubernetes_connection.c1 >conn.txt 2>&1
check "the connection stores the kubeconfig and context, no token" sh -c "grep -q 'admin@onprem' conn.txt && grep -q 'kubeconfig' conn.txt && ! grep -q \"\$(cat good.token)\" conn.txt"
check "no token in the state file" sh -c "! grep -a -q \"\$(cat good.token)\" .mesh/state.db*"
expect_rc "a second plan is empty" 0 "$MESH" plan -f spec.yaml --detailed-exitcode

# A plugin that hands out a bogus token: one error, naming the cluster and the 401.
echo "bogus-token-0123" >"$T_DIR/good.token.bad"
sed -i "s|$T_DIR/good.token\"|$T_DIR/good.token.bad\"|" kubeconfig
"$MESH" plan -f spec.yaml >bogus.out 2>bogus.err
rc=$?
check "a bogus token fails the plan" test $rc = 1
check "...with an error naming the cluster and 401" grep -q 'c1.*unauthorized (401)' bogus.err
check "...once, not once per object" test "$(grep -c 'Error' bogus.err)" = 1
check "...and no token in it" sh -c "! grep -q 'bogus-token-0123' bogus.err bogus.out"
expect_rc "--refresh=false still plans" 0 "$MESH" plan -f spec.yaml --refresh=false --detailed-exitcode

# The real token again. A namespace held by a finalizer: destroy gives up at the spec's delete
# timeout (3 s, not the driver's 10 min) naming the finalizer; once it is gone, destroy finishes.
sed -i "s|$T_DIR/good.token.bad\"|$T_DIR/good.token\"|" kubeconfig
expect_rc "with the good token back, the plan is empty" 0 "$MESH" plan -f spec.yaml --detailed-exitcode
kubectl --kubeconfig "$K/kubeconfig" patch namespace apps --type merge -p '{"metadata":{"finalizers":["example.com/hold"]}}' >/dev/null
t0=$SECONDS
"$MESH" destroy -f spec.yaml --auto-approve >stuck.out 2>&1
rc=$?
check "destroy of a namespace held by a finalizer fails at the spec's delete timeout ($((SECONDS - t0)) s)" test $rc = 1 -a $((SECONDS - t0)) -lt 60
check "...naming the finalizer" grep -q 'example.com/hold' stuck.out
kubectl --kubeconfig "$K/kubeconfig" patch namespace apps --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null
expect_rc "without the finalizer, destroy finishes" 0 "$MESH" destroy -f spec.yaml --auto-approve
kube_fake_objects "$K" >objects.json
check "nothing of mesh's is left in the cluster" sh -c "! grep -q 'mesh/address' objects.json"
expect_rc "apply again" 0 "$MESH" apply -f spec.yaml --auto-approve
curl -sk -X POST "$(cat "$K/url")/__fake/revoke" -d "{\"token\": \"$(cat good.token)\"}" >/dev/null
"$MESH" plan -f spec.yaml >revoked.out 2>revoked.err
rc=$?
check "a revoked token fails the plan with a 401 naming the cluster" sh -c "test $rc = 1 && grep -q 'c1.*unauthorized (401)' revoked.err"
t_done
