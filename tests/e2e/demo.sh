#!/usr/bin/env bash
# demo.sh: `make demo` (specs/examples/demo.sh) runs the whole reference deployment against the
# stand-ins, with the release ./mesh `make demo` runs (built by `make test` too; $MESH_BIN when
# there is none: the ASan build runs the same deployment in istio_reference.sh), and leaves nothing
# behind. One full run: each
# step happened (apply complete, check passed, kubectl listed cacerts and the remote secret, no
# changes, destroy complete) and each says what it replaces; then no process of its session is
# left (the stand-ins' pids it printed are gone, helm and kubectl too), its scratch folder is
# removed and no key file was written. Beside that run, cut short: SIGINT once the apply is under
# way (helm running), SIGTERM while the stand-ins start (DEMO_DIR: the folder is kept), a mesh that fails at
# apply, a helm that is missing: each stops everything it started and cleans up.
. "$(dirname "$0")/../lib/common.sh"
SRC=$(cd "$T_TESTS/.." && pwd)
DEMO="$SRC/specs/examples/demo.sh"
t_setup
export TMPDIR="$T_DIR/tmp"
mkdir -p "$TMPDIR"
# The demo is the release binary's job (`make demo`); under ASan the same 80 resources cost a
# minute more of CPU, and istio_reference.sh already applies them under ASan.
[ -x "$SRC/mesh" ] && MESH="$SRC/mesh"
export MESH_BIN="$MESH"

