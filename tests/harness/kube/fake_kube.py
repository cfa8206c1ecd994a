#!/usr/bin/env python3
"""fake_kube.py: a fake Kubernetes API server for tests; one process is one cluster.
Python 3 standard library plus PyYAML; certificates come from the openssl CLI.

The real kubectl (v1.32) and helm talk to it. It speaks HTTPS (HTTP/1.1, keep-alive), checks
bearer tokens and client certificates (auth.py), serves discovery and OpenAPI (discovery.py),
generic CRUD, PATCH of every kind and server-side apply with field managers and conflicts
(api.py, patch.py, ssa.py) for the kinds in store.py plus those CRDs add, watches, and a
controller thread (controllers.py): default ServiceAccounts, service-account tokens, Deployment
rollouts, Pods of workloads (pods.py), Jobs and their curl replies (traffic.py), Service IPs and
load balancers (only with an aws-load-balancer-controller), CRD conditions, namespace termination.
Every authenticated user may do everything (no RBAC); request bodies are not validated against
schemas (fieldValidation=Strict is accepted and ignored).

Usage: fake_kube.py --dir D [--port-file F] [--port N] [--name NAME]
                    [--token T[:USER]]... [--token-file F] [--client-ca] [--sts-url URL]
                    [--refuse-seconds N] [--eks-node]
  --dir D            its certificates (D/ca.crt, D/server.crt, with --client-ca D/client.crt and
                     D/client.key: CN admin, O system:masters) made once and kept across restarts,
                     and D/objects.json: the objects it held when stopped (SIGTERM), as GET
                     /__fake/objects gives them. Objects live in memory: a restart starts empty.
  --token T[:USER]   a static bearer token (user admin unless given); --token-file F: one
                     "TOKEN [USER]" per line (keeps tokens off the command line)
  --sts-url URL      where EKS tokens (k8s-aws-v1.) are checked: the AWS harness proxy
  --refuse-seconds N the port is bound (and in the port file) at once, but listened on only after
                     N seconds: until then a client gets "connection refused"
  --eks-node         seed kube-system/aws-node as EKS has it: a DaemonSet (applied by manager "eks")
                     with the aws-vpc-cni-init init container and its env, and its ServiceAccount
Namespaces default, kube-system, kube-public and kube-node-lease exist from the start, with uids
that depend only on --name (stable across restarts). Workloads get Pods (pods.py); GET
/api/v1/namespaces/NS/pods/NAME/log is a Pod's log: for a Job's Pod that calls curl, the replies
traffic.py computes (endpoints in this cluster and, through remote secrets, in others).
Protobuf: kubectl's and helm's typed clients send application/vnd.kubernetes.protobuf bodies for a
few core kinds (kubectl create namespace/secret/configmap/serviceaccount, DeleteOptions...); pb.py
decodes those (Namespace, Secret, ConfigMap, ServiceAccount, Service, DeleteOptions, SelfSubjectReview,
TokenRequest); a protobuf body of any other kind is answered 415. Replies are always JSON, which
those clients accept (their Accept header lists it after protobuf).

Control endpoints (no authentication, JSON):
  POST /__fake/faults {"rules": [RULE...]}   adds rules; RULE: {"method": "PATCH"|"*", "path_re":
       REGEX (searched in the path with its query), "status": 429, "retry_after": 1, "count": 2,
       "delay": 3, "message": "..."}; a matching request waits `delay` seconds, then (if status)
       is answered with that status as a Status object (Retry-After when retry_after); after
       `count` matches (default: no limit) the rule is spent; "rate": 0.1 makes a rule fire on that
       share of the requests it matches (at random; tests/reliability/storm.sh's 429/409 storm)
  POST /__fake/reset-faults                   drops every rule
  GET  /__fake/stats   {"total", "by_request": {"METHOD /path": N}, "by_status": {"200": N},
                        "faults_fired": N, "log": [{"method", "path", "status", "user", "ctype"}...]}
  GET  /__fake/objects {"objects": [every object, Secrets' data redacted]}
  POST /__fake/revoke {"token": T}            T is refused from now on
Each request is logged to stderr: name, method, path, status, user (never a token or Secret data).
"""
import argparse
import base64
import calendar
import copy
import json
import os
import random
import re
import secrets
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import auth as authlib  # noqa: E402
import pb  # noqa: E402
import discovery  # noqa: E402
from api import Api, ApiError, status_obj  # noqa: E402
from controllers import Controllers  # noqa: E402
from store import Store, match_fields, match_labels, parse_field_selector, parse_label_selector  # noqa: E402

