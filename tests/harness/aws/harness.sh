# harness.sh: start and stop the AWS stand-ins on free 127.0.0.1 ports. Source it, then
#   aws_harness_start DIR      moto_server + fault proxy (proxy.py, which also serves EKS: eks.py)
#                              + metadata stand-in (metadata.py)
#   aws_harness_stop DIR       stops all three (safe to call twice; use it in a trap)
#   aws_harness_suite          for a shell suite, after t_setup: start in $T_DIR/harness, stop on
#                              exit, and point a clean AWS client environment at the proxy
#   aws_harness_orphans [HELD_FILE]   what is left in the emulators (orphans.py): one line per
#                              object not named in HELD_FILE, then the count on the last line
# After start: MOTO_URL, PROXY_URL (point AWS_ENDPOINT_URL here), MD_URL are exported.
# Signature checking: with MESH_HARNESS_AUTH=1 moto verifies the SigV4 signature of every EC2, IAM,
# STS, KMS and logs call (auth.py makes the identity: user mesh-harness with an admin policy) and
# HARNESS_ACCESS_KEY_ID / HARNESS_SECRET_ACCESS_KEY are exported; aws_harness_suite turns it on
# unless MESH_HARNESS_AUTH=0 and exports those keys as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
# aws_harness_start alone keeps it off unless MESH_HARNESS_AUTH=1 (any key works then).
HARNESS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The aws CLI past pyenv's shim, which costs ~0.7 s of CPU per call (a third of the CLI's own):
# the AWS suites make a few hundred calls.
HARNESS_AWS=$(command -v aws 2>/dev/null)
case $HARNESS_AWS in */shims/aws) HARNESS_AWS=$(pyenv which aws 2>/dev/null || echo "$HARNESS_AWS") ;; esac
aws() { if [ -n "$HARNESS_AWS" ]; then "$HARNESS_AWS" "$@"; else command aws "$@"; fi; }

aws_harness_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

aws_harness_wait_file() {  # FILE SECONDS
    local i=0
    while [ ! -s "$1" ]; do
        sleep 0.1; i=$((i + 1))
        [ "$i" -lt $(( $2 * 10 )) ] || return 1
    done
}

aws_harness_wait_http() {  # URL SECONDS
    local i=0
    until curl -s -o /dev/null "$1"; do
        sleep 0.2; i=$((i + 1))
        [ "$i" -lt $(( $2 * 5 )) ] || return 1
    done
}

aws_harness_start() {
    local dir="$1" port auth=${MESH_HARNESS_AUTH:-0} keys=()
    mkdir -p "$dir"
    port=$(aws_harness_free_port)
    if [ "$auth" = 1 ]; then
        # auth.py's 3 calls go unchecked; every later one is verified
        INITIAL_NO_AUTH_ACTION_COUNT=3 MOTO_IAM_LOAD_MANAGED_POLICIES=true \
            moto_server -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 &
    else
        MOTO_IAM_LOAD_MANAGED_POLICIES=true moto_server -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 &
    fi
    echo $! >"$dir/moto.pid"
    export MOTO_URL="http://127.0.0.1:$port"
    # the proxy reads the keys file when it first signs a call of its own, after the bootstrap
    [ "$auth" = 1 ] && keys=(--keys-file "$dir/keys.json")
    rm -f "$dir/keys.json"
    python3 "$HARNESS_DIR/proxy.py" --upstream "$MOTO_URL" --port-file "$dir/proxy.port" "${keys[@]}" >"$dir/proxy.log" 2>&1 &
    # tests/e2e/demo.sh: a signal caught right here finds the proxy started and its pid not written
    [ -z "${HARNESS_SPAWN_PAUSE:-}" ] || sleep "$HARNESS_SPAWN_PAUSE"
    echo $! >"$dir/proxy.pid"
    python3 "$HARNESS_DIR/metadata.py" --port-file "$dir/md.port" >"$dir/md.log" 2>&1 &
    echo $! >"$dir/md.pid"
    aws_harness_wait_http "$MOTO_URL/moto-api/" 30 || { echo "harness: moto_server did not start" >&2; cat "$dir/moto.log" >&2; return 1; }
    unset HARNESS_ACCESS_KEY_ID HARNESS_SECRET_ACCESS_KEY
    if [ "$auth" = 1 ]; then
        python3 "$HARNESS_DIR/auth.py" "$MOTO_URL" >"$dir/keys.json.tmp" && mv "$dir/keys.json.tmp" "$dir/keys.json" \
            || { echo "harness: auth bootstrap failed" >&2; return 1; }
        read -r HARNESS_ACCESS_KEY_ID HARNESS_SECRET_ACCESS_KEY < <(python3 -c \
            'import json,sys; k=json.load(open(sys.argv[1])); print(k["key"], k["secret"])' "$dir/keys.json")
        export HARNESS_ACCESS_KEY_ID HARNESS_SECRET_ACCESS_KEY
    fi
    aws_harness_wait_file "$dir/proxy.port" 10 || { echo "harness: proxy did not start" >&2; cat "$dir/proxy.log" >&2; return 1; }
    aws_harness_wait_file "$dir/md.port" 10 || { echo "harness: metadata did not start" >&2; return 1; }
    export PROXY_URL="http://127.0.0.1:$(cat "$dir/proxy.port")"
    export MD_URL="http://127.0.0.1:$(cat "$dir/md.port")"
}

aws_harness_stop() {
    local dir="$1" f pid
    for f in "$dir"/moto.pid "$dir"/proxy.pid "$dir"/md.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        rm -f "$f"
    done
    return 0
}

aws_harness_suite() {
    H="$T_DIR/harness"
    trap 'aws_harness_stop "$H"; t_cleanup' EXIT
    MESH_HARNESS_AUTH=${MESH_HARNESS_AUTH:-1} aws_harness_start "$H" || return 1
    local v
    for v in $(env | grep -o '^AWS_[A-Z_]*'); do unset "$v"; done
    export AWS_ENDPOINT_URL="$PROXY_URL" AWS_ACCESS_KEY_ID=AKIDMESHTEST AWS_SECRET_ACCESS_KEY=mesh-test-secret-do-not-log
    if [ -n "${HARNESS_ACCESS_KEY_ID:-}" ]; then
        export AWS_ACCESS_KEY_ID="$HARNESS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$HARNESS_SECRET_ACCESS_KEY"
    fi
    export AWS_REGION=us-west-2 AWS_DEFAULT_REGION=us-west-2 AWS_EC2_METADATA_DISABLED=true
}

# What the suites call once the harness is up. faults JSON: the proxy's fault rules ('{}': none).
faults() { curl -s -X POST "$PROXY_URL/__faults" -d "$1" >/dev/null; }
# The aws CLI, one attempt, answering as text (awsq) or JSON (awsj); straight at moto, so checks
# never see an injected fault. Suites whose objects live in the proxy's EKS stand-in set
# AWS_CLI_URL="$PROXY_URL".
awsq() { AWS_MAX_ATTEMPTS=1 aws --endpoint-url "${AWS_CLI_URL:-$MOTO_URL}" --output text "$@"; }
awsj() { AWS_MAX_ATTEMPTS=1 aws --endpoint-url "${AWS_CLI_URL:-$MOTO_URL}" --output json "$@"; }

aws_harness_orphans() {  # [HELD_FILE]
    python3 "$HARNESS_DIR/orphans.py" --moto "$MOTO_URL" --proxy "$PROXY_URL" ${1:+--held "$1"}
}
