"""controllers.py: what kube-controller-manager would do, as far as clients wait for it (stdlib only).

One background thread, a pass every 0.1 s under the store's lock (and one after every write, before
the reply: fake_kube.py):
  - namespaces: a ServiceAccount "default" and a ConfigMap "kube-root-ca.crt" (the CA) in each
    active one; a terminating one (deleted, spec
    finalizer "kubernetes") has its content deleted 0.5 s after its deletion began, loses the
    "kubernetes" finalizer once no content is left and goes away, unless metadata.finalizers of
    its own (or content held by finalizers) remain: then it stays Terminating, with a
    NamespaceFinalizersRemaining / NamespaceContentRemaining condition naming them;
  - a Secret of type kubernetes.io/service-account-token naming an existing ServiceAccount gets
    data.token (a random token auth.py then accepts as that account), ca.crt and namespace 0.3 s
    after it was first seen; if the account does not exist it stays empty;
  - Deployments: a ReplicaSet per pod template (name-hash, owned, pod-template-hash label), older
    ones scaled to 0, and a status with every replica ready and the Available and Progressing
    conditions; ReplicaSets, StatefulSets, DaemonSets: ready; their Pods and Jobs' (pods.py);
    Jobs: active, then Complete once their Pod has Succeeded (its log computed by traffic.py);
  - Services of type LoadBalancer, while the Deployment kube-system/aws-load-balancer-controller
    exists (the controller makes the NLBs, not Kubernetes): status.loadBalancer.ingress
    [{hostname: NAME-NS.elb.fake}] and the controller's finalizer service.k8s.aws/resources, which
    it removes from a deleted Service. Without the controller: no ingress, and a deleted Service
    that has the finalizer stays Terminating (as on EKS when the controller went first);
  - CRDs: NamesAccepted and Established, acceptedNames, storedVersions.
"""
import base64
import copy
import secrets
import sys
import threading
import time

from api import ApiError, template_hash
from pods import Pods, controller_uid
from store import now_ts
from traffic import Traffic

MANAGER = "kube-controller-manager"
LBC = ("kube-system", "aws-load-balancer-controller")
LB_FINALIZER = "service.k8s.aws/resources"


def conditions(old_status, want):
    """Conditions from (type, status, reason, message) tuples, keeping the old timestamps of those
    that did not change, so a pass that changes nothing writes nothing."""
    old = {c.get("type"): c for c in (old_status or {}).get("conditions") or []}
    out = []
    for t, st, reason, msg in want:
        c = old.get(t)
        if c and (c.get("status"), c.get("reason"), c.get("message")) == (st, reason, msg):
            out.append(c)
        else:
            ts = now_ts()
            out.append({"type": t, "status": st, "reason": reason, "message": msg,
                        "lastTransitionTime": ts, "lastUpdateTime": ts})
    return out


