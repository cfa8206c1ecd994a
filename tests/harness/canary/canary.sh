# canary.sh: secrets looked for where they must not be (tests/reliability/secrets.sh over the whole
# reference; tests/e2e/istio_reference.sh, CI's form of it). Source it after tests/lib/common.sh,
# with CANARY_PROBE (an empty folder: the copies and outputs go there) and TMPDIR (mesh's scratch
# files, watched) set; the canaries are $AWS_SECRET_ACCESS_KEY, $AWS_SESSION_TOKEN when set, and the
# files CANARY_PROBE/sa1, sa2 (both reader tokens) and key1, key2 (both intermediate CA keys).
#   canary_watched NAME CMD...   runs CMD (a mesh, in the current folder) in the background, watched
#                                by poll.py: its children's argv and environment, the files under
#                                $TMPDIR and ./.mesh/state.db-wal copied under CANARY_PROBE while
#                                it runs; output in CANARY_PROBE/out/NAME.{out,err}; CMD's exit code.
#                                Each run appends "HELM PROCESSES" (children seen) to
#                                CANARY_PROBE/helm_children.
#   canary_scan PATH...          scan.py over each file PATH, and every file under each folder: HIT lines, then SUMMARY
#                                CANARIES FORMS FILES HITS
#   canary_control DIR           control.py: 5 files under DIR, each hiding a canary as a leak would
CANARY_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

canary_watched() {  # NAME CMD...
    local name=$1 pid poller rc
    shift
    mkdir -p "$CANARY_PROBE/children" "$CANARY_PROBE/tmp" "$CANARY_PROBE/out"
    "$@" >"$CANARY_PROBE/out/$name.out" 2>"$CANARY_PROBE/out/$name.err" &
    pid=$!
    ${PY:-python3} "$CANARY_LIB/poll.py" "$pid" "$CANARY_PROBE" "$TMPDIR" "$PWD/.mesh/state.db-wal" &
    poller=$!
    wait $pid; rc=$?
    wait $poller
    return $rc
}
canary_scan() { ${PY:-python3} "$CANARY_LIB/scan.py" "$CANARY_PROBE" "$AWS_SECRET_ACCESS_KEY" "${AWS_SESSION_TOKEN:-}" "$@"; }
canary_control() { mkdir -p "$1" && ${PY:-python3} "$CANARY_LIB/control.py" "$1" "$CANARY_PROBE" "$AWS_SECRET_ACCESS_KEY" "${AWS_SESSION_TOKEN:-}"; }
