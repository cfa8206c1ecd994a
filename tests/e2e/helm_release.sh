# helm_release.sh: helm_release runs the real helm against one fake API server (an existing
# cluster reached through its kubeconfig), with the local chart tests/charts/mesh-test.
# Install, an empty second plan, the real `helm list` showing it deployed, a values change
# (revision 2), drift (a value changed with helm, an object deleted with kubectl) planned and
# repaired; no token in any file of helm's private directory, no token or sensitive value in any
# process's arguments, the sensitive value never in mesh's output or state; kill -9 of mesh while
# helm waits (the fake holds a request): no helm left, the next apply recovers the pending
# release; a fail-at-call loop leaves no orphan release; destroy uninstalls; a rollback in one
# cluster leaves a release of the same name in another cluster alone.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TESTS/harness/kube/kube.sh"
t_setup
ROOT=$(cd "$T_TESTS/.." && pwd)
CHART="$ROOT/tests/charts/mesh-test"
K="$T_DIR/fake"
trap 'kube_fake_stop "$K"; kube_fake_stop "$T_DIR/fake2"; t_cleanup' EXIT
# helm as mesh finds it: MESH_HELM, bin/helm of the checkout (make deps), PATH
if [ -z "${MESH_HELM:-}" ]; then
    if [ -x "$ROOT/bin/helm" ]; then MESH_HELM="$ROOT/bin/helm"; else MESH_HELM=$(command -v helm || true); fi
fi
if [ -z "$MESH_HELM" ] || [ ! -x "$MESH_HELM" ]; then
    not_ok "helm is installed (make deps puts it in bin/)"; t_done; exit 1
fi
export MESH_HELM
export TMPDIR="$T_DIR/tmp"   # helm's private directories go here: watched below
# This script's own helm and kubectl calls cache discovery here, so that $HOME/.kube stays
# what mesh's helm children leave (nothing: they get a cache in their private directory).
export KUBECACHEDIR="$T_DIR/test-kubecache"
mkdir -p "$TMPDIR"
kube_fake_start "$K" c1 --client-ca >/dev/null 2>&1 || { not_ok "the fake API server starts"; t_done; exit 1; }
TOKEN=$(cat "$K/token")
CANARY="canary-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export MESH_VAR_password="$CANARY"
helm_() { "$MESH_HELM" --kubeconfig "$K/kubeconfig" "$@"; }
k1() { kubectl --kubeconfig "$K/kubeconfig" "$@"; }

spec() {  # MESSAGE REPLICAS [EXTRA-RESOURCES-FILE]
    cat <<EOF
vars:
  password: {type: string, sensitive: true}
clusters:
  c1: {existing: {kubeconfig: $K/kubeconfig}}
resources:
  helm_release.app:
    connection: kubernetes_connection.c1
    name: app
    namespace: apps
    create_namespace: true
    chart: $CHART
    values: {message: "$1", replicas: $2, deployment: ${DEPLOY:-true}, password: "\${var.password}"}
EOF
    [ -n "${3:-}" ] && cat "$3"
    return 0
}

# ---- validate: a local chart that is not there ----
spec hello 1 | sed "s|chart: $CHART|chart: ./no-such-chart|" >bad.yaml
expect_rc "validate: a missing local chart is refused" 1 "$MESH" validate -f bad.yaml
check "validate: the error names the chart and its position" grep -q 'bad.yaml:11:12: .*chart: local chart ./no-such-chart does not exist' last.err
# A name helm would read as an option, and a namespace that is no DNS label: refused before any call.
spec hello 1 | sed -e "s|name: app\$|name: --post-renderer=/bin/sh|" -e "s|namespace: apps|namespace: Apps|" >opt.yaml
expect_rc "validate: a release name that is an option is refused" 1 "$MESH" validate -f opt.yaml
check "validate: ...named with its position" grep -q 'opt.yaml:8:11: .*name: "--post-renderer=/bin/sh" is not a valid release name' last.err
check "validate: an upper-case namespace is refused with its position" grep -q 'opt.yaml:9:16: .*namespace: "Apps" is not a valid namespace' last.err

