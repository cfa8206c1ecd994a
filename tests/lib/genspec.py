"""genspec.py: writes null_resource specs for the suites and benchmarks.

  genspec.py tree N [--fanout F] [--version V]   tree of N: r_i depends on r_(i-1)/F by reference
  genspec.py churn V                               the 30-resource spec of the rollback/crash suites,
                                                   version 1 or 2 (2 = updates, replaces, creates, deletes)
"""
import sys


def tree(n, fanout=4, version=1):
    out = ["resources:"]
    for i in range(n):
        out.append("  null_resource.r%d:" % i)
        if i == 0:
            out.append('    triggers: {root: "v%d"}' % version)
        else:
            out.append('    triggers: {parent: "${null_resource.r%d.id}"}' % ((i - 1) // fanout))
    return "\n".join(out) + "\n"


def churn(version):
    out = ["resources:"]
    for i in range(30):
        if version == 2 and i in (28, 29):
            continue  # deleted in v2
        out.append("  null_resource.n%d:" % i)
        parent = (i - 1) // 3 if i else None
        trig = {"k": "t%d" % i}
        if version == 2 and i in (4, 17):
            trig["k"] = "changed%d" % i   # forces replacement (and of n4's dependents' triggers)
        if parent is not None and i % 2 == 0:
            trig["parent"] = "${null_resource.n%d.id}" % parent
        out.append("    triggers: {%s}" % ", ".join('%s: "%s"' % kv for kv in sorted(trig.items())))
        inp = "in%d" % i
        if version == 2 and i % 5 == 1:
            inp = "updated%d" % i       # in-place update
        out.append('    input: "%s"' % inp)
        if i % 7 == 3:
            out.append('    sensitive_triggers: {secret: "canary-%d"}' % i)
        if parent is not None and i % 2 == 1:
            out.append("    depends_on: [null_resource.n%d]" % parent)
    if version == 2:
        for j in range(3):
            out.append("  null_resource.new%d:" % j)
            out.append('    input: "${null_resource.n%d.output}"' % (j + 1))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[0] == "tree":
        n = int(args[1])
        fan = int(args[args.index("--fanout") + 1]) if "--fanout" in args else 4
        ver = int(args[args.index("--version") + 1]) if "--version" in args else 1
        sys.stdout.write(tree(n, fan, ver))
    elif args[0] == "churn":
        sys.stdout.write(churn(int(args[1])))
    else:
        sys.exit("usage: genspec.py tree N [--fanout F] [--version V] | churn 1|2")