STATE = {"rules": [], "fired": 0, "stats": {}, "log": [], "lock": threading.Lock()}
REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
           409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
PATCH_TYPES = {"application/json-patch+json": "json", "application/merge-patch+json": "merge",
               "application/strategic-merge-patch+json": "strategic", "application/apply-patch+yaml": "apply",
               "application/apply-patch+cbor": None}


class ShortBody(Exception):
    """The connection ended before the request's whole body came."""


def read_body(rfile, headers):
    """A request's body (Content-Length or chunked); ShortBody when the client went away part way
    through: a real API server never acts on half a request, and storing one (helm's release Secret
    cut off by kill -9) leaves data nobody can decode."""
    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        data = b""
        while True:
            line = rfile.readline()
            if not line.endswith(b"\n"):
                raise ShortBody("chunk size line")
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                rfile.readline()
                return data
            chunk = rfile.read(size)
            if len(chunk) < size or not rfile.readline().endswith(b"\n"):
                raise ShortBody("chunk of %d bytes" % size)
            data += chunk
    n = int(headers.get("Content-Length") or 0)
    data = rfile.read(n) if n else b""
    if len(data) < n:
        raise ShortBody("%d of %d bytes" % (len(data), n))
    return data


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits ~40 ms for the
    # client's delayed ACK of the headers, on every reply of a kept-alive connection.
    disable_nagle_algorithm = True
    server_version = "fake-kube"
    api = None
    store = None
    auth = None
    controllers = None
    name = "fake"
    addr = ""

    def log_message(self, fmt, *args):
        pass

    # ---- replies ----
    def send_json(self, code, obj, extra=()):
        if getattr(self, "_writes", False) and 200 <= code < 300 and self.controllers:
            self.controllers.reconcile()
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._status = code

    def send_status(self, code, message, reason=None, details=None, extra=()):
        self.send_json(code, status_obj(code, reason or REASONS.get(code, "Unknown"), message, details), extra)

    def _log(self):
        user = getattr(self, "_user", None) or "-"
        line = "[%s] %s %s %s %s" % (self.name, self.command, self.path, getattr(self, "_status", 0), user)
        print(line, file=sys.stderr, flush=True)
        if self.path.startswith("/__fake/"):
            return
        key = "%s %s" % (self.command, self.path.split("?", 1)[0])
        with STATE["lock"]:
            st = STATE["stats"]
            st.setdefault("by_request", {})[key] = st.get("by_request", {}).get(key, 0) + 1
            code = str(getattr(self, "_status", 0))
            st.setdefault("by_status", {})[code] = st.get("by_status", {}).get(code, 0) + 1
            st["total"] = st.get("total", 0) + 1
            STATE["log"].append({"method": self.command, "path": self.path, "status": getattr(self, "_status", 0),
                                 "user": user, "ctype": self.headers.get("Content-Type", "")})
            del STATE["log"][:-2000]

    # ---- entry ----
    def _handle(self):
        self._status, self._user, self._groups, self._writes = 0, None, [], False
        try:
            self._dispatch()
        except (OSError, ssl.SSLError, ShortBody):  # the client went away (a watch, a killed mesh or helm)
            self.close_connection = True
        except ApiError as e:
            self.send_json(e.code, e.status())
        except Exception as e:  # a bug: a 500 the test sees, and the traceback in the log
            traceback.print_exc()
            try:
                self.send_status(500, "fake_kube: %r" % e)
            except OSError:
                pass
        finally:
            self._log()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    def _body(self):
        return read_body(self.rfile, self.headers)

    def _dispatch(self):
        raw = self._body()
        u = urllib.parse.urlsplit(self.path)
        path, q = u.path, {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        if path.startswith("/__fake/"):
            return self._control(path, raw)
        if path in ("/healthz", "/livez", "/readyz"):
            body = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(body)
            self._status = 200
            return
        if self._fault():
            return
        self._user = self._authenticate()
        if not self._user:
            return self.send_status(401, "Unauthorized")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if raw and ctype == "application/vnd.kubernetes.protobuf":
            try:
                raw, ctype = json.dumps(pb.decode(raw)).encode(), "application/json"
            except (pb.Unsupported, IndexError, UnicodeDecodeError, ValueError, struct.error) as e:
                return self.send_status(415, "the body of the request was in an unknown format - accepted media "
                                             "types include: application/json, application/yaml (fake_kube decodes "
                                             "protobuf only for %s; not %s)" % (", ".join(sorted(pb.KINDS)), e))
        if path == "/version" or path == "/version/":
            return self.send_json(200, discovery.VERSION)
        if path == "/api":
            return self.send_json(200, discovery.api_versions(self.addr))
        if path == "/apis":
            return self.send_json(200, discovery.api_groups(self.store))
        if path == "/openapi/v2":
            return self.send_json(200, discovery.OPENAPI_V2)
        if path == "/openapi/v3":
            return self.send_json(200, discovery.openapi_root(self.store))
        if path.startswith("/openapi/v3/"):
            parts = path[len("/openapi/v3/"):].strip("/").split("/")
            doc = None
            if parts[0] == "api" and len(parts) == 2:
                doc = discovery.openapi_gv(self.store, "", parts[1])
            elif parts[0] == "apis" and len(parts) == 3:
                doc = discovery.openapi_gv(self.store, parts[1], parts[2])
            return self.send_json(200, doc) if doc else self.send_status(404, "not found")
        self._writes = self.command in ("POST", "PUT", "PATCH", "DELETE") and not q.get("dryRun")
        return self._resource(path, q, raw, ctype)

    # ---- faults and control ----
    def _fault(self):
        with STATE["lock"]:
            rule = None
            for r in STATE["rules"]:
                if r.get("count", 1) <= 0 and "count" in r:
                    continue
                if r.get("method", "*") not in ("*", self.command):
                    continue
                if r.get("path_re") and not re.search(r["path_re"], self.path):
                    continue
                if "rate" in r and random.random() >= float(r["rate"]):
                    continue
                rule = r
                if "count" in r:
                    r["count"] -= 1
                STATE["fired"] += 1
                break
        if not rule:
            return False
        if rule.get("delay"):
            time.sleep(float(rule["delay"]))
        if not rule.get("status"):
            return False
        code = int(rule["status"])
        extra = [("Retry-After", str(rule["retry_after"]))] if rule.get("retry_after") is not None else []
        self.send_status(code, rule.get("message", "injected by fake_kube"), extra=extra)
        return True

    def _control(self, path, raw):
        try:
            cfg = json.loads(raw or b"{}")
        except ValueError:
            return self.send_status(400, "bad JSON")
        if path == "/__fake/faults" and self.command == "POST":
            with STATE["lock"]:
                STATE["rules"].extend(cfg.get("rules", []))
            return self.send_json(200, {"rules": len(STATE["rules"])})
        if path == "/__fake/reset-faults":
            with STATE["lock"]:
                STATE["rules"] = []
            return self.send_json(200, {})
        if path == "/__fake/stats":
            with STATE["lock"]:
                out = dict(STATE["stats"], faults_fired=STATE["fired"], log=list(STATE["log"]),
                           rules_left=[r for r in STATE["rules"] if r.get("count", 1) > 0])
            return self.send_json(200, out)
        if path == "/__fake/objects":
            return self.send_json(200, {"objects": dump_objects(self.api)})
        if path == "/__fake/revoke" and self.command == "POST":
            self.auth.revoke(cfg.get("token", ""))
            return self.send_json(200, {})
        return self.send_status(404, "no control endpoint " + path)

    # ---- authentication ----
    def _authenticate(self):
        try:
            cert = self.connection.getpeercert()
        except (AttributeError, ValueError):
            cert = None
        if cert:
            subject = [kv for rdn in cert.get("subject", ()) for kv in rdn]
            self._groups = [v for k, v in subject if k == "organizationName"]
            cn = [v for k, v in subject if k == "commonName"]
            if cn:
                return cn[0]
        h = self.headers.get("Authorization", "")
        if h[:7].lower() == "bearer ":
            return self.auth.user_of_token(h[7:].strip())
        return None

    # ---- resources ----
    def _route(self, path):
        """(kind, namespace, name, subresource, watch) or None."""
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        watch = False
        if rest[:1] == ["watch"]:
            watch, rest = True, rest[1:]
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            return None
        kind = self.store.kind(group, version, rest[0])
        if not kind:
            return None
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        return kind, ns, name, sub, watch

    def _resource(self, path, q, raw, ctype):
        parts = [p for p in path.split("/") if p]
        if parts == ["api", "v1"]:
            return self.send_json(200, discovery.resource_list(self.store, "", "v1"))
        if len(parts) == 2 and parts[0] == "apis":
            doc = discovery.api_group(self.store, parts[1])
            return self.send_json(200, doc) if doc else self.send_status(404, "the server could not find the "
                                                                             "requested resource")
        if len(parts) == 3 and parts[0] == "apis":
            doc = discovery.resource_list(self.store, parts[1], parts[2])
            return self.send_json(200, doc) if doc else self.send_status(404, "the server could not find the "
                                                                             "requested resource")
        r = self._route(path)
        if not r:
            return self.send_status(404, "the server could not find the requested resource")
        kind, ns, name, sub, watch = r
        if kind.namespaced is False and ns:
            return self.send_status(404, "the server could not find the requested resource")
        if sub and sub not in ("status", "finalize", "scale", "token") and (sub, kind.kind) != ("log", "Pod"):
            return self.send_status(404, "the server could not find the requested resource")
        if sub == "log":
            return self._pod_log(ns, name, q) if self.command in ("GET", "HEAD") else self.send_status(
                405, "the server does not allow this method on the requested resource")
        m = self.command
        manager = q.get("fieldManager") or (self.headers.get("User-Agent") or "unknown").split("/")[0].split(" ")[0]
        dry = bool(q.get("dryRun"))
        if "create" in kind.verbs and kind.verbs == ["create"]:
            if m != "POST" or name:
                return self.send_status(405, "the server does not allow this method on the requested resource")
            return self._review(kind, self._parse(raw, ctype))
        if kind.namespaced and ns is None and (name or m not in ("GET", "HEAD")):
            return self.send_status(404, "the server could not find the requested resource")
        if m in ("GET", "HEAD") and (watch or q.get("watch") in ("true", "1")):
            return self._watch(kind, ns, name, q)
        if m in ("GET", "HEAD"):
            if name:
                obj = self.api.get(kind, ns, name)
                if sub == "scale":
                    obj = scale_of(obj)
                elif "as=Table" in self.headers.get("Accept", ""):
                    obj = table_of(kind, [obj], obj["metadata"]["resourceVersion"])
                return self.send_json(200, obj)
            return self._send_list(kind, ns, q)
        if m == "POST" and not name:
            code, obj = self.api.create(kind, ns, self._parse(raw, ctype), manager, dry)
            return self.send_json(code, obj)
        if m == "POST" and sub == "token" and kind.kind == "ServiceAccount":
            return self._token_request(ns, name, self._parse(raw, ctype))
        if m == "PUT" and name:
            body = self._parse(raw, ctype)
            if sub == "scale":
                cur = self.api.get(kind, ns, name)
                cur["spec"]["replicas"] = (body.get("spec") or {}).get("replicas", 1)
                cur["metadata"].pop("managedFields", None)
                code, obj = self.api.replace(kind, ns, name, cur, manager, None, dry)
                return self.send_json(code, scale_of(obj))
            code, obj = self.api.replace(kind, ns, name, body, manager, sub, dry)
            return self.send_json(code, obj)
        if m == "PATCH" and name:
            ptype = PATCH_TYPES.get(ctype)
            if not ptype:
                return self.send_status(415, "the body of the request was in an unknown format - accepted media "
                                             "types include: " + ", ".join(t for t, v in PATCH_TYPES.items() if v))
            body = self._parse(raw, "yaml" if ptype == "apply" else "application/json")
            code, obj = self.api.patch(kind, ns, name, ptype, body, q.get("fieldManager") if ptype == "apply"
                                       else manager, q.get("force") == "true", sub, dry)
            return self.send_json(code, obj)
        if m == "DELETE" and name:
            opts = self._parse(raw, ctype) if raw else {}
            if q.get("propagationPolicy"):
                opts["propagationPolicy"] = q["propagationPolicy"]
            code, obj = self.api.delete(kind, ns, name, opts, dry)
            return self.send_json(code, obj)
        if m == "DELETE" and not name:
            lst = self.api.list(kind, ns, q.get("labelSelector"), q.get("fieldSelector"))
            for item in lst["items"]:
                try:
                    self.api.delete(kind, item["metadata"].get("namespace"), item["metadata"]["name"], {}, dry)
                except ApiError:
                    pass
            return self.send_json(200, lst)
        return self.send_status(405, "the server does not allow this method on the requested resource")

    def _pod_log(self, ns, name, q):
        """The pod's log: a Job pod's computed by traffic.py, others' empty."""
        pod = self.api.get(self.store.kind("", "v1", "pods"), ns, name)
        names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
        if q.get("container") and q["container"] not in names:
            return self.send_status(400, "container %s is not valid for pod %s" % (q["container"], name))
        if (pod.get("status") or {}).get("phase") in (None, "Pending"):  # as the kubelet: nothing to read yet
            return self.send_status(400, 'container "%s" in pod "%s" is waiting to start: ContainerCreating'
                                    % (q.get("container") or (names or [""])[0], name))
        text = self.controllers.traffic.log_of(ns, name)
        if q.get("tailLines", "").isdigit():
            lines = text.splitlines(True)
            text = "".join(lines[len(lines) - int(q["tailLines"]):]) if int(q["tailLines"]) < len(lines) else text
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._status = 200

    def _parse(self, raw, ctype):
        try:
            if "yaml" in ctype:
                body = yaml.safe_load(raw.decode("utf-8")) if raw else {}
            else:
                body = json.loads(raw or b"{}")
        except (ValueError, yaml.YAMLError, UnicodeDecodeError) as e:
            raise ApiError(400, "BadRequest", "the body could not be decoded: %s" % str(e).splitlines()[0])
        return body

    def _send_list(self, kind, ns, q):
        lst = self.api.list(kind, ns, q.get("labelSelector"), q.get("fieldSelector"))
        accept = self.headers.get("Accept", "")
        if "as=Table" in accept:
            return self.send_json(200, table_of(kind, lst["items"], lst["metadata"]["resourceVersion"]))
        return self.send_json(200, lst)

    def _review(self, kind, body):
        user = self._user
        if kind.kind == "SelfSubjectReview":
            groups = getattr(self, "_groups", []) + ["system:authenticated"] + (
                ["system:serviceaccounts"] if user.startswith("system:serviceaccount:") else [])
            return self.send_json(201, {"kind": "SelfSubjectReview", "apiVersion": kind.api_version,
                                        "metadata": {"creationTimestamp": None},
                                        "status": {"userInfo": {"username": user, "groups": groups}}})
        if kind.kind == "SelfSubjectAccessReview":
            out = dict(body, status={"allowed": True, "reason": "the fake API server allows everything"})
            return self.send_json(201, out)
        token = ((body or {}).get("spec") or {}).get("token", "")
        who = self.auth.user_of_token(token) if token else None
        out = dict(body or {}, status={"authenticated": bool(who), "user": {"username": who} if who else {}})
        return self.send_json(201, out)

    def _token_request(self, ns, name, body):
        sak = self.store.kind("", "v1", "serviceaccounts")
        self.api.get(sak, ns, name)
        token = "fk-tr-" + secrets.token_urlsafe(32)
        secret_name = "token-request-" + secrets.token_hex(4)
        # The token lives as a hidden token Secret (so auth.py checks it the same way).
        sk = self.store.kind("", "v1", "secrets")
        self.api.create(sk, ns, {"metadata": {"name": secret_name, "annotations": {
            "kubernetes.io/service-account.name": name}}, "type": "kubernetes.io/service-account-token",
            "data": {"token": base64.b64encode(token.encode()).decode()}}, "kube-apiserver")
        self.auth.add_sa_token(token, ns, secret_name, name)
        exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        return self.send_json(201, {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                                    "metadata": {"name": name, "namespace": ns},
                                    "spec": (body or {}).get("spec") or {},
                                    "status": {"token": token, "expirationTimestamp": exp}})

    # ---- watch ----
    def _watch(self, kind, ns, name, q):
        try:
            lreq = parse_label_selector(q.get("labelSelector"))
            freq = parse_field_selector(q.get("fieldSelector"))
        except ValueError as e:
            raise ApiError(400, "BadRequest", str(e))
        if name:
            freq.append(("metadata.name", "=", name))
        timeout = float(q.get("timeoutSeconds") or 30)
        rv = q.get("resourceVersion") or ""

        def match(group, plural, ons, obj):
            return (group == kind.group and plural == kind.plural and (ns is None or ons == ns)
                    and match_labels(lreq, obj["metadata"].get("labels")) and match_fields(freq, obj))

        def event(etype, obj):
            obj = dict(obj, apiVersion=kind.api_version, kind=kind.kind)
            return {"type": etype, "object": obj}
        st = self.store
        with st.lock:
            hist = st.history
            from_rv = int(rv) if rv.isdigit() and rv != "0" and q.get("sendInitialEvents") != "true" else None
            if from_rv is None:  # no resourceVersion (or a watch-list): the current objects, as ADDED
                first = [event("ADDED", self.api.render(kind, e)) for e in st.entries(kind, ns)
                         if match(kind.group, kind.plural, e["obj"]["metadata"].get("namespace", ""), e["obj"])]
            elif from_rv >= st.rv or (hist and hist[0][0] <= from_rv + 1):  # what happened since
                first = [event(h[1], h[5]) for h in hist if h[0] > from_rv and match(*h[2:5], h[5])]
            else:
                first = None  # too old: the history no longer holds it (410 Expired)
            last = st.rv
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._status = 200

        def chunk(data):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        if first is None:
            chunk(json.dumps({"type": "ERROR", "object": status_obj(
                410, "Expired", "too old resource version: %s (%d)" % (rv, last))}).encode() + b"\n")
            chunk(b"")
            self.close_connection = True
            return
        for ev in first:
            chunk(json.dumps(ev).encode() + b"\n")
        if q.get("sendInitialEvents") == "true":  # a watch-list client: say where the initial list ends
            chunk(json.dumps({"type": "BOOKMARK", "object": {
                "kind": kind.kind, "apiVersion": kind.api_version, "metadata": {
                    "resourceVersion": str(last), "annotations": {"k8s.io/initial-events-end": "true"}}}}).encode()
                  + b"\n")
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            # A watching client sends nothing more on this connection: anything readable (its
            # close_notify, its FIN) means it has gone, and the thread can stop waiting.
            if select.select([self.connection], [], [], 0)[0]:
                self.close_connection = True
                return
            with st.cond:
                if st.rv == last:
                    st.cond.wait(min(left, 1.0))
                new = [h for h in st.history if h[0] > last]
                last = st.rv
            for h in new:
                if match(*h[2:5], h[5]):
                    chunk(json.dumps(event(h[1], h[5])).encode() + b"\n")
        chunk(b"")


def scale_of(obj):
    md = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: md.get(k) for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0)}}


