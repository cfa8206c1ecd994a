#!/usr/bin/env bash
# reference.sh: benchmark of issue 13 on the whole reference deployment (specs/reference.yaml with
# ECDSA P-256 keys unless BENCH_KEYS=rsa4096, charts from tests/charts) against the stand-ins of
# tests/harness/reference.sh (docs/performance.md has its figures):
#   1. the apply's wall time against its longest dependency path of unavoidable waits: the EKS
#      stand-in holds each cluster in CREATING, node groups and add-ons likewise, and the fake API
#      servers hold every Deployment's create (what `helm --wait` waits for: a rollout) — real AWS
#      durations divided by BENCH_SCALE. The path is the heaviest chain of the DAG (`mesh plan
#      --explain --json` edges) weighted by those holds; wall minus path is mesh's overhead
#      (engine, API calls, helm, keys) over what no tool can avoid. Also the heaviest chain
#      weighted by each resource's measured create time (the run's --json progress events), the
#      CPU seconds of mesh and the helm runs it waited for (GNU time), and each helm run's
#      subcommand, wall and CPU seconds (MESH_HELM points at a logging wrapper).
#   2. API calls per resource, apply and no-op plan: the AWS proxy's GET /__stats (requests,
#      by_service; the fakes' EKS token checks, presigned STS GETs, counted apart) and both fakes'
#      GET /__fake/stats (every request, helm's included), per service and per Kubernetes kind.
#   3. the no-op plan with BENCH_LATENCY seconds (default 0.05) added to every reply of the proxy
#      (rule kind delay, rate 1) and of both fakes (fault rule with delay, every path): what a
#      laptop sees of AWS. BENCH_PLANS times each, alternating, against a busy machine's noise.
# Prints figures with the load average; never a timed test: exits 0 whatever they are, 1 only if
# it cannot run (no binary, a stand-in does not start, the apply fails).
#
#   BENCH_SCALE=60       real seconds per harness second (default 60: a 10 min cluster is 10 s)
#   BENCH_HOLD_CLUSTER=600 BENCH_HOLD_NODEGROUP=180 BENCH_HOLD_ADDON=60 BENCH_ROLLOUT=30
#                        real-AWS seconds, divided by BENCH_SCALE: EKS cluster, node group, add-on
#                        creates; a Deployment's rollout (per Deployment a chart creates)
#   BENCH_LATENCY=0.05   seconds added to each harness reply for step 3
#   BENCH_PLANS=3        no-op plans without and with latency, alternating; medians reported
#   BENCH_KEYS=ecdsa-p256  the PKI's key algorithm (rsa4096: the spec as written; see below)
#   MESH_BACKOFF_SCALE   defaults to 1/BENCH_SCALE: polls back off as in production, scaled like
#                        the waits, so polling granularity weighs what it would on real AWS
#   MESH_BIN             default build/bench/mesh (make build/bench/mesh), else ./mesh
#
#   make build/bench/mesh && MESH_BIN=$PWD/build/bench/mesh bash tests/bench/reference.sh   # 3-6 min
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
MESH=${MESH_BIN:-$ROOT/build/bench/mesh}
[ -x "$MESH" ] || MESH=$ROOT/mesh
[ -x "$MESH" ] || { echo "bench: no mesh binary (make build/bench/mesh)" >&2; exit 1; }
if [ -z "${MESH_HELM:-}" ] && [ -x "$ROOT/bin/helm" ]; then export MESH_HELM=$ROOT/bin/helm; fi
SCALE=${BENCH_SCALE:-60}
LAT=${BENCH_LATENCY:-0.05}
sc() { python3 -c "print(round($1 / $SCALE, 3))"; }
H_CLUSTER=$(sc "${BENCH_HOLD_CLUSTER:-600}")
H_NG=$(sc "${BENCH_HOLD_NODEGROUP:-180}")
H_ADDON=$(sc "${BENCH_HOLD_ADDON:-60}")
H_ROLLOUT=$(sc "${BENCH_ROLLOUT:-30}")
export MESH_BACKOFF_SCALE=${MESH_BACKOFF_SCALE:-$(python3 -c "print(round(1 / $SCALE, 4))")}
export NO_COLOR=1

