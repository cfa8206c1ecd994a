"""traffic.py: what a Job's curl would print, computed by the fake (Python standard library + PyYAML).

A Job Pod whose container command/args call `curl ... SVC.NS[.svc[.cluster.local]]:PORT/PATH`,
N times when inside `for i in $(seq 1 N)`, gets a log of N lines, one per call, round-robin over
the endpoints:
  - the Ready Pods selected by Service SVC in NS of this cluster (the Service must exist, else
    every call prints curl's "Could not resolve host"; PORT must be one of its ports);
  - when the mesh joins this cluster to others, that is when this cluster runs an istiod Deployment
    in istio-system and NS is labelled istio-injection=enabled (or istio.io/rev): also the Ready
    Pods selected by SVC in NS of every cluster named by a Secret in istio-system labelled
    istio/multiCluster=true. Each data key of such a Secret is a kubeconfig; the fake reads the
    other cluster's API with its server, CA and token as istiod would, so a token that other
    cluster refuses (or a wrong CA, or an unreachable server) adds no endpoints from it.
A reply line: "Hello version: VERSION, instance: POD" (the Pod's version label, as Istio's
helloworld sample answers); no endpoint at all: "curl: (7) Failed to connect to SVC.NS port PORT ...".
The remote calls are made without the store's lock (two fakes reading each other must not wait on
each other); the log is stored, then the Pod is marked Succeeded (pods.py).
What this proves and what it cannot: docs/testing.md.
"""
import base64
import json
import queue
import re
import ssl
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import yaml

from store import match_labels

ISTIO_NS = "istio-system"
CURL = re.compile(r"\bcurl\b[^;|&\n]*?\s(?:https?://)?([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.([a-z0-9](?:[-a-z0-9]*"
                  r"[a-z0-9])?)(?:\.svc(?:\.cluster\.local)?)?(?::(\d+))?(/[^\s'\";|&]*)?")
SEQ = re.compile(r"\$\(\s*seq\s+(?:(\d+)\s+)?(\d+)\s*\)")


def parse_call(pod):
    """(svc, ns, port, path, count) of the first container that calls curl, or None."""
    for c in (pod.get("spec") or {}).get("containers") or []:
        text = " ".join(str(x) for x in (c.get("command") or []) + (c.get("args") or []))
        m = CURL.search(text)
        if not m:
            continue
        count = 1
        s = SEQ.search(text[:m.start()])
        if s:
            count = max(0, int(s.group(2)) - int(s.group(1) or 1) + 1)
        return m.group(1), m.group(2), int(m.group(3) or 80), m.group(4) or "/", count
    return None


def _ready(pod):
    st = pod.get("status") or {}
    return (st.get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp")
            and any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or []))


def endpoints_of(svc, pods, port):
    """[(version, pod name)] of the Ready pods svc selects, or None if svc has no such port."""
    spec = svc.get("spec") or {}
    if not any(p.get("port") == port for p in spec.get("ports") or []):
        return None
    sel = spec.get("selector") or {}
    if not sel:
        return []
    reqs = [(k, "=", [v]) for k, v in sel.items()]
    return sorted(((p["metadata"].get("labels") or {}).get("version", "unknown"), p["metadata"]["name"])
                  for p in pods if _ready(p) and match_labels(reqs, p["metadata"].get("labels")))


def kubeconfig_target(text):
    """(server, CA PEM bytes or None, token) of a kubeconfig's current context, or None."""
    try:
        kc = yaml.safe_load(text)
        ctxs = {c["name"]: c.get("context") or {} for c in kc.get("contexts") or []}
        ctx = ctxs.get(kc.get("current-context")) or (next(iter(ctxs.values())) if ctxs else {})
        clusters = {c["name"]: c.get("cluster") or {} for c in kc.get("clusters") or []}
        users = {u["name"]: u.get("user") or {} for u in kc.get("users") or []}
        cl = clusters.get(ctx.get("cluster")) or (next(iter(clusters.values())) if clusters else {})
        us = users.get(ctx.get("user")) or (next(iter(users.values())) if users else {})
        ca = base64.b64decode(cl["certificate-authority-data"]) if cl.get("certificate-authority-data") else None
        return cl["server"].rstrip("/"), ca, us.get("token") or ""
    except (yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError, StopIteration):
        return None


def _get(server, ca, token, path):
    ctx = ssl.create_default_context(cadata=ca.decode()) if ca else ssl.create_default_context()
    req = urllib.request.Request(server + path, headers={"Authorization": "Bearer " + token,
                                                          "Accept": "application/json",
                                                          "User-Agent": "pilot-discovery/fake"})
    with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
        return json.loads(r.read())


