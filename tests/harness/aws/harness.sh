# harness.sh: start and stop the AWS stand-ins on free 127.0.0.1 ports. Source it, then
#   aws_harness_start DIR      moto_server + fault proxy (proxy.py) + metadata stand-in (metadata.py)
#   aws_harness_stop DIR       stops all three (safe to call twice; use it in a trap)
#   aws_harness_suite          for a shell suite, after t_setup: start in $T_DIR/harness, stop on
#                              exit, and point a clean AWS client environment at the proxy
# After start: MOTO_URL, PROXY_URL (point AWS_ENDPOINT_URL here), MD_URL are exported.
HARNESS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

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
    local dir="$1" port
    mkdir -p "$dir"
    port=$(aws_harness_free_port)
    MOTO_IAM_LOAD_MANAGED_POLICIES=true moto_server -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 &
    echo $! >"$dir/moto.pid"
    export MOTO_URL="http://127.0.0.1:$port"
    python3 "$HARNESS_DIR/proxy.py" --upstream "$MOTO_URL" --port-file "$dir/proxy.port" >"$dir/proxy.log" 2>&1 &
    echo $! >"$dir/proxy.pid"
    python3 "$HARNESS_DIR/metadata.py" --port-file "$dir/md.port" >"$dir/md.log" 2>&1 &
    echo $! >"$dir/md.pid"
    aws_harness_wait_file "$dir/proxy.port" 10 || { echo "harness: proxy did not start" >&2; return 1; }
    aws_harness_wait_file "$dir/md.port" 10 || { echo "harness: metadata did not start" >&2; return 1; }
    export PROXY_URL="http://127.0.0.1:$(cat "$dir/proxy.port")"
    export MD_URL="http://127.0.0.1:$(cat "$dir/md.port")"
    aws_harness_wait_http "$MOTO_URL/moto-api/" 30 || { echo "harness: moto_server did not start" >&2; cat "$dir/moto.log" >&2; return 1; }
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
    aws_harness_start "$H" || return 1
    local v
    for v in $(env | grep -o '^AWS_[A-Z_]*'); do unset "$v"; done
    export AWS_ENDPOINT_URL="$PROXY_URL" AWS_ACCESS_KEY_ID=AKIDMESHTEST AWS_SECRET_ACCESS_KEY=mesh-test-secret-do-not-log
    export AWS_REGION=us-west-2 AWS_DEFAULT_REGION=us-west-2 AWS_EC2_METADATA_DISABLED=true
}