source tests/harness/reference.sh
T=$(mktemp -d /tmp/mesh-bench-ref.XXXXXX)
trap 'ref_stack_stop "$T"; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
say() { echo "# [${SECONDS}s] $*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

say "starting the stand-ins (AWS harness, two fake API servers)"
ref_stack_start "$T/stack" >&2 || { echo "bench: the stand-ins did not start" >&2; exit 1; }
export HOME="$T/home"
mkdir -p "$HOME" "$T/run"
cd "$T/run"
# Key algorithm: ECDSA P-256 by default. On real AWS the reference's three RSA-4096 keys are made
# while the clusters take 10 minutes, far off the critical path; with the waits scaled down 60x they
# are not, and their generation time is random (seconds of CPU on a busy machine): it would measure
# the machine, not the plan. BENCH_KEYS=rsa4096 keeps the spec as written.
KEYS=${BENCH_KEYS:-ecdsa-p256}
sed "s/algorithm: rsa4096/algorithm: $KEYS/" "$ROOT/specs/reference.yaml" >ref.yaml
read -r -a VARS <<<"$(ref_stack_vars)"
# helm through a wrapper that logs each run's subcommand, wall and CPU seconds (never its other
# arguments): where the time of the releases goes. The log file is switched per step.
REAL_HELM=${MESH_HELM:-$(command -v helm)}
[ -n "$REAL_HELM" ] || { echo "bench: helm not found (MESH_HELM, bin/helm or PATH)" >&2; exit 1; }
cat >"$T/helm" <<EOF
#!/bin/sh
exec /usr/bin/time -q -a -o "\$(cat "$T/helm.step")" -f "\$1 %e %U %S" "$REAL_HELM" "\$@"
EOF
chmod +x "$T/helm"
export MESH_HELM=$T/helm
helm_step() { echo "$T/run/$1.helm" >"$T/helm.step"; : >"$T/run/$1.helm"; }
helm_step setup

proxy() { curl -s -X "$1" "$PROXY_URL$2" ${3:+-d "$3"}; }
kstats() { for c in 1 2; do kube_fake_stats "$T/stack/k$c" >"$1.k$c.json"; done; }
kfaults() { for c in 1 2; do kube_fake_faults "$T/stack/k$c" "$1" >/dev/null; done; }
kreset() { for c in 1 2; do curl -s -X POST --cacert "$T/stack/k$c/ca.crt" "$(cat "$T/stack/k$c/url")/__fake/reset-faults" >/dev/null; done; }
timed() {  # STEP CMD...: --json events in STEP.json, "RC T0 T1" in STEP.time
    local step=$1 t0
    shift
    t0=$(date +%s.%N)
    # GNU time adds the CPU seconds of mesh and of the helm runs it waited for
    /usr/bin/time -q -o "$step.rusage" -f '%U %S %M' "$@" --json >"$step.json" 2>"$step.err"
    echo "$? $t0 $(date +%s.%N)" >"$step.time"
}

proxy POST /__eks "{\"hold\": {\"cluster.create\": $H_CLUSTER, \"nodegroup.create\": $H_NG, \"addon.create\": $H_ADDON}}" >/dev/null
# A rollout: helm creates the chart's Deployments, then --wait waits until they are available. The
# fakes make a Deployment available at once, so its create is held instead: the release takes as
# much longer as a rollout would make it.
kfaults "{\"rules\": [{\"method\": \"POST\", \"path_re\": \"/apis/apps/v1/namespaces/[^/]+/deployments(\\\\?|\$)\", \"delay\": $H_ROLLOUT}]}"
"$MESH" plan -f ref.yaml "${VARS[@]}" --explain --json >explain.json 2>explain.err ||
    { echo "bench: mesh plan --explain failed:" >&2; tail -5 explain.err >&2; exit 1; }
# How many Deployments each chart creates (its rollouts on the release's path).
for ch in "$ROOT"/tests/charts/*/; do
    echo "$(basename "$ch") $(grep -rl '^kind: Deployment' "$ch/templates" 2>/dev/null | wc -l)"
done >charts.txt

# moto builds each service's backend on its first call (EC2's loads its catalogues: seconds on a busy
# machine); that is the stand-in's start-up, not mesh's work, so it is paid here, straight at moto.
say "warming moto's backends (ec2, iam, kms, logs, sts), not measured"
for c in "ec2 describe-vpcs" "iam list-roles" "kms list-keys" "logs describe-log-groups" "sts get-caller-identity"; do
    awsq $c >/dev/null 2>&1 || say "warning: aws $c failed"
done

# ---- 1 and 2: the apply -----------------------------------------------------------------------
proxy POST /__reset >/dev/null
kstats k0
LOAD_A0=$(load)
say "apply (holds: cluster ${H_CLUSTER}s, node group ${H_NG}s, add-on ${H_ADDON}s, rollout ${H_ROLLOUT}s; load $LOAD_A0)"
helm_step apply
timed apply "$MESH" apply -f ref.yaml "${VARS[@]}" --auto-approve
LOAD_A1=$(load)
proxy GET /__stats >apply.aws.json
kstats apply
read -r rc _ <apply.time
if [ "$rc" != 0 ]; then
    echo "bench: the apply failed (exit $rc):" >&2
    tail -20 apply.err >&2
    grep '"severity": *"error"' apply.json | tail -5 >&2
    exit 1
fi
"$MESH" state list -f ref.yaml >held.txt 2>state-list.err
kreset

# ---- 2 and 3: no-op plans, without and with latency on every reply, alternating ----------------
# Each BENCH_PLANS times (default 3), one after the other so that the machine's load weighs on both
# alike; the medians are reported. The call counts are the first pair's.
PLANS=${BENCH_PLANS:-3}
LOAD_P0=$(load)
for k in $(seq 1 "$PLANS"); do
    proxy POST /__reset >/dev/null
    kstats p$k.0
    say "no-op plan $k/$PLANS (load $(load))"
    helm_step plan$k
    timed plan$k "$MESH" plan -f ref.yaml "${VARS[@]}" --detailed-exitcode
    proxy GET /__stats >plan$k.aws.json
    kstats plan$k

    proxy POST /__reset >/dev/null
    proxy POST /__faults "{\"rules\": [{\"kind\": \"delay\", \"seconds\": $LAT, \"rate\": 1, \"service\": \"*\", \"action\": \"*\"}]}" >/dev/null
    kfaults "{\"rules\": [{\"method\": \"*\", \"path_re\": \".\", \"delay\": $LAT}]}"
    kstats lat$k.0
    say "no-op plan $k/$PLANS with ${LAT}s on every harness reply (load $(load))"
    helm_step lat$k
    timed lat$k "$MESH" plan -f ref.yaml "${VARS[@]}" --detailed-exitcode
    proxy GET /__stats >lat$k.aws.json
    kstats lat$k
    proxy POST /__faults '{"rules": []}' >/dev/null
    kreset
done
LOAD_END=$(load)

python3 - "$ROOT" "$SCALE" "$H_CLUSTER" "$H_NG" "$H_ADDON" "$H_ROLLOUT" "$LAT" "$MESH_BACKOFF_SCALE" \
    "$LOAD_A0" "$LOAD_A1" "$LOAD_P0" "$PLANS" "$LOAD_END" "$("$MESH" version 2>/dev/null | head -1)" "$KEYS" <<'PY'
import collections, json, re, sys
(root, scale, h_cl, h_ng, h_ad, h_ro, lat, bscale, la0, la1, lp0, plans, lend, version, keys) = sys.argv[1:16]
plans = int(plans)
def median(v):
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
scale, h_cl, h_ng, h_ad, h_ro, lat = float(scale), float(h_cl), float(h_ng), float(h_ad), float(h_ro), float(lat)

def events(f):
    out = []
    for line in open(f):
        try: out.append(json.loads(line))
        except ValueError: pass
    return out
def timing(step):
    rc, t0, t1 = open(step + ".time").read().split()
    return int(rc), float(t1) - float(t0)
def load(f): return json.load(open(f))
def helm(step):  # "N helm runs (subcommands): W s wall in all, C s CPU" from the wrapper's log
    runs = [l.split() for l in open(step + ".helm") if len(l.split()) == 4]
    sub = collections.Counter(r[0] for r in runs)
    return "%d helm runs (%s): %.1f s wall in all, %.1f s CPU" % (len(runs), ", ".join("%s %d" % kv for kv in sorted(sub.items())),
        sum(float(r[1]) for r in runs), sum(float(r[2]) + float(r[3]) for r in runs))
def cpu(step):  # (user+sys seconds of mesh and its helm runs, peak RSS MB of the largest one)
    try:
        u, s, m = open(step + ".rusage").read().split()[-3:]
        return float(u) + float(s), int(m) / 1024
    except (OSError, ValueError):
        return float("nan"), float("nan")
def kdiff(before, after):  # requests each fake served between two stats snapshots, both fakes
    tot, by = 0, collections.Counter()
    for c in ("k1", "k2"):
        a, b = load("%s.%s.json" % (after, c)), load("%s.%s.json" % (before, c))
        tot += a["total"] - b["total"]
        for k, v in a["by_request"].items():
            by[k] += v - b["by_request"].get(k, 0)
    return tot, by
def kind_of(req):  # "GET /api/v1/namespaces/x/secrets/y" -> "GET secrets"
    m, p = req.split(" ", 1)
    parts = [x for x in p.split("?")[0].split("/") if x]
    if parts[:1] == ["api"]: rest = parts[2:]
    elif parts[:1] == ["apis"]: rest = parts[3:]
    else: return "%s %s" % (m, "/" + "/".join(parts[:1]))
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) > 2: rest = rest[2:]
    return "%s %s" % (m, rest[0] if rest else "(discovery)")
def aws(f):  # (mesh's AWS calls, the fakes' token checks)
    s = load(f)
    sts_checks = sum(v for k, v in s["by_action"].items() if k.startswith("sts ") and "GetCallerIdentity" in k)
    return s, sts_checks

deps = {e["address"]: e.get("depends_on", []) for e in events("explain.json") if e.get("type") == "explain"}
types = {e["address"]: e.get("resource_type", "") for e in events("explain.json") if e.get("type") == "explain"}
charts = dict(l.split() for l in open("charts.txt"))
def pstats(step):  # mesh's own count: the run's (or plan's) provider_stats, per provider
    for e in events(step + ".json"):
        if e.get("type") in ("summary", "plan_summary") and e.get("provider_stats"):
            return e["provider_stats"]
    return {}
def chart_of(addr):  # helm_release.cluster-1.istiod -> its chart's folder in tests/charts
    name = addr.split(".")[-1]
    return {"istio-base": "base", "istio-ingressgateway": "gateway"}.get(name, name)
def wait_of(a):  # the unavoidable wait the stand-ins impose on a's create
    t = types.get(a, "")
    if t == "aws_eks_cluster": return h_cl
    if t == "aws_eks_node_group": return h_ng
    if t == "aws_eks_addon": return h_ad
    if t == "helm_release": return h_ro * int(charts.get(chart_of(a), 0))
    return 0.0
apply = events("apply.json")
took = {e["address"]: e.get("elapsed", 0.0) for e in apply
        if e.get("type") == "progress" and e.get("status") == "done" and e.get("action") in ("create", "replace")}
def heaviest(weight):
    memo = {}
    def chain(a):
        if a not in memo:
            best = (0.0, [])
            for d in deps.get(a, []):
                if d in deps: best = max(best, chain(d))
            memo[a] = (best[0] + weight(a), best[1] + [a])
        return memo[a]
    return max((chain(a) for a in deps), default=(0.0, []))
crit = heaviest(wait_of)
meas = heaviest(lambda a: took.get(a, 0.0))
rc, wall = timing("apply")
n = len(deps)
held = sum(1 for _ in open("held.txt"))
print("mesh reference benchmark: %s, specs/reference.yaml with %s keys, charts from tests/charts" % (version, keys))
print("%d resources planned, %d created, %d in state; harness seconds = real seconds / %g; MESH_BACKOFF_SCALE=%s"
      % (n, len(took), held, scale, bscale))
print()
print("1. apply: wall time against the longest path of unavoidable waits (load %s -> %s)" % (la0, la1))
print("   holds: cluster create %gs, node group %gs, add-on %gs, Deployment rollout %gs (x Deployments per chart: %s)"
      % (h_cl, h_ng, h_ad, h_ro, ", ".join("%s %s" % kv for kv in sorted(charts.items())
       if kv[1] != "0" and any(types[a] == "helm_release" and chart_of(a) == kv[0] for a in types))))
print("   %-46s %9s %14s" % ("", "seconds", "x BENCH_SCALE"))
print("   %-46s %9.2f %14.0f" % ("apply wall time", wall, wall * scale))
print("   %-46s %9.2f %14.0f" % ("critical path: sum of waits on it", crit[0], crit[0] * scale))
print("   %-46s %9.2f %14s" % ("overhead (wall - waits)", wall - crit[0], ""))
print("   %-46s %9.3f" % ("ratio wall / waits", wall / crit[0] if crit[0] else float("nan")))
print("   %-46s %9.2f" % ("heaviest chain by measured create times", meas[0]))
print("   %-46s %9.2f   (peak RSS %.0f MB)" % ("CPU seconds, mesh + its helm runs (user+sys)", *cpu("apply")))
print("   of which " + helm("apply"))
print("   critical path: " + " -> ".join("%s (%gs)" % (a, wait_of(a)) if wait_of(a) else a for a in crit[1]))
print("   measured chain: " + " -> ".join("%s (%.2fs)" % (a, took.get(a, 0.0)) for a in meas[1] if took.get(a, 0.0) >= 0.05))

def calls(label, step, before):
    s, sts = aws(step + ".aws.json")
    mesh_aws = s["requests"] - sts
    kt, kby = kdiff(before, step)
    print("   %-28s %6d AWS (%s)" % (label, mesh_aws, ", ".join("%s %d" % (k, v - (sts if k == "sts" else 0))
          for k, v in sorted(s["by_service"].items()) if v - (sts if k == "sts" else 0))))
    print("   %-28s %6d Kubernetes, both API servers, helm's included" % ("", kt))
    print("   %-28s %6s %d EKS token checks by the API servers (presigned STS GET), not counted above" % ("", "", sts))
    print("   %-28s %6s mesh's own count (--json provider_stats): %s" % ("", "", "; ".join(
          "%s %s%s" % (v.get("display_name", k), v.get("api_calls"), " (%s retries)" % v["retries"] if v.get("retries") else "")
          for k, v in sorted(pstats(step).items()))))
    return mesh_aws, kt, kby, s
print()
print("2. API calls per resource")
ta = collections.Counter(types.values())
aws_n = sum(v for k, v in ta.items() if k.startswith("aws_"))
kube_n = sum(v for k, v in ta.items() if k.startswith(("kubernetes_", "helm_")))
print("   resources: %d in all, %d aws_*, %d kubernetes_*/helm_release, %d other (%s)" % (n, aws_n, kube_n, n - aws_n - kube_n,
      ", ".join("%s %d" % kv for kv in sorted(ta.items()) if not kv[0].startswith(("aws_", "kubernetes_", "helm_")))))
