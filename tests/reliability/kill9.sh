#!/usr/bin/env bash
# kill9.sh: kill -9 at a random moment of `mesh apply` of the whole reference deployment
# (specs/reference.yaml, ECDSA keys, against tests/harness/reference.sh's stand-ins, the EKS
# stand-in holding clusters, node groups and add-ons in CREATING/DELETING for a while, helm
# releases installing), then the next `mesh apply` must complete, leave 0 orphans relative to
# state (tests/harness/world.py: AWS of every type, mesh objects in both fake clusters, helm
# releases) and a no-op plan; then kill -9 at a random moment of `mesh destroy`, and the next
# `mesh destroy` must complete and leave nothing anywhere: 0 AWS objects, 0 objects in either fake
# cluster that a fresh one lacks, 0 helm releases, state empty. One world is shared: each cycle
# is apply-kill, apply, destroy-kill, destroy.
#
# Trials: rel_trials 1 200 apply kills and rel_trials 1 100 destroy kills (a cycle gives one of
# each while both last). Kill moments are uniform over the lengths of a clean apply and destroy,
# measured first (RELIABILITY_FULL=1 or RELIABILITY_TRIALS > 1); the CI form (one cycle) skips the
# measurement and draws over KILL9_APPLY_SECONDS / KILL9_DESTROY_SECONDS (default 20 / 8: inside
# an apply and a destroy under ASan). RELIABILITY_SEED replays the kill moments.
. "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/harness/reference.sh"
source "$ROOT/tests/reliability/lib.sh"
kill9_figures() {  # from the counts and $cmd
    local secs
    secs=$(printf '%d.%d' $((max_rec / 1000)) $((max_rec % 1000 / 100)))
    rel_figure "apply kills (landed during the apply)" "$a_trials ($a_landed)" "$cmd"
    rel_figure "apply recoveries completed (0 orphans, no-op plan)" "$a_rec" "$cmd"
    rel_figure "destroy kills (landed during the destroy)" "$d_trials ($d_landed)" "$cmd"
    rel_figure "destroy recoveries completed (nothing left)" "$d_rec" "$cmd"
    rel_figure "orphans found (total)" "$orphans_total" "$cmd"
    rel_figure "max seconds to recover (the next apply or destroy)" "$secs" "$cmd"
    rel_figure "clean apply / destroy length (ms, the kill window)" "$T_APPLY / $T_DESTROY" "$cmd"
}
t_setup
# RELIABILITY_WORLDS=N: the trials split over N worlds (stand-ins and state each) run side by side,
# as many as the machine has cores: a cycle keeps about one core busy. The figures are summed.
# RELIABILITY_STOP=FILE: once FILE exists, each world ends after its current cycle (the figures
# count the cycles made).
WORLDS=${RELIABILITY_WORLDS:-1}
if [ "$WORLDS" -gt 1 ] && [ -z "${KILL9_PART:-}" ]; then
    A=$(rel_trials 1 200) D=$(rel_trials 1 100)
    SEED=${RELIABILITY_SEED:-$(( $(od -An -N2 -tu2 /dev/urandom) ))}
    echo "# $A apply kills and $D destroy kills over $WORLDS worlds; seeds $SEED.. (world w: RELIABILITY_SEED=$SEED+w-1)"
    for w in $(seq 1 "$WORLDS"); do
        KILL9_PART=$w KILL9_A=$(( A / WORLDS + (w <= A % WORLDS) )) KILL9_D=$(( D / WORLDS + (w <= D % WORLDS) )) \
            RELIABILITY_SEED=$((SEED + w - 1)) RELIABILITY_FIGURES= bash "$ROOT/tests/reliability/kill9.sh" >"part$w.txt" 2>&1 &
    done
    wait
    sum=(0 0 0 0 0 0 0 0 0 0 0)
    for w in $(seq 1 "$WORLDS"); do
        sed "s/^/# world $w: /" "part$w.txt" | grep -v ': ok - '
        read -r -a p <<<"$(sed -n 's/^# part: //p' "part$w.txt")"
        [ ${#p[@]} -eq 11 ] || { not_ok "world $w ended its cycles"; p=(0 0 0 0 0 0 0 0 0 0 1); }
        for i in 0 1 2 3 4 5 6; do sum[$i]=$(( sum[i] + p[i] )); done
        [ "${p[7]}" -gt "${sum[7]}" ] && sum[7]=${p[7]}
        sum[8]=${p[8]} sum[9]=${p[9]}
        sum[10]=$(( sum[10] | p[10] ))
    done
    read -r a_trials a_landed a_rec d_trials d_landed d_rec orphans_total max_rec T_APPLY T_DESTROY bad <<<"${sum[*]}"
    check "apply killed $a_trials times over $WORLDS worlds: each next apply completed with 0 orphans and a no-op plan" test "$bad" = 0 -a "$a_rec" = "$a_trials" -a \( "$a_trials" = "$A" -o -e "${RELIABILITY_STOP:-/nonexistent}" \)
    check "destroy killed $d_trials times over $WORLDS worlds: each next destroy completed and left nothing anywhere" test "$bad" = 0 -a "$d_rec" = "$d_trials" -a \( "$d_trials" = "$D" -o -e "${RELIABILITY_STOP:-/nonexistent}" \)
    check "the kills landed while the runs were going" test "$a_landed" -ge 1 -a "$d_landed" -ge 1
    cmd="RELIABILITY_WORLDS=$WORLDS RELIABILITY_SEED=$SEED RELIABILITY_TRIALS=$A bash tests/reliability/run tests/reliability/kill9.sh"
    [ -n "${RELIABILITY_TRIALS:-}" ] || cmd="RELIABILITY_WORLDS=$WORLDS RELIABILITY_SEED=$SEED make reliability"
    kill9_figures
    t_done
    exit
fi
rel_reference_setup "the kill moments"
# Clusters, node groups and add-ons stay CREATING / DELETING a while, so kills land in those waits.
curl -s -o /dev/null -X POST "$PROXY_URL/__eks" -d '{"hold": {"cluster": 2.0, "nodegroup": 1.0, "addon": 0.5}}'
ms_now() { date +%s%3N; }

A=${KILL9_A:-$(rel_trials 1 200)} D=${KILL9_D:-$(rel_trials 1 100)}
cycles=$A; [ "$D" -gt "$cycles" ] && cycles=$D
if [ "$cycles" -gt 1 ]; then
    t0=$(ms_now)
    "$MESH" apply -f ref.yaml "${VARS[@]}" --auto-approve >apply0.txt 2>&1 || { not_ok "a clean apply"; tail -5 apply0.txt; t_done; exit 1; }
    T_APPLY=$(( $(ms_now) - t0 ))
    check "a clean apply leaves 0 orphans" test "$(world)" = 0
    t0=$(ms_now)
    "$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve >destroy0.txt 2>&1 || { not_ok "a clean destroy"; tail -5 destroy0.txt; t_done; exit 1; }
    T_DESTROY=$(( $(ms_now) - t0 ))
    check "a clean destroy leaves nothing" test "$(world all)" = 0
else
    T_APPLY=$(( ${KILL9_APPLY_SECONDS:-20} * 1000 )) T_DESTROY=$(( ${KILL9_DESTROY_SECONDS:-8} * 1000 ))
fi
echo "# [${SECONDS}s] kill moments uniform over an apply of ${T_APPLY} ms and a destroy of ${T_DESTROY} ms; $A apply kills, $D destroy kills"

# kill_at MS CMD...: run CMD, SIGKILL it MS milliseconds after it started; 0 when the kill landed
# (the run was still going), 1 when it had ended before.
kill_at() {
    local ms=$1 pid rc
    shift
    "$@" >killed.txt 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    [ "$rc" = 137 ]  # a run that had ended exited 0 (or failed on its own: the recovery shows it)
}
# rand_ms MAX: R = uniform in [0, MAX) (30 bits of bash's seeded RANDOM; never in $(...): a
# subshell reseeds RANDOM, and the seed would not replay)
rand_ms() { R=$(( ( (RANDOM << 15) | RANDOM ) % $1 )); }

a_trials=0 a_landed=0 a_rec=0 d_trials=0 d_landed=0 d_rec=0 orphans_total=0 max_rec=0 bad=0
recover() {  # KIND CMD...: run the recovery, note its seconds; 0 when it completed
    local kind=$1 t0 ms
    shift
    t0=$(ms_now)
    if ! "$@" >rec.txt 2>&1; then
        # the whole output kept: its error is often far above the closing lines (a rollback's list)
        local keep="${TMPDIR:-/tmp}/mesh-kill9-failed-recovery.$$.$(date +%s).txt"
        cp rec.txt "$keep"
        echo "# $kind recovery failed (whole output: $keep):"
        { grep -m 8 -i 'error\|failed' rec.txt; tail -8 rec.txt; } | sed 's/^/#   /'
        return 1
    fi
    ms=$(( $(ms_now) - t0 ))
    [ "$ms" -gt "$max_rec" ] && max_rec=$ms
    return 0
}
for c in $(seq 1 "$cycles"); do
    if [ "$c" -le "$A" ]; then
        rand_ms "$T_APPLY"; at=$R
        a_trials=$((a_trials + 1))
        kill_at "$at" "$MESH" apply -f ref.yaml "${VARS[@]}" --auto-approve && a_landed=$((a_landed + 1))
        last=$(grep -E '^[a-z_]+\.[^ ]*: (Creating|Still creating|Creation complete)' killed.txt | tail -1 | cut -c1-90)
        echo "# [${SECONDS}s] cycle $c: apply killed at ${at} ms (last: ${last:-none})"
        if recover apply "$MESH" apply -f ref.yaml "${VARS[@]}" --auto-approve; then
            o=$(world)
            if [ "$o" = 0 ]; then a_rec=$((a_rec + 1)); else echo "# cycle $c: $o orphans after the apply"; cat orphans.txt; bad=1; orphans_total=$((orphans_total + ${o#-})); fi
            "$MESH" plan -f ref.yaml "${VARS[@]}" --detailed-exitcode >plan.txt 2>&1 ||
                { echo "# cycle $c: the plan after the apply is not empty"; grep -E '^ *[-+~]' plan.txt | head -10; bad=1; }
        else
            bad=1
            "$MESH" apply -f ref.yaml "${VARS[@]}" --auto-approve >/dev/null 2>&1  # so destroy still has a world to work on
        fi
    else
        "$MESH" apply -f ref.yaml "${VARS[@]}" --auto-approve >/dev/null 2>&1 || { echo "# cycle $c: apply failed"; bad=1; }
    fi
    if [ "$c" -le "$D" ]; then
        rand_ms "$T_DESTROY"; at=$R
        d_trials=$((d_trials + 1))
        kill_at "$at" "$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve && d_landed=$((d_landed + 1))
        last=$(grep -E '^[a-z_]+\.[^ ]*: (Destroying|Still destroying|Destruction complete)' killed.txt | tail -1 | cut -c1-90)
        echo "# [${SECONDS}s] cycle $c: destroy killed at ${at} ms (last: ${last:-none})"
        recover destroy "$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve && d_ok=1 || { d_ok=0; bad=1; }
    else
        "$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve >rec.txt 2>&1 && d_ok=1 || { d_ok=0; bad=1; echo "# cycle $c: destroy failed"; }
    fi
    o=$(world all)
    s=$("$MESH" state list -f ref.yaml 2>&1 | wc -l)
    if [ "$o" = 0 ] && [ "$s" = 0 ]; then
        [ "$c" -le "$D" ] && [ "$d_ok" = 1 ] && d_rec=$((d_rec + 1))
    else
        echo "# cycle $c: after destroy $o objects left, state holds $s"; cat orphans.txt; bad=1
        orphans_total=$((orphans_total + ${o#-}))
        [ "$o" = 0 ] || { "$MESH" destroy -f ref.yaml "${VARS[@]}" --auto-approve >/dev/null 2>&1; }
    fi
    [ "$bad" = 0 ] || break
    [ -n "${RELIABILITY_STOP:-}" ] && [ -e "$RELIABILITY_STOP" ] && { echo "# [${SECONDS}s] stopped after cycle $c ($RELIABILITY_STOP exists)"; break; }
done
echo "# [${SECONDS}s] $a_trials apply kills ($a_landed during the run), $d_trials destroy kills ($d_landed during the run)"
check "apply killed $a_trials times: each next apply completed with 0 orphans and a no-op plan" test "$bad" = 0 -a "$a_rec" = "$a_trials"
check "destroy killed $d_trials times: each next destroy completed and left nothing anywhere" test "$bad" = 0 -a "$d_rec" = "$d_trials"
check "the kills landed while the runs were going" test "$a_landed" -ge 1 -a "$d_landed" -ge 1
if [ -n "${KILL9_PART:-}" ]; then
    echo "# part: $a_trials $a_landed $a_rec $d_trials $d_landed $d_rec $orphans_total $max_rec $T_APPLY $T_DESTROY $bad"
else
    cmd="RELIABILITY_TRIALS=$A bash tests/reliability/run tests/reliability/kill9.sh"
    [ -n "${RELIABILITY_TRIALS:-}" ] || cmd="make reliability"
    kill9_figures
fi
echo "# [${SECONDS}s] done"
t_done
