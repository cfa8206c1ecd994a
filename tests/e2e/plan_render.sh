# plan_render.sh: how a plan shows nested values and outputs (issue 9). One apply, then one edit
# of every kind: a line of a multi-line PEM-like value inside a map, keys changed, added and
# removed, a list element replaced, a map inside a list, an unknown nested value, sensitive
# values (nested, and fed by a sensitive variable), and outputs added, changed, removed and
# sensitive. The human plan is compared line by line with the expected text; --json and
# --detailed-exitcode are checked for outputs; control bytes never reach the terminal raw.
. "$(dirname "$0")/../lib/common.sh"
t_setup
export MESH_NULL_STORE="$T_DIR/store"
mkdir -p "$MESH_NULL_STORE"

cat > v1.yaml <<'Y'
vars:
  password: {sensitive: true, default: canary-pw-1}
outputs:
  ca_id: ${null_resource.ca.id}
  region: eu-west-1
  retired: old
  pw: {value: "${var.password}", sensitive: true}
resources:
  null_resource.ca:
    triggers:
      chain: |
        -----BEGIN CERTIFICATE-----
        MIIBroot1111
        MIIBroot2222
        -----END CERTIFICATE-----
        -----BEGIN CERTIFICATE-----
        MIIBinter111
        MIIBinter222
        -----END CERTIFICATE-----
      cluster: cluster-1
      mesh_id: mesh1
      network: network1
      zone: a
  null_resource.app:
    input:
      ca: ${null_resource.ca.id}
      ports: [80, 443, 8080, 9090, 15017]
      labels: {app: web, tier: front, team: core}
      routes: [{dst: 10.0.0.0/16, via: gw1}, {dst: 10.1.0.0/16, via: gw1}]
      name: web
    sensitive_triggers: {token: canary-token-1}
  null_resource.secret:
    input: {user: admin, password: "${var.password}"}
Y
sed -e 's/MIIBinter222/MIIBinter333/' -e 's/mesh_id: mesh1/mesh_id: mesh2/' -e '/zone: a/d' \
    -e 's/network: network1/network: network1\n      region: eu/' \
    -e 's/\[80, 443, 8080, 9090, 15017\]/[80, 443, 8443, 9090, 15017]/' -e 's/tier: front/tier: back/' \
    -e 's/dst: 10.1.0.0\/16, via: gw1/dst: 10.1.0.0\/16, via: gw2/' -e 's/canary-token-1/canary-token-2/' \
    -e 's/  retired: old/  added: {value: {a: "1"}}/' -e 's/region: eu-west-1/region: eu-west-2/' \
    -e 's/canary-pw-1/canary-pw-2/' v1.yaml > v2.yaml

expect_rc "apply v1" 0 "$MESH" apply -f v1.yaml --auto-approve
expect_rc "plan v2 has changes" 2 "$MESH" plan -f v2.yaml --detailed-exitcode
sed -E 's/null-[0-9a-f]{16}/null-ID/g' last.out > plan.txt
cat > want.txt <<'W'
mesh will perform the following actions:

  # null_resource.ca must be replaced (create before destroy)
    (triggers forces replacement)
  +/- null_resource.ca
      ~ triggers = {  # forces replacement
          ~ "chain"   = <<-EOT
                -----BEGIN CERTIFICATE-----
                MIIBroot1111
                MIIBroot2222
                -----END CERTIFICATE-----
                -----BEGIN CERTIFICATE-----
                MIIBinter111
              - MIIBinter222
              + MIIBinter333
                -----END CERTIFICATE-----
            EOT
          ~ "mesh_id" = "mesh1" -> "mesh2"
          + "region"  = "eu"
          - "zone"    = "a" -> null
            # (2 unchanged elements hidden)
        }

  # null_resource.secret will be updated in-place
  ~ null_resource.secret
      ~ input = (sensitive) -> (sensitive)

  # null_resource.app must be replaced (create before destroy)
    (sensitive_triggers forces replacement)
  +/- null_resource.app
      ~ sensitive_triggers = (sensitive) -> (sensitive)  # forces replacement
      ~ input              = {
          ~ "ca"     = "null-ID" -> (known after apply)
          ~ "labels" = {
              ~ "tier" = "front" -> "back"
                # (2 unchanged elements hidden)
            }
          ~ "ports"  = [
                # (1 unchanged element hidden)
                443,
              - 8080,
              + 8443,
                9090,
                # (1 unchanged element hidden)
            ]
          ~ "routes" = [
                {
                    "dst" = "10.0.0.0/16"
                    "via" = "gw1"
                },
              ~ {
                  ~ "via" = "gw1" -> "gw2"
                    # (1 unchanged element hidden)
                },
            ]
            # (1 unchanged element hidden)
        }

Plan: 2 to add, 1 to change, 2 to destroy.

Changes to Outputs:
  + added   = {
      + "a" = "1"
    }
  ~ ca_id   = "null-ID" -> (known after apply)
  ~ pw      = (sensitive value)
  ~ region  = "eu-west-1" -> "eu-west-2"
  - retired = "old" -> null