def _g(obj, *path, default=""):
    for p in path:
        obj = obj.get(p) if isinstance(obj, dict) else None
    return default if obj is None else obj


def _ports(svc):
    return ",".join("%s/%s" % (p.get("port"), p.get("protocol", "TCP")) for p in _g(svc, "spec", "ports", default=[]))


# Columns kubectl get shows (besides NAME and AGE), per kind, as the real server's tables have them.
COLUMNS = {
    "Namespace": [("Status", lambda o: _g(o, "status", "phase"))],
    "Pod": [("Status", lambda o: _g(o, "status", "phase"))],
    "Deployment": [("Ready", lambda o: "%s/%s" % (_g(o, "status", "readyReplicas", default=0),
                                                  _g(o, "spec", "replicas", default=1))),
                   ("Up-to-date", lambda o: _g(o, "status", "updatedReplicas", default=0)),
                   ("Available", lambda o: _g(o, "status", "availableReplicas", default=0))],
    "ReplicaSet": [("Desired", lambda o: _g(o, "spec", "replicas", default=1)),
                   ("Current", lambda o: _g(o, "status", "replicas", default=0)),
                   ("Ready", lambda o: _g(o, "status", "readyReplicas", default=0))],
    "Service": [("Type", lambda o: _g(o, "spec", "type")), ("Cluster-IP", lambda o: _g(o, "spec", "clusterIP")),
                ("External-IP", lambda o: ",".join(i.get("hostname") or i.get("ip", "") for i in _g(
                    o, "status", "loadBalancer", "ingress", default=[])) or "<none>"),
                ("Port(s)", _ports)],
    "Secret": [("Type", lambda o: o.get("type", "")), ("Data", lambda o: len(o.get("data") or {}))],
    "ConfigMap": [("Data", lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))],
    "ServiceAccount": [("Secrets", lambda o: len(o.get("secrets") or []))],
}


