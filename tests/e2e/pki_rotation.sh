# pki_rotation.sh: the root rotation in steps of docs/pki.md ("Root rotation") through ./mesh,
# ECDSA P-256 keys. From a one-root mesh (`pki.root`): (1) trust both roots, (2) make the new one
# active, (3) drop the old one. After every step, for every cluster, `openssl verify -CAfile
# root-cert.pem cert-chain.pem` passes, the bundle holds exactly the expected roots, and the second
# plan is empty; workloads of the step before and after trust each other. Plus the warning for a
# switch in one step and the guard on deleting the old root.
. "$(dirname "$0")/../lib/common.sh"
t_setup
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
export AWS_EC2_METADATA_DISABLED=true
command -v openssl >/dev/null || { not_ok "openssl CLI not found"; t_done; exit 1; }

CLUSTERS="cluster-1 cluster-2"
spec() {  # spec FILE ROOTS-YAML...: the pki section's root part, then the rest
    local f=$1
    shift
    {
        echo "mesh: {name: pki-rotation}"
        echo "pki:"
        for l in "$@"; do echo "  $l"; done
        echo "  intermediate: {algorithm: ecdsa-p256}"
        echo "  export_dir: ./certs"
        echo "clusters:"
        for c in $CLUSTERS; do echo "  $c: {existing: {kubeconfig: ./kubeconfig}}"; done  # PKI only: no cloud
    } >"$f"
}
R1='root: {algorithm: ecdsa-p256}'
R2='r2: {algorithm: ecdsa-p256, common_name: Root CA 2}'
spec s0.yaml "$R1"
spec s1.yaml "roots:" "  $R1" "  $R2" "active_root: root" "trusted_roots: [root, r2]"
spec s2.yaml "roots:" "  $R1" "  $R2" "active_root: r2" "trusted_roots: [root, r2]"
spec s3.yaml "roots:" "  $R2" "active_root: r2"
spec oneshot.yaml "roots:" "  $R1" "  $R2" "active_root: r2"