# spawn OUT [VAR=VALUE...] -- CMD...: CMD in a session of its own (its pid is the session id, so
# whatever it leaves running can be found) with SIGINT at its default (a background job of a script
# has it ignored, and bash cannot trap a signal ignored on entry). Sets SPAWNED.
spawn() {
    local out=$1; shift
    env "$@" "$PY" -c 'import os, signal, sys
os.setsid()
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' bash "$DEMO" >"$out" 2>&1 &
    SPAWNED=$!
}
# Processes of session SID still running (the demo itself reaped first; a zombie is not running,
# and init reaps it soon after the demo, its parent, is gone).
left_in_session() { ps -eo sid=,stat=,pid=,args= | awk -v s="$1" '$1 == s && $2 !~ /^Z/ { $1 = ""; print }'; }
wait_for() {  # FILE ERE SECONDS: until FILE has a line matching ERE
    local i
    for i in $(seq 1 $(($3 * 10))); do grep -Eq "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}
standin_pids() { sed -n 's/.*moto_server pid \([0-9]*\), proxy + EKS pid \([0-9]*\),.*/\1 \2/p; s/.*metadata pid \([0-9]*\), cluster-1 API pid \([0-9]*\), cluster-2 API pid \([0-9]*\)\..*/\1 \2 \3/p' "$1" | tr '\n' ' '; }
alive() { local p n=0; for p in "$@"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done; echo $n; }
# finished NAME PID: after the demo PID ended, nothing of its session is left. A second of grace:
# a stand-in stopped while pyenv's python3 shim was still starting leaves the shim's helpers
# (pyenv-version-name...) to finish on their own.
finished() {
    local left i
    for i in $(seq 1 30); do
        left=$(left_in_session "$2")
        [ -n "$left" ] || break
        sleep 0.1
    done
    check "$1: no process of the demo's session is left" test -z "$left"
    [ -z "$left" ] || echo "# left: $left"
}

# ---- the full run (in the background; the short ones run beside it) ----
spawn full.out
full=$SPAWNED
echo "# [${SECONDS}s] full demo started (pid $full)"

# SIGTERM while the stand-ins start, with DEMO_DIR: stopped, the folder kept. The harness pauses
# between starting the proxy and writing its pid file, where the signal lands: the demo must still
# stop a stand-in it cannot name (a CI run once left the proxy running).
spawn term.out DEMO_DIR="$T_DIR/kept" HARNESS_SPAWN_PAUSE=1
term=$SPAWNED
wait_for "$T_DIR/kept/stand-ins/harness/moto.pid" . 60 || not_ok "SIGTERM run: the stand-ins never started"
pids_term="$(cat "$T_DIR/kept/stand-ins/harness/"*.pid 2>/dev/null | tr '\n' ' ')"
kill -TERM "$term"
wait "$term"; rc=$?
check "SIGTERM while the stand-ins start: the demo exits 143 ($rc)" test "$rc" = 143
grep -q 'Interrupted (SIGTERM) during: The stand-ins' term.out && ok "SIGTERM run: it says what it was doing when stopped" ||
    not_ok "SIGTERM run: no 'Interrupted' line: $(tail -3 term.out)"
finished "SIGTERM run" "$term"
check "SIGTERM run: the stand-ins it had started ($pids_term) are gone" test "$(alive $pids_term)" = 0
check "SIGTERM run: DEMO_DIR is kept, with the spec" test -f "$T_DIR/kept/mesh.yaml"
echo "# [${SECONDS}s] SIGTERM run"

# A missing helm: a clear message before anything starts.
MESH_HELM="$T_DIR/no-helm" bash "$DEMO" >nohelm.out 2>&1
check "a missing helm: the demo fails at once" test $? = 1
grep -q 'not an executable' nohelm.out && ok "a missing helm is named" || not_ok "missing helm: $(cat nohelm.out)"

# A mesh that fails at apply (after the stand-ins started): they stop, the folder goes.
printf '#!/bin/sh\n[ "$1" = apply ] && { echo "mesh: injected failure" >&2; exit 1; }\nexec "%s" "$@"\n' "$MESH" >"$T_DIR/failing-mesh"
chmod +x "$T_DIR/failing-mesh"
spawn fail.out MESH_BIN="$T_DIR/failing-mesh"
fail=$SPAWNED
wait "$fail"; rc=$?
check "a failing mesh apply: the demo exits 1 ($rc)" test "$rc" = 1
grep -q 'The demo failed during: mesh apply' fail.out && ok "failing run: it names the step that failed" || not_ok "failing run: $(tail -3 fail.out)"
finished "failing run" "$fail"
pids=$(standin_pids fail.out)
check "failing run: the stand-ins it started ($pids) are gone" test -n "$pids" -a "$(alive $pids)" = 0
echo "# [${SECONDS}s] failing run"

# SIGINT (a Ctrl-C) once the apply has reached the releases (helm runs then): mesh is stopped, helm
# with it, then everything else.
spawn int.out
int=$SPAWNED
wait_for int.out '^  Working in ' 90
int_work=$(sed -n 's/^  Working in \([^;]*\);.*/\1/p' int.out)
wait_for "$int_work/apply.log" 'helm_release\..*: Creating' 240 || not_ok "SIGINT run: the apply never reached a release: $(tail -3 int.out)"
# helm starts a moment after "Creating..." (mesh first asks helm status): interrupt while it runs
for i in $(seq 1 50); do n_helm=$(left_in_session "$int" | grep -cE ' [0-9]+ helm '); [ "$n_helm" = 0 ] || break; sleep 0.1; done
echo "# SIGINT run: interrupted with $n_helm helm process(es) running"
kill -INT "$int"
wait "$int"; rc=$?
check "SIGINT during the apply: the demo exits 130 ($rc)" test "$rc" = 130
grep -q 'Interrupted (SIGINT) during: mesh apply' int.out && ok "SIGINT run: stopped during the apply" || not_ok "SIGINT run: $(tail -3 int.out)"
finished "SIGINT run" "$int"
pids=$(standin_pids int.out)
check "SIGINT run: the stand-ins it started ($pids) are gone" test -n "$pids" -a "$(alive $pids)" = 0
echo "# [${SECONDS}s] SIGINT run"

# ---- the full run's checks ----
wait "$full"; rc=$?
echo "# [${SECONDS}s] full demo ended ($rc): $(grep '^Total' full.out)"
check "the full demo exits 0 ($rc)" test "$rc" = 0
[ "$rc" = 0 ] || tail -30 full.out
has() { grep -Eq "$2" full.out && ok "full run: $1" || not_ok "full run: $1 (no /$2/)"; }
has "the stand-ins started, with their pids" 'moto_server pid [0-9]+'
has "the spec validated" 'The spec is valid: mesh.yaml, 80 resources'
has "mesh apply made the whole reference deployment" 'Apply complete! Resources: 80 added, 0 changed, 0 destroyed'
has "mesh check passed" 'mesh check: every check passes in 2 clusters'
has "traffic reached both versions" 'traffic across clusters +ok'
has "kubectl (through mesh kubeconfig) listed cacerts" '^cacerts +Opaque'
has "kubectl listed cluster-1's remote secret for cluster-2" '^istio-remote-secret-cluster-2 +Opaque'
has "kubectl listed cluster-2's remote secret for cluster-1" '^istio-remote-secret-cluster-1 +Opaque'
has "the second plan found nothing to do" '^No changes'
has "mesh destroy removed everything" 'Destroy complete! Resources: 0 added, 0 changed, 80 destroyed'
has "the total time is printed" '^Total: '
for r in 0.certs-tool/create-certs.sh 'cd 0.vpc' 'cd 1.cluster1' 'cd 2.cluster2' 'cd 3.istio-multi-primary' \
    'kubectl patch daemonset aws-node' 'aws eks update-kubeconfig' 'terraform apply -destroy'; do
    grep -qF "$r" full.out && ok "the narration says what replaces $r" || not_ok "the narration lacks $r"
done
check "each of the 6 mesh steps says what it replaces" test "$(grep -c '^  Replaces' full.out)" -ge 6
! grep -qF 'mesh-test-secret-do-not-log' full.out && ok "no AWS secret key in the output" || not_ok "the output holds the AWS secret key"
finished "full run" "$full"
pids=$(standin_pids full.out)
check "full run: the 5 stand-ins ($pids) are gone" test "$(echo $pids | wc -w)" = 5 -a "$(alive $pids)" = 0
work=$(sed -n 's/^  Working in \([^;]*\);.*/\1/p' full.out)
check "the demo names its scratch folder ($work)" test -n "$work"
check "the scratch folders are removed: nothing left in TMPDIR" test -z "$(ls -A "$TMPDIR")"
check "no key file under ~/.config/mesh" test ! -e "$HOME/.config/mesh"
check "nothing at all written under HOME ($(ls -A "$HOME" | tr '\n' ' '))" test -z "$(ls -A "$HOME")"
t_done
