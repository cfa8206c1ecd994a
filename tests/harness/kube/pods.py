"""pods.py: the Pods of workloads, as the ReplicaSet, DaemonSet and Job controllers and the kubelet
would make them (Python standard library only). Called by controllers.py under the store's lock.

  - a ReplicaSet has spec.replicas Pods (extra ones deleted, missing ones made), a DaemonSet one
    (the fake has one node) carrying controller-revision-hash: a changed pod template replaces it,
    as a rolling update would; a Job one Pod, made once (a finished Job keeps its Pod);
  - Pods are named OWNER-xxxxx, labelled from the template (a Job's also job-name and
    controller-uid, which api.py put in its template), owned by their controller (ownerReferences,
    so deleting the owner deletes them), and scheduled on node fake-node-1;
  - a Pod's status: Running and Ready at once, except a Job's: Pending until traffic.py has
    computed its log, then Succeeded (its containers terminated with exit code 0).
"""
import random

from api import ApiError, template_hash
from store import now_ts

MANAGER = "kube-controller-manager"
NODE = "fake-node-1"


def _suffix():
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))


def owner_ref(kind, obj):
    md = obj["metadata"]
    return {"apiVersion": kind.api_version, "kind": kind.kind, "name": md["name"], "uid": md["uid"],
            "controller": True, "blockOwnerDeletion": True}


def controller_uid(obj):
    return next((r.get("uid") for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)


def _conditions(ready):
    ts = now_ts()
    out = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": ts}
           for t in ("PodReadyToStartContainers", "Initialized", "PodScheduled")]
    for t in ("Ready", "ContainersReady"):
        c = {"type": t, "status": "True" if ready else "False", "lastProbeTime": None, "lastTransitionTime": ts}
        if not ready:
            c["reason"] = "PodCompleted"
        out.append(c)
    return out


class Pods:
    def __init__(self, api, ip_base=10):
        self.api, self.store = api, api.store
        self.ip = ip_base
        self.on_job_pod = None  # called with (namespace, name) for a new Job Pod (traffic.py)

    def k(self, group, plural, version="v1"):
        return self.store.kind(group, version, plural)

    def once(self):
        pk = self.k("", "pods")
        by_owner = {}
        for e in self.store.entries(pk):
            uid = controller_uid(e["obj"])
            if uid:
                by_owner.setdefault(uid, []).append(e)
        rsk, dsk, jk = self.k("apps", "replicasets"), self.k("apps", "daemonsets"), self.k("batch", "jobs")
        for e in list(self.store.entries(rsk)):
            self._scale(rsk, e, by_owner.get(e["obj"]["metadata"]["uid"], []),
                        (e["obj"].get("spec") or {}).get("replicas", 1), {})
        for e in list(self.store.entries(dsk)):
            spec = e["obj"].get("spec") or {}
            h = template_hash(spec.get("template"))
            mine = by_owner.get(e["obj"]["metadata"]["uid"], [])
            for p in mine:  # an old template's Pod goes; a new one replaces it
                if (p["obj"]["metadata"].get("labels") or {}).get("controller-revision-hash") != h:
                    self._delete(pk, p)
            mine = [p for p in mine if self.store.get(pk, p["obj"]["metadata"]["namespace"],
                                                      p["obj"]["metadata"]["name"])]
            self._scale(dsk, e, mine, 1, {"controller-revision-hash": h, "pod-template-generation":
                                          str(e["obj"]["metadata"].get("generation", 1))})
        for e in list(self.store.entries(jk)):
            if not by_owner.get(e["obj"]["metadata"]["uid"]) and not (e["obj"].get("status") or {}).get("succeeded"):
                self._scale(jk, e, [], 1, {})
        self.statuses(pk)

    def _scale(self, kind, e, mine, want, labels):
        obj = e["obj"]
        if obj["metadata"].get("deletionTimestamp"):
            return
        mine = [p for p in mine if not p["obj"]["metadata"].get("deletionTimestamp")]
        pk = self.k("", "pods")
        for p in mine[want:]:
            self._delete(pk, p)
        for _ in range(len(mine), want):
            self._create(kind, obj, labels)

    def _delete(self, pk, p):
        md = p["obj"]["metadata"]
        try:
            self.api.delete(pk, md["namespace"], md["name"], {"propagationPolicy": "Background"})
        except ApiError:
            pass

    def _create(self, kind, owner, extra_labels):
        md = owner["metadata"]
        template = (owner.get("spec") or {}).get("template") or {}
        tmd = template.get("metadata") or {}
        labels = dict(tmd.get("labels") or {}, **extra_labels)
        spec = dict(template.get("spec") or {})
        spec.setdefault("restartPolicy", "Never" if kind.kind == "Job" else "Always")
        spec["nodeName"] = NODE
        spec.setdefault("serviceAccountName", "default")
        body = {"metadata": {"name": "%s-%s" % (md["name"], _suffix()), "labels": labels,
                             "annotations": dict(tmd.get("annotations") or {}),
                             "ownerReferences": [owner_ref(kind, owner)]},
                "spec": spec}
        if not body["metadata"]["annotations"]:
            del body["metadata"]["annotations"]
        try:
            _, pod = self.api.create(self.k("", "pods"), md["namespace"], body, MANAGER)
        except ApiError:
            return
        if kind.kind == "Job" and self.on_job_pod:
            self.on_job_pod(md["namespace"], pod["metadata"]["name"])

    def statuses(self, pk):
        for e in list(self.store.entries(pk)):
            st = e["obj"].get("status") or {}
            if st.get("phase"):
                continue
            self.ip += 1
            refs = e["obj"]["metadata"].get("ownerReferences") or []
            is_job = any(r.get("kind") == "Job" and r.get("controller") for r in refs)
            containers = (e["obj"].get("spec") or {}).get("containers") or []
            self.api.save_status(pk, e, {
                "phase": "Pending" if is_job else "Running",
                "podIP": "10.244.%d.%d" % (self.ip // 250, self.ip % 250 + 1),
                "podIPs": [{"ip": "10.244.%d.%d" % (self.ip // 250, self.ip % 250 + 1)}],
                "hostIP": "10.0.0.1", "startTime": now_ts(), "qosClass": "BestEffort",
                "conditions": _conditions(not is_job),
                "containerStatuses": [{"name": c.get("name"), "ready": not is_job, "started": not is_job,
                                       "restartCount": 0, "image": c.get("image"), "imageID": "",
                                       "state": {"running": {"startedAt": now_ts()}} if not is_job else
                                       {"waiting": {"reason": "ContainerCreating"}}} for c in containers]})

    def succeed(self, ns, name):
        """A Job's Pod has run: Succeeded, its containers terminated with exit code 0. Caller holds the lock."""
        pk = self.k("", "pods")
        e = self.store.get(pk, ns, name)
        if not e:
            return
        st = dict(e["obj"].get("status") or {})
        ts = now_ts()
        st["phase"] = "Succeeded"
        st["conditions"] = _conditions(False)
        st["containerStatuses"] = [{"name": c.get("name"), "ready": False, "started": False, "restartCount": 0,
                                    "image": c.get("image"), "imageID": "",
                                    "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                                                             "startedAt": st.get("startTime") or ts,
                                                             "finishedAt": ts}}}
                                   for c in (e["obj"].get("spec") or {}).get("containers") or []]
        self.api.save_status(pk, e, st)

