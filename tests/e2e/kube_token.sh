#!/usr/bin/env bash
# kube_token.sh: `mesh token CLUSTER` and `mesh kubeconfig CLUSTER [-o FILE]` (engine/cmd_kube.c).
# The token mesh prints is an ExecCredential whose token the AWS harness's STS accepts as the
# harness user (the presigned URL is sent to the proxy, as an EKS API server does) and that
# expires 14 minutes ahead; a wrong secret's token is refused. kubeconfig writes a 0600 file the
# real kubectl reads, with an exec entry running this mesh and no secret; merging keeps other
# entries; a file that is not a kubeconfig is refused and left as it was. Last, the real kubectl
# reaches a fake API server (tests/harness/kube) through that kubeconfig: the fake checks the
# token mesh made against the harness's STS. The kubernetes_connection rows are made by applying
# a spec of bare connections (the connection driver; no EKS cluster needed). Prints "ok - NAME" /
# "not ok - NAME".
source "$(dirname "$0")/../lib/common.sh"
source "$T_TESTS/harness/aws/harness.sh"
source "$T_TESTS/harness/kube/kube.sh"
t_setup
aws_harness_suite || { not_ok "AWS harness starts"; exit 1; }
command -v kubectl >/dev/null || { not_ok "kubectl on PATH"; exit 1; }
# Two fake clusters that check EKS tokens with the harness's STS, named as their EKS clusters
# (the x-k8s-aws-id a token is bound to).
K="$T_DIR/kube-c1" K2="$T_DIR/kube-c2"
trap 'kube_fake_stop "$K"; kube_fake_stop "$K2"; aws_harness_stop "$H"; t_cleanup' EXIT
kube_fake_start "$K" c1 --sts-url "$PROXY_URL" || { not_ok "fake API server c1 starts"; exit 1; }
kube_fake_start "$K2" mesh-cluster-2 --sts-url "$PROXY_URL" || { not_ok "fake API server mesh-cluster-2 starts"; exit 1; }

# ---- a state holding three connections, made by the connection driver: two EKS clusters and
# one reached through a kubeconfig (the fake c1's own, with its static token) ----
P="$T_DIR/project"
mkdir -p "$P"
cd "$P" || exit 1
URL=$(cat "$K/url")
CA=$(base64 -w0 <"$K/ca.crt")
cat >mesh.yaml <<EOF
mesh: {name: kt}
resources:
  null_resource.marker: {}
  kubernetes_connection.c1:
    cluster: c1
    server: $URL
    ca_data: $CA
    auth: eks
    eks_cluster_name: c1
    region: us-west-2
  kubernetes_connection.cluster-2:
    cluster: cluster-2
    server: $(cat "$K2/url")
    ca_data: $(base64 -w0 <"$K2/ca.crt")
    auth: eks
    eks_cluster_name: mesh-cluster-2
    region: eu-west-1
  kubernetes_connection.onprem:
    cluster: onprem
    kubeconfig: $K/kubeconfig
    context: c1
EOF
expect_rc "apply makes the connections (the API servers accept mesh's tokens)" 0 "$MESH" apply --auto-approve
check "... the connection driver stored c1's outputs" sh -c '"$0" state show kubernetes_connection.c1 | grep -q kubernetes_version' "$MESH"
STATE="$P/.mesh/state.db"
SPEC="$P/mesh.yaml"
SELF=$(readlink -f "$MESH")

# ---- help ----
"$MESH" help >"$T_DIR/help.out"
check "mesh help lists token and kubeconfig" sh -c 'grep -q "^  token " "$0" && grep -q "^  kubeconfig " "$0"' "$T_DIR/help.out"
check "mesh help token shows its usage" sh -c '"$0" help token | grep -q "^usage: mesh token CLUSTER"' "$MESH"
check "mesh kubeconfig --help shows -o" sh -c '"$0" kubeconfig --help | grep -q -- "-o, --output FILE"' "$MESH"
expect_rc "mesh token without CLUSTER is a usage error" 1 "$MESH" token