class Traffic:
    def __init__(self, api, pods, name):
        self.api, self.store, self.pods, self.name = api, api.store, pods, name
        self.logs = {}  # (namespace, pod name) -> log text
        self.q = queue.Queue()

    def start(self):
        threading.Thread(target=self._loop, daemon=True).start()

    def enqueue(self, ns, name):
        self.q.put((ns, name))

    def log_of(self, ns, name):
        return self.logs.get((ns, name), "")

    def say(self, msg):
        print("[%s] traffic: %s" % (self.name, msg), file=sys.stderr, flush=True)

    def _loop(self):
        while True:
            ns, name = self.q.get()
            try:
                text = self.run(ns, name)
            except Exception as e:  # a bug must not stop the worker; the log says so
                self.say("error for %s/%s: %r" % (ns, name, e))
                text = "fake_kube: traffic simulation failed: %r\n" % e
            with self.store.lock:
                self.logs[(ns, name)] = text
                self.pods.succeed(ns, name)

    def k(self, group, plural):
        return self.store.kind(group, "v1", plural)

    def run(self, ns, name):
        with self.store.lock:
            e = self.store.get(self.k("", "pods"), ns, name)
            if not e:
                return ""
            call = parse_call(e["obj"])
            if not call:
                return ""
            svc_name, svc_ns, port, path, count = call
            se = self.store.get(self.k("", "services"), svc_ns, svc_name)
            if not se:
                return "curl: (6) Could not resolve host: %s.%s\n" % (svc_name, svc_ns) * count
            pods = [p["obj"] for p in self.store.entries(self.k("", "pods"), svc_ns)]
            local = endpoints_of(se["obj"], pods, port)
            remotes = self._remote_targets(svc_ns) if self._meshed(svc_ns) else []
        eps = list(local or [])
        for cluster, target in remotes:
            eps += self._remote_endpoints(cluster, target, svc_name, svc_ns, port)
        if local is None or not eps:
            return ("curl: (7) Failed to connect to %s.%s port %d after 0 ms: Couldn't connect to server\n"
                    % (svc_name, svc_ns, port)) * count
        return "".join("Hello version: %s, instance: %s\n" % eps[i % len(eps)] for i in range(count))

    def _meshed(self, ns):
        """Does this cluster's istiod serve namespace ns? Caller holds the lock."""
        d = self.store.get(self.k("apps", "deployments"), ISTIO_NS, "istiod")
        if not d or d["obj"]["metadata"].get("deletionTimestamp"):
            return False
        n = self.store.get(self.k("", "namespaces"), "", ns)
        labels = (n["obj"]["metadata"].get("labels") or {}) if n else {}
        return labels.get("istio-injection") == "enabled" or bool(labels.get("istio.io/rev"))

    def _remote_targets(self, ns):
        """[(cluster name, kubeconfig text)] of the remote secrets. Caller holds the lock."""
        out = []
        reqs = [("istio/multiCluster", "=", ["true"])]
        for e in self.store.entries(self.k("", "secrets"), ISTIO_NS):
            if not match_labels(reqs, e["obj"]["metadata"].get("labels")):
                continue
            for cluster, b64 in sorted((e["obj"].get("data") or {}).items()):
                try:
                    out.append((cluster, base64.b64decode(b64).decode()))
                except (ValueError, UnicodeDecodeError):
                    self.say("remote secret %s: key %s is not a kubeconfig" % (e["obj"]["metadata"]["name"], cluster))
        return out

    def _remote_endpoints(self, cluster, kubeconfig, svc_name, svc_ns, port):
        target = kubeconfig_target(kubeconfig)
        if not target:
            self.say("remote cluster %s: the secret's kubeconfig has no server/token" % cluster)
            return []
        server, ca, token = target
        try:
            svc = _get(server, ca, token, "/api/v1/namespaces/%s/services/%s" % (svc_ns, svc_name))
            sel = ",".join("%s=%s" % kv for kv in sorted(((svc.get("spec") or {}).get("selector") or {}).items()))
            pods = _get(server, ca, token, "/api/v1/namespaces/%s/pods?labelSelector=%s"
                        % (svc_ns, urllib.parse.quote(sel))).get("items") or [] if sel else []
        except urllib.error.HTTPError as e:
            why = {401: "the reader token is refused", 404: "no such service"}.get(e.code, e.reason)
            self.say("remote cluster %s at %s: %d for %s/%s (%s)" % (cluster, server, e.code, svc_ns, svc_name, why))
            return []
        except (OSError, ValueError, ssl.SSLError) as e:
            self.say("remote cluster %s at %s unreachable: %s" % (cluster, server, e))
            return []
        return endpoints_of(svc, pods, port) or []
