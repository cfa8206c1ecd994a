# pki.sh: issue 5 end to end through ./mesh with a high-level `pki:` + `clusters:` spec (ECDSA
# P-256 keys, so it is fast): the expansion, apply, the exported chains checked by the openssl CLI,
# an empty second plan, a new cluster, a root change, renewal by the clock, --target without any
# cloud, the secret canary, then a failure at every driver call and a crash at every call.
. "$(dirname "$0")/../lib/common.sh"
t_setup
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
export AWS_EC2_METADATA_DISABLED=true
command -v openssl >/dev/null || { not_ok "openssl CLI not found"; t_done; exit 1; }
LOGS="$T_DIR/logs"  # every mesh output of the suite, for the canary
mkdir -p "$LOGS"
n_log=0

spec() {  # spec FILE CLUSTERS...: ECDSA, export to ./certs; ROOT_CN sets the root's common name
    local f=$1
    shift
    {
        echo "mesh: {name: pki-e2e}"
        echo "pki:"
        echo "  root: {algorithm: ecdsa-p256, common_name: \"${ROOT_CN:-Root CA}\"}"
        echo "  intermediate: {algorithm: ecdsa-p256}"
        echo "  export_dir: ./certs"
        echo "clusters:"
        for c in "$@"; do echo "  $c: {existing: {kubeconfig: ./kubeconfig}}"; done  # PKI only: no EKS, no cloud
    } >"$f"
}

m() {  # m ARGS...: runs mesh, keeps stdout+stderr in $LOGS and in last.out/last.err
    n_log=$((n_log + 1))
    "$MESH" "$@" >"$T_DIR/last.out" 2>"$T_DIR/last.err"
    local rc=$?
    cp "$T_DIR/last.out" "$LOGS/$n_log.out"
    cp "$T_DIR/last.err" "$LOGS/$n_log.err"
    return $rc
}

spec two.yaml cluster-1 cluster-2
spec three.yaml cluster-1 cluster-2 cluster-3
ROOT_CN="Other Root" spec newroot.yaml cluster-1 cluster-2

# --- the expansion ---
m plan -f two.yaml --explain --json
check "explain: the six resources of docs/pki.md, origin pki, with their references" $PY - "$T_DIR/last.out" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ex = {e["address"]: e for e in ev if e.get("type") == "explain"}
want = {
    "pki_private_key.root": [],
    "pki_root_ca.root": ["pki_private_key.root"],
    "pki_private_key.cluster-1.intermediate": [],
    "pki_intermediate_ca.cluster-1": ["pki_private_key.cluster-1.intermediate", "pki_root_ca.root"],
    "pki_private_key.cluster-2.intermediate": [],
    "pki_intermediate_ca.cluster-2": ["pki_private_key.cluster-2.intermediate", "pki_root_ca.root"],
}
assert set(ex) == set(want), sorted(ex)
for a, deps in want.items():
    assert ex[a]["section"] == "pki", ex[a]
    assert sorted(set(ex[a]["depends_on"])) == sorted(deps), (a, ex[a]["depends_on"])
PY
m plan -f two.yaml
check "plan: export_dir made absolute against the spec's folder" grep -qF "export_dir        = \"$T_DIR/certs\"" "$T_DIR/last.out"
check "plan: every default written out (validity, renewal window, status)" \
    grep -qE 'validity_days += 730' "$T_DIR/last.out"
check "plan: keys shown as (sensitive)" grep -qF 'issuer_key_pem    = (sensitive)' "$T_DIR/last.out"

# --- apply and check what was made ---
m apply -f two.yaml --auto-approve --json
check "apply a 2-cluster PKI" test $? -eq 0
for c in cluster-1 cluster-2; do
    check "$c: openssl verify -CAfile root-cert.pem cert-chain.pem" \
        bash -c "openssl verify -CAfile certs/$c/root-cert.pem certs/$c/cert-chain.pem >/dev/null"
    text=$(openssl x509 -in certs/$c/ca-cert.pem -noout -text)
    check "$c: x509 subject O=Istio, CN=Intermediate CA, L=$c; issuer the root" \
        bash -c 'grep -qF "Subject: O = Istio, CN = Intermediate CA, L = '$c'" <<<"$1" && grep -qF "Issuer: O = Istio, CN = Root CA" <<<"$1"' _ "$text"
    check "$c: x509 CA:TRUE pathlen:0 critical, keyUsage critical, SAN, SKI/AKI" \
        bash -c 'for p in "X509v3 Basic Constraints: critical" "CA:TRUE, pathlen:0" "X509v3 Key Usage: critical" \
            "Digital Signature, Non Repudiation, Key Encipherment, Certificate Sign" "DNS:istiod.istio-system.svc" \
            "X509v3 Subject Key Identifier" "X509v3 Authority Key Identifier" "ecdsa-with-SHA256"; do
            grep -qF -- "$p" <<<"$1" || { echo "missing $p"; exit 1; }; done' _ "$text"
