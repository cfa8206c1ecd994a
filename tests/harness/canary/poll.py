"""poll.py ROOT_PID PROBE TMPDIR WAL: watches a running mesh (tests/harness/canary/canary.sh). Every
descendant's argv and environment once it has exec'd (a forked child shows mesh's own until then),
the files under TMPDIR and the state's -wal, kept as copies under PROBE/children and PROBE/tmp for
the scan; when ROOT_PID ends, appends "HELM_CHILDREN PROCESSES" to PROBE/helm_children."""
import hashlib, os, sys, time
root, probe, tmpdir, wal = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def read(p):
    try:
        with open(p, "rb") as f: return f.read()
    except OSError: return None
def stat(pid):
    s = read("/proc/%d/stat" % pid)
    if not s: return None
    s = s.decode(errors="replace"); f = s[s.rindex(")") + 2:].split()
    return f[0], int(f[1])
root_cmd = read("/proc/%d/cmdline" % root)
seen, kept, helm = set(), set(), 0
def keep(kind, data):
    d = hashlib.sha1(data).hexdigest()
    if (kind, d) in kept: return
    kept.add((kind, d))
    with open(os.path.join(probe, kind, d), "wb") as f: f.write(data)
while True:
    st = stat(root)
    if not st or st[0] == "Z": break
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            s = stat(int(d))
            if s: kids.setdefault(s[1], []).append(int(d))
    todo, desc = [root], []
    while todo:
        for c in kids.get(todo.pop(), []):
            desc.append(c); todo.append(c)
    for pid in desc:
        cmd = read("/proc/%d/cmdline" % pid)
        if not cmd or cmd == root_cmd or (pid, cmd) in seen: continue
        env = read("/proc/%d/environ" % pid)
        if env is None: continue
        seen.add((pid, cmd))
        if os.path.basename(cmd.split(b"\0")[0]) == b"helm": helm += 1
        keep("children", b"ARGV " + cmd + b"\nENV " + env)
    for dp, _, fs in os.walk(tmpdir):
        for f in fs:
            data = read(os.path.join(dp, f))
            if data: keep("tmp", data)
    data = read(wal)
    if data: keep("tmp", data)
    time.sleep(0.01)
with open(os.path.join(probe, "helm_children"), "a") as f: f.write("%d %d\n" % (helm, len(seen)))
