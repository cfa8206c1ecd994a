#!/usr/bin/env python3
"""proxy.py: a fault-injecting HTTP proxy in front of moto_server (Python standard library only).

It forwards every request to the upstream emulator (EKS excepted: eks.py serves the EKS API itself,
in memory) and, on request, injects what real AWS does to a client: throttling errors per service
and action, 500/503 or any named error, connection resets before or after the call took effect,
delays, and "eventual consistency" (an ID just returned by a Create* call is not found by the
next K calls naming it: Describe*, Modify*, Attach*, Associate*, Authorize*, Revoke*, CreateRoute,
CreateTags; setting "eventual" to 0 makes every pending ID visible). It also fills in what moto lacks and mesh relies on:
DNS64 (ModifySubnetAttribute EnableDns64 is remembered and DescribeSubnets reports
<enableDns64>), so a second plan can be empty; EC2's ClientToken idempotency (moto ignores it: a
repeated CreateRouteTable, CreateNatGateway, CreateLaunchTemplate or CreateEgressOnlyInternetGateway
with the same token gets the first call's answer without reaching moto, as AWS answers; the same
token with other parameters gets IdempotentParameterMismatch); and the release of a deleted NAT gateway's network
interface (moto keeps it forever, so its subnet and VPC could never be deleted).

Actions: a Query call (EC2, IAM, STS) by its Action parameter, a JSON 1.0 or 1.1 call (DynamoDB, KMS,
logs) by its X-Amz-Target ("TrentService.CreateKey" -> service "kms", action "CreateKey";
"DynamoDB_20120810.PutItem" -> "dynamodb", "PutItem"), an EKS call by its
method and path (POST /clusters -> "CreateCluster", see eks.route); the service is the SigV4
credential scope's. A presigned GET of STS GetCallerIdentity (an EKS token being verified) is checked
here (signature with the harness keys, 15-minute age) and answered by moto's GetCallerIdentity for
that key, since moto routes an unsigned GET to S3. Injected errors use the protocol's error shape: XML for Query, {"__type",
"message"} for JSON 1.1, an x-amzn-ErrorType header + {"message"} for REST-JSON (EKS).

S3 (path-style, /BUCKET[/KEY]): a call is named by its method, path and query (s3_action: PUT /b/k ->
"PutObject", GET /b?list-type=2 -> "ListObjectsV2", HEAD /b -> "HeadBucket", GET /b?versioning ->
"GetBucketVersioning"); injected errors are S3's <Error><Code> (throttle: 503 SlowDown), and no body
answers a HEAD.

Control (JSON over HTTP on the same port, never forwarded):
  POST /__faults   {"rules": [RULE...], "eventual": K, "seed": N}   replaces the fault set
  GET  /__stats    {"requests": N, "injected": {KIND: N}, "by_action": {"svc Action": N},
                    "by_service": {"svc": N}, "upstream_errors": {Action: N}} (moto's own 5xx answers)
  POST /__reset    clears the rules and the stats (not the EKS objects nor the /__eks settings)
  GET  /__eks      the EKS stand-in: settings and every cluster, node group and add-on
  POST /__eks      {"hold": {KEY: SECONDS...}, "fail": [KEY...], "iam_delay_calls": N}; each field
                   given replaces that setting. KEY: KIND[.PHASE][:NAME], KIND cluster|nodegroup|addon,
                   PHASE create|update|delete, NAME "cluster-1" | "cluster-1/ng" | "cluster-1/vpc-cni";
                   the most specific key wins (kind.phase:name, kind:name, kind.phase, kind), default 0.
                   fail: that object's create ends FAILED / CREATE_FAILED instead of ACTIVE.
                   iam_delay_calls: a role made by CreateRole fewer than N proxied calls ago cannot
                   be assumed by EKS (CreateCluster / CreateNodegroup: InvalidParameterException).
  POST /__eks/endpoint {"cluster": NAME, "endpoint": "https://127.0.0.1:PORT", "ca": BASE64_PEM}
                   DescribeCluster of NAME (now or later) reports them; both null removes it.
A RULE: {"kind": "throttle"|"500"|"503"|"error"|"reset"|"lost"|"delay", "service": "ec2"|"*",
         "action": "DescribeVpcs"|"*", "rate": 0.3, "first": N, "seconds": 0.5,
         "code": "ResourceInUseException", "status": 409, "message": "..."}
  rate: probability per matching call; first: instead, the first N matching calls.
  error: answer code/status/message (defaults InternalFailure/400) without forwarding.
  reset: close the connection before the call reaches the service; lost: let the call take
  effect, then close the connection without an answer (the client cannot know it happened).

Usage: proxy.py --upstream http://127.0.0.1:PORT [--port 0] [--port-file FILE] [--faults JSON]
                [--keys-file FILE]   ({"key", "secret"}: how the proxy's own calls to moto sign)
"""
import argparse
import http.client
import http.server
import json
import os
import random
import re
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse

import eks
import sigv4

LOCK = threading.Lock()
SERIAL_IAM = threading.Lock()
# moto checks a DynamoDB ConditionExpression, then writes, without a lock between: two
# conditional PutItems at the same moment can both pass (2 winners in 1 of 50 lease races).
# Real DynamoDB evaluates a condition atomically with its write, so its writes go one at a time.
SERIAL_DDB = threading.Lock()
DDB_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
STATE = {"rules": [], "eventual": 0, "pending": {}, "dns64": {}, "stats": None, "counters": {}, "calls": 0}
TOKENS = {}  # (action, ClientToken) -> (params, status, headers, body) of the EC2 call that took effect
EKS = None  # eks.Eks, made in main()
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade"}

NOT_FOUND_CODE = {
    "vpc": "InvalidVpcID.NotFound", "subnet": "InvalidSubnetID.NotFound",
    "igw": "InvalidInternetGatewayID.NotFound", "eigw": "InvalidEgressOnlyInternetGatewayId.NotFound",
    "rtb": "InvalidRouteTableID.NotFound", "sg": "InvalidGroup.NotFound",
    "eipalloc": "InvalidAllocationID.NotFound", "nat": "NatGatewayNotFound",
}


def new_stats():
    return {"requests": 0, "injected": {}, "by_action": {}, "by_service": {}, "upstream_errors": {}}


STATE["stats"] = new_stats()