# ---- mesh token ----
# facts TOKEN_JSON: "KIND APIVERSION SPEC EXPIRES_EPOCH SIGNED_EPOCH SIGNEDHEADERS EXPIRES_PARAM HOST" or a problem
facts() {
    $PY -c '
import base64, calendar, json, sys, time, urllib.parse
c = json.loads(sys.argv[1])
s = c["status"]
assert set(s) == {"token", "expirationTimestamp"}, s
t = s["token"]
assert t.startswith("k8s-aws-v1."), "prefix"
b = t[len("k8s-aws-v1."):]
u = urllib.parse.urlsplit(base64.urlsafe_b64decode(b + "=" * (-len(b) % 4)).decode())
q = dict(urllib.parse.parse_qsl(u.query))
exp = calendar.timegm(time.strptime(s["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ"))
signed = calendar.timegm(time.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
print(c["kind"], c["apiVersion"], json.dumps(c["spec"]), exp, signed, q["X-Amz-SignedHeaders"], q["X-Amz-Expires"],
      q["X-Amz-Credential"].split("/")[2], q["Action"])' "$1" 2>&1
}
# sts TOKEN_JSON CLUSTER: what the harness's STS answers to the token's URL (as an API server asks)
sts() {
    $PY -c '
import base64, json, sys, urllib.parse, urllib.request, urllib.error
t = json.loads(sys.argv[1])["status"]["token"][len("k8s-aws-v1."):]
url = base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)).decode()
req = urllib.request.Request(url, headers={"x-k8s-aws-id": sys.argv[2]})
try:
    r = urllib.request.urlopen(req, timeout=20)
    print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())' "$1" "$2"
}

before=$(date +%s)
"$MESH" token c1 >"$T_DIR/tok.json" 2>"$T_DIR/tok.err"
rc=$?
after=$(date +%s)
check "mesh token c1 exits 0" test $rc = 0
check "mesh token c1 writes nothing on stderr (kubectl shows it)" test ! -s "$T_DIR/tok.err"
TOK=$(cat "$T_DIR/tok.json")
read -r kind apiv spec exp signed sh xexp region action <<<"$(facts "$TOK")"
check "an ExecCredential of client.authentication.k8s.io/v1 with spec {}" \
    test "$kind $apiv $spec" = "ExecCredential client.authentication.k8s.io/v1 {}"
check "a presigned STS GetCallerIdentity signing x-k8s-aws-id, for the connection's region" \
    test "$action $sh $xexp $region" = "GetCallerIdentity host;x-k8s-aws-id 60 us-west-2"
if [ "$signed" -ge "$before" ] && [ "$signed" -le "$after" ] && [ "$exp" = $((signed + 840)) ]; then
    ok "expirationTimestamp is 14 minutes after the signing ($((exp - after))s ahead)"
else not_ok "expirationTimestamp $exp, signed $signed, ran $before..$after"; fi
out=$(sts "$TOK" c1)
check "the harness's STS accepts the token as the harness user" \
    sh -c 'case "$0" in "200 "*"<Arn>arn:aws:iam::123456789012:user/mesh-harness</Arn>"*) ;; *) exit 1;; esac' "$out"
out=$(sts "$TOK" c2)
check "the token is bound to its cluster name (another x-k8s-aws-id is refused)" \
    sh -c 'case "$0" in "403 "*SignatureDoesNotMatch*) ;; *) exit 1;; esac' "$out"
BAD=$(AWS_SECRET_ACCESS_KEY=not-the-secret "$MESH" token c1 2>/dev/null)
out=$(sts "$BAD" c1)
check "a token signed with a wrong secret is refused by STS" sh -c 'case "$0" in "403 "*) ;; *) exit 1;; esac' "$out"
t=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"]["token"])' "$T_DIR/tok.json")
check "the token is not in state" sh -c '! grep -qaF "$0" "$1"* && ! grep -qaF "$0" "$2"' "${t: -40}" "$STATE" "$T_DIR/harness/proxy.log"
read -r _ _ _ _ _ _ _ region2 _ <<<"$(facts "$("$MESH" token cluster-2)")"
check "cluster-2's token is signed for its own region" test "$region2" = eu-west-1
out=$(cd / && "$MESH" token c1 --state "$STATE" 2>&1)
check "mesh token --state ABS works from any directory" sh -c 'case "$0" in *'"'"'"kind":"ExecCredential"'"'"'*) ;; *) exit 1;; esac' "$out"

read -r kind _ <<<"$(facts "$("$MESH" token kubernetes_connection.c1 2>&1)")"
check "the connection's address names the cluster too" test "$kind" = ExecCredential

# while an apply holds the state lock, mesh token still answers (it reads without the lock)
sed -i 's/null_resource.marker: {}/null_resource.marker: {input: busy}/' mesh.yaml
MESH_FAULTS="delay:ms=4000" "$MESH" apply --auto-approve >"$T_DIR/slow.txt" 2>&1 &
slow=$!
for _ in $(seq 1 100); do grep -q "null_resource.marker: " "$T_DIR/slow.txt" && break; sleep 0.1; done
t0=$(date +%s)
"$MESH" token c1 >"$T_DIR/busy.json" 2>"$T_DIR/busy.err"
rc=$?
if [ $rc = 0 ] && kill -0 $slow 2>/dev/null && grep -q '"kind":"ExecCredential"' "$T_DIR/busy.json"; then
    ok "mesh token answers while an apply holds the lock ($(($(date +%s) - t0))s)"
