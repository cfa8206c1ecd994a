# cli_args.sh: the command line. Options with one dash or two, `=` or a space; a positional spec;
# help that lists every option a command accepts (probed through the parser, not read from a
# list); unknown options and arguments refused by every command; "did you mean"; the targeting
# warning; an unknown MESH_VAR_ warned about; JSON durations to the millisecond.
. "$(dirname "$0")/../lib/common.sh"
t_setup
export MESH_NULL_STORE="$T_DIR/store"
mkdir -p "$MESH_NULL_STORE" other empty
cat > mesh.yaml <<'Y'
vars:
  size: {type: number, default: 3}
resources:
  null_resource.a:
    triggers: {size: "${var.size}"}
  null_resource.b:
    depends_on: [null_resource.a]
Y
printf 'resources:\n  null_resource.z: {}\n' > other/other.yaml

# ---- a positional spec ----
expect_rc "validate MISSING.yaml fails" 1 "$MESH" validate bad.yaml
check "... naming that file, not mesh.yaml" sh -c 'grep -q "bad.yaml" last.err && ! grep -q "valid" last.out'
expect_rc "validate SPEC validates that spec" 0 "$MESH" validate other/other.yaml
check "... and says which" grep -q 'The spec is valid: other/other.yaml, 1 resource.' last.out
expect_rc "plan SPEC plans that spec" 2 "$MESH" plan other/other.yaml --detailed-exitcode
check "... its resource, not ./mesh.yaml's" sh -c 'grep -q "null_resource.z will be created" last.out && ! grep -q null_resource.a last.out'
expect_rc "graph SPEC draws that spec" 0 "$MESH" graph other/other.yaml
check "... its node only" sh -c 'grep -q "\"null_resource.z\"" last.out && ! grep -q null_resource.a last.out'
for c in validate plan graph destroy apply; do
    expect_rc "$c: -f and a positional spec together are refused" 1 "$MESH" $c -f mesh.yaml other/other.yaml
    check "... saying the spec is given twice" grep -q 'the spec is given twice' last.err
done
expect_rc "validate with two positionals is refused" 1 "$MESH" validate mesh.yaml other/other.yaml
check "... naming the extra one" grep -q "unexpected argument 'other/other.yaml'" last.err
expect_rc "apply SPEC applies that spec (it is no plan file)" 0 "$MESH" apply other/other.yaml --auto-approve
check "... into the state beside it" diff -u <(echo null_resource.z) <("$MESH" state list --state other/.mesh/state.db)
check "... and not into ./.mesh" test ! -e .mesh/state.db
expect_rc "destroy SPEC destroys that spec's state" 0 "$MESH" destroy other/other.yaml --auto-approve
check "... leaving it empty" test -z "$("$MESH" state list --state other/.mesh/state.db)"
expect_rc "apply mesh.yaml (a spec named like one) is not taken for a plan file" 0 "$MESH" apply mesh.yaml -auto-approve
check "... it applied the spec" grep -q 'Apply complete! Resources: 2 added' last.out
sed -i 's/default: 3/default: 4/' mesh.yaml
expect_rc "plan -out=FILE saves a plan" 2 "$MESH" plan -out=p.plan -detailed-exitcode
expect_rc "apply PLAN_FILE with -f is refused (the plan carries its spec)" 1 "$MESH" apply -f mesh.yaml p.plan
check "... saying why" grep -q 'a saved plan carries its spec, variables and targets' last.err
expect_rc "apply PLAN_FILE with --target is refused" 1 "$MESH" apply p.plan --target null_resource.a
expect_rc "apply PLAN_FILE applies the saved plan" 0 "$MESH" apply p.plan
check "... the change it holds" grep -q 'Apply complete! Resources: 1 added, 0 changed, 1 destroyed' last.out
expect_rc "apply of a file that does not exist" 1 "$MESH" apply nope.plan
check "... says so, not that a spec is missing" grep -q 'nope.plan: no such file (apply takes a plan saved by' last.err
printf '{"mesh_plan": 9}\n' > broken.plan
expect_rc "a file that is JSON is read as a plan file" 1 "$MESH" apply broken.plan
check "... and refused as one" grep -q 'not a mesh plan file' last.err

# ---- one dash or two, '=' or a space ----
sed -i 's/default: 4/default: 5/' mesh.yaml
# Every option of every command is parsed in both "--name value" and "-name=value" forms by the
# probe below; here the four forms of a few show their effect.
for form in "-detailed-exitcode" "--detailed-exitcode=1"; do
    expect_rc "plan $form exits 2 on changes" 2 "$MESH" plan $form
done
expect_rc "plan --detailed-exitcode=false exits 0 on changes" 0 "$MESH" plan --detailed-exitcode=false
expect_rc "a switch with another value is refused" 1 "$MESH" plan --json=maybe
for form in "-var size=7" "-var=size=7" "--var size=7" "--var=size=7"; do
    expect_rc "plan $form" 0 "$MESH" plan $form
    check "... sets the variable" grep -qE '"size" += ([0-9]+ -> )?7$' last.out