done
(cd certs && for c in cluster-1 cluster-2; do
    [ "$(openssl pkey -in $c/ca-key.pem -pubout)" = "$(openssl x509 -in $c/ca-cert.pem -noout -pubkey)" ] || exit 1
    [ "$(stat -c %a $c/ca-key.pem)" = 600 ] || exit 1
done)
check "ca-key.pem of each cluster matches its certificate, mode 0600" test $? -eq 0
rtext=$(openssl x509 -in certs/root-cert.pem -noout -text)
check "root: O=Istio, CN=Root CA, CA:TRUE critical, self-signed" bash -c \
    'grep -qF "Subject: O = Istio, CN = Root CA" <<<"$1" && grep -qF "CA:TRUE" <<<"$1" && openssl verify -CAfile certs/root-cert.pem certs/root-cert.pem >/dev/null' _ "$rtext"
check "no root key exported" test -z "$(grep -rl 'PRIVATE KEY' certs --exclude=ca-key.pem)"
expect_rc "second plan is empty (--detailed-exitcode 0)" 0 "$MESH" plan -f two.yaml --detailed-exitcode

# --- a new cluster: only its key and intermediate ---
m plan -f three.yaml --detailed-exitcode
check "a new cluster plans changes (exit 2)" test $? -eq 2
check "a new cluster plans exactly its key and intermediate" bash -c '
    [ "$(grep -cE "^  # .* will be (created|updated|destroyed)|must be replaced" last.out)" = 2 ] &&
    grep -q "pki_private_key.cluster-3.intermediate will be created" last.out &&
    grep -q "pki_intermediate_ca.cluster-3 will be created" last.out &&
    grep -q "Plan: 2 to add, 0 to change, 0 to destroy" last.out'

# --- a root change replaces the root and every intermediate, saying why ---
m plan -f newroot.yaml
check "root CN change: the root is replaced because of common_name" bash -c '
    grep -q "pki_root_ca.root must be replaced" last.out && grep -q "common_name forces replacement" last.out'
check "root CN change: both intermediates replaced because of their issuer" bash -c '
    for c in cluster-1 cluster-2; do grep -A1 "pki_intermediate_ca.$c must be replaced" last.out | grep -q "issuer_cert_pem, issuer_key_pem forces replacement" || exit 1; done
    grep -q "Plan: 3 to add, 0 to change, 3 to destroy" last.out'

# --- renewal: 29 days before the intermediates expire ---
na=$(openssl x509 -in certs/cluster-1/ca-cert.pem -noout -enddate | sed 's/notAfter=//')
renew_at=$(( $(date -d "$na" +%s) - 29 * 86400 ))
MESH_NOW=$renew_at m plan -f two.yaml
check "MESH_NOW 29 days before expiry plans a renewal of both intermediates" bash -c '
    [ "$(grep -c "status *= \"expiring at .*within renew_before_days 30: renew\" -> \"valid\"" last.out)" = 2 ] ||
    [ "$(grep -c "expiring at" last.out)" -ge 2 ]'
check "the renewal replaces only the intermediates" grep -q "Plan: 2 to add, 0 to change, 2 to destroy" "$T_DIR/last.out"
MESH_NOW=$(( renew_at - 2 * 86400 )) m plan -f two.yaml --detailed-exitcode
check "31 days before expiry: no renewal yet" test $? -eq 0

# --- --target without any cloud ---
rm -rf t && mkdir t && spec t/mesh.yaml cluster-1 cluster-2
m apply -f t/mesh.yaml --auto-approve --target pki_intermediate_ca.cluster-1
check "--target pki_intermediate_ca.cluster-1 applies with no AWS settings" test $? -eq 0
check "--target made only the root and cluster-1 (4 resources)" bash -c \
    '[ "$("$0" state list -f t/mesh.yaml | sort | tr "\n" " ")" = "pki_intermediate_ca.cluster-1 pki_private_key.cluster-1.intermediate pki_private_key.root pki_root_ca.root " ]' "$MESH"
check "--target: cluster-1 exported and verifies" \
    bash -c "openssl verify -CAfile t/certs/root-cert.pem t/certs/cluster-1/cert-chain.pem >/dev/null"
check "--target: nothing of cluster-2" test ! -e t/certs/cluster-2

# --- secret canary ---
m state list -f two.yaml --json
for a in pki_private_key.root pki_root_ca.root pki_intermediate_ca.cluster-1 pki_private_key.cluster-1.intermediate; do
    m state show -f two.yaml "$a"
    m state show -f two.yaml "$a" --json
done
m plan -f two.yaml --json
canary() {  # every 64-char line and the whole base64 DER of every exported key, nowhere else
    local k lines hits=0
    for k in certs/*/ca-key.pem t/certs/*/ca-key.pem; do
        lines=$(grep -v -- '-----' "$k")
        printf '%s\n' "$lines" | grep -E '^.{64}$' >"$T_DIR/needles"
        printf '%s' "$lines" | tr -d '\n' >>"$T_DIR/needles"; echo >>"$T_DIR/needles"
        [ -s "$T_DIR/needles" ] || return 1
        if grep -rlF -f "$T_DIR/needles" "$T_DIR" --exclude-dir=certs --exclude=needles; then hits=1; fi
    done
    return $hits
}
check "state has files to scan (state.db and its WAL or checkpoint)" test -s .mesh/state.db
check "canary: no private key body (nor base64 DER) in state.db, WAL, outputs, --json, state show, or any file outside the export" canary
check "canary: no PRIVATE KEY header outside the export folders" \
    test -z "$(grep -rl 'PRIVATE KEY' "$T_DIR" --exclude-dir=certs --exclude=needles)"

# --- a failure at every driver call ---
export_sum() { find "$1" -type f 2>/dev/null | sort | xargs -r sha256sum; }
half_made() { find "$1" -name '*.tmp.*' 2>/dev/null | grep -q .; }
fault_loop() {  # fault_loop FROM TO: apply TO over FROM with a fault at call N, N = 1..
    local from=$1 to=$2 n rc bad=0 rolled=0
    rm -rf .mesh certs
    m apply -f "$from" --auto-approve || { not_ok "fault loop $to: setup"; return; }
    for n in $(seq 1 60); do
        local before_state before_files
        before_state=$(state_dump -f "$from")
        before_files=$(export_sum certs)
        MESH_FAULTS="fail:call=$n" m apply -f "$to" --auto-approve --parallelism 1
        rc=$?
        [ $rc -eq 0 ] && break
        grep -q 'injected fault' "$T_DIR/last.err" || { echo "# N=$n: not the injected fault"; bad=1; }
        [ "$(state_dump -f "$from")" = "$before_state" ] || { echo "# N=$n: state differs"; bad=1; }
        [ "$(export_sum certs)" = "$before_files" ] || { echo "# N=$n: export files differ"; bad=1; }
        half_made certs && { echo "# N=$n: temp files left"; bad=1; }
        rolled=$((rolled + 1))
        [ $bad -eq 0 ] || break
    done
    check "fail at every call ($from -> $to, N=1..$((n - 1))): state and export as before each time" test $bad -eq 0
    check "fail loop ($from -> $to): reached a successful run after $rolled failures" test $rc -eq 0 -a $rolled -ge 3
    expect_rc "fail loop ($from -> $to): then the plan is empty" 0 "$MESH" plan -f "$to" --detailed-exitcode
    check "fail loop ($from -> $to): exported chains verify" bash -c \
        'for d in certs/*/; do openssl verify -CAfile certs/root-cert.pem "$d/cert-chain.pem" >/dev/null || exit 1; done'
}
rm -rf empty.yaml && echo "mesh: {name: pki-e2e}" >empty.yaml
fault_loop empty.yaml two.yaml
fault_loop two.yaml three.yaml

# --- a crash before and after every call ---
crash_loop() {  # crash_loop KIND
    local kind=$1 n rc bad=0 crashes=0
    for n in $(seq 1 30); do
        rm -rf .mesh certs
        MESH_FAULTS="$kind:call=$n" m apply -f two.yaml --auto-approve --parallelism 1 2>/dev/null  # "Killed"
        rc=$?
        [ $rc -eq 0 ] && break
        crashes=$((crashes + 1))
        grep -q 'injected crash' "$T_DIR/last.err" || { echo "# $kind N=$n: exit $rc without the injected crash"; bad=1; break; }
        m apply -f two.yaml --auto-approve || { echo "# $kind N=$n: the next apply failed"; sed 's/^/#   /' "$T_DIR/last.err" | head -5; bad=1; break; }
        "$MESH" plan -f two.yaml --detailed-exitcode >/dev/null 2>&1 || { echo "# $kind N=$n: not converged"; bad=1; break; }
        for c in cluster-1 cluster-2; do
            openssl verify -CAfile certs/root-cert.pem certs/$c/cert-chain.pem >/dev/null 2>&1 || { echo "# $kind N=$n: $c does not verify"; bad=1; }
        done
        half_made certs && { echo "# $kind N=$n: temp files left"; bad=1; }
        [ "$("$MESH" state list -f two.yaml | wc -l)" = 6 ] || { echo "# $kind N=$n: state does not hold 6 resources"; bad=1; }
        [ $bad -eq 0 ] || break
    done
    check "$kind at every call (N=1..$crashes): the next apply recovers, converges, chains verify" test $bad -eq 0 -a $crashes -ge 6
}
crash_loop crash
crash_loop crash-after

# --- destroy removes what it wrote ---
m destroy -f two.yaml --auto-approve
check "destroy succeeds" test $? -eq 0
check "destroy removed every export file" test -z "$(find certs -type f 2>/dev/null)"
left=$("$MESH" state list -f two.yaml) && rc=0 || rc=$?
check "destroy emptied state (state list exit $rc)" test $rc -eq 0 -a -z "$left"
t_done