def table_of(kind, items, rv):
    """The Table kubectl get asks for: name, the kind's columns (COLUMNS), age."""
    extra = COLUMNS.get(kind.kind, [])
    cols = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    cols += [{"name": h, "type": "string", "format": "", "description": h, "priority": 0} for h, _ in extra]
    cols.append({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0})
    rows = []
    now = time.time()
    for item in items:
        md = item["metadata"]
        try:
            age = int(now - calendar.timegm(time.strptime(md.get("creationTimestamp"), "%Y-%m-%dT%H:%M:%SZ")))
        except (TypeError, ValueError):
            age = 0
        age_s = "%ds" % age if age < 120 else "%dm" % (age // 60)
        cells = [md["name"]] + [fn(item) for _, fn in extra] + [age_s]
        rows.append({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                                "metadata": md}})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv},
            "columnDefinitions": cols, "rows": rows}


def dump_objects(api):
    out = []
    with api.store.lock:
        for key, e in sorted(api.store.objs.items()):
            k = next((k for k in api.store.kinds.values() if k.group == key[0] and k.plural == key[1]), None)
            if not k:
                continue
            obj = api.render(k, e)
            if obj.get("kind") == "Secret" and obj.get("data"):
                obj["data"] = {name: "(redacted)" for name in obj["data"]}
            out.append(obj)
    return out