aa, ak, akby, _ = calls("apply", "apply", "k0")
pa, pk, pkby, ps = calls("no-op plan", "plan1", "p1.0")
def series(step):  # ([rc], [wall], [cpu]) of the plans of that kind
    t = [timing("%s%d" % (step, k)) for k in range(1, plans + 1)]
    return [r for r, _ in t], [w for _, w in t], [cpu("%s%d" % (step, k))[0] for k in range(1, plans + 1)]
prc, pwalls, pcpus = series("plan")
lrc, lwalls, lcpus = series("lat")
print("   %-44s %10s %10s" % ("per resource", "apply", "no-op plan"))
print("   %-44s %10.2f %10.2f" % ("AWS calls / aws_* resource", aa / aws_n if aws_n else 0, pa / aws_n if aws_n else 0))
print("   %-44s %10.2f %10.2f" % ("Kubernetes calls / kubernetes_*+helm resource", ak / kube_n if kube_n else 0, pk / kube_n if kube_n else 0))
print("   %-44s %10.2f %10.2f" % ("all calls / resource", (aa + ak) / n, (pa + pk) / n))
def by_kind(by):
    c = collections.Counter()
    for k, v in by.items():
        c[kind_of(k)] += v
    return ", ".join("%s %d" % kv for kv in sorted(c.items(), key=lambda kv: -kv[1])[:14] if kv[1])