else not_ok "mesh token during an apply (exit $rc)"; sed 's/^/    | /' "$T_DIR/busy.err" "$T_DIR/slow.txt"; fi
wait $slow
check "... and that apply finishes" grep -q "Apply complete" "$T_DIR/slow.txt"

# ---- errors ----
expect_rc "an unknown cluster fails" 1 "$MESH" token c2
check "... naming the clusters in state and the nearest" grep -q \
    "no cluster named c2 in state .* (clusters: c1, cluster-2, onprem); run mesh apply first, or did you mean 'c1'?" "$T_DIR/last.err"
check "... with nothing on stdout" test ! -s "$T_DIR/last.out"
mkdir -p "$T_DIR/empty"
out=$(cd "$T_DIR/empty" && "$MESH" token c1 2>&1)
check "without a state: a clear error" sh -c 'case "$0" in *"there is no state at .mesh/state.db; run mesh apply first"*) ;; *) exit 1;; esac' "$out"
check "... and no state file is made" test ! -e "$T_DIR/empty/.mesh"
expect_rc "a kubeconfig cluster has no mesh token" 1 "$MESH" token onprem
check "... it says to use the kubeconfig" grep -qF \
    "cluster onprem is reached through your kubeconfig $K/kubeconfig (context c1); use it directly" "$T_DIR/last.err"
expect_rc "nor a mesh kubeconfig" 1 "$MESH" kubeconfig onprem -o "$T_DIR/never"
check "... and writes no file" test ! -e "$T_DIR/never"
expect_rc "kubeconfig of an unknown cluster fails" 1 "$MESH" kubeconfig c3
check "... with the did-you-mean" grep -q "did you mean 'c1'" "$T_DIR/last.err"

# ---- mesh kubeconfig ----
F="$T_DIR/kc/config"
expect_rc "mesh kubeconfig c1 -o F (its directory made)" 0 "$MESH" kubeconfig c1 -o "$F"
check "the file is 0600" test "$(stat -c %a "$F")" = 600
check "no token or secret in it" sh -c '! grep -qE "k8s-aws-v1|token:|client-key|password" "$0"' "$F"
kview() { kubectl config view --kubeconfig "$1" --raw -o json; }
got=$(kview "$F" | $PY -c '
import json, sys
d = json.load(sys.stdin)
c = {x["name"]: x for x in d["clusters"]}["c1"]["cluster"]
u = {x["name"]: x for x in d["users"]}["c1"]["user"]
x = {x["name"]: x for x in d["contexts"]}["c1"]["context"]
print(json.dumps([d["current-context"], c["server"], c["certificate-authority-data"], x["cluster"], x["user"],
                  sorted(u), u["exec"]["apiVersion"], u["exec"]["command"], u["exec"]["args"], u["exec"]["interactiveMode"]]))' 2>&1)
want=$($PY -c 'import json,sys; print(json.dumps(["c1", sys.argv[1], sys.argv[2], "c1", "c1", ["exec"], "client.authentication.k8s.io/v1",
       sys.argv[3], ["token", "c1", "--state", sys.argv[4], "-f", sys.argv[5]], "Never"]))' "$URL" "$CA" "$SELF" "$STATE" "$SPEC")
if [ "$got" = "$want" ]; then ok "kubectl config view reads it: server, CA, context, exec running this mesh with the absolute state and spec"
else not_ok "kubectl config view"; echo "    | got  $got"; echo "    | want $want"; fi
"$MESH" kubeconfig c1 >"$T_DIR/stdout.yaml" 2>"$T_DIR/stdout.err"
check "without -o it prints the same kubeconfig on stdout" cmp -s "$T_DIR/stdout.yaml" "$F"

# merging: their entries stay, c1's stale entries are replaced in place
M="$T_DIR/merge.yaml"
cat >"$M" <<EOF
apiVersion: v1
kind: Config
preferences: {colors: true}
clusters:
- name: kind-dev
  cluster:
    server: "https://127.0.0.1:1"
    insecure-skip-tls-verify: true
- name: c1
  cluster: {server: 'https://stale.example'}
users:
- name: kind-dev
  user: {token: 'their-static-token'}
- name: c1
  user: {token: stale}
contexts:
- name: kind-dev
  context: {cluster: kind-dev, user: kind-dev, namespace: "007"}