class Controllers:
    def __init__(self, api, name):
        self.api, self.store, self.name = api, api.store, name
        self.first_seen = {}  # uid -> monotonic time (token secrets)
        self.pods = Pods(api)
        self.traffic = Traffic(api, self.pods, name)
        self.pods.on_job_pod = self.traffic.enqueue

    def start(self):
        self.traffic.start()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            self.reconcile()
            time.sleep(0.1)

    def reconcile(self):
        """One pass now. The server also calls it after every write, before answering: a client that
        checks at once (helm --wait polls every 2 s, first right after its writes) sees what the
        controllers made of it, as on a real cluster a moment later."""
        try:
            with self.store.lock:
                self.once()
        except Exception as e:  # a bug here must not stop the cluster; it shows in the log
            print("[%s] controller error: %r" % (self.name, e), file=sys.stderr, flush=True)

    def k(self, group, version, plural):
        return self.store.kind(group, version, plural)

    def once(self):
        self.namespaces()
        self.token_secrets()
        self.deployments()
        self.workloads()
        self.pods.once()
        self.jobs()
        self.services()
        self.crds()

    # ---- namespaces ----
    def namespaces(self):
        nsk, sak = self.k("", "v1", "namespaces"), self.k("", "v1", "serviceaccounts")
        cmk = self.k("", "v1", "configmaps")
        for e in list(self.store.entries(nsk)):
            obj = e["obj"]
            name = obj["metadata"]["name"]
            if not obj["metadata"].get("deletionTimestamp"):
                self.api.ns_terminating.pop(name, None)
                if not self.store.get(sak, name, "default"):
                    self._create(sak, name, {"metadata": {"name": "default"}})
                if not self.store.get(cmk, name, "kube-root-ca.crt"):
                    self._create(cmk, name, {"metadata": {"name": "kube-root-ca.crt"},
                                             "data": {"ca.crt": self.api.ca_pem.decode()}})
                continue
            began = self.api.ns_terminating.setdefault(name, time.monotonic())
            if time.monotonic() - began < 0.5:
                continue
            self.terminate(nsk, e)

    def terminate(self, nsk, e):
        obj = e["obj"]
        name = obj["metadata"]["name"]
        held = {}
        for (g, plural, ns, oname), ce in list(self.store.in_namespace(name)):
            k = next((k for k in self.store.kinds.values() if k.group == g and k.plural == plural), None)
            if not k or not self.store.get(k, ns, oname):
                continue
            try:
                self.api.delete(k, ns, oname, {"propagationPolicy": "Background"})
            except ApiError:
                pass
            left = self.store.get(k, ns, oname)
            for f in (left["obj"]["metadata"].get("finalizers") or []) if left else []:
                held[f] = held.get(f, 0) + 1
        e = self.store.get(nsk, "", name)
        if not e:
            return
        obj = copy.deepcopy(e["obj"])
        want = []
        if held:
            want.append(("NamespaceContentRemaining", "True", "SomeResourcesRemain",
                         "Some resources are remaining: %d resource instances" % sum(held.values())))
            want.append(("NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain",
                         "Some content in the namespace has finalizers remaining: %s" % ", ".join(
                             "%s in %d resource instances" % (f, n) for f, n in sorted(held.items()))))
        else:
            spec = obj.setdefault("spec", {})
            spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != "kubernetes"]
            own = obj["metadata"].get("finalizers") or []
            if own:
                want.append(("NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain",
                             "The namespace has finalizers remaining: %s" % ", ".join(own)))
            elif not spec["finalizers"]:
                self.store.remove(nsk, e)
                self.api.ns_terminating.pop(name, None)
                return
        status = dict(obj.get("status") or {}, phase="Terminating")
        status["conditions"] = conditions(obj.get("status"), want)
        if obj.get("spec") != e["obj"].get("spec") or status != e["obj"].get("status"):
            e["obj"]["spec"] = obj.get("spec")
            e["obj"]["status"] = status
            self.store.save(nsk, e, "MODIFIED")

    # ---- service account tokens ----
    def token_secrets(self):
        sk, sak = self.k("", "v1", "secrets"), self.k("", "v1", "serviceaccounts")
        for e in self.store.entries(sk):
            obj = e["obj"]
            md = obj["metadata"]
            if obj.get("type") != "kubernetes.io/service-account-token" or (obj.get("data") or {}).get("token"):
                continue
            sa_name = (md.get("annotations") or {}).get("kubernetes.io/service-account.name")
            seen = self.first_seen.setdefault(md["uid"], time.monotonic())
            if not sa_name or time.monotonic() - seen < 0.3:
                continue
            sa = self.store.get(sak, md["namespace"], sa_name)
            if not sa:
                continue
            token = "fk-sa-" + secrets.token_urlsafe(32)
            obj.setdefault("data", {}).update({
                "token": base64.b64encode(token.encode()).decode(),
                "ca.crt": base64.b64encode(self.api.ca_pem).decode(),
                "namespace": base64.b64encode(md["namespace"].encode()).decode()})
            md.setdefault("annotations", {})["kubernetes.io/service-account.uid"] = sa["obj"]["metadata"]["uid"]
            self.api.auth.add_sa_token(token, md["namespace"], md["name"], sa_name)
            self.store.save(sk, e, "MODIFIED")

    # ---- workloads ----
    def _create(self, kind, ns, body):
        try:
            self.api.create(kind, ns, body, MANAGER)
        except ApiError:
            pass

    def deployments(self):
        dk, rsk = self.k("apps", "v1", "deployments"), self.k("apps", "v1", "replicasets")
        for e in list(self.store.entries(dk)):
            d = e["obj"]
            md, spec = d["metadata"], d.get("spec") or {}
            if md.get("deletionTimestamp"):
                continue
            ns, name = md["namespace"], md["name"]
            template = copy.deepcopy(spec.get("template") or {})
            h = template_hash(template)
            rs_name = "%s-%s" % (name, h)
            replicas = spec.get("replicas", 1)
            owned = [r for r in self.store.entries(rsk, ns)
                     if any(o.get("uid") == md["uid"] for o in r["obj"]["metadata"].get("ownerReferences") or [])]
            for r in owned:
                if r["obj"]["metadata"]["name"] != rs_name and r["obj"]["spec"].get("replicas") != 0:
                    r["obj"]["spec"]["replicas"] = 0
                    r["obj"]["metadata"]["generation"] = r["obj"]["metadata"].get("generation", 1) + 1
                    self.store.save(rsk, r, "MODIFIED")
            cur = self.store.get(rsk, ns, rs_name)
            if not cur:
                template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
                sel = copy.deepcopy(spec.get("selector") or {})
                sel.setdefault("matchLabels", {})["pod-template-hash"] = h
                labels = dict((template["metadata"].get("labels") or {}))
                self._create(rsk, ns, {"metadata": {
                    "name": rs_name, "labels": labels,
                    "annotations": {"deployment.kubernetes.io/revision": str(len(owned) + 1),
                                    "deployment.kubernetes.io/desired-replicas": str(replicas)},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                         "uid": md["uid"], "controller": True, "blockOwnerDeletion": True}]},
                    "spec": {"replicas": replicas, "selector": sel, "template": template}})
                cur = self.store.get(rsk, ns, rs_name)
            elif cur["obj"]["spec"].get("replicas") != replicas:
                cur["obj"]["spec"]["replicas"] = replicas
                cur["obj"]["metadata"]["generation"] = cur["obj"]["metadata"].get("generation", 1) + 1
                self.store.save(rsk, cur, "MODIFIED")
            st = {"observedGeneration": md.get("generation", 1), "replicas": replicas, "updatedReplicas": replicas,
                  "readyReplicas": replicas, "availableReplicas": replicas}
            st["conditions"] = conditions(d.get("status"), [
                ("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                ("Progressing", "True", "NewReplicaSetAvailable",
                 'ReplicaSet "%s" has successfully progressed.' % rs_name)])
            self.api.save_status(dk, e, st)

    def workloads(self):
        for e in list(self.store.entries(self.k("apps", "v1", "replicasets"))):
            r = e["obj"].get("spec", {}).get("replicas", 1)
            self.api.save_status(self.k("apps", "v1", "replicasets"), e, {
                "replicas": r, "fullyLabeledReplicas": r, "readyReplicas": r, "availableReplicas": r,
                "observedGeneration": e["obj"]["metadata"].get("generation", 1)})
        for e in list(self.store.entries(self.k("apps", "v1", "statefulsets"))):
            md, r = e["obj"]["metadata"], e["obj"].get("spec", {}).get("replicas", 1)
            rev = "%s-%s" % (md["name"], template_hash(e["obj"].get("spec", {}).get("template")))
            self.api.save_status(self.k("apps", "v1", "statefulsets"), e, {
                "observedGeneration": md.get("generation", 1), "replicas": r, "readyReplicas": r,
                "currentReplicas": r, "updatedReplicas": r, "availableReplicas": r,
                "currentRevision": rev, "updateRevision": rev, "collisionCount": 0})
        for e in list(self.store.entries(self.k("apps", "v1", "daemonsets"))):
            self.api.save_status(self.k("apps", "v1", "daemonsets"), e, {
                "observedGeneration": e["obj"]["metadata"].get("generation", 1), "currentNumberScheduled": 1,
                "desiredNumberScheduled": 1, "numberAvailable": 1, "numberMisscheduled": 0, "numberReady": 1,
                "updatedNumberScheduled": 1})

    def jobs(self):
        """Active while the Job's Pod runs; succeeded and Complete once it has."""
        jk, pk = self.k("batch", "v1", "jobs"), self.k("", "v1", "pods")
        by_owner = {}
        for p in self.store.entries(pk):
            by_owner.setdefault(controller_uid(p["obj"]), []).append(p)
        for e in list(self.store.entries(jk)):
            old = e["obj"].get("status") or {}
            mine = by_owner.get(e["obj"]["metadata"]["uid"], [])
            done = [p for p in mine if (p["obj"].get("status") or {}).get("phase") == "Succeeded"]
            st = {"startTime": old.get("startTime") or now_ts(), "uncountedTerminatedPods": {}, "ready": 0}
            if done or old.get("succeeded"):
                msg = "Reached expected number of succeeded pods"
                st.update(succeeded=1, completionTime=old.get("completionTime") or now_ts(),
                          conditions=conditions(old, [("SuccessCriteriaMet", "True", "CompletionsReached", msg),
                                                      ("Complete", "True", "CompletionsReached", msg)]))
            else:
                st["active"] = len(mine)
            self.api.save_status(jk, e, st)

    def services(self):
        sk = self.k("", "v1", "services")
        lbc = self.store.get(self.k("apps", "v1", "deployments"), *LBC)
        lbc = lbc and not lbc["obj"]["metadata"].get("deletionTimestamp")
        for e in list(self.store.entries(sk)):
            md = e["obj"]["metadata"]
            is_lb = (e["obj"].get("spec") or {}).get("type") == "LoadBalancer"
            fins = md.get("finalizers") or []
            if lbc and is_lb and not md.get("deletionTimestamp") and LB_FINALIZER not in fins:
                md["finalizers"] = fins + [LB_FINALIZER]
                self.store.save(sk, e, "MODIFIED")
            elif lbc and md.get("deletionTimestamp") and LB_FINALIZER in fins:  # the NLB is deleted
                obj = copy.deepcopy(e["obj"])
                obj["metadata"]["finalizers"] = [f for f in fins if f != LB_FINALIZER]
                try:
                    self.api.replace(sk, md["namespace"], md["name"], obj, "aws-load-balancer-controller")
                except ApiError:
                    pass
                continue
            lb = {}
            if is_lb and lbc:
                lb = {"ingress": [{"hostname": "%s-%s.elb.fake" % (md["name"], md["namespace"])}]}
            e = self.store.get(sk, md["namespace"], md["name"])
            if e:
                self.api.save_status(sk, e, dict(e["obj"].get("status") or {}, loadBalancer=lb))

    def crds(self):
        ck = self.k("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        for e in list(self.store.entries(ck)):
            spec = e["obj"].get("spec") or {}
            names = dict(spec.get("names") or {})
            names.setdefault("singular", names.get("kind", "").lower())
            names.setdefault("listKind", names.get("kind", "") + "List")
            stored = [v["name"] for v in spec.get("versions") or [] if v.get("storage")] or \
                [v["name"] for v in spec.get("versions") or []][:1]
            old = e["obj"].get("status") or {}
            self.api.save_status(ck, e, {
                "conditions": conditions(old, [
                    ("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
                    ("Established", "True", "InitialNamesAccepted", "the initial names have been accepted")]),
                "acceptedNames": names,
                "storedVersions": sorted(set(old.get("storedVersions") or []) | set(stored))})
