"""sigv4.py: AWS Signature Version 4 for the harness's own calls to moto (Python standard library only).

moto in its signature-checking mode (INITIAL_NO_AUTH_ACTION_COUNT) verifies every EC2, IAM, STS,
KMS and logs call, so the proxy's side calls (the EKS stand-in's cluster security group, GetRole,
the release of a NAT gateway's interface) and the orphan counter sign like any client.

  call(url, region, service, method, path, query, body, headers, creds) -> (status, headers, bytes)
  query_call(url, region, service, params, creds)          form-encoded Query API (EC2, IAM, STS)
  json_call(url, region, service, target, body, creds)     JSON 1.1 (KMS "TrentService.X", logs)
  verify_presigned(method, path, query, headers, secret)  checks a presigned URL (an EKS token's STS call)
creds: {"key": ..., "secret": ...} or None (then a fixed test key, enough when moto does not check).
"""
import datetime
import hashlib
import hmac
import http.client
import json
import os
import urllib.parse

TEST_CREDS = {"key": "AKIDHARNESSTEST", "secret": "harness-test-secret"}


def env_creds():
    """The client's credentials from the environment, or None."""
    k, s = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    return {"key": k, "secret": s} if k and s else None


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sign(method, host, path, query, body, headers, region, service, creds, now=None):
    """Add X-Amz-Date, X-Amz-Content-Sha256 and Authorization to headers (a dict)."""
    creds = creds or TEST_CREDS
    now = now or datetime.datetime.now(datetime.timezone.utc)
    amz = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz[:8]
    payload = hashlib.sha256(body).hexdigest()
    headers["Host"] = host
    headers["X-Amz-Date"] = amz
    headers["X-Amz-Content-Sha256"] = payload
    names = sorted(k.lower() for k in headers)
    lower = {k.lower(): " ".join(str(v).strip().split()) for k, v in headers.items()}
    canon_headers = "".join("%s:%s\n" % (n, lower[n]) for n in names)
    pairs = sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
    canon_query = "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                           for k, v in pairs)
    canon_path = urllib.parse.quote(path or "/", safe="/-_.~%")
    creq = "\n".join([method, canon_path, canon_query, canon_headers, ";".join(names), payload])
    scope = "%s/%s/%s/aws4_request" % (day, region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = _hmac(("AWS4" + creds["secret"]).encode(), day)
    for part in (region, service, "aws4_request"):
        k = _hmac(k, part)
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        creds["key"], scope, ";".join(names), sig)
    return headers


def call(url, region, service, method, path, query, body, headers, creds, timeout=60):
    u = urllib.parse.urlsplit(url)
    host = u.netloc
    headers = sign(method, host, path, query, body, dict(headers), region, service, creds)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, path + ("?" + query if query else ""), body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def query_call(url, region, service, params, creds):
    body = urllib.parse.urlencode(params).encode()  # quote_plus: a space as "+", as botocore does
    return call(url, region, service, "POST", "/", "", body,
                {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, creds)


def json_call(url, region, service, target, payload, creds):
    body = json.dumps(payload).encode()
    st, h, data = call(url, region, service, "POST", "/", "", body,
                       {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}, creds)
    try:
        return st, json.loads(data or b"{}")
    except ValueError:
        return st, {"__type": "BadReply", "message": data[:200].decode("utf-8", "replace")}


def verify_presigned(method, path, query, headers, secret, now=None, max_age=900):
    """Check a presigned (query-string) SigV4 URL as AWS does: None if good, else (code, message).
    headers: the request's headers (any mapping with .get, names case-insensitive). A presigned
    STS GetCallerIdentity stays valid for 15 minutes after X-Amz-Date whatever X-Amz-Expires says
    (aws-iam-authenticator relies on it: its tokens say 60 and live 14 minutes), hence max_age."""
    q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    for need in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"):
        if need not in q:
            return "AccessDenied", "missing " + need
    if q["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
        return "IncompleteSignature", "unsupported algorithm"
    try:
        signed_at = datetime.datetime.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return "IncompleteSignature", "bad X-Amz-Date"
    now = now or datetime.datetime.now(datetime.timezone.utc)
    age = (now - signed_at).total_seconds()
    if age > max_age:
        return "ExpiredToken", "Signature expired: %s is now earlier than %s" % (
            (signed_at + datetime.timedelta(seconds=max_age)).strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%dT%H%M%SZ"))
    if age < -300:
        return "SignatureDoesNotMatch", "Signature not yet current"
    cred = q["X-Amz-Credential"].split("/")
    if len(cred) != 5 or cred[4] != "aws4_request":
        return "IncompleteSignature", "bad X-Amz-Credential"
    _, day, region, service, _ = cred
    names = q["X-Amz-SignedHeaders"].lower().split(";")
    canon_headers = ""
    for n in names:
        v = headers.get(n)
        if v is None:
            return "SignatureDoesNotMatch", "signed header %s missing from the request" % n
        canon_headers += "%s:%s\n" % (n, " ".join(str(v).strip().split()))
    pairs = sorted((k, v) for k, v in q.items() if k != "X-Amz-Signature")
    canon_query = "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                           for k, v in pairs)
    canon_path = urllib.parse.quote(path or "/", safe="/-_.~%")
    if secret is None:  # the caller cannot know the key's secret (moto not checking): format only
        return None
    k = _hmac(("AWS4" + secret).encode(), day)
    for part in (region, service, "aws4_request"):
        k = _hmac(k, part)
    # botocore hashes the (empty) body of a presigned GET; other signers write UNSIGNED-PAYLOAD
    for payload in (hashlib.sha256(b"").hexdigest(), "UNSIGNED-PAYLOAD"):
        creq = "\n".join([method, canon_path, canon_query, canon_headers, ";".join(names), payload])
        sts = "\n".join(["AWS4-HMAC-SHA256", q["X-Amz-Date"], "/".join(cred[1:]),
                         hashlib.sha256(creq.encode()).hexdigest()])
        if hmac.compare_digest(hmac.new(k, sts.encode(), hashlib.sha256).hexdigest(), q["X-Amz-Signature"]):
            return None
    return "SignatureDoesNotMatch", ("The request signature we calculated does not match the signature you "
                                     "provided. Check your AWS Secret Access Key and signing method.")
