"""gentf.py: writes the Terraform twin of `genspec.py tree N --fanout F` for the benchmark.

  gentf.py N [--fanout F]   main.tf on stdout: N terraform_data resources, r_i replaced when
                            r_((i-1)/F).id changes (the same edges as the mesh spec)
  gentf.py N --state [--fanout F]
                            terraform.tfstate on stdout: that tree as Terraform's own apply writes it
                            (same fields, resources sorted by name, each one's ancestors as its
                            dependencies), so destroy can be timed without an hour-long apply first

terraform_data is built into Terraform, so the config needs no provider and no plugin download.
"""
import json
import sys
import uuid


def tree(n, fanout=4):
    out = ["terraform {\n}\n"]
    for i in range(n):
        if i == 0:
            trig = '["v1"]'
        else:
            trig = "[terraform_data.r%d.id]" % ((i - 1) // fanout)
        out.append('resource "terraform_data" "r%d" {\n  triggers_replace = %s\n}\n' % (i, trig))
    return "\n".join(out)


def ancestors(i, fanout):
    out = []
    while i > 0:
        i = (i - 1) // fanout
        out.append("terraform_data.r%d" % i)
    return out


def state(n, fanout=4):
    rng = uuid.uuid4  # terraform_data's id is a random UUID; any distinct values will do
    ids = [str(rng()) for _ in range(n)]
    resources = []
    for i in range(n):
        trig = ["v1"] if i == 0 else [ids[(i - 1) // fanout]]
        inst = {"schema_version": 0,
                "attributes": {"id": ids[i], "input": None, "output": None,
                               "triggers_replace": {"value": trig, "type": ["tuple", ["string"]]}},
                "sensitive_attributes": []}
        deps = sorted(ancestors(i, fanout))
        if deps:
            inst["dependencies"] = deps
        resources.append({"mode": "managed", "type": "terraform_data", "name": "r%d" % i,
                          "provider": "provider[\"terraform.io/builtin/terraform\"]",
                          "instances": [inst]})
    resources.sort(key=lambda r: r["name"])
    return {"version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": str(rng()),
            "outputs": {}, "resources": resources, "check_results": None}


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or not args[0].isdigit():
        sys.exit("usage: gentf.py N [--fanout F]")
    fan = int(args[args.index("--fanout") + 1]) if "--fanout" in args else 4
    if "--state" in args:
        json.dump(state(int(args[0]), fan), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(tree(int(args[0]), fan))
