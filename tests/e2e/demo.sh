#!/usr/bin/env bash
# demo.sh: `make demo` (specs/examples/demo.sh) runs its whole cycle and leaves nothing behind:
# no scratch folder in TMPDIR, no key file under the config directory; also when it fails.
. "$(dirname "$0")/../lib/common.sh"
SRC=$(cd "$T_TESTS/.." && pwd)
t_setup
export TMPDIR="$T_DIR/tmp"
mkdir -p "$TMPDIR"

expect_rc "make demo's script runs plan, apply, plan, destroy" 0 bash "$SRC/specs/examples/demo.sh"
grep -q 'Apply complete' "$T_DIR/last.out" && grep -q 'Destroy complete' "$T_DIR/last.out" &&
    grep -q 'No changes' "$T_DIR/last.out" && ok "the demo shows the apply, the empty re-plan and the destroy" ||
    not_ok "the demo's output lacks a step"
work=$(sed -n 's/^Working in \([^ ]*\) .*/\1/p' "$T_DIR/last.out")
check "the demo names its scratch folder" test -n "$work"
check "the demo removed its scratch folder" test ! -e "${work:-/nonexistent}"
check "the demo left nothing in TMPDIR" test -z "$(ls -A "$TMPDIR")"
check "the demo wrote no key under ~/.config/mesh" test ! -e "$HOME/.config/mesh"
grep -q 'removed' "$T_DIR/last.out" && ok "the demo says what it removed" || not_ok "the demo's closing line"

# A demo that fails half-way (a mesh that always fails) still cleans up.
printf '#!/bin/sh\nexit 1\n' >"$T_DIR/false-mesh" && chmod +x "$T_DIR/false-mesh"
MESH_BIN="$T_DIR/false-mesh" bash "$SRC/specs/examples/demo.sh" >/dev/null 2>&1
check "a failing demo removes its scratch folder too" test -z "$(ls -A "$TMPDIR")"

# DEMO_DIR keeps the folder (the user asked for it).
MESH_STATE_KEY=$(head -c 32 /dev/urandom | base64) DEMO_DIR="$T_DIR/keep" bash "$SRC/specs/examples/demo.sh" >/dev/null 2>&1
check "DEMO_DIR=DIR keeps the spec in DIR" test -f "$T_DIR/keep/mesh.yaml"
t_done