def service_of(headers, query):
    """The service from the SigV4 credential scope (header or presigned query), as moto does."""
    auth = headers.get("Authorization", "")
    m = re.search(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request", auth)
    if not m:
        cred = urllib.parse.parse_qs(query).get("X-Amz-Credential", [""])[0]
        m = re.search(r"^[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request", cred)
    return m.group(1) if m else "unknown"


def region_of(headers):
    m = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", headers.get("Authorization", ""))
    return m.group(1) if m else "us-east-1"


def protocol_of(service, headers):
    if service == "eks":
        return "rest-json"
    if service == "s3":
        return "rest-xml"
    if headers.get("X-Amz-Target"):
        return "json"
    return "query"


# S3 bucket sub-resources (?versioning, ?location, ...): the action of a bucket call naming one.
S3_SUBRESOURCES = {"versioning": "BucketVersioning", "location": "BucketLocation", "policy": "BucketPolicy",
                   "tagging": "BucketTagging", "encryption": "BucketEncryption", "acl": "BucketAcl"}


def s3_action(method, path, query, headers):
    """The S3 operation of a path-style call: /BUCKET (bucket calls) or /BUCKET/KEY (object calls)."""
    parts = urllib.parse.urlsplit(path).path.lstrip("/").split("/", 1)
    q = urllib.parse.parse_qs(query, keep_blank_values=True)
    if len(parts) == 2 and parts[1]:
        if method == "PUT" and headers.get("x-amz-copy-source"):
            return "CopyObject"
        return {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject", "DELETE": "DeleteObject",
                "POST": "PostObject"}.get(method, method + "Object")
    if not parts[0]:
        return "ListBuckets"
    for sub, name in S3_SUBRESOURCES.items():
        if sub in q:
            return {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method, method) + name
    if method == "GET":
        return "ListObjectsV2" if q.get("list-type") == ["2"] else "ListObjects"
    if method == "POST" and "delete" in q:
        return "DeleteObjects"
    return {"HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method, method + "Bucket")


def s3_error_body(kind, rule=None):
    """An injected error in S3's shape: (status, content type, body, extra headers)."""
    rule = rule or {}
    if kind == "error":
        code, status, msg = rule.get("code", "InternalError"), int(rule.get("status", 400)), \
            rule.get("message", "injected by the harness")
    else:
        code, status, msg = {"throttle": ("SlowDown", 503, "Please reduce your request rate."),
                             "500": ("InternalError", 500, "We encountered an internal error. Please try again."),
                             "503": ("ServiceUnavailable", 503, "Service is unavailable")}[kind]
    rid = "proxy-%d" % random.randint(0, 1 << 30)
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code><Message>%s</Message>"
            "<RequestId>%s</RequestId></Error>" % (code, msg, rid))
    return status, "application/xml", body.encode(), [("x-amz-request-id", rid)]


def action_of(method, path, query, body, ctype, headers=None, service=None):
    """(action, Query params) of a call, whatever its protocol."""
    params = urllib.parse.parse_qs(query)
    if service == "s3":
        return s3_action(method, path, query, headers or {}), params
    if "form-urlencoded" in (ctype or "") and body:
        params.update(urllib.parse.parse_qs(body.decode("utf-8", "replace")))
    if "Action" in params:
        return params["Action"][0], params
    target = (headers or {}).get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1], params
    if service == "eks":
        return eks.route(method, path)[0], params
    return "%s %s" % (method, path.split("?")[0]), params


def error_body(service, kind, protocol="query", rule=None):
    """An AWS-shaped error in the service's protocol: (status, content type, body, extra headers)."""
    rule = rule or {}
    if kind == "error":
        code, status, msg = rule.get("code", "InternalFailure"), int(rule.get("status", 400)), \
            rule.get("message", "injected by the harness")
    else:
        code, status, msg = {
            "throttle": ("RequestLimitExceeded" if service == "ec2" else "Throttling", 400, "Rate exceeded"),
            "500": ("InternalError", 500, "An internal error has occurred"),
            "503": ("ServiceUnavailable", 503, "Service is unavailable"),
        }[kind]
        if kind == "throttle" and service == "ec2":
            status = 503  # EC2 answers RequestLimitExceeded with 503
        if protocol != "query":
            code = {"throttle": "ThrottlingException", "500": "InternalFailure" if protocol == "json"
                    else "ServerException", "503": "ServiceUnavailableException"}[kind]
            status = 429 if kind == "throttle" and protocol == "rest-json" else status
            if kind == "throttle" and service == "dynamodb":
                code = "ProvisionedThroughputExceededException"  # DynamoDB's own word for it
    rid = "proxy-%d" % random.randint(0, 1 << 30)
    if protocol == "json":
        ctype = "application/x-amz-json-1.0" if service == "dynamodb" else "application/x-amz-json-1.1"
        return status, ctype, json.dumps({"__type": code, "message": msg}).encode(), [("x-amzn-RequestId", rid)]
    if protocol == "rest-json":
        return status, "application/json", json.dumps({"message": msg}).encode(), \
            [("x-amzn-ErrorType", code), ("x-amzn-RequestId", rid)]
    if service == "ec2":
        body = ("<?xml version=\"1.0\"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message>"
                "</Error></Errors><RequestID>%s</RequestID></Response>" % (code, msg, rid))
    else:
        body = ("<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
                "<RequestId>%s</RequestId></ErrorResponse>" % (code, msg, rid))
    return status, "text/xml", body.encode(), []


