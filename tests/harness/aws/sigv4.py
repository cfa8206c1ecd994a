"""sigv4.py: AWS Signature Version 4 for the harness's own calls to moto (Python standard library only).

moto in its signature-checking mode (INITIAL_NO_AUTH_ACTION_COUNT) verifies every EC2, IAM, STS,
KMS and logs call, so the proxy's side calls (the EKS stand-in's cluster security group, GetRole,
the release of a NAT gateway's interface) and the orphan counter sign like any client.

  call(url, region, service, method, path, query, body, headers, creds) -> (status, headers, bytes)
  query_call(url, region, service, params, creds)          form-encoded Query API (EC2, IAM, STS)
  json_call(url, region, service, target, body, creds)     JSON 1.1 (KMS "TrentService.X", logs)
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
