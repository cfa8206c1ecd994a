#!/usr/bin/env bash
# fuzz.sh: bad input. Builds the libFuzzer targets (tests/fuzz/fuzz_*.c: the spec loader, the AWS
# XML and JSON reply parsers, the Kubernetes JSON replies, the kubeconfig and INI readers; `make
# fuzz`), replays every input of tests/fuzz/regressions/TARGET/ (each a crash once found, fixed
# since) without fuzzing, then fuzzes each target for a few seconds (CI) or a minute (`make
# reliability`) from its seed corpus tests/fuzz/corpus/TARGET/. Any crash, leak, sanitizer report,
# slow unit (> 10 s) or memory blow-up (> 1 GiB) fails the suite; its input is kept in
# build/fuzz/crashes/ to become a regression (docs/reliability.md, "Fuzzing").
#   FUZZ_SECONDS=N   seconds per target (else rel_trials: 4 in CI, 60 in `make reliability`)
#   FUZZ_JOBS=N      targets fuzzed at a time (default 2, CI's cores)
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"
t_setup
ROOT=$(cd "$T_TESTS/.." && pwd)
SECS=${FUZZ_SECONDS:-$(rel_trials 4 60)}
JOBS=${FUZZ_JOBS:-2}
T0=$SECONDS

# libFuzzer ships with clang on Debian as libclang-rt-NN-dev (.ci/deps installs both).
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$T_DIR/probe.c"
if ! command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
    not_ok "clang is installed (make deps installs it)"; exit 1
elif ! "${FUZZ_CC:-clang}" -fsanitize=fuzzer,address "$T_DIR/probe.c" -o "$T_DIR/probe" 2>"$T_DIR/probe.err"; then
    not_ok "clang links libFuzzer (make deps installs libclang-rt)"; sed 's/^/    | /' "$T_DIR/probe.err" | tail -5; exit 1
fi

echo "# [${SECONDS}s] building the fuzzers (make fuzz)"
# A make of its own (not the jobserver of a `make test` that may have started tests/run), on every core.
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL FUZZ_SECONDS= make -j"$(nproc 2>/dev/null || echo 2)" -C "$ROOT" \
        --no-print-directory fuzz FUZZ_SECONDS= >"$T_DIR/build.log" 2>&1; then ok "the fuzz targets build"
else not_ok "the fuzz targets build"; sed 's/^/    | /' "$T_DIR/build.log" | tail -20; exit 1; fi
BUILD_S=$((SECONDS - T0))
targets=()
for b in "$ROOT"/build/fuzz/fuzz_*; do [ -x "$b" ] && targets+=("$(basename "$b" | sed 's/^fuzz_//')"); done
[ ${#targets[@]} -ge 6 ] && ok "${#targets[@]} targets: ${targets[*]}" || not_ok "6 targets or more (got ${targets[*]:-none})"

# Regressions: each saved input, run once (no fuzzing); a fixed bug that comes back fails here.
nreg=0
for t in "${targets[@]}"; do
    files=("$ROOT/tests/fuzz/regressions/$t"/*)
    [ -e "${files[0]}" ] || continue
    nreg=$((nreg + ${#files[@]}))
    if "$ROOT/build/fuzz/fuzz_$t" -runs=1 "${files[@]}" >"$T_DIR/replay-$t.log" 2>&1; then
        ok "$t: ${#files[@]} regression input(s) replay clean"
    else
        not_ok "$t: a regression input crashes again"; grep -E 'ERROR|SUMMARY|Running' "$T_DIR/replay-$t.log" | tail -8 | sed 's/^/    | /'
    fi
done
echo "# [${SECONDS}s] $nreg regression inputs replayed; fuzzing ${#targets[@]} targets ${SECS}s each, $JOBS at a time"

fuzz_one() {  # TARGET: fuzz it; its log in $T_DIR/fuzz-TARGET.log, crash inputs in $T_DIR/crash/
    local t=$1
    mkdir -p "$T_DIR/work/$t" "$T_DIR/crash"
    "$ROOT/build/fuzz/fuzz_$t" -max_total_time="$SECS" -print_final_stats=1 -timeout=10 -rss_limit_mb=1024 \
        -max_len=16384 -artifact_prefix="$T_DIR/crash/$t-" "$T_DIR/work/$t" "$ROOT/tests/fuzz/corpus/$t" \
        >"$T_DIR/fuzz-$t.log" 2>&1
    echo $? >"$T_DIR/fuzz-$t.rc"
}
running=0
for t in "${targets[@]}"; do
    fuzz_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait

total_exec=0 crashes=0
for t in "${targets[@]}"; do
    n=$(awk '/stat::number_of_executed_units:/ {print $2}' "$T_DIR/fuzz-$t.log")
    rc=$(cat "$T_DIR/fuzz-$t.rc" 2>/dev/null || echo 99)
    found=$(ls "$T_DIR/crash/" 2>/dev/null | grep -c "^$t-")
    total_exec=$((total_exec + ${n:-0}))
    crashes=$((crashes + found))
    rel_figure "executions of fuzz_$t in ${SECS} s" "${n:-0}" "FUZZ_SECONDS=$SECS bash tests/reliability/fuzz.sh"
    if [ "$rc" = 0 ] && [ "$found" = 0 ] && [ "${n:-0}" -gt 0 ]; then
        ok "$t: ${n} executions in ${SECS}s, no crash"
    else
        not_ok "$t: fuzzing found a problem (exit $rc, $found input(s) kept in build/fuzz/crashes/)"
        grep -E 'ERROR|SUMMARY|#[0-9]+ 0x|Test unit written' "$T_DIR/fuzz-$t.log" | head -14 | sed 's/^/    | /'
        mkdir -p "$ROOT/build/fuzz/crashes"
        cp "$T_DIR/crash/$t-"* "$ROOT/build/fuzz/crashes/" 2>/dev/null
    fi
done
rel_figure "crashes found by fuzzing" "$crashes" "FUZZ_SECONDS=$SECS bash tests/reliability/fuzz.sh"
rel_figure "regression inputs replayed" "$nreg" "bash tests/reliability/fuzz.sh"
rel_figure "fuzzing seconds (all targets, $JOBS at a time)" "$((SECONDS - T0 - BUILD_S))" "FUZZ_SECONDS=$SECS bash tests/reliability/fuzz.sh"
echo "# [${SECONDS}s] $total_exec executions, $crashes crash(es); build ${BUILD_S}s"
[ "$T_FAILED" -eq 0 ]