def pick_fault(service, action):
    """The first rule that fires for this call, or None. Caller holds LOCK."""
    for i, r in enumerate(STATE["rules"]):
        if r.get("service", "*") not in ("*", service) or r.get("action", "*") not in ("*", action):
            continue
        if "first" in r:
            n = STATE["counters"].get(i, 0)
            STATE["counters"][i] = n + 1
            if n < r["first"]:
                return r
        elif random.random() < r.get("rate", 0):
            return r
    return None


# The calls that follow a create on the new ID (real EC2 may answer them NotFound for a while).
EVENTUAL_ACTIONS = ("Describe", "Modify", "Attach", "Associate", "Authorize", "Revoke")


def eventual_hit(action, params):
    """An ID created moments ago and named by this call (a Describe*, Modify*, Attach*, Associate*,
    Authorize*, Revoke*, CreateRoute or CreateTags): its NotFound code. Caller holds LOCK."""
    if not action.startswith(EVENTUAL_ACTIONS) and action not in ("CreateRoute", "CreateTags"):
        return None
    named = {v for vals in params.values() for v in vals}
    for rid, left in list(STATE["pending"].items()):
        if rid in named and left > 0:
            STATE["pending"][rid] = left - 1
            return NOT_FOUND_CODE.get(rid.split("-")[0], "InvalidID.NotFound")
    return None


def note_created(action, body):
    if STATE["eventual"] <= 0 or not action.startswith("Create"):
        return
    # The created object's own ID (CreateVpc -> <vpcId>), not another one the reply names (the
    # <vpcId> of a CreateSubnet): a parent made by an earlier call must not go invisible again.
    what = action[len("Create"):]
    tag = "groupId" if what == "SecurityGroup" else what[:1].lower() + what[1:] + "Id"
    m = re.search(rb"<(%s)>([a-z]+-[0-9a-f]+)</\1>" % tag.encode(), body)
    if m:
        STATE["pending"][m.group(2).decode()] = STATE["eventual"]


