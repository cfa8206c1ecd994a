#!/usr/bin/env bash
# demo.sh: `make demo`. Copies specs/examples/demo.yaml to a scratch folder and runs the whole
# cycle: plan, apply (with progress), a second plan that finds nothing to do, then destroy.
# It leaves nothing behind: the scratch folder goes on every exit path, and the state key is a
# one-off MESH_STATE_KEY, so no key file lands under ~/.config/mesh/keys. DEMO_DIR=DIR runs it
# in DIR instead and keeps DIR, its state and the usual key file, to go on from there.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MESH=${MESH_BIN:-$ROOT/mesh}
if [ -n "${DEMO_DIR:-}" ]; then
    WORK=$DEMO_DIR
    mkdir -p "$WORK"
    where="state: $WORK/.mesh/state.db; state key: ~/.config/mesh/keys/"
else
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/mesh-demo.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
    MESH_STATE_KEY=$(head -c 32 /dev/urandom | base64)
    export MESH_STATE_KEY
    where="state: $WORK/.mesh/state.db; state key: a one-off MESH_STATE_KEY; both go at the end"
fi
cp "$ROOT/specs/examples/demo.yaml" "$WORK/mesh.yaml"
cd "$WORK"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
echo "Working in $WORK ($where)"
step "$MESH" validate
step "$MESH" plan --explain
step "$MESH" apply --auto-approve
step "$MESH" plan
if command -v openssl >/dev/null; then
    step openssl verify -CAfile certs/cluster-1/root-cert.pem certs/cluster-1/cert-chain.pem
fi
step "$MESH" state list
step "$MESH" destroy --auto-approve
echo
if [ -n "${DEMO_DIR:-}" ]; then
    echo "Done. The spec is $WORK/mesh.yaml; try editing it and running '$MESH plan' there."
else
    echo "Done. $WORK and the demo's state key are removed. To keep them and try editing the spec:"
    echo "  make demo DEMO_DIR=\$HOME/mesh-demo"
fi
