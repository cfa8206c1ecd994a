"""auth.py: who is calling the fake API server (Python standard library only).

  - a client certificate signed by the fake's CA (when --client-ca): its CN;
  - Authorization: Bearer T, T one of the static tokens (--token / --token-file): its user;
  - T a ServiceAccount token the controller minted into a kubernetes.io/service-account-token
    Secret that still exists and still holds it: system:serviceaccount:NS:NAME;
  - T an EKS token, k8s-aws-v1.<base64url of a presigned STS GetCallerIdentity URL>: the URL is
    called at --sts-url (its own Host header kept, since it is signed) with x-k8s-aws-id: the
    cluster name, as aws-iam-authenticator does; a 200 naming an Arn makes that ARN the user.
    The URL must sign x-k8s-aws-id and be at most 15 minutes old (X-Amz-Date), which is how
    long STS honours it whatever X-Amz-Expires says; good tokens are cached that long.
POST /__fake/revoke makes any token invalid from then on. Tokens are never logged.
Also certs(): the CA, server and client certificates, made with the openssl CLI.
"""
import base64
import datetime
import hashlib
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse

EKS_PREFIX = "k8s-aws-v1."
EKS_MAX_AGE = 900


def _h(token):
    return hashlib.sha256(token.encode()).hexdigest()


class Auth:
    def __init__(self, static, sts_url, cluster):
        self.static = {_h(t): u for t, u in static.items()}
        self.sts_url, self.cluster = sts_url, cluster
        self.lock = threading.Lock()
        self.sa = {}        # hash -> (namespace, secret name, user)
        self.revoked = set()
        self.eks_cache = {}  # hash -> (user, expiry)
        self.secret_lookup = None  # (ns, name) -> current data.token (base64) or None; set by the server

    def add_sa_token(self, token, ns, secret, sa):
        with self.lock:
            self.sa[_h(token)] = (ns, secret, "system:serviceaccount:%s:%s" % (ns, sa))

    def revoke(self, token):
        with self.lock:
            self.revoked.add(_h(token))
            self.eks_cache.pop(_h(token), None)

    def user_of_token(self, token):
        """The user, or None."""
        h = _h(token)
        with self.lock:
            if h in self.revoked:
                return None
            if h in self.static:
                return self.static[h]
            sa = self.sa.get(h)
            cached = self.eks_cache.get(h)
        if sa:
            ns, secret, user = sa
            cur = self.secret_lookup(ns, secret) if self.secret_lookup else None
            return user if cur == base64.b64encode(token.encode()).decode() else None
        if cached and cached[1] > time.time():
            return cached[0]
        if token.startswith(EKS_PREFIX) and self.sts_url:
            got = self.verify_eks(token)
            if got:
                with self.lock:
                    self.eks_cache[h] = got
                return got[0]
        return None

    def refuse(self, why):
        """Say why an EKS token was refused (never the token itself), for whoever reads the log."""
        print("[%s] EKS token refused: %s" % (self.cluster, why), file=sys.stderr, flush=True)

    def verify_eks(self, token):
        """(ARN, expiry) when STS vouches for the token, else None."""
        b = token[len(EKS_PREFIX):]
        try:
            url = base64.urlsafe_b64decode(b + "=" * (-len(b) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            return self.refuse("not base64url")
        u = urllib.parse.urlsplit(url)
        q = dict(urllib.parse.parse_qsl(u.query))
        if q.get("Action") != "GetCallerIdentity" or "x-k8s-aws-id" not in q.get("X-Amz-SignedHeaders", "").split(";"):
            return self.refuse("not a presigned GetCallerIdentity signing x-k8s-aws-id")
        try:
            signed = datetime.datetime.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except (KeyError, ValueError):
            return self.refuse("no X-Amz-Date")
        expiry = signed + EKS_MAX_AGE
        if expiry <= time.time():
            return self.refuse("expired: signed %s, valid %d s" % (q["X-Amz-Date"], EKS_MAX_AGE))
        sts = urllib.parse.urlsplit(self.sts_url)
        conn_cls = http.client.HTTPSConnection if sts.scheme == "https" else http.client.HTTPConnection
        try:
            conn = conn_cls(sts.hostname, sts.port, timeout=10)
            conn.request("GET", (u.path or "/") + "?" + u.query,
                         headers={"Host": u.netloc, "x-k8s-aws-id": self.cluster, "Accept": "application/json"})
            resp = conn.getresponse()
            data = resp.read().decode("utf-8", "replace")
            conn.close()
        except OSError as e:
            return self.refuse("STS at %s unreachable: %s" % (self.sts_url, e))
        if resp.status != 200:
            code = re.search(r"<Code>([^<]+)</Code>", data)
            return self.refuse("STS answered %d %s" % (resp.status, code.group(1) if code else ""))
        arn = None
        try:
            arn = json.loads(data)["GetCallerIdentityResponse"]["GetCallerIdentityResult"]["Arn"]
        except (ValueError, KeyError, TypeError):
            m = re.search(r"<GetCallerIdentityResult>.*?<Arn>([^<]+)</Arn>", data, re.S)
            arn = m.group(1) if m else None
        return (arn, expiry) if arn else self.refuse("STS named no Arn")


def _openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _key(path):
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    os.chmod(path, 0o600)


def _sign(d, name, subject, ext):
    extfile = os.path.join(d, name + ".ext")
    with open(extfile, "w") as f:
        f.write(ext)
    _key(os.path.join(d, name + ".key"))
    _openssl("req", "-new", "-key", os.path.join(d, name + ".key"), "-subj", subject,
             "-out", os.path.join(d, name + ".csr"))
    _openssl("x509", "-req", "-in", os.path.join(d, name + ".csr"), "-CA", os.path.join(d, "ca.crt"),
             "-CAkey", os.path.join(d, "ca.key"), "-set_serial", str(int(time.time() * 1000)),
             "-days", "30", "-extfile", extfile, "-out", os.path.join(d, name + ".crt"))
    os.remove(extfile)
    os.remove(os.path.join(d, name + ".csr"))


def certs(d, name, client):
    """Make (once: a restarted fake keeps them, so kubeconfigs stay good) ca.crt/ca.key,
    server.crt/server.key (127.0.0.1, localhost) and, if client, client.crt/client.key (CN admin,
    O system:masters)."""
    if not os.path.exists(os.path.join(d, "ca.crt")):
        _key(os.path.join(d, "ca.key"))
        _openssl("req", "-x509", "-new", "-key", os.path.join(d, "ca.key"), "-subj", "/CN=fake-kube-ca-" + name,
                 "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", os.path.join(d, "ca.crt"))
    if not os.path.exists(os.path.join(d, "server.crt")):
        _sign(d, "server", "/CN=kube-apiserver",
              "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n"
              "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
    if client and not os.path.exists(os.path.join(d, "client.crt")):
        _sign(d, "client", "/O=system:masters/CN=admin",
              "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
