#!/usr/bin/env bash
# demo.sh: `make demo`. Copies specs/examples/demo.yaml to a scratch folder and runs the whole
# cycle: plan, apply (with progress), a second plan that finds nothing to do, then destroy.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MESH="$ROOT/mesh"
WORK=${DEMO_DIR:-$(mktemp -d /tmp/mesh-demo.XXXXXX)}
cp "$ROOT/specs/examples/demo.yaml" "$WORK/mesh.yaml"
cd "$WORK"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
echo "Working in $WORK (state: $WORK/.mesh/state.db; state key: ~/.config/mesh/keys/)"
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
echo "Done. The spec is $WORK/mesh.yaml; try editing it and running '$MESH plan' there."