# ---- install, with a watcher on helm's directory and every process's arguments ----
spec hello 1 >v1.yaml
# the patterns in files: the watcher's own grep must not carry them in its arguments
printf '%s\n' "$TOKEN" >token.pat
printf '%s\n' "$CANARY" >canary.pat
watch_helm() {  # samples until killed: ps arguments, helm's directories and what is in them
    while :; do
        ps -eo args >>ps.log 2>/dev/null
        for d in "$TMPDIR"/mesh-helm-*; do
            [ -d "$d" ] || continue
            stat -c '%a %n' "$d" "$d"/* >>modes.log 2>/dev/null
            grep -rlFf token.pat "$d" >>token-files.log 2>/dev/null
            grep -rlFf canary.pat "$d" >>canary-files.log 2>/dev/null
            # another process of this user that finds the broker's socket gets no credential
            [ -S "$d/broker.sock" ] && $PY -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
print(s.recv(65536).decode(errors="replace").strip())' "$d/broker.sock" >>broker.log 2>/dev/null
        done
        sleep 0.05
    done
}
: >ps.log; : >modes.log; : >token-files.log; : >canary-files.log; : >broker.log
watch_helm &
WATCH=$!
expect_rc "apply installs the release" 0 "$MESH" apply -f v1.yaml --auto-approve
cp last.out apply1.out
kill $WATCH 2>/dev/null; wait $WATCH 2>/dev/null
check "the watcher saw helm run with the session's kubeconfig" grep -q "upgrade --install app $CHART .*--kubeconfig $TMPDIR/mesh-helm-" ps.log
check "helm's private directory is 0700" grep -qE "^700 $TMPDIR/mesh-helm-[^/]*$" modes.log
check "its kubeconfig and values file are 0600" \
    sh -c "grep -qE '^600 .*/kubeconfig\$' modes.log && grep -qE '^600 .*/values.json\$' modes.log"
check "no file of helm's directory holds the token" test ! -s token-files.log
check "the broker refused a process outside helm's process group" \
    sh -c "grep -q '^error: refused' broker.log && ! grep -qFf token.pat broker.log && ! grep -q ExecCredential broker.log"
check "the sensitive value is only in the values file" sh -c "! grep -qv '/values.json\$' canary-files.log"
check "no process's arguments hold the token or the sensitive value" \
    sh -c "! grep -qFf token.pat ps.log && ! grep -qFf canary.pat ps.log"
check "helm's directory is removed afterwards" test -z "$(ls "$TMPDIR")"
check "real helm list shows the release deployed" sh -c "helm_out=\$('$MESH_HELM' --kubeconfig '$K/kubeconfig' list -n apps); echo \"\$helm_out\" | grep -qE '^app[[:space:]]+apps[[:space:]]+1[[:space:]].*deployed[[:space:]]+mesh-test-0.1.0'"
check "the chart's ConfigMap holds the value" test "$(k1 get configmap -n apps app-config -o jsonpath='{.data.message}')" = hello
check "the sensitive value reached the cluster (the chart's Secret)" \
    test "$(k1 get secret -n apps app-secret -o jsonpath='{.data.password}' | base64 -d)" = "$CANARY"
"$MESH" state show helm_release.app >show.txt 2>&1
check "state records the release's id (its other outputs are sensitive: its values are)" grep -q 'id = "apps/app"' show.txt
expect_rc "a second plan is empty" 0 "$MESH" plan -f v1.yaml --detailed-exitcode
cp last.out plan2.out

# ---- a values change upgrades ----
spec changed 2 >v2.yaml
expect_rc "a values change plans an update" 2 "$MESH" plan -f v2.yaml --detailed-exitcode
check "the plan shows the values change in place, as (sensitive)" sh -c "grep -q 'will be updated in-place' last.out && grep -q 'values *= (sensitive) -> (sensitive)' last.out"
cp last.out plan3.out
expect_rc "apply upgrades it" 0 "$MESH" apply -f v2.yaml --auto-approve
cp last.out apply2.out
check "helm list: revision 2" sh -c "'$MESH_HELM' --kubeconfig '$K/kubeconfig' list -n apps | grep -qE '^app[[:space:]]+apps[[:space:]]+2[[:space:]]'"
check "the Deployment has 2 replicas" test "$(k1 get deploy -n apps app-app -o jsonpath='{.spec.replicas}')" = 2

# ---- drift: a value changed with helm, an object deleted with kubectl ----
helm_ upgrade app "$CHART" -n apps --reuse-values --set message=drifted >/dev/null 2>&1
k1 delete deployment -n apps app-app >/dev/null
expect_rc "drift plans an update" 2 "$MESH" plan -f v2.yaml --detailed-exitcode
cp last.out plan4.out
check "the plan shows the values changed outside mesh" grep -q 'values *= (sensitive) -> (sensitive) *# changed outside mesh' plan4.out
check "the plan names the deleted Deployment" grep -q 'Deployment apps/app-app deleted in the cluster' plan4.out
expect_rc "apply repairs the drift" 0 "$MESH" apply -f v2.yaml --auto-approve
cp last.out apply3.out
check "the value is back" test "$(k1 get configmap -n apps app-config -o jsonpath='{.data.message}')" = changed
check "the Deployment is back" sh -c "kubectl --kubeconfig '$K/kubeconfig' get deployment -n apps app-app -o name >/dev/null"
expect_rc "the plan after the repair is empty" 0 "$MESH" plan -f v2.yaml --detailed-exitcode
cp last.out plan5.out

# From here on the release has no Deployment: helm's --wait for a Deployment costs 2 s (its poll),
# and what follows is about helm's runs, not the chart's objects.
DEPLOY=false

# ---- a failing release: helm's own message and the namespace's last events, never a value ----
cat >event.yaml <<EOF
apiVersion: v1
kind: Event
metadata: {name: app-app-0.1, namespace: apps}
involvedObject: {kind: Pod, name: app-app-0, namespace: apps}
reason: BackOff
message: Back-off restarting failed container
type: Warning
lastTimestamp: "2026-01-01T00:00:00Z"
EOF
k1 apply -f event.yaml >/dev/null
rev_before=$(helm_ list -n apps -o json | $PY -c 'import json,sys; print(json.load(sys.stdin)[0]["revision"])')
spec "" 2 >fail.yaml
expect_rc "a chart that does not render fails the apply" 1 "$MESH" apply -f fail.yaml --auto-approve
cat last.out last.err >fail.out
check "the failure says helm's own message" grep -q 'helm upgrade failed with exit status 1: Error: .*values.message is required' fail.out
check "and the namespace's last events" grep -q 'last events in apps: Warning Pod/app-app-0: BackOff: Back-off restarting failed container' fail.out
check "the value helm's message quoted is masked" grep -q 'password (a value)' fail.out
check "nothing to undo: the release is as it was" \
    test "$(helm_ list -n apps -o json | $PY -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["revision"], r["status"])')" = "$rev_before deployed"

# ---- the sensitive value never in mesh's output or state ----
cat apply1.out apply2.out apply3.out plan2.out plan3.out plan4.out plan5.out show.txt fail.out >outputs.txt
"$MESH" state list --json >>outputs.txt 2>&1
"$MESH" state show helm_release.app >>outputs.txt 2>&1
check "the sensitive value is in no output of mesh" sh -c "! grep -qF -- '$CANARY' outputs.txt"
check "the plan shows the values as (sensitive)" grep -q 'values *= (sensitive)' plan3.out
check "the sensitive value is not in the state files" sh -c "! cat .mesh/* 2>/dev/null | grep -aqF -- '$CANARY'"

# ---- Ctrl-C while helm waits (the fake holds the ConfigMap's update): helm is stopped (TERM),
# mesh rolls the release back to the spec it had ----
hold='{"rules": [{"method": "PATCH", "path_re": "configmaps/app-config", "delay": 20, "status": 503, "count": 1}]}'
helm_status() { helm_ status app -n apps -o json 2>/dev/null | $PY -c 'import json,sys; print(json.load(sys.stdin)["info"]["status"])' 2>/dev/null; }
wait_status() { for i in $(seq 1 100); do [ "$(helm_status)" = "$1" ] && return 0; sleep 0.1; done; return 1; }
kube_fake_faults "$K" "$hold"
spec ctrlc-value 2 >v4.yaml
"$MESH" apply -f v4.yaml --auto-approve >int.out 2>&1 &
MPID=$!
wait_status pending-upgrade
sleep 0.3
t0=$(date +%s%N)
kill -INT $MPID; wait $MPID; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# exited $ms ms after SIGINT with status $rc"
check "Ctrl-C: mesh stopped helm and rolled back within 20 s (the fake held helm's request 20 s)" \
    sh -c "[ $rc -ne 0 ] && [ $ms -lt 20000 ] && grep -q 'rolled back' int.out"
check "Ctrl-C: no helm process is left" sh -c "! pgrep -f '$TMPDIR/[m]esh-helm-' >/dev/null"
check "Ctrl-C: the release is deployed with the values it had" \
    sh -c "[ \"\$(kubectl --kubeconfig '$K/kubeconfig' get configmap -n apps app-config -o jsonpath='{.data.message}')\" = changed ] && '$MESH_HELM' --kubeconfig '$K/kubeconfig' status app -n apps | grep -q 'STATUS: deployed'" ||
    { sed 's/^/    | /' int.out | tail -8; helm_ history app -n apps | sed 's/^/    | /'; }
expect_rc "Ctrl-C: the plan after the rollback shows no drift" 0 "$MESH" plan -f v2.yaml --detailed-exitcode

# ---- kill -9 of mesh while helm waits: the fake holds the ConfigMap's update ----
kube_fake_faults "$K" "$hold"
spec killed 2 >v3.yaml
"$MESH" apply -f v3.yaml --auto-approve >kill.out 2>&1 &
MPID=$!
wait_status pending-upgrade
sleep 0.5
pgrep -af "$TMPDIR/[m]esh-helm-" >ps-kill.log
kill -9 $MPID; wait $MPID 2>/dev/null
sleep 0.5
check "the release was left pending-upgrade" sh -c "'$MESH_HELM' --kubeconfig '$K/kubeconfig' status app -n apps | grep -q 'STATUS: pending-upgrade'"
check "helm was running when mesh was killed" grep -q "upgrade --install app" ps-kill.log
# [m]: the pattern does not match pgrep's own sh -c line
check "no helm process is left after kill -9 of mesh" sh -c "! pgrep -f '$TMPDIR/[m]esh-helm-' >/dev/null"
curl -s -o /dev/null --cacert "$K/ca.crt" -X POST "$(cat "$K/url")/__fake/reset-faults"
expect_rc "the next apply recovers the pending release" 0 "$MESH" apply -f v3.yaml --auto-approve
cp last.out recover.out
check "the release is deployed with the new value" sh -c "'$MESH_HELM' --kubeconfig '$K/kubeconfig' status app -n apps | grep -q 'STATUS: deployed' && test \"\$(kubectl --kubeconfig '$K/kubeconfig' get configmap -n apps app-config -o jsonpath='{.data.message}')\" = killed"
# (helm's rollback fails when the cut-off upgrade had deleted an object, here the Deployment the
# new spec drops: the release is no longer pending then and the upgrade makes it right)
check "the recovery rolled the pending upgrade back first" \
    sh -c "'$MESH_HELM' --kubeconfig '$K/kubeconfig' history app -n apps | grep -qiE 'rollback to|rollback \"app\" failed'"
check "a killed mesh's helm directory is swept by the next run" test -z "$(ls "$TMPDIR")"
expect_rc "and the plan after it is empty" 0 "$MESH" plan -f v3.yaml --detailed-exitcode

# ---- destroy uninstalls ----
expect_rc "destroy uninstalls the release" 0 "$MESH" destroy -f v3.yaml --auto-approve
check "helm list is empty" test -z "$(helm_ list -A -q)"

# ---- kill -9 during the first install: the next apply uninstalls the pending-install release
# (never deployed) and installs it afresh ----
kube_fake_faults "$K" '{"rules": [{"method": "POST", "path_re": "namespaces/apps/configmaps", "delay": 20, "status": 503, "count": 1}]}'
spec hello 1 >v5.yaml
"$MESH" apply -f v5.yaml --auto-approve >kill2.out 2>&1 &
MPID=$!
wait_status pending-install
sleep 0.3
kill -9 $MPID; wait $MPID 2>/dev/null
sleep 0.3
check "install: the release was left pending-install" test "$(helm_status)" = pending-install
check "install: no helm process is left after kill -9 of mesh" sh -c "! pgrep -f '$TMPDIR/[m]esh-helm-' >/dev/null"
expect_rc "install: the next apply recovers it" 0 "$MESH" apply -f v5.yaml --auto-approve
check "install: the release is deployed, made afresh (revision 1)" \
    sh -c "'$MESH_HELM' --kubeconfig '$K/kubeconfig' history app -n apps | tail -n +2 | awk '{print \$1, \$NF}' | tr '\n' ' ' | grep -qx '1 complete '"
expect_rc "install: destroy" 0 "$MESH" destroy -f v5.yaml --auto-approve

# ---- helm's record unreadable (a write of it cut off; helm then says only "no revision for
# release", as the kill -9 campaign found): after mesh's own cut-off first install, recovery installs it afresh; on a release
# mesh holds in state, plan and destroy name the Secret and the remedy, which works ----
echo "# [${SECONDS}s] unreadable release records"
spoil() { k1 -n apps patch secret sh.helm.release.v1.app.v1 --type merge -p '{"data":{"release":"bm90LWd6aXA="}}' >/dev/null; }
# mesh dies right after helm installed it (the connection is call 1): its create is still open
(MESH_FAULTS="crash-after:call=2" "$MESH" apply -f v5.yaml --auto-approve >kill3.out 2>&1) 2>/dev/null
check "unreadable: mesh was killed after the install, before recording it" test "$(helm_status)" = deployed
echo "# [${SECONDS}s] unreadable: mesh killed after the first install"
spoil
check "unreadable: helm itself is stuck on the spoiled record" sh -c "'$MESH_HELM' --kubeconfig '$K/kubeconfig' status app -n apps 2>&1 | grep -q 'no revision for release'"
dels() { grep -c 'DELETE /api/v1/namespaces/apps/secrets/sh.helm.release.v1.app.v1 200' "$K/fake.log"; }
before=$(dels)
expect_rc "unreadable: the next apply recovers mesh's own cut-off first install" 0 "$MESH" apply -f v5.yaml --auto-approve
check "unreadable: ...deleting the unreadable record (through mesh's client: helm cannot) and installing afresh" \
    sh -c "[ $(dels) -gt $before ] && '$MESH_HELM' --kubeconfig '$K/kubeconfig' history app -n apps | grep -q 'Install complete'"
check "unreadable: the release is deployed at revision 1" test "$(helm_ list -n apps -o json | $PY -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["revision"], r["status"])')" = "1 deployed"
echo "# [${SECONDS}s] unreadable: recovered"
spoil
expect_rc "unreadable: plan of a release in state fails" 1 "$MESH" plan -f v5.yaml
check "unreadable: ...naming the Secret, its status and the remedy" \
    grep -q 'Secret sh.helm.release.v1.app.v1 (status deployed) in namespace apps holds data helm cannot decode.*kubectl -n apps delete secret -l owner=helm,name=app, then mesh apply' last.err
expect_rc "unreadable: destroy fails the same way, touching nothing" 1 "$MESH" destroy -f v5.yaml --auto-approve
check "unreadable: ...the release's objects are still there" k1 -n apps get configmap app-config
echo "# [${SECONDS}s] unreadable: plan and destroy refused"
k1 -n apps delete secret -l owner=helm,name=app >/dev/null
expect_rc "unreadable: after the remedy apply installs it again" 0 "$MESH" apply -f v5.yaml --auto-approve
expect_rc "unreadable: and destroy uninstalls it" 0 "$MESH" destroy -f v5.yaml --auto-approve
check "unreadable: nothing of it is left" sh -c "test -z \"\$('$MESH_HELM' --kubeconfig '$K/kubeconfig' list -A -a -q)\" && ! kubectl --kubeconfig '$K/kubeconfig' -n apps get configmap app-config 2>/dev/null"
echo "# [${SECONDS}s] unreadable release records done"

# ---- fail at every call of a run that installs two releases, through a client certificate (the connection, app, second: at the
# third, app is installed and the rollback uninstalls it): no release is left ----
cat >more.yaml <<EOF
  helm_release.second:
    connection: kubernetes_connection.c1
    name: second
    namespace: apps
    chart: $CHART
    values: {message: two, deployment: false}
    depends_on: [helm_release.app]
EOF
# this run reaches the cluster with the kubeconfig's client certificate (the broker hands helm
# the certificate and key instead of a token)
spec loop 1 more.yaml | sed -e 's/c1: {existing: {kubeconfig: \(.*\)kubeconfig}}/c2: {existing: {kubeconfig: \1kubeconfig-cert}}/' \
    -e 's/kubernetes_connection.c1/kubernetes_connection.c2/' >f.yaml
bad=0 faults=0
for n in $(seq 1 10); do
    MESH_FAULTS="fail:call=$n" "$MESH" apply -f f.yaml --auto-approve --parallelism 1 >fault.out 2>&1
    rc=$?
    [ $rc = 0 ] && break
    faults=$((faults + 1))
    grep -q 'rolled back' fault.out || { echo "# N=$n: exit $rc without a rollback"; tail -5 fault.out; bad=1; break; }
    left=$(helm_ list -A -a -q)
    [ -z "$left" ] || { echo "# N=$n: releases left after the rollback: $left"; tail -5 fault.out; bad=1; break; }
done
echo "# fail: $faults faulted runs before one completed"
check "fail at call N (every call): no release left after any rollback" test $bad = 0
check "the fault loop cut the run at each of its 3 calls, then completed" sh -c "[ $faults -ge 3 ] && [ $rc = 0 ]"
check "the completed run has both releases deployed" test "$(helm_ list -A -q | sort | tr '\n' ' ')" = "app second "
check "helm reached the fake with a client certificate only (no token in that kubeconfig)" \
    sh -c "grep -q 'kubeconfig-cert' f.yaml && grep -q client-key-data '$K/kubeconfig-cert' && ! grep -q 'token:' '$K/kubeconfig-cert'"
expect_rc "destroy after the loop" 0 "$MESH" destroy -f f.yaml --auto-approve
check "no release is left" test -z "$(helm_ list -A -a -q)"

# ---- two clusters, one release name (the same id, apps/app, in both): a failed run that installed
# it in c2 is rolled back there, and c1's is left alone (the rollback once matched the two by id
# alone: it "restored" c1's release and kept c2's, found by tests/reliability/faults.sh) ----
K2="$T_DIR/fake2"
kube_fake_start "$K2" c2 >/dev/null 2>&1 || not_ok "a second fake API server starts"
rel() {  # NAME CONNECTION
    printf '  helm_release.%s:\n    connection: kubernetes_connection.%s\n    name: app\n    namespace: apps\n' "$1" "$2"
    printf '    create_namespace: true\n    chart: %s\n    values: {message: %s, deployment: false}\n' "$CHART" "$1"
}
{ printf 'clusters:\n  c1: {existing: {kubeconfig: %s}}\n  c2: {existing: {kubeconfig: %s}}\nresources:\n' "$K/kubeconfig" "$K2/kubeconfig"
  rel one c1; } >two1.yaml
{ cat two1.yaml; rel two c2; printf '  null_resource.after:\n    depends_on: [helm_release.two]\n'; } >two2.yaml
expect_rc "two clusters: c1's release installed" 0 "$MESH" apply -f two1.yaml --auto-approve
MESH_FAULTS="fail:address=null_resource.after" "$MESH" apply -f two2.yaml --auto-approve >two.out 2>&1
check "two clusters: the run that installed c2's release failed after it and rolled back" \
    sh -c "grep -q 'helm_release.two: Creation complete' two.out && grep -q 'rolled back' two.out"
check "two clusters: c2's release was uninstalled" test -z "$("$MESH_HELM" --kubeconfig "$K2/kubeconfig" list -A -a -q)"
check "two clusters: c1's release is untouched (revision 1, deployed)" \
    test "$(helm_ list -n apps -o json | $PY -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["revision"], r["status"])')" = "1 deployed"
kout "two clusters: the next plan adds c2's connection and release again, changes nothing" 'Plan: 3 to add, 0 to change, 0 to destroy' "$MESH" plan -f two2.yaml
expect_rc "two clusters: destroy" 0 "$MESH" destroy -f two2.yaml --auto-approve
check "no helm directory is left" test -z "$(ls "$TMPDIR")"
check "mesh's helm children wrote nothing under HOME (no ~/.kube/cache)" test ! -e "$HOME/.kube"
t_done