W
check "the plan shows nested changes key by key, as expected" diff -u want.txt plan.txt
check "no plan line is longer than 80 characters" test "$(awk '{ if (length($0) > n) n = length($0) } END { print n }' plan.txt)" -le 80
check "no secret in the plan" sh -c '! grep -q canary plan.txt'

# --json: still one change per attribute with old and new, plus per-key detail and the outputs.
expect_rc "plan v2 --json" 2 "$MESH" plan -f v2.yaml --json --detailed-exitcode
check "--json: per-key detail, output changes, summary counts them, no secret" $PY - last.out <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
entry = {e["address"]: e for e in ev if e["type"] == "plan_entry"}
trig = entry["null_resource.ca"]["changes"][0]
assert trig["name"] == "triggers" and "old" in trig and "new" in trig, trig
assert trig["key_changes"] == {"chain": "update", "mesh_id": "update", "region": "create", "zone": "delete"}, trig
app = {c["name"]: c for c in entry["null_resource.app"]["changes"]}
assert app["input"].get("unknown") is True and app["input"]["key_changes"] == {
    "ca": "update", "labels": "update", "ports": "update", "routes": "update"}, app["input"]
assert app["sensitive_triggers"] == {"name": "sensitive_triggers", "sensitive": True, "forces_replacement": True}
outs = {e["name"]: e for e in ev if e["type"] == "output_change"}
assert sorted(outs) == ["added", "ca_id", "pw", "region", "retired"], outs
assert outs["added"]["action"] == "create" and outs["added"]["new"] == {"a": "1"} and outs["added"]["old"] is None
assert outs["ca_id"]["action"] == "update" and outs["ca_id"]["unknown"] is True
assert outs["pw"] == {"name": "pw", "action": "update", "sensitive": True, "time": outs["pw"]["time"], "type": "output_change"}
assert outs["region"]["old"] == "eu-west-1" and outs["region"]["new"] == "eu-west-2"
assert outs["retired"]["action"] == "delete" and outs["retired"]["new"] is None
summ = [e for e in ev if e["type"] == "plan_summary"][0]
assert summ["output_changes"] == 5 and summ["changes"] is True and summ["add"] == 2, summ
assert "canary" not in open(sys.argv[1]).read()
PY

# Output-only changes: shown, and a change for --detailed-exitcode (as in terraform).
expect_rc "apply v2" 0 "$MESH" apply -f v2.yaml --auto-approve
expect_rc "after apply, no changes" 0 "$MESH" plan -f v2.yaml --detailed-exitcode
sed 's/region: eu-west-2/region: eu-west-3/' v2.yaml > v3.yaml
expect_rc "an output-only change is a change (--detailed-exitcode 2)" 2 "$MESH" plan -f v3.yaml --detailed-exitcode
check "it is shown under Changes to Outputs" diff -u - last.out <<'W'
Changes to Outputs:
  ~ region = "eu-west-2" -> "eu-west-3"

Only outputs change: applying saves their new values to state and changes no resource.
W
expect_rc "--json summary: changes true, nothing to add" 2 "$MESH" plan -f v3.yaml --json --detailed-exitcode
check "--json: the summary says so" grep -q '"add":0,"change":0,"changes":true,"destroy":0,"output_changes":1' last.out
expect_rc "apply saves the new output" 0 "$MESH" apply -f v3.yaml --auto-approve
check "mesh output has it" sh -c '"$0" output -f v3.yaml region | grep -qx "\"eu-west-3\""' "$MESH"
expect_rc "then the plan is empty" 0 "$MESH" plan -f v3.yaml --detailed-exitcode
expect_rc "destroy plan removes the outputs" 0 "$MESH" destroy -f v3.yaml --auto-approve
check "destroy showed them going" grep -q '^  - region = "eu-west-3" -> null$' last.out

# Control bytes: ESC, BEL, DEL and CSI in a trigger (and ESC in a key) are escaped in plan and
# apply output (JSON quoting alone lets DEL and the C1 controls through).
cat > ctl.yaml <<'Y'
outputs:
  t: ${null_resource.c.triggers}
resources:
  null_resource.c:
    triggers: {title: "x\a\e[31mred\e[0m\x7f\u009b", "k\ey": v}
Y
"$MESH" plan -f ctl.yaml >ctl_plan.txt 2>&1
"$MESH" apply -f ctl.yaml --auto-approve >ctl_apply.txt 2>&1
"$MESH" state show -f ctl.yaml null_resource.c >ctl_show.txt 2>&1
for f in ctl_plan.txt ctl_apply.txt ctl_show.txt; do
    check "$f: no raw ESC, BEL, DEL or CSI (U+009B)" sh -c \
        '! LC_ALL=C grep -q -e "$(printf "[\\007\\033\\177]")" -e "$(printf "\\302\\233")" "$0"' "$f"
done
check "plan shows them escaped" grep -qF '+ "title"  = "x\x07\x1b[31mred\x1b[0m\x7f\u009b"' ctl_plan.txt
check "plan escapes them in keys too" grep -qF '+ "k\x1by" = "v"' ctl_plan.txt
check "apply's outputs show them escaped" grep -qF 't = {"k\x1by":"v","title":"x\x07\x1b[31mred\x1b[0m\x7f\u009b"}' ctl_apply.txt

t_done
