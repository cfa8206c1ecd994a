"""scan.py PROBE AWS_SECRET SESSION_TOKEN PATH...: looks for the canaries (the AWS secret key, the
session token unless it is "", PROBE/sa1, sa2: reader tokens, PROBE/key1, key2: CA private keys) in
each file PATH and every file under each folder PATH: raw, base64 at each alignment (inside a larger base64 text too),
base64url, and for a private key its PEM body, each PEM line and its DER in base64 and hex. Prints
a line "HIT CANARY (FORM) in FILE" for each, then "SUMMARY CANARIES FORMS FILES HITS"."""
import base64, os, re, sys
probe, aws_secret, session = sys.argv[1:4]
canaries = [("AWS secret access key", aws_secret.encode())]
if session:
    canaries.append(("AWS session token", session.encode()))
for c in (1, 2):
    canaries.append(("cluster-%d reader token" % c, open(os.path.join(probe, "sa%d" % c), "rb").read()))
    canaries.append(("cluster-%d intermediate CA key" % c, open(os.path.join(probe, "key%d" % c), "rb").read()))
forms = []  # (canary, form, bytes)
for name, v in canaries:
    if len(v) < 16:
        print("FAIL canary %s is too short (%d bytes)" % (name, len(v))); continue
    forms.append((name, "raw", v))
    for k in range(3):  # base64 of v inside a longer text: the stable middle at each alignment
        forms.append((name, "base64/%d" % k, base64.b64encode(b"\0" * k + v)[4:-4]))
    forms.append((name, "base64url", base64.urlsafe_b64encode(v)[4:-4]))
    if b"PRIVATE KEY" in v:
        lines = [l for l in v.decode().splitlines() if l and not l.startswith("-----")]
        forms.append((name, "PEM body", "".join(lines).encode()))
        forms += [(name, "PEM line %d" % i, l.encode()) for i, l in enumerate(lines) if len(l) >= 24]
        der = base64.b64decode("".join(lines))
        for k in range(3):
            forms.append((name, "DER base64/%d" % k, base64.b64encode(b"\0" * k + der)[4:-4]))
        forms.append((name, "DER hex", der.hex().encode()[8:-8]))
files = []
for top in sys.argv[4:]:
    if os.path.isfile(top): files.append(top)
    for dp, _, fs in os.walk(top):
        files += [os.path.join(dp, f) for f in fs]
hits = 0
for f in files:
    try: data = open(f, "rb").read()
    except OSError: continue
    for name, form, b in forms:
        if b in data:
            hits += 1
            where = data[:200].split(b"\n")[0][:120] if "/children/" in f else b""
            print("HIT %s (%s) in %s %s" % (name, form, f, where.decode(errors="replace")))
print("SUMMARY %d %d %d %d" % (len(canaries), len(forms), len(files), hits))