fp() { openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//'; }
bundle_fps() {  # bundle_fps FILE: the fingerprint of every certificate in a PEM bundle, sorted
    awk -v d="$T_DIR/split" 'BEGIN{n=0} /BEGIN CERT/{n++; f=d"."n} f{print > f} /END CERT/{close(f); f=""}' "$1"
    for f in "$T_DIR"/split.*; do fp <"$f"; done | sort
    rm -f "$T_DIR"/split.*
}
root_fp() {  # root_fp NAME: the fingerprint of pki_root_ca.NAME's cert in state
    "$MESH" state show -f s0.yaml "pki_root_ca.$1" --json | $PY -c '
import json, sys
for l in sys.stdin:
    e = json.loads(l)
    pem = e.get("outputs", {}).get("cert_pem") or e.get("attributes", {}).get("cert_pem")
    if pem: print(pem, end="")' | fp
}
after_step() {  # after_step N SPEC WANT-FPS...: the checks every step ends with
    local n=$1 f=$2
    shift 2
    local want
    want=$(printf '%s\n' "$@" | sort)
    for c in $CLUSTERS; do
        check "step $n: $c: openssl verify -CAfile root-cert.pem cert-chain.pem" \
            bash -c "openssl verify -CAfile certs/$c/root-cert.pem certs/$c/cert-chain.pem >/dev/null"
        check "step $n: $c: root-cert.pem holds exactly the expected roots ($#)" \
            test "$(bundle_fps certs/$c/root-cert.pem)" = "$want"
    done
    check "step $n: <export_dir>/root-cert.pem holds exactly the expected roots" \
        test "$(bundle_fps certs/root-cert.pem)" = "$want"
    expect_rc "step $n: the second plan is empty" 0 "$MESH" plan -f "$f" --detailed-exitcode
}
issuer() { openssl x509 -in "$1" -noout -issuer | sed 's/^issuer=//'; }
plan_line() { grep -E '^Plan:' "$T_DIR/last.out"; }

# --- step 0: one root, as today ---
expect_rc "step 0: apply a one-root PKI" 0 "$MESH" apply -f s0.yaml --auto-approve
OLD=$(root_fp root)
check "step 0: the old root's fingerprint is known" test -n "$OLD"
after_step 0 s0.yaml "$OLD"
cp -r certs certs0

# --- the warning for a switch in one step ---
expect_rc "one step: the spec is valid" 0 "$MESH" validate -f oneshot.yaml
check "one step: validate warns, pointing at the rotation in steps" \
    grep -qF "breaks cross-cluster mTLS until every workload has the new root; rotate in steps: docs/pki.md" "$T_DIR/last.err"
expect_rc "one step: plan runs" 0 "$MESH" plan -f oneshot.yaml
check "one step: the plan warns too, at the old root" bash -c \
    'grep -qE "oneshot.yaml:[0-9]+:[0-9]+: warning: root \`root\` is declared but not in \`pki.trusted_roots\`" "$1"' _ "$T_DIR/last.err"
for f in s1.yaml s2.yaml s3.yaml; do
    "$MESH" validate -f $f >/dev/null 2>"$T_DIR/v.err"
    check "no warning for $f (a step of the safe rotation)" bash -c '! grep -q warning "$1"' _ "$T_DIR/v.err"
done

# --- step 1: trust both roots; the intermediates stay, their bundles grow ---
expect_rc "step 1: plan" 0 "$MESH" plan -f s1.yaml
check "step 1: plans the new root and an in-place bundle update per cluster, nothing replaced" \
    test "$(plan_line)" = "Plan: 2 to add, 2 to change, 0 to destroy."
check "step 1: the update is trusted_roots_pem" bash -c \
    '[ "$(grep -c "~ trusted_roots_pem = null -> (known after apply)" "$1")" = 2 ]' _ "$T_DIR/last.out"
expect_rc "step 1: apply" 0 "$MESH" apply -f s1.yaml --auto-approve
NEW=$(root_fp r2)
check "step 1: the new root differs from the old" test -n "$NEW" -a "$NEW" != "$OLD"
after_step 1 s1.yaml "$OLD" "$NEW"
for c in $CLUSTERS; do
    check "step 1: $c: the intermediate is unchanged" cmp -s certs/$c/ca-cert.pem certs0/$c/ca-cert.pem
    check "step 1: $c: cert-chain.pem is unchanged (intermediate then the old root)" \
        cmp -s certs/$c/cert-chain.pem certs0/$c/cert-chain.pem
done
cp -r certs certs1

# --- step 2: the new root issues; the bundles still hold both ---
expect_rc "step 2: plan" 0 "$MESH" plan -f s2.yaml
check "step 2: plans a replacement of each intermediate only" \
    test "$(plan_line)" = "Plan: 2 to add, 0 to change, 2 to destroy."
check "step 2: no root is touched" bash -c '! grep -qE "pki_(root_ca|private_key)\.(root|r2) (will|must)" "$1"' _ "$T_DIR/last.out"
expect_rc "step 2: apply" 0 "$MESH" apply -f s2.yaml --auto-approve
after_step 2 s2.yaml "$OLD" "$NEW"
for c in $CLUSTERS; do
    check "step 2: $c: the intermediate is issued by the new root" test "$(issuer certs/$c/ca-cert.pem)" = "O = Istio, CN = Root CA 2"
    check "step 2: $c: a workload still on step 1 trusts the new chain" \
        bash -c "openssl verify -CAfile certs1/$c/root-cert.pem certs/$c/cert-chain.pem >/dev/null"
    check "step 2: $c: the new bundle trusts a chain of step 1" \
        bash -c "openssl verify -CAfile certs/$c/root-cert.pem certs1/$c/cert-chain.pem >/dev/null"
done
cp -r certs certs2

# --- step 3: drop the old root; guarded, so it needs --allow-replace ---
expect_rc "step 3: plan" 0 "$MESH" plan -f s3.yaml
check "step 3: plans deleting the old root and its key, and the bundles in place" \
    test "$(plan_line)" = "Plan: 0 to add, 2 to change, 2 to destroy."
check "step 3: the plan marks the old root GUARDED" grep -qF "GUARDED: pki_root_ca.root" "$T_DIR/last.out"
expect_rc "step 3: apply without --allow-replace is refused" 1 "$MESH" apply -f s3.yaml --auto-approve
check "step 3: the refusal names the flag" grep -qF -- "--allow-replace pki_root_ca.root" "$T_DIR/last.err"
check "step 3: nothing changed by the refusal" test "$(bundle_fps certs/cluster-1/root-cert.pem)" = "$(printf '%s\n' "$OLD" "$NEW" | sort)"
expect_rc "step 3: apply --allow-replace pki_root_ca.root" 0 "$MESH" apply -f s3.yaml --auto-approve --allow-replace pki_root_ca.root
after_step 3 s3.yaml "$NEW"
check "step 3: the old root and its key are gone from state" bash -c \
    '! "$0" state list -f s3.yaml | grep -qE "^pki_(root_ca|private_key)\.root$"' "$MESH"
check "step 3: the old root is in no exported file" bash -c \
    'for f in $(find certs -name "*.pem"); do grep -q BEGIN.CERT "$f" || continue;
        awk "/BEGIN CERT/{n++} {print > (\"'"$T_DIR"'/x.\" n)}" "$f"
        for x in '"$T_DIR"'/x.*; do [ "$(openssl x509 -in "$x" -noout -fingerprint -sha256 2>/dev/null | sed "s/.*=//")" != "$1" ] || exit 1; done
        rm -f '"$T_DIR"'/x.*; done' _ "$OLD"
for c in $CLUSTERS; do
    check "step 3: $c: the intermediate of step 2 is kept" cmp -s certs/$c/ca-cert.pem certs2/$c/ca-cert.pem
    check "step 3: $c: a chain of step 1 no longer verifies (the old root is untrusted)" \
        bash -c "! openssl verify -CAfile certs/$c/root-cert.pem certs1/$c/cert-chain.pem >/dev/null 2>&1"
done

# --- destroy removes everything, the export included ---
expect_rc "destroy after the rotation" 0 "$MESH" destroy -f s3.yaml --auto-approve
check "destroy: no exported file left" test -z "$(find certs -type f 2>/dev/null)"
t_done