# kube-system/aws-node as an EKS cluster has it (the VPC CNI add-on, applied by EKS as manager "eks"):
# its aws-vpc-cni-init init container's env is what the reference's `kubectl patch` changes.
AWS_NODE = {
    "apiVersion": "apps/v1", "kind": "DaemonSet",
    "metadata": {"name": "aws-node", "namespace": "kube-system",
                 "labels": {"app.kubernetes.io/name": "aws-node", "k8s-app": "aws-node",
                            "app.kubernetes.io/instance": "aws-vpc-cni", "app.kubernetes.io/version": "v1.19.0"}},
    "spec": {"selector": {"matchLabels": {"k8s-app": "aws-node"}},
             "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
             "template": {"metadata": {"labels": {"app.kubernetes.io/name": "aws-node", "k8s-app": "aws-node",
                                                  "app.kubernetes.io/instance": "aws-vpc-cni"}},
                          "spec": {"serviceAccountName": "aws-node", "hostNetwork": True,
                                   "priorityClassName": "system-node-critical",
                                   "initContainers": [{
                                       "name": "aws-vpc-cni-init",
                                       "image": "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni-init:"
                                                "v1.19.0-eksbuild.1",
                                       "env": [{"name": "DISABLE_TCP_EARLY_DEMUX", "value": "false"},
                                               {"name": "ENABLE_IPv6", "value": "false"}],
                                       "securityContext": {"privileged": True}}],
                                   "containers": [{
                                       "name": "aws-node",
                                       "image": "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:"
                                                "v1.19.0-eksbuild.1",
                                       "ports": [{"containerPort": 61678, "name": "metrics", "protocol": "TCP"}],
                                       "env": [{"name": "ADDITIONAL_ENI_TAGS", "value": "{}"},
                                               {"name": "AWS_VPC_K8S_CNI_LOGLEVEL", "value": "DEBUG"},
                                               {"name": "ENABLE_IPv4", "value": "true"},
                                               {"name": "ENABLE_IPv6", "value": "false"},
                                               {"name": "ENABLE_PREFIX_DELEGATION", "value": "false"},
                                               {"name": "VPC_ID", "value": "vpc-fake"}]}]}}}}