def fill_dns64(body):
    """moto does not report enableDns64: add it beside every subnetId, from what was asked."""
    if b"<enableDns64>" in body:
        return body

    def add(m):
        val = STATE["dns64"].get(m.group(1).decode(), "false")
        return m.group(0) + b"<enableDns64>" + val.encode() + b"</enableDns64>"
    return re.sub(rb"<subnetId>([^<]+)</subnetId>", add, body)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits ~40 ms for the
    # client's delayed ACK of the headers, on every reply of a kept-alive connection.
    disable_nagle_algorithm = True
    upstream = None

    def log_message(self, fmt, *args):  # quiet: the test prints what matters
        pass

    def _reply(self, status, ctype, body, extra=()):
        if self.command == "HEAD":  # a HEAD answer has headers only (S3's HeadObject errors)
            body = b""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status, obj):
        return self._reply(status, "application/json", json.dumps(obj, sort_keys=True).encode())

    def _control(self, body):
        path = self.path.split("?", 1)[0]
        if path == "/__stats":
            with LOCK:
                out = json.dumps(STATE["stats"]).encode()
            return self._reply(200, "application/json", out)
        try:
            cfg = json.loads(body or b"{}")
            if path == "/__eks" and self.command == "GET":
                return self._json(200, EKS.snapshot())
            if path == "/__eks":
                EKS.configure(cfg)
                return self._json(200, {})
            if path == "/__eks/endpoint":
                EKS.set_endpoint(cfg)
                return self._json(200, {})
        except (ValueError, TypeError, AttributeError) as e:
            return self._json(400, {"error": str(e)})
        with LOCK:
            if path == "/__reset":
                STATE.update(rules=[], eventual=0, pending={}, counters={}, stats=new_stats())
            elif path == "/__faults":
                STATE.update(rules=cfg.get("rules", []), eventual=cfg.get("eventual", 0), counters={})
                if STATE["eventual"] <= 0:
                    STATE["pending"] = {}  # consistency reached: nothing stays invisible
                if "seed" in cfg:
                    random.seed(cfg["seed"])
            else:
                return self._json(404, {"error": "no control " + path})
        return self._json(200, {})

    def _reset_connection(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.path.startswith("/__"):
            return self._control(body)
        query = urllib.parse.urlsplit(self.path).query
        service = service_of(self.headers, query)
        protocol = protocol_of(service, self.headers)
        action, params = action_of(self.command, self.path, query, body, self.headers.get("Content-Type"),
                                   self.headers, service)
        with LOCK:
            STATE["calls"] += 1
            callno = STATE["calls"]
            st = STATE["stats"]
            st["requests"] += 1
            key = "%s %s" % (service, action)
            st["by_action"][key] = st["by_action"].get(key, 0) + 1
            st["by_service"][service] = st["by_service"].get(service, 0) + 1
            fault = pick_fault(service, action)
            gone = None if fault else eventual_hit(action, params)
            kind = fault["kind"] if fault else ("eventual" if gone else None)
            if kind:
                st["injected"][kind] = st["injected"].get(kind, 0) + 1
            if action == "ModifySubnetAttribute" and "EnableDns64.Value" in params:
                STATE["dns64"][params.get("SubnetId", [""])[0]] = params["EnableDns64.Value"][0].lower()
        if kind == "reset":
            return self._reset_connection()
        if kind == "delay":
            time.sleep(float(fault.get("seconds", 0.5)))
        elif kind in ("throttle", "500", "503", "error") and protocol == "rest-xml":
            return self._reply(*s3_error_body(kind, fault))
        elif kind in ("throttle", "500", "503", "error"):
            return self._reply(*error_body(service, kind, protocol, fault))
        elif kind == "eventual":
            xml = ("<?xml version=\"1.0\"?><Response><Errors><Error><Code>%s</Code><Message>not yet visible"
                   "</Message></Error></Errors><RequestID>proxy-eventual</RequestID></Response>" % gone)
            return self._reply(400, "text/xml", xml.encode())
        if service == "eks":
            return self._serve_eks(body, query, callno, lost=kind == "lost")
        if service == "sts" and self.command == "GET" and "X-Amz-Signature" in params:
            return self._presigned_sts(query, params, lost=kind == "lost")
        self._forward(body, action, params, callno, lost=kind == "lost")

    def _serve_eks(self, body, query, callno, lost):
        status, headers, out = EKS.handle(self.command, self.path, query, body, region_of(self.headers), callno)
        if lost:
            return self._reset_connection()
        data = json.dumps(out).encode()
        self._reply(status, "application/json", data, headers + [("x-amzn-RequestId", str(eks.uuid.uuid4()))])

    def _presigned_sts(self, query, params, lost):
        """A presigned GET (an EKS token a Kubernetes API server checks): moto routes an unsigned GET by
        Host (127.0.0.1 is S3) and never checks a query-string signature, so the proxy checks it here,
        then answers with moto's own GetCallerIdentity, called with the keys that signed the URL."""
        key = params["X-Amz-Credential"][0].split("/")[0]
        scope = params["X-Amz-Credential"][0].split("/")
        region = scope[2] if len(scope) > 2 else "us-east-1"
        path = urllib.parse.urlsplit(self.path).path

        def deny(code, msg, status=403):
            return self._reply(*error_body("sts", "error", "query", {"code": code, "status": status, "message": msg}))
        if params.get("Action", [""])[0] != "GetCallerIdentity":
            return deny("InvalidAction", "only GetCallerIdentity may be presigned here", 400)
        creds = EKS.up.creds  # None when moto checks no signature: then any key passes, as moto does
        if creds and key != creds["key"]:
            return deny("InvalidClientTokenId", "The security token included in the request is invalid.")
        bad = sigv4.verify_presigned(self.command, path, query, self.headers, creds["secret"] if creds else None)
        if bad:
            return deny(*bad)
        st, _, data = sigv4.query_call(self.upstream, region, "sts",
                                       {"Action": "GetCallerIdentity", "Version": "2011-06-15"},
                                       creds or {"key": key, "secret": "unchecked"})
        if lost:
            return self._reset_connection()
        self._reply(st, "text/xml", data)

    def _release_nat_eni(self, nat_id):
        region = region_of(self.headers)
        st, root = EKS.up.ec2(region, "DescribeNatGateways", **{"NatGatewayId.1": nat_id})
        for eni in (root.iter("networkInterfaceId") if root is not None else []):
            EKS.up.ec2(region, "DeleteNetworkInterface", NetworkInterfaceId=eni.text)

    def _forward(self, body, action, params, callno, lost=False):
        u = urllib.parse.urlsplit(self.upstream)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        # moto's IAM is not thread-safe: AttachRolePolicy iterates the managed policies while a
        # concurrent CreatePolicy adds one ("dictionary changed size during iteration", a 500 AWS
        # never gives). Its security groups share rule lists the same way: a parallel rollback's
        # RevokeSecurityGroupEgress got an HTML 500 once in a crash loop. IAM calls, and EC2 calls
        # on security groups, go to moto one at a time; the others stay concurrent.
        svc = service_of(self.headers, urllib.parse.urlsplit(self.path).query)
        serial = SERIAL_IAM if svc == "iam" or (svc == "ec2" and "SecurityGroup" in (action or "")) else None
        if svc == "dynamodb" and action in DDB_WRITES:
            serial = SERIAL_DDB
        token = (action, params["ClientToken"][0]) if svc == "ec2" and params.get("ClientToken") else None
        with LOCK:
            seen = TOKENS.get(token) if token else None
        if seen and seen[0] != params:
            return self._reply(*error_body("ec2", "error", "query", {
                "code": "IdempotentParameterMismatch", "status": 400,
                "message": "the client token was used with other parameters"}))
        if seen:  # the call took effect before: its answer again, nothing new made
            status, rheaders, data = seen[1:]
            return self._answer(status, rheaders, data, lost)
        if serial:
            serial.acquire()
        try:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
        finally:
            if serial:
                serial.release()
        if token and resp.status == 200:
            with LOCK:
                TOKENS[token] = (params, resp.status, resp.getheaders(), data)
        if action == "DeleteNatGateway" and resp.status == 200:
            self._release_nat_eni(params.get("NatGatewayId", [""])[0])
        if action == "CreateRole" and resp.status == 200:
            EKS.note_role(params.get("RoleName", [""])[0], callno)
        if resp.status >= 500:  # moto itself failed (an exception inside it): say which call, for the log
            print("upstream %d on %s: %s" % (resp.status, action, data[:300]), file=sys.stderr, flush=True)
        with LOCK:
            if resp.status >= 500:
                ue = STATE["stats"]["upstream_errors"]
                ue[action] = ue.get(action, 0) + 1
            if resp.status == 200:
                note_created(action, data)
            if action == "DescribeSubnets" and resp.status == 200:
                data = fill_dns64(data)
        self._answer(resp.status, resp.getheaders(), data, lost)

    def _answer(self, status, rheaders, data, lost):
        if lost:
            return self._reset_connection()
        self.send_response(status)
        for k, v in rheaders:
            if k.lower() not in HOP and k.lower() not in ("server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global EKS
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--faults", help="initial fault set, JSON as for POST /__faults")
    ap.add_argument("--keys-file", help='{"key": ..., "secret": ...}: how the proxy signs its own calls to moto')
    a = ap.parse_args()
    Handler.upstream = a.upstream
    EKS = eks.Eks(eks.Upstream(a.upstream, a.keys_file))
    if a.faults:
        cfg = json.loads(a.faults)
        STATE.update(rules=cfg.get("rules", []), eventual=cfg.get("eventual", 0))
    srv = Server(("127.0.0.1", a.port), Handler)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.replace(a.port_file + ".tmp", a.port_file)
    print("proxy on 127.0.0.1:%d -> %s" % (srv.server_address[1], a.upstream), file=sys.stderr)
    srv.serve_forever()


if __name__ == "__main__":
    main()
