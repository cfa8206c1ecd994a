#!/usr/bin/env bash
# specs_all.sh: every spec shipped under specs/ (*.yaml, *.yml, at any depth) validates with `mesh
# validate` as it is, its variables at their defaults (the public chart repositories), and again with
# the chart variables pointed at tests/charts where it has them (how the tests and `make demo` run
# it); and docs/spec.md names each one. A spec added under specs/ that does not validate, or that
# the docs do not mention, fails here.
. "$(dirname "$0")/../lib/common.sh"
SRC=$(cd "$T_TESTS/.." && pwd)
t_setup
mapfile -t specs < <(cd "$SRC" && find specs -type f \( -name '*.yaml' -o -name '*.yml' \) | sort)
for want in specs/reference.yaml specs/reference-3-clusters.yaml specs/existing-clusters.yaml specs/examples/hello.yaml; do
    printf '%s\n' "${specs[@]}" | grep -qxF "$want" && ok "specs/ holds $want" || not_ok "specs/ lacks $want"
done
for s in "${specs[@]}"; do
    # a copy in the scratch folder: validate writes nothing, but a relative path in the spec (export_dir,
    # state.path) must not point into the checkout
    cp "$SRC/$s" spec.yaml
    if "$MESH" validate -f spec.yaml >out.txt 2>&1; then ok "$s validates"; else not_ok "$s does not validate: $(head -5 out.txt)"; fi
    vars=()
    for v in istio_charts lbc_charts; do grep -q "^  $v:" spec.yaml && vars+=(--var "$v=$SRC/tests/charts"); done
    if [ ${#vars[@]} -gt 0 ]; then
        "$MESH" validate -f spec.yaml "${vars[@]}" >out.txt 2>&1 && ok "$s validates with its charts at tests/charts" ||
            not_ok "$s with tests/charts: $(head -5 out.txt)"
    fi
    grep -qF "$s" "$SRC/docs/spec.md" && ok "docs/spec.md names $s" || not_ok "docs/spec.md does not name $s (its Examples list)"
done
t_done