def seed(api, name, eks_node=False):
    nsk = api.store.kind("", "v1", "namespaces")
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        api.create(nsk, None, {"metadata": {"name": ns}}, "kube-apiserver")
        # Stable uids: Istio and others take kube-system's uid for the cluster's identity; the same
        # fake (name) keeps it across restarts, two fakes differ.
        api.store.get(nsk, None, ns)["obj"]["metadata"]["uid"] = str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                                               "fake-kube:%s:%s" % (name, ns)))
    if eks_node:
        sak = api.store.kind("", "v1", "serviceaccounts")
        api.create(sak, "kube-system", {"metadata": {"name": "aws-node"}}, "eks")
        api.patch(api.store.kind("apps", "v1", "daemonsets"), "kube-system", "aws-node", "apply",
                  copy.deepcopy(AWS_NODE), "eks", True)
    api.create(api.store.kind("", "v1", "services"), "default", {
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 6443}], "clusterIP": "10.96.0.1"}},
        "kube-apiserver")


def load_tokens(a):
    tokens = {}
    for t in a.token or []:
        tok, _, user = t.partition(":")
        tokens[tok] = user or "admin"
    if a.token_file:
        with open(a.token_file) as f:
            for line in f:
                parts = line.split()
                if parts:
                    tokens[parts[0]] = parts[1] if len(parts) > 1 else "admin"
    return tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--name", default="fake")
    ap.add_argument("--token", action="append")
    ap.add_argument("--token-file")
    ap.add_argument("--client-ca", action="store_true")
    ap.add_argument("--sts-url")
    ap.add_argument("--refuse-seconds", type=float, default=0)
    ap.add_argument("--eks-node", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    authlib.certs(a.dir, a.name, a.client_ca)
    with open(os.path.join(a.dir, "ca.crt"), "rb") as f:
        ca_pem = f.read()

    store = Store()
    auth = authlib.Auth(load_tokens(a), a.sts_url, a.name)
    api = Api(store, auth, ca_pem)
    auth.secret_lookup = api.secret_token
    seed(api, a.name, a.eks_node)
    controllers = Controllers(api, a.name)
    controllers.start()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(a.dir, "server.crt"), os.path.join(a.dir, "server.key"))
    ctx.set_alpn_protocols(["http/1.1"])
    if a.client_ca:
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(os.path.join(a.dir, "ca.crt"))

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 64

        def get_request(self):
            sock, addr = self.socket.accept()
            sock.settimeout(120)
            return ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

        def finish_request(self, request, client_address):
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return
            super().finish_request(request, client_address)

        def handle_error(self, request, client_address):
            pass

    srv = Server(("127.0.0.1", a.port), Handler, bind_and_activate=False)
    srv.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.server_bind()
    port = srv.server_address[1]
    Handler.api, Handler.store, Handler.auth, Handler.name = api, store, auth, a.name
    Handler.controllers = controllers
    Handler.addr = "127.0.0.1:%d" % port
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(a.port_file + ".tmp", a.port_file)
    if a.refuse_seconds:
        print("[%s] refusing connections for %gs" % (a.name, a.refuse_seconds), file=sys.stderr, flush=True)
        time.sleep(a.refuse_seconds)
    def stop(*_):
        with open(os.path.join(a.dir, "objects.json.tmp"), "w") as f:
            json.dump({"objects": dump_objects(api)}, f, indent=1)
        os.replace(os.path.join(a.dir, "objects.json.tmp"), os.path.join(a.dir, "objects.json"))
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    srv.server_activate()
    print("[%s] listening on https://127.0.0.1:%d" % (a.name, port), file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
