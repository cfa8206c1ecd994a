#!/usr/bin/env bash
# pki_openssl.sh: the PKI drivers' certificates, checked by the openssl CLI (tests only; mesh
# itself never runs it). The unit-test binary's `--export DIR` mode runs key -> root -> two
# intermediates with export_dir=DIR; this script then verifies the exported files the way Istio's
# docs do (openssl verify, openssl x509 -text). Prints `ok - NAME` / `not ok - NAME`; exits 1 on
# any failure.
#   PKI_TEST_BIN   the test_pki binary (default: $UNIT_DIR/test_pki as tests/run sets it, else
#                  build/asan/unit/test_pki, built with make when missing)
#   PKI_E2E_ALG    key algorithm: ecdsa-p256 (default) or rsa4096
set -uo pipefail
cd "$(dirname "$0")/../.."

BIN=${PKI_TEST_BIN:-${UNIT_DIR:-build/asan/unit}/test_pki}
if [ ! -x "$BIN" ] && ! make -s "$BIN" >/dev/null; then
    echo "not ok - build $BIN"
    exit 1
fi
command -v openssl >/dev/null || { echo "not ok - openssl CLI not found"; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
OUT="$TMP/out"
fails=0
passes=0

check() {  # check NAME COMMAND...: runs COMMAND, reports it
    local name=$1
    shift
    if "$@" >"$TMP/last.log" 2>&1; then
        echo "ok - $name"
        passes=$((passes + 1))
    else
        echo "not ok - $name"
        sed 's/^/#   /' "$TMP/last.log"
        fails=$((fails + 1))
    fi
}

has_text() {  # has_text FILE PATTERN...: openssl x509 -text of FILE contains every fixed PATTERN
    local text
    text=$(openssl x509 -in "$1" -noout -text) || return 1
    shift
    for p in "$@"; do
        grep -qF -- "$p" <<<"$text" || { echo "missing: $p"; return 1; }
    done
}

key_matches() {  # key_matches KEY CERT
    [ "$(openssl pkey -in "$1" -pubout)" = "$(openssl x509 -in "$2" -noout -pubkey)" ]
}

serial_128() {  # 128-bit serial with the top bit set: exactly 32 hex digits
    local s
    s=$(openssl x509 -in "$1" -noout -serial | sed 's/^serial=//')
    [ ${#s} -eq 32 ] || { echo "serial $s"; return 1; }
}

mode_is() { [ "$(stat -c %a "$1")" = "$2" ] || { echo "$1 has mode $(stat -c %a "$1")"; return 1; }; }

no_root_key() {  # the only private keys exported are the intermediates' ca-key.pem
    ! grep -rl "PRIVATE KEY" "$OUT" --exclude=ca-key.pem
}

KU="Digital Signature, Non Repudiation, Key Encipherment, Certificate Sign"

check "export a two-cluster PKI (${PKI_E2E_ALG:-ecdsa-p256})" "$BIN" --export "$OUT"
check "root: subject, CA:TRUE critical, keyUsage critical" has_text "$OUT/root-cert.pem" \
    "Subject: O = Istio, CN = Root CA" "Issuer: O = Istio, CN = Root CA" \
    "X509v3 Basic Constraints: critical" "CA:TRUE" "X509v3 Key Usage: critical" "$KU" \
    "X509v3 Subject Key Identifier" "Signature Algorithm: "
check "root: self-signed verifies" openssl verify -CAfile "$OUT/root-cert.pem" "$OUT/root-cert.pem"
check "root: 128-bit serial" serial_128 "$OUT/root-cert.pem"
check "no root key exported" no_root_key

for cl in cluster-1 cluster-2; do
    D="$OUT/$cl"
    check "$cl: openssl verify -CAfile root-cert.pem cert-chain.pem" \
        openssl verify -CAfile "$D/root-cert.pem" "$D/cert-chain.pem"
    check "$cl: openssl verify ca-cert.pem against the shared root" \
        openssl verify -x509_strict -CAfile "$OUT/root-cert.pem" "$D/ca-cert.pem"
    check "$cl: subject, issuer" has_text "$D/ca-cert.pem" \
        "Subject: O = Istio, CN = Intermediate CA, L = $cl" "Issuer: O = Istio, CN = Root CA"
    check "$cl: basicConstraints critical CA:TRUE pathlen:0" has_text "$D/ca-cert.pem" \
        "X509v3 Basic Constraints: critical" "CA:TRUE, pathlen:0"
    check "$cl: keyUsage critical" has_text "$D/ca-cert.pem" "X509v3 Key Usage: critical" "$KU"
    check "$cl: SAN DNS:istiod.istio-system.svc" has_text "$D/ca-cert.pem" \
        "X509v3 Subject Alternative Name" "DNS:istiod.istio-system.svc"
    check "$cl: subject and authority key identifiers" has_text "$D/ca-cert.pem" \
        "X509v3 Subject Key Identifier" "X509v3 Authority Key Identifier"
    check "$cl: 128-bit serial" serial_128 "$D/ca-cert.pem"
    check "$cl: ca-key.pem matches ca-cert.pem" key_matches "$D/ca-key.pem" "$D/ca-cert.pem"
    check "$cl: ca-key.pem is 0600" mode_is "$D/ca-key.pem" 600
    check "$cl: cert-chain.pem is ca-cert.pem then root-cert.pem" \
        cmp "$D/cert-chain.pem" <(cat "$D/ca-cert.pem" "$D/root-cert.pem")
    check "$cl: root-cert.pem is the shared root" cmp "$D/root-cert.pem" "$OUT/root-cert.pem"
done
check "the clusters' intermediates differ" bash -c "! cmp -s '$OUT/cluster-1/ca-cert.pem' '$OUT/cluster-2/ca-cert.pem'"

# Through the engine too, when its binary is there (tests/run sets MESH_BIN): apply, a second plan
# with no changes, a renewal planned and applied with the clock moved by MESH_NOW, export drift
# repaired, destroy removing the export.
write_spec() {  # write_spec DIR
    cat >"$1/mesh.yaml" <<EOF
mesh: {name: pki-e2e, region: us-east-1}
resources:
  pki_private_key.root: {algorithm: ecdsa-p256}
  pki_root_ca.root:
    private_key_pem: "\${pki_private_key.root.private_key_pem}"
    status: valid
  pki_private_key.cluster-1.intermediate: {algorithm: ecdsa-p256}
  pki_intermediate_ca.cluster-1:
    private_key_pem: "\${pki_private_key.cluster-1.intermediate.private_key_pem}"
    issuer_cert_pem: "\${pki_root_ca.root.cert_pem}"
    issuer_key_pem: "\${pki_root_ca.root.ca_key_pem}"
    cluster: cluster-1
    export_dir: $1/certs
    status: valid
EOF
}

plan_says() {  # plan_says SPEC NOW PATTERN: `mesh plan` at time NOW prints PATTERN
    MESH_NOW=$2 "$MESH_BIN" plan -f "$1" | grep -E -- "$3"
}

no_files_under() { [ -z "$(find "$1" -type f)" ]; }
no_key_in() { ! grep -rl 'PRIVATE KEY' "$1"; }

mesh_flow() {
    local W="$TMP/spec" M=$MESH_BIN later=$(($(date +%s) + 715 * 86400))
    mkdir -p "$W" && write_spec "$W"
    check "mesh: apply" "$M" apply -f "$W/mesh.yaml" --auto-approve
    check "mesh: exported chain verifies" \
        openssl verify -CAfile "$W/certs/root-cert.pem" "$W/certs/cluster-1/cert-chain.pem"
    check "mesh: second plan has no changes" "$M" plan -f "$W/mesh.yaml" --detailed-exitcode
    check "mesh: plan 715 days later renews the intermediate" \
        plan_says "$W/mesh.yaml" "$later" 'status += "expiring at .*forces replacement'
    check "mesh: apply the renewal" env MESH_NOW="$later" "$M" apply -f "$W/mesh.yaml" --auto-approve
    check "mesh: renewed chain verifies then" \
        openssl verify -attime "$later" -CAfile "$W/certs/root-cert.pem" "$W/certs/cluster-1/cert-chain.pem"
    rm -f "$W/certs/cluster-1/ca-key.pem"
    check "mesh: a missing export file plans an update" plan_says "$W/mesh.yaml" "$later" 'files missing or changed'
    check "mesh: apply repairs it" env MESH_NOW="$later" "$M" apply -f "$W/mesh.yaml" --auto-approve
    check "mesh: ca-key.pem back, 0600" mode_is "$W/certs/cluster-1/ca-key.pem" 600
    check "mesh: no key in the clear in state" no_key_in "$W/.mesh"
    check "mesh: destroy" "$M" destroy -f "$W/mesh.yaml" --auto-approve
    check "mesh: destroy removed the export" no_files_under "$W/certs"
}

if [ -n "${MESH_BIN:-}" ] && [ -x "${MESH_BIN:-}" ]; then
    export HOME="$TMP/home"  # the state key file is created under it
    unset MESH_STATE_KEY MESH_NOW
    mkdir -p "$HOME"
    mesh_flow
else
    echo "# MESH_BIN not set: skipping the mesh apply flow"
fi

echo "# $passes passed, $fails failed"
[ "$fails" -eq 0 ]
