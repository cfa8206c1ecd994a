#!/usr/bin/env bash
# hostile.sh: bad servers. tests/harness/hostile.py stands in for the AWS endpoint (an apply of one
# aws_vpc) and for a Kubernetes API server (an apply of one kubernetes_namespace on an existing
# cluster whose kubeconfig points at it) and answers every call badly: a 200 MB body, an endless
# chunked one, a body cut short of its Content-Length, garbage, the wrong shape, invalid UTF-8,
# one byte a second without end, nothing after the headers. Each apply must end with exit 1 and
# an error naming the call and the endpoint, no signal and no sanitizer report, a peak RSS under
# 200 MB, within mesh's own timeouts (MESH_HTTP_TIMEOUT / MESH_HTTP_LOW_SPEED_TIME cap them here,
# providers/http.h), and a state that still reads, passes PRAGMA integrity_check and holds no
# resource (nothing was made).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"
t_setup
# CI: every case but one of the two endless-wait ones per server (they cost 10 attempts of the
# timeout each); `make reliability`: all of them, the stall cut by the low-speed limit.
FULL=$(rel_trials 0 1)
# Only those two get the caps (the others run with mesh's defaults: 120 s, 30 s, 32 MiB).
if [ "$FULL" = 1 ]; then CAPS=(MESH_HTTP_TIMEOUT=2 MESH_HTTP_LOW_SPEED_TIME=1)
else CAPS=(MESH_HTTP_TIMEOUT=0.5 MESH_HTTP_LOW_SPEED_TIME=1); fi
unset MESH_HTTP_TIMEOUT MESH_HTTP_LOW_SPEED_TIME MESH_HTTP_MAX_REPLY
export MESH_BACKOFF_SCALE=0.01
RSS_LIMIT_KB=$((200 * 1024))
T0=$SECONDS

$PY "$T_TESTS/harness/hostile.py" --port-file "$T_DIR/hostile.port" >"$T_DIR/hostile.log" 2>&1 &
HPID=$!
trap 'kill $HPID 2>/dev/null; t_cleanup' EXIT
for _ in $(seq 100); do [ -s "$T_DIR/hostile.port" ] && break; sleep 0.1; done
[ -s "$T_DIR/hostile.port" ] || { not_ok "hostile.py starts"; exit 1; }
URL="http://127.0.0.1:$(cat "$T_DIR/hostile.port")"
mode() { curl -sf -XPOST --data "$1" "$URL/__mode" >/dev/null; }

# AWS: keys that sign (nobody checks them), the endpoint every service resolves to.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_FULL_URI
export AWS_ACCESS_KEY_ID=AKIAHOSTILETEST0000 AWS_SECRET_ACCESS_KEY=hostile-secret AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="$URL" AWS_EC2_METADATA_DISABLED=true
cat >aws.yaml <<'Y'
resources:
  aws_vpc.main:
    cidr_block: 10.9.0.0/16
    assign_generated_ipv6_cidr_block: false
Y
cat >kubeconfig <<Y
apiVersion: v1
kind: Config
clusters:
- {name: hostile, cluster: {server: "$URL"}}
users:
- {name: admin, user: {token: hostile-token}}
contexts:
- {name: admin@hostile, context: {cluster: hostile, user: admin}}
current-context: admin@hostile
Y
cat >kube.yaml <<'Y'
clusters:
  c1: {existing: {kubeconfig: ./kubeconfig}}
resources:
  kubernetes_namespace.c1-apps:
    connection: kubernetes_connection.c1
    name: apps
Y