print("   Kubernetes calls by verb and kind (top), apply: " + by_kind(akby))
print("   Kubernetes calls by verb and kind (top), no-op plan: " + by_kind(pkby))
print("   AWS calls by action (top), apply: " + ", ".join("%s %d" % kv for kv in sorted(load("apply.aws.json")["by_action"].items(), key=lambda kv: -kv[1])[:12]))
print("   AWS calls by action, no-op plan (top): " + ", ".join("%s %d" % kv for kv in sorted(ps["by_action"].items(), key=lambda kv: -kv[1])[:12]))
print("   no-op plan: %s s (median %.2f), %s s CPU of mesh + helm, peak RSS %.0f MB, exit %s (0 = no changes)"
      % (" / ".join("%.2f" % w for w in pwalls), median(pwalls), " / ".join("%.2f" % c for c in pcpus), cpu("plan1")[1],
         " / ".join(map(str, prc))))
print("   of which (first plan) " + helm("plan1"))

print()
print("3. no-op plan with %g s added to every harness reply, %d times each, alternating (load %s -> %s)" % (lat, plans, lp0, lend))
la, lk, _, _ = calls("calls (first plan)", "lat1", "lat1.0")
print("   %-38s %22s %8s %10s %6s" % ("", "wall s, each", "median", "CPU s med", "exit"))
print("   %-38s %22s %8.2f %10.2f %6s" % ("no-op plan, no added latency", " / ".join("%.2f" % w for w in pwalls), median(pwalls), median(pcpus), "/".join(map(str, prc))))
print("   %-38s %22s %8.2f %10.2f %6s" % ("no-op plan, +%g s on every reply" % lat, " / ".join("%.2f" % w for w in lwalls), median(lwalls), median(lcpus), "/".join(map(str, lrc))))
print("   %-38s %22s %8.2f" % ("difference of the medians", "", median(lwalls) - median(pwalls)))
print("   %-38s %22s %8.2f   (%d calls x %g s; mesh reads in parallel)" % ("latency if every call were sequential", "", (la + lk) * lat, la + lk, lat))
print("   of which (first plan with latency) " + helm("lat1"))
PY
exit 0
