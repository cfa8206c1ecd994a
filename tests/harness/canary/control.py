"""control.py DIR PROBE AWS_SECRET SESSION_TOKEN: five files under DIR, each hiding a canary the
way a leak would look (a JSON string, inside base64 of a larger text, a kubeconfig's base64, one
PEM line, the DER in base64), for the scan to prove it finds them. Without a session token the
base64 file hides the AWS secret instead."""
import base64, json, os, sys
d, probe, secret, session = sys.argv[1:5]
sa, key = open(os.path.join(probe, "sa1"), "rb").read(), open(os.path.join(probe, "key2"), "rb").read()
body = [l for l in key.decode().splitlines() if l and not l.startswith("-----")]
files = {"json": json.dumps({"env": "AWS_SECRET_ACCESS_KEY=" + secret}).encode(),
         "b64": base64.b64encode(b"x-amz-security-token: " + (session or secret).encode() + b"\n"),
         "token": b"kubeconfig:\n  data: " + base64.b64encode(b"{token: " + sa + b"}"),
         "pem": b"...\n" + body[1].encode() + b"\n...",
         "der": base64.b64encode(b"wrapped" + base64.b64decode("".join(body)))}
for n, v in files.items():
    open(os.path.join(d, n), "wb").write(v)