done
for form in "-target=null_resource.a" "-target null_resource.a"; do
    expect_rc "plan $form" 0 "$MESH" plan $form
    check "... plans only the target" sh -c 'grep -q "null_resource.a must be replaced" last.out && ! grep -q "null_resource.b" last.out'
done
expect_rc "-parallelism=0 is refused" 1 "$MESH" plan -parallelism=0
expect_rc "plan -json -refresh=false -parallelism 2" 0 "$MESH" plan -json -refresh=false -parallelism 2
check "... prints JSON" $PY -c 'import json; [json.loads(l) for l in open("last.out")]'
expect_rc "plan -f=mesh.yaml -state=.mesh/state.db" 0 "$MESH" plan -f=mesh.yaml -state=.mesh/state.db
expect_rc "plan -lock-timeout=1s (an option plan does not take) is refused" 1 "$MESH" plan -lock-timeout=1s
expect_rc "apply -auto-approve -parallelism=1 -lock-timeout=1s -no-color" 0 "$MESH" apply -auto-approve -parallelism=1 -lock-timeout=1s -no-color
for form in "" "-no-color" "--no-color"; do
    env -u NO_COLOR script -qec "$MESH plan -var size=8 $form" /dev/null >tty.out 2>&1
    if [ -z "$form" ]; then check "plan on a terminal is coloured" grep -q $'\033\\[' tty.out
    else check "plan $form on a terminal has no colour" sh -c "grep -q 'will be updated\|must be replaced' tty.out && ! grep -q \$'\\033' tty.out"; fi
done
expect_rc "-- ends the options" 1 "$MESH" validate -- -weird.yaml
check "... what follows is the spec" grep -q -- '-weird.yaml' last.err

# ---- every command: help lists what the parser takes; the rest is refused ----
# Every option mesh knows (with a value for those that take one) is given to each command at
# once; the parser names each it does not take. What is left is what it accepts, and each of
# those must be in `mesh help CMD` and `mesh CMD --help`.
mapfile -t ALL < <("$MESH" help --options)
check "help --options lists the options (some)" test "${#ALL[@]}" -gt 15
value_for() {
    case "$1" in
    N) echo 2 ;; DUR) echo 1s ;; BOOL) echo false ;; NAME=VALUE) echo size=1 ;; *) echo nope ;;
    esac
}
cmds=$("$MESH" help | sed -n '/^Commands:/,/^$/p' | awk 'NF >= 2 {print $1}')
check "the command list was read" test "$(echo "$cmds" | wc -w)" -ge 12
cd empty
for c in $cmds; do
    for dash in "--" "-"; do
        args=() names=()
        for line in "${ALL[@]}"; do
            read -r name value <<<"$line"
            case "$name" in --help | --[a-z]*) ;; *) continue ;; esac  # -f, -h: their long forms stand for them
            [ "$name" = --help ] && continue
            names+=("$name")
            flag=$name
            [ "$dash" = "-" ] && flag="-${name#--}"
            if [ -n "${value:-}" ]; then
                if [ "$dash" = "-" ]; then args+=("$flag=$(value_for "$value")"); else args+=("$flag" "$(value_for "$value")"); fi
            else
                args+=("$flag")
            fi
        done
        "$MESH" $c "${args[@]}" ${dash}frob=1 >../probe.out 2>../probe.err
        rc=$?
        check "$c refuses an unknown option ${dash}frob (exit $rc)" sh -c "[ $rc = 1 ] && grep -q \"unknown option '${dash}frob=1'\" ../probe.err"
        accepted=()
        for i in "${!names[@]}"; do
            shown=${names[$i]}
            [ "$dash" = "-" ] && shown="-${shown#--}"
            grep -q -- "option '$shown[ =']" ../probe.err || grep -q -- "option '$shown'" ../probe.err || accepted+=("${names[$i]}")
        done
        if [ "$dash" = "--" ]; then acc2=("${accepted[@]}")
        else check "$c accepts the same options with one dash as with two" test "${accepted[*]}" = "${acc2[*]}"; fi
    done
    "$MESH" $c --help >../help.out 2>&1
    missing=""
    for name in "${accepted[@]}" --help; do
        sed -n '/^Options:/,$p' ../help.out | grep -qE -- "(^|[ ,])$name( |$)" || missing="$missing $name"
    done
    check "every option $c accepts (${#accepted[@]}) is in its help${missing:+ (missing:$missing)}" test -z "$missing"
done
for c in plan state version; do  # one function writes both; a few show it
    check "help $c and $c --help are the same" diff -u <("$MESH" help $c 2>&1) <("$MESH" $c --help 2>&1)