worst_rss=0
# case NAME MODE SPEC WANT [WHERE]: one apply against the hostile server in MODE; its error must
# match WANT and WHERE (default: the endpoint's address). HOSTILE_CASES=REGEX runs only those.
case_run() {
    local name=$1 m=$2 spec=$3 want=$4 where=${5:-127.0.0.1:} st="$T_DIR/$1.db" t0=$SECONDS rc rss
    [ -n "${HOSTILE_CASES:-}" ] && ! grep -Eq -- "$HOSTILE_CASES" <<<"$name" && return
    mode "$m" || { not_ok "$name: hostile.py takes mode $m"; return; }
    local caps=()
    case $m in slow|stall) caps=("${CAPS[@]}") ;; esac
    env "${caps[@]}" /usr/bin/time -f %M -o "$T_DIR/$name.rss" timeout -s KILL 120 \
        "$MESH" apply -f "$spec" --state "$st" --auto-approve >"$T_DIR/$name.out" 2>"$T_DIR/$name.err"
    rc=$?
    rss=$(tail -1 "$T_DIR/$name.rss" 2>/dev/null | tr -dc 0-9)
    rss=${rss:-0}
    [ "$rss" -gt "$worst_rss" ] && worst_rss=$rss
    local secs=$((SECONDS - t0)) calls
    calls=$(curl -sf "$URL/__stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
    echo "# [${SECONDS}s] $name: exit $rc in ${secs}s, peak RSS $((rss / 1024)) MB, $calls hostile replies"
    rel_figure "$name: seconds, peak RSS (MB)" "${secs} s, $((rss / 1024)) MB" "bash tests/reliability/hostile.sh"
    local bad=""
    [ "$rc" = 1 ] || bad="$bad exit $rc (want 1)"
    grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation|Aborted' "$T_DIR/$name.err" && bad="$bad sanitizer/crash report"
    [ "$rss" -gt 0 ] && [ "$rss" -lt "$RSS_LIMIT_KB" ] || bad="$bad peak RSS ${rss} KB"
    grep -Eq -- "$want" "$T_DIR/$name.err" "$T_DIR/$name.out" || bad="$bad message not /$want/"
    grep -Eq -- "$where" "$T_DIR/$name.err" "$T_DIR/$name.out" || bad="$bad endpoint or call not named (/$where/)"
    if [ -s "$st" ]; then
        [ "$(sqlite3 "$st" 'PRAGMA integrity_check' 2>&1)" = ok ] || bad="$bad state integrity"
        "$MESH" state list --state "$st" >"$T_DIR/$name.list" 2>&1 || bad="$bad state list fails"
        grep -Eq 'aws_vpc\.main|kubernetes_namespace\.' "$T_DIR/$name.list" && bad="$bad state holds a resource"
    fi
    if [ -z "$bad" ]; then ok "$name: exit 1, a clear error, bounded memory and time"; grep -m1 "Error" "$T_DIR/$name.err" | cut -c1-200 | sed "s/^/# /"
    else not_ok "$name:$bad"; sed 's/^/    | /' "$T_DIR/$name.err" | tail -8; fi
}

echo "# [${SECONDS}s] hostile AWS endpoint: $URL"
case_run aws-huge huge aws.yaml 'larger than [0-9]+ bytes'
case_run aws-endless endless aws.yaml 'larger than [0-9]+ bytes'
case_run aws-truncated truncated aws.yaml 'ec2 [A-Za-z]+|[Tt]ransfer closed|partial'
case_run aws-garbage garbage aws.yaml 'not XML|unexpected reply'
case_run aws-wrongshape wrongshape aws.yaml 'CreateVpc: the reply holds no vpcId' 'aws_vpc.main: CreateVpc'
case_run aws-badutf8 badutf8 aws.yaml 'not XML|UTF-8|encoding'
case_run aws-slow slow aws.yaml '[Tt]imed? ?out|too slow'
[ "$FULL" = 1 ] && case_run aws-stall stall aws.yaml '[Tt]imed? ?out|too slow|[Ll]ow speed'
echo "# [${SECONDS}s] hostile Kubernetes API server: $URL"
case_run kube-huge huge kube.yaml 'larger than [0-9]+ bytes'
case_run kube-endless endless kube.yaml 'larger than [0-9]+ bytes'
case_run kube-truncated truncated kube.yaml '[Tt]ransfer closed|partial'
case_run kube-garbage garbage kube.yaml 'not JSON|JSON'
case_run kube-wrongshape wrongshape kube.yaml 'namespace'
case_run kube-badutf8 badutf8 kube.yaml 'JSON|UTF-8'
[ "$FULL" = 1 ] && case_run kube-slow slow kube.yaml '[Tt]imed? ?out|too slow'
case_run kube-stall stall kube.yaml '[Tt]imed? ?out|too slow|[Ll]ow speed'
rel_figure "worst peak RSS of mesh against a hostile server (MB)" "$((worst_rss / 1024))" "bash tests/reliability/hostile.sh"
rel_figure "hostile-server suite seconds" "$((SECONDS - T0))" "bash tests/reliability/hostile.sh"
[ "$T_FAILED" -eq 0 ]
