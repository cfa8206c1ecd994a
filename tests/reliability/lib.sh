# lib.sh: shared by the reliability suites (tests/reliability/*.sh). Source it after
# tests/lib/common.sh.
#   rel_trials CI FULL   how many trials: $RELIABILITY_TRIALS if set, else FULL under `make
#                        reliability` (RELIABILITY_FULL=1), else CI (the short version tests/run runs)
#   rel_figure NAME VALUE COMMAND
#                        a figure of the campaign: printed as "# figure: NAME = VALUE", and appended
#                        to $RELIABILITY_FIGURES (tab-separated SUITE NAME VALUE COMMAND) when set;
#                        tests/reliability/run renders those into docs/reliability.md
REL_SUITE=$(basename "$0" .sh)

rel_trials() {  # CI FULL
    if [ -n "${RELIABILITY_TRIALS:-}" ]; then echo "$RELIABILITY_TRIALS"
    elif [ "${RELIABILITY_FULL:-0}" = 1 ]; then echo "$2"
    else echo "$1"; fi
}

rel_figure() {  # NAME VALUE COMMAND
    echo "# figure: $1 = $2"
    [ -n "${RELIABILITY_FIGURES:-}" ] && printf '%s\t%s\t%s\t%s\n' "$REL_SUITE" "$1" "$2" "$3" >>"$RELIABILITY_FIGURES"
    return 0
}

# rel_reference_setup WHAT: for the suites that apply the whole reference deployment. Starts the
# stand-ins (tests/harness/reference.sh) under $T_DIR/stack and stops them on exit, seeds RANDOM
# (RELIABILITY_SEED replays WHAT), writes ref.yaml (specs/reference.yaml with ECDSA keys), sets VARS
# (the chart variables) and FAKES, saves the stand-ins' baseline, and defines
#   world [all]   orphans relative to state (tests/harness/world.py), or with "all" every object
#                 made since the stack started; the objects found go to orphans.txt
rel_reference_setup() {  # WHAT
    trap 'ref_stack_stop "$T_DIR/stack"; t_cleanup' EXIT
    ref_stack_start "$T_DIR/stack" || { not_ok "the reference stand-ins start"; t_done; exit 1; }
    export MESH_BACKOFF_SCALE=0.01
    SEED=${RELIABILITY_SEED:-$(( $(od -An -N2 -tu2 /dev/urandom) ))}
    RANDOM=$SEED
    echo "# seed $SEED (RELIABILITY_SEED=$SEED replays $1)"
    sed 's/algorithm: rsa4096/algorithm: ecdsa-p256/' "$REF_STACK_ROOT/specs/reference.yaml" >ref.yaml
    read -r -a VARS <<<"$(ref_stack_vars)"
    FAKES=(--fake "cluster-1=$T_DIR/stack/k1" --fake "cluster-2=$T_DIR/stack/k2")
    $PY "$REF_STACK_ROOT/tests/harness/world.py" --state /dev/null "${FAKES[@]}" --save-baseline baseline.txt
}
world() {
    local dump=/dev/null base=()
    if [ "${1:-}" = all ]; then base=(--baseline baseline.txt); else state_dump -f ref.yaml >dump.txt; dump=dump.txt; fi
    $PY "$REF_STACK_ROOT/tests/harness/world.py" --state "$dump" --moto "$MOTO_URL" --proxy "$PROXY_URL" "${FAKES[@]}" "${base[@]}" 2>orphans.txt
}
