# kube.sh: start and stop fake Kubernetes API servers (fake_kube.py) on free 127.0.0.1 ports.
# Source it, then
#   kube_fake_start DIR NAME [ARGS...]   one fake cluster NAME, its files in DIR: certificates
#                          (DIR/ca.crt; with --client-ca also DIR/client.crt, DIR/client.key),
#                          DIR/token (a random static bearer token, user admin; passed in a file,
#                          never on a command line), DIR/kubeconfig (server, certificate-authority-data,
#                          that token; context NAME), DIR/fake.log (one line per request), DIR/url.
#                          With --client-ca also DIR/kubeconfig-cert: the same with the client certificate.
#                          Exports KUBE_<NAME>_URL (NAME upper-cased, '-' -> '_') = https://127.0.0.1:PORT.
#                          ARGS go to fake_kube.py: --client-ca, --sts-url URL, --refuse-seconds N,
#                          --token-file F, --port N (a restart where clients expect it: same DIR,
#                          same port, same CA and token, but no objects), --eks-node (kube-system/
#                          aws-node as on EKS)... Waits until it answers,
#                          unless --refuse-seconds was given (then only until the port is known).
#   kube_fake_stop DIR     stops it (only its own PID; safe twice; use it in a trap); its objects
#                          are left in DIR/objects.json
#   kube_fake_objects DIR  every object it holds, as JSON ({"objects": [...]}, Secret data redacted)
#   kube_fake_faults DIR JSON   adds fault rules (see fake_kube.py's header); '{}' adds none
#   kube_fake_stats DIR    its request counters and log (JSON)
#   kube_fake_eks DIR CLUSTER   makes the AWS harness's EKS stand-in (at $PROXY_URL) report this fake's
#                          URL and CA for EKS cluster CLUSTER (DescribeCluster endpoint and
#                          certificateAuthority.data); start the fake with --sts-url "$PROXY_URL" and
#                          --name CLUSTER so it checks that cluster's EKS tokens
KUBE_HARNESS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The system python starts in 0.1 s, a pyenv shim in 0.6 s: every fake start pays it.
KUBE_PY=python3
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import yaml' 2>/dev/null && KUBE_PY=/usr/bin/python3

kube_fake_start() {
    local dir=$1 name=$2 i var refuse=0 a
    shift 2
    for a in "$@"; do [ "$a" = --refuse-seconds ] && refuse=1; done
    mkdir -p "$dir"
    rm -f "$dir/port"
    if [ ! -s "$dir/token" ]; then
        (umask 077; echo "fk-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" >"$dir/token")
    fi
    (umask 077; echo "$(cat "$dir/token") admin" >"$dir/tokens")
    "$KUBE_PY" "$KUBE_HARNESS_DIR/fake_kube.py" --dir "$dir" --name "$name" --port-file "$dir/port" \
        --token-file "$dir/tokens" "$@" >>"$dir/fake.log" 2>&1 &
    echo $! >"$dir/pid"
    for i in $(seq 1 150); do
        [ -s "$dir/port" ] && break
        kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
        sleep 0.1
    done
    if [ ! -s "$dir/port" ]; then
        echo "kube_fake_start: $name did not start" >&2; tail -20 "$dir/fake.log" >&2; return 1
    fi
    local url="https://127.0.0.1:$(cat "$dir/port")"
    echo "$url" >"$dir/url"
    var="KUBE_$(echo "$name" | tr 'a-z' 'A-Z' | tr -c 'A-Z0-9_\n' '_')_URL"
    export "$var=$url"
    (umask 077; cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $name
  cluster:
    server: $url
    certificate-authority-data: $(base64 -w0 <"$dir/ca.crt")
users:
- name: $name-admin
  user:
    token: $(cat "$dir/token")
contexts:
- name: $name
  context: {cluster: $name, user: $name-admin}
current-context: $name
EOF
)
    if [ -s "$dir/client.crt" ]; then
        (umask 077; sed -e "s/^- name: $name-admin\$/- name: $name-cert/" -e "s/user: $name-admin}/user: $name-cert}/" \
            -e "s|^    token: .*|    client-certificate-data: $(base64 -w0 <"$dir/client.crt")\n    client-key-data: $(base64 -w0 <"$dir/client.key")|" \
            "$dir/kubeconfig" >"$dir/kubeconfig-cert")
    fi
    [ "$refuse" = 1 ] && return 0
    for i in $(seq 1 100); do
        curl -s -o /dev/null --cacert "$dir/ca.crt" "$url/healthz" && return 0
        sleep 0.1
    done
    echo "kube_fake_start: $name does not answer on $url" >&2; tail -20 "$dir/fake.log" >&2
    return 1
}

kube_fake_stop() {
    local dir=$1 pid i
    [ -f "$dir/pid" ] || return 0
    pid=$(cat "$dir/pid")
    rm -f "$dir/pid"
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

kube_fake_objects() { curl -s --cacert "$1/ca.crt" "$(cat "$1/url")/__fake/objects"; }
kube_fake_stats() { curl -s --cacert "$1/ca.crt" "$(cat "$1/url")/__fake/stats"; }
kube_fake_faults() { curl -s -o /dev/null --cacert "$1/ca.crt" -X POST "$(cat "$1/url")/__fake/faults" -d "$2"; }
kube_fake_eks() {
    curl -s -o /dev/null -w '%{http_code}' -X POST "$PROXY_URL/__eks/endpoint" \
        -d "{\"cluster\": \"$2\", \"endpoint\": \"$(cat "$1/url")\", \"ca\": \"$(base64 -w0 <"$1/ca.crt")\"}" | grep -q 200
}
