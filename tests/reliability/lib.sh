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
