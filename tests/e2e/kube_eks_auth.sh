#!/usr/bin/env bash
# kube_eks_auth.sh: a Kubernetes handle with auth "eks" (the endpoint and CA as a connection
# stores them, no kubeconfig) gets its token through the registry's auth hook "eks" (the AWS
# provider makes it; providers/kubernetes includes no AWS header) and the fake API server
# accepts it only after the AWS harness's STS answers the presigned GetCallerIdentity. 8 threads
# share the handle and its cached token; a token made for another EKS cluster gets one clear
# 401 naming the cluster and the credential; no token is ever printed.
source "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$T_TESTS/.." && pwd)
source "$ROOT/tests/harness/kube/kube.sh"
source "$ROOT/tests/harness/aws/harness.sh"
t_setup
aws_harness_suite || { not_ok "AWS harness starts"; exit 1; }
trap 'kube_fake_stop "$T_DIR/f3"; aws_harness_stop "$H"; t_cleanup' EXIT

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

F3="$T_DIR/f3"
kube_fake_start "$F3" c3 --sts-url "$PROXY_URL" || { not_ok "fake c3 starts"; exit 1; }
URL=$(cat "$F3/url")
CA64=$(base64 -w0 <"$F3/ca.crt")
cfg() { echo "{\"cluster\":\"cluster-3\",\"server\":\"$URL\",\"ca_data\":\"$CA64\",\"auth\":\"eks\",\"eks_cluster_name\":\"$1\",\"region\":\"us-west-2\"}"; }

if "$PROBE" "$(cfg c3)" threads 8 >"$T_DIR/out" 2>"$T_DIR/err"; then ok "8 threads x 5 calls with an EKS token"; else
    not_ok "8 threads x 5 calls with an EKS token"; sed 's/^/    | /' "$T_DIR/err" | tail; fi
check "40 API calls counted" grep -q '"api_calls":40,' "$T_DIR/err"
kube_fake_stats "$F3" >"$T_DIR/stats"
check "the fake saw the caller's identity from STS" grep -q 'arn:aws:iam::123456789012:user/mesh-harness' "$T_DIR/stats"
check "the proxy's STS was asked (GetCallerIdentity)" \
    test "$(curl -s "$PROXY_URL/__stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["by_action"].get("sts GetCallerIdentity", 0) > 0)')" = True
if grep -q 'k8s-aws-v1\.' "$T_DIR/out" "$T_DIR/err" "$T_DIR/stats" "$F3/fake.log"; then not_ok "no EKS token printed or logged"; else ok "no EKS token printed or logged"; fi

if "$PROBE" "$(cfg other-cluster)" version >"$T_DIR/out" 2>"$T_DIR/err"; then not_ok "a token for another cluster is refused"; else ok "a token for another cluster is refused"; fi
check "... with one clear 401 naming the cluster and the credential" \
    grep -q "error -1: cluster-3: unauthorized (401) using an EKS token for cluster other-cluster" "$T_DIR/err"
check "... after one new token (2 calls)" grep -q '"api_calls":2,' "$T_DIR/err"

# Through mesh: the connection as the compiler makes it for a cluster mesh creates.
{
    echo "mesh: {name: eks-auth, region: us-west-2}"
    echo "resources:"
    echo "  kubernetes_connection.cluster-3:"
    echo "    cluster: cluster-3"
    echo "    server: $URL"
    echo "    ca_data: $CA64"
    echo "    auth: eks"
    echo "    eks_cluster_name: c3"
    echo "    region: us-west-2"
} >"$T_DIR/spec.yaml"
expect_rc "mesh apply: the connection answers with an EKS token" 0 "$MESH" apply --auto-approve spec.yaml
expect_rc "a second plan" 0 "$MESH" plan spec.yaml
check "... is empty" grep -q "No changes" "$T_DIR/last.out"
"$MESH" state show kubernetes_connection.cluster-3 >"$T_DIR/show" 2>&1
check "the state holds how to authenticate" grep -q 'eks_cluster_name' "$T_DIR/show"
if grep -q 'k8s-aws-v1' "$T_DIR/show" "$T_DIR/last.out" "$T_DIR/last.err"; then not_ok "no token in state or output"; else ok "no token in state or output"; fi

echo "# $T_PASSED passed, $T_FAILED failed"
[ "$T_FAILED" -eq 0 ]
