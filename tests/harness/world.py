#!/usr/bin/env python3
"""world.py: what the reference stand-ins (tests/harness/reference.sh) hold that mesh's state does not:
the orphan count of the reliability suites (tests/reliability/kill9.sh, faults.sh), over
  - AWS: every type tests/harness/aws/orphans.py lists, held when state has its id, arn or name;
  - each fake cluster: every object annotated mesh/address, held when state has that address
    (and, when the state row has a uid or id, the same object: a second copy made by a cut-off
    run is an orphan even if its address is held);
  - each fake cluster's helm releases, read from helm's own storage (Secrets labelled owner=helm, so
    pending-install and failed releases count too), held when a helm_release of that cluster in
    state has the id NAMESPACE/NAME.
With an empty --state every object counts: "nothing left anywhere".
--baseline FILE (written by --save-baseline FILE on a fresh stack; use it with an empty --state):
also counts any object of a fake cluster that is not in the baseline (a Pod or Service a deleted
release left behind).

Usage: world.py --state DUMP --moto URL --proxy URL --fake cluster-1=DIR --fake cluster-2=DIR
                [--baseline FILE] [--save-baseline FILE]
  DUMP: tests/lib/common.sh's state_dump output (one JSON row per resource), `mesh state list
        --json` output as it is, or an empty file.
  Prints "orphan WHERE WHAT" lines to stderr and the count to stdout.
"""
import argparse
import json
import os
import ssl
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def fake_objects(d):
    url = open(os.path.join(d, "url")).read().strip()
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
    with urllib.request.urlopen(url + "/__fake/objects", context=ctx, timeout=30) as r:
        return json.load(r)["objects"]


def key(o):
    m = o.get("metadata", {})
    return "%s %s %s" % (o.get("kind"), m.get("namespace") or "-", m.get("name"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--moto")
    ap.add_argument("--proxy")
    ap.add_argument("--fake", action="append", default=[])
    ap.add_argument("--baseline")
    ap.add_argument("--save-baseline")
    a = ap.parse_args()
    fakes = [f.split("=", 1) for f in a.fake]
    if a.save_baseline:
        with open(a.save_baseline, "w") as f:
            for _, d in fakes:
                f.write("\n".join(key(o) for o in fake_objects(d)) + "\n")
        return 0
    rows = {}
    for line in open(a.state):
        if line.strip():
            r = json.loads(line)
            if r.get("type", "resource") != "resource" or "address" not in r:
                continue  # `mesh state list --json` as it is, not only state_dump's rows
            rows[r["address"]] = r.get("outputs") or {}
    found = []
    # AWS, through orphans.py with the IDs state holds
    with tempfile.NamedTemporaryFile("w", suffix=".held", delete=False) as held:
        for addr, o in rows.items():
            for k in ("id", "arn", "name"):
                if isinstance(o.get(k), str):
                    held.write(o[k] + "\n")
    try:
        p = subprocess.run([sys.executable, os.path.join(HERE, "aws", "orphans.py"), "--moto", a.moto, "--proxy", a.proxy,
                            "--held", held.name], capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(held.name)
    if p.returncode != 0:
        sys.stderr.write("orphans.py failed: %s\n" % p.stderr[-500:])
        print(-1)
        return 1
    found += ["aws " + l[len("orphan "):] for l in p.stdout.splitlines() if l.startswith("orphan ")]
    baseline = set(open(a.baseline).read().split("\n")) if a.baseline else None
    for cluster, d in fakes:
        objs = fake_objects(d)
        for o in objs:
            m = o.get("metadata", {})
            ann, labels = m.get("annotations") or {}, m.get("labels") or {}
            addr = ann.get("mesh/address")
            if addr:
                row = rows.get(addr)
                ident = row and (row.get("uid") or row.get("id"))
                if row is None or (ident and m.get("uid") and ident != m.get("uid") and "/" not in ident):
                    found.append("%s %s (%s)" % (cluster, key(o), addr))
            elif labels.get("owner") == "helm" and o.get("kind") == "Secret" and labels.get("name"):
                rel = "%s/%s" % (m.get("namespace"), labels["name"])
                if not any(ad.startswith("helm_release.%s." % cluster) and r.get("id") == rel for ad, r in rows.items()):
                    found.append("%s helm release %s (%s)" % (cluster, rel, labels.get("status")))
            elif baseline is not None and key(o) not in baseline:
                found.append("%s %s (not in the fresh cluster)" % (cluster, key(o)))
    found = sorted(set(found))
    for f in found:
        sys.stderr.write("orphan %s\n" % f)
    print(len(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