done
check "help --options plan lists what plan accepts" sh -c '"$0" help --options plan | grep -q "^--out FILE$" && ! "$0" help --options plan | grep -q "^--auto-approve"' "$MESH"
check "-help is --help" diff -u <("$MESH" help plan) <("$MESH" plan -help)
check "-h is --help" diff -u <("$MESH" help version) <("$MESH" version -h)
cd ..
for c in "version extra" "resources extra" "help plan extra" "output a b" "force-unlock a b" "import a" "state list extra" \
    "state show" "state restore"; do
    expect_rc "mesh $c is refused" 1 "$MESH" $c
done
check "... with what was expected" grep -q 'usage: mesh state restore N' last.err
expect_rc "version --frob exits 1" 1 "$MESH" version --frob
expect_rc "help, -h, --help" 0 "$MESH" --help

# ---- did you mean ----
expect_rc "mesh plna" 1 "$MESH" plna
check "... did you mean plan" grep -q "'plna' is not a mesh command; did you mean 'plan'?" last.err
expect_rc "mesh help plna" 1 "$MESH" help plna
check "... did you mean plan" grep -q "did you mean 'plan'?" last.err
expect_rc "mesh state shw" 1 "$MESH" state shw
check "... did you mean show" grep -q "no state subcommand 'shw'; did you mean 'show'?" last.err
expect_rc "mesh plan --targt" 1 "$MESH" plan --targt x
check "... did you mean --target" grep -q "unknown option '--targt'; did you mean '--target'?" last.err
expect_rc "mesh destroy --out (another command's option)" 1 "$MESH" destroy --out x
check "... says it does not apply" grep -q "option '--out' does not apply to 'mesh destroy'" last.err
expect_rc "--target nul_resource.a" 1 "$MESH" plan --target nul_resource.a
check "... did you mean null_resource.a" grep -q "'nul_resource.a' matches no resource in the spec or the state; did you mean \`null_resource.a\`?" last.err
expect_rc "destroy --target nul_resource.a" 1 "$MESH" destroy --target nul_resource.a --auto-approve
check "... did you mean null_resource.a" grep -q "did you mean \`null_resource.a\`?" last.err
expect_rc "state show null_resource.ap" 1 "$MESH" state show null_resource.ap
check "... did you mean null_resource.a" grep -q "no resource null_resource.ap in the state at .*; did you mean \`null_resource.a\`?" last.err

# ---- targeting is in effect ----
expect_rc "plan --target" 0 "$MESH" plan --target null_resource.a
check "warns that targeting is in effect" grep -q 'Warning: resource targeting is in effect' last.err
expect_rc "plan without --target" 0 "$MESH" plan
check "... does not" sh -c '! grep -q "targeting" last.err'
expect_rc "plan --target --json" 0 "$MESH" plan --target null_resource.a --json
check "... the warning is a diagnostic event" grep -q '"message":"resource targeting is in effect.*"severity":"warning"' last.out
"$MESH" plan --var size=9 --target null_resource.a --out t.plan >/dev/null 2>&1
expect_rc "apply of a plan saved with --target" 0 "$MESH" apply t.plan
check "... warns too" grep -q 'resource targeting is in effect' last.err

# ---- an unknown MESH_VAR_ is a warning ----
expect_rc "MESH_VAR_sise: validate still passes" 0 env MESH_VAR_sise=1 "$MESH" validate
check "... warning with a suggestion" grep -q 'MESH_VAR_sise: warning: ignored: no variable `sise` is declared in the spec; did you mean `size`?' last.err
expect_rc "--var sise=1 is still an error" 1 "$MESH" validate --var sise=1
MESH_VAR_nope=1 "$MESH" plan --var size=10 -out v.plan >/dev/null 2>&1
expect_rc "a plan saved beside an unknown MESH_VAR_ applies" 0 env MESH_VAR_nope=1 "$MESH" apply v.plan
expect_rc "... and applies without it" 0 "$MESH" plan --var size=10 --detailed-exitcode

# ---- JSON durations: at most 3 decimals ----
expect_rc "apply --json with slow calls" 0 env MESH_FAULTS=delay:ms=7 "$MESH" apply --auto-approve --json --var size=11
check "durations are in the events" grep -q '"elapsed":0\.0[0-9]*[1-9]' last.out
check "no duration has more than 3 decimals" $PY -c '
import re, sys
bad = [m for m in re.findall(r"\"(?:elapsed|seconds)\":(-?[0-9.e+-]+)", open("last.out").read()) if re.search(r"\.\d{4,}|e", m)]
n = len(re.findall(r"\"(?:elapsed|seconds)\":", open("last.out").read()))
if bad or n < 4: print("too many decimals:", bad[:3], "durations:", n)
sys.exit(1 if bad or n < 4 else 0)'
# ---- an error quoting user text escapes control bytes (no screen clear reaches the terminal) ----
"$MESH" plan --target "$(printf 'null_resource.\033[2Jx')" >last.out 2>last.err
check "an error quoting a --target with ESC shows it escaped" grep -qF 'null_resource.\x1b[2Jx' last.err
check "... and no raw ESC reaches stderr" test "$(tr -cd '\033' <last.err | wc -c)" = 0

t_done
