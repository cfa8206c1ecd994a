"""gentf.py: writes the Terraform twin of `genspec.py tree N --fanout F` for the benchmark.

  gentf.py N [--fanout F]   main.tf on stdout: N terraform_data resources, r_i replaced when
                            r_((i-1)/F).id changes (the same edges as the mesh spec)

terraform_data is built into Terraform, so the config needs no provider and no plugin download.
"""
import sys


def tree(n, fanout=4):
    out = ["terraform {\n}\n"]
    for i in range(n):
        if i == 0:
            trig = '["v1"]'
        else:
            trig = "[terraform_data.r%d.id]" % ((i - 1) // fanout)
        out.append('resource "terraform_data" "r%d" {\n  triggers_replace = %s\n}\n' % (i, trig))
    return "\n".join(out)


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or not args[0].isdigit():
        sys.exit("usage: gentf.py N [--fanout F]")
    fan = int(args[args.index("--fanout") + 1]) if "--fanout" in args else 4
    sys.stdout.write(tree(int(args[0]), fan))