current-context: kind-dev
EOF
chmod 644 "$M"
expect_rc "mesh kubeconfig c1 -o EXISTING merges" 0 "$MESH" kubeconfig c1 -o "$M"
got=$(kview "$M" | $PY -c '
import json, sys
d = json.load(sys.stdin)
names = lambda k: ",".join(sorted(x["name"] for x in d[k]))
u = {x["name"]: x["user"] for x in d["users"]}
c = {x["name"]: x["cluster"] for x in d["clusters"]}
x = {x["name"]: x["context"] for x in d["contexts"]}
print(d["current-context"], names("clusters"), names("users"), names("contexts"), u["kind-dev"].get("token"),
      c["kind-dev"]["server"], c["kind-dev"].get("insecure-skip-tls-verify"), x["kind-dev"]["namespace"], c["c1"]["server"],
      sorted(u["c1"]), d["preferences"].get("colors"))' 2>&1)
check "their entries kept, c1's replaced, current-context c1 ($got)" test "$got" = \
    "c1 c1,kind-dev c1,kind-dev c1,kind-dev their-static-token https://127.0.0.1:1 True 007 $URL ['exec'] True"
check "the merged file is 0600" test "$(stat -c %a "$M")" = 600
check "no stale entry left" sh -c '! grep -q stale "$0"' "$M"

# a file that is not a kubeconfig is refused and left as it was
for bad in 'apiVersion: v1\nclusters: [\n' '- just\n- a list\n' 'clusters: nope\n'; do
    printf "%b" "$bad" >"$T_DIR/bad.yaml"
    chmod 640 "$T_DIR/bad.yaml"
    cp -p "$T_DIR/bad.yaml" "$T_DIR/bad.orig"
    expect_rc "refuses $(printf "%b" "$bad" | head -1)..." 1 "$MESH" kubeconfig c1 -o "$T_DIR/bad.yaml"
    check "... saying why and that it was not changed" grep -q "bad.yaml.*; the file was not changed" "$T_DIR/last.err"
    check "... and leaves it byte for byte, mode too" sh -c 'cmp -s "$0" "$1" && [ "$(stat -c %a "$0")" = 640 ]' \
        "$T_DIR/bad.yaml" "$T_DIR/bad.orig"
done
check "no temporary file left beside them" sh -c '[ -z "$(ls "$0" | grep -E "\.(yaml|config)\.[A-Za-z0-9]{6}$")" ]' "$T_DIR"
ln -s "$F" "$T_DIR/link"
expect_rc "-o through a symlink" 0 "$MESH" kubeconfig cluster-2 -o "$T_DIR/link"
check "... updates the file it points to, and stays a link" sh -c 'test -L "$0" && grep -q "name: cluster-2" "$1" && grep -q "name: c1" "$1"' \
    "$T_DIR/link" "$F"
expect_rc "back to c1" 0 "$MESH" kubeconfig c1 -o "$F"

# ---- the real kubectl, through mesh token, against the fake (which asks STS) ----
expect_rc "kubectl --kubeconfig F get ns works through mesh token" 0 sh -c 'cd / && kubectl --kubeconfig "$0" get ns' "$F"
check "... and lists the namespaces" grep -q "^default " "$T_DIR/last.out"
expect_rc "kubectl auth whoami is the harness user" 0 kubectl --kubeconfig "$F" auth whoami
check "... arn:aws:iam::123456789012:user/mesh-harness" grep -q "arn:aws:iam::123456789012:user/mesh-harness" "$T_DIR/last.out"
expect_rc "with a wrong AWS secret kubectl is refused (401)" 1 env AWS_SECRET_ACCESS_KEY=not-the-secret \
    kubectl --kubeconfig "$F" get ns
check "... as Unauthorized" grep -qi "unauthorized\|must be logged in" "$T_DIR/last.err"

# ---- the spec's mesh: section (its AWS profile) makes the token, also through the kubeconfig ----
mkdir -p "$HOME/.aws"
printf '[tokprof]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" \
    >"$HOME/.aws/credentials"
sed -i 's/^mesh: {name: kt}$/mesh: {name: kt, profile: tokprof}/' mesh.yaml
noenv() { env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$@"; }
expect_rc "without keys in the environment, mesh token signs with the spec's mesh: profile" 0 noenv "$MESH" token c1
out=$(sts "$(cat "$T_DIR/last.out")" c1)
check "... and STS accepts that token" sh -c 'case "$0" in "200 "*mesh-harness*) ;; *) exit 1;; esac' "$out"
expect_rc "without the spec (--state only) there are no credentials" 1 noenv sh -c 'cd / && "$0" token c1 --state "$1"' \
    "$MESH" "$STATE"
check "... and the error says why, naming the cluster" grep -q "cluster c1: cannot make a token: " "$T_DIR/last.err"
expect_rc "kubectl through the kubeconfig (its exec names the spec) uses the profile" 0 noenv sh -c \
    'cd / && kubectl --kubeconfig "$0" get ns' "$F"

echo "# $T_PASSED passed, $T_FAILED failed"
[ "$T_FAILED" -eq 0 ]
