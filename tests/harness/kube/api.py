"""api.py: what the fake API server does to objects (Python standard library only).

Api.get / list / create / replace / patch / delete: the generic verbs, with the real server's
rules that clients notice: names required (or generateName), namespaces must exist and not be
terminating (403), resourceVersion preconditions (409 Conflict), AlreadyExists, a status
subresource (a main-resource write keeps status; a /status write changes only status), generation
bumped on a spec change, deletion held by finalizers (deletionTimestamp), owner-reference garbage
collection, server-side apply (ssa.py) and managedFields, dryRun, and each kind's defaults (a
Namespace's kubernetes finalizer and phase, a Service's cluster IP, a Deployment's replicas and
strategy, a Secret's stringData). ApiError carries the Status the handler answers.
"""
import base64
import copy
import hashlib
import json
import random
import string
import uuid

import patch as patchlib
import ssa
from store import Kind, match_fields, match_labels, now_ts, parse_field_selector, parse_label_selector


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self):
        return status_obj(self.code, self.reason, self.message, self.details)


def status_obj(code, reason, message, details=None):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
          "reason": reason, "code": code}
    if details:
        st["details"] = details
    return st


def not_found(kind, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (kind.qualified, name),
                    {"name": name, "group": kind.group, "kind": kind.plural})


def _details(kind, name):
    return {"name": name, "group": kind.group, "kind": kind.plural}


def _spec_of(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Api:
    def __init__(self, store, auth, ca_pem):
        self.store, self.auth, self.ca_pem = store, auth, ca_pem
        self.ip_next = 10
        self.ns_terminating = {}  # namespace -> monotonic time its deletion began (controllers.py)
        store.render = self._render_event

    def _render_event(self, entry):
        obj = copy.deepcopy(entry["obj"])
        if entry.get("managers"):
            obj["metadata"]["managedFields"] = ssa.render_managed(entry["managers"])
        return obj

    # ---- rendering ----
    def render(self, kind, entry):
        obj = copy.deepcopy(entry["obj"])
        obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
        if entry.get("managers"):
            obj["metadata"]["managedFields"] = ssa.render_managed(entry["managers"])
        return obj

    # ---- reads ----
    def get(self, kind, ns, name):
        with self.store.lock:
            e = self.store.get(kind, ns, name)
            if not e:
                raise not_found(kind, name)
            return self.render(kind, e)

    def list(self, kind, ns, label_selector=None, field_selector=None):
        try:
            lreq = parse_label_selector(label_selector)
            freq = parse_field_selector(field_selector)
        except ValueError as e:
            raise ApiError(400, "BadRequest", str(e))
        with self.store.lock:
            items = [self.render(kind, e) for e in self.store.entries(kind, ns)
                     if match_labels(lreq, e["obj"]["metadata"].get("labels")) and match_fields(freq, e["obj"])]
            return {"kind": kind.list_kind, "apiVersion": kind.api_version,
                    "metadata": {"resourceVersion": str(self.store.rv)}, "items": items}

    # ---- checks shared by writes ----
    def _check_namespace(self, kind, ns, name):
        if not kind.namespaced:
            return
        nsk = self.store.kind("", "v1", "namespaces")
        e = self.store.get(nsk, "", ns)
        if not e:
            raise not_found(nsk, ns)
        if e["obj"]["metadata"].get("deletionTimestamp"):
            raise ApiError(403, "Forbidden",
                           '%s "%s" is forbidden: unable to create new content in namespace %s because it is '
                           'being terminated' % (kind.qualified, name, ns), _details(kind, name))

    def _normalize(self, kind, ns, body, name=None):
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body of the request is not a JSON object")
        obj = copy.deepcopy(body)
        md = obj.setdefault("metadata", {})
        if not isinstance(md, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        if kind.namespaced:
            if md.get("namespace") and md["namespace"] != ns:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the "
                                                  "namespace sent on the request")
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        if name and md.get("name") and md["name"] != name:
            raise ApiError(400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)"
                           % (md["name"], name))
        if name:
            md["name"] = name
        if obj.get("kind") and obj["kind"] != kind.kind:
            raise ApiError(400, "BadRequest", "the kind %s does not match %s" % (obj["kind"], kind.kind))
        md.pop("managedFields", None)
        return obj

    def _defaults(self, kind, obj, old):
        md = obj["metadata"]
        if not md.get("name"):
            raise ApiError(422, "Invalid", '%s "" is invalid: metadata.name: Required value: name or generateName '
                           'is required' % kind.kind, {"kind": kind.kind})
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else None
        if kind.kind == "Namespace":
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md["name"]
            if not old:
                obj["status"] = {"phase": "Active"}
        elif kind.kind == "Secret":
            obj.setdefault("type", "Opaque")
            sd = obj.pop("stringData", None) or {}
            for k, v in sd.items():
                obj.setdefault("data", {})[k] = base64.b64encode(str(v).encode()).decode()
            for k, v in (obj.get("data") or {}).items():
                try:
                    base64.b64decode(v or "", validate=True)
                except (ValueError, TypeError):
                    raise ApiError(422, "Invalid", 'Secret "%s" is invalid: data[%s]: Invalid value: illegal base64 '
                                   'data' % (md["name"], k), _details(kind, md["name"]))
        elif kind.kind == "Service":
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            old_spec = (old or {}).get("spec", {})
            if spec.get("type") != "ExternalName":
                ip = spec.get("clusterIP") or old_spec.get("clusterIP")
                if not ip:
                    ip = "10.96.%d.%d" % (self.ip_next // 250, self.ip_next % 250 + 1)
                    self.ip_next += 1
                spec["clusterIP"] = ip
                spec["clusterIPs"] = [ip] if ip != "None" else ["None"]
                spec.setdefault("ipFamilies", ["IPv4"])
                spec.setdefault("ipFamilyPolicy", "SingleStack")
            for p in spec.get("ports") or []:
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")
                    p.setdefault("targetPort", p.get("port"))
            obj.setdefault("status", {"loadBalancer": {}})
        elif kind.kind == "Deployment" and spec is not None:
            spec.setdefault("replicas", 1)
            spec.setdefault("strategy", {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
        elif kind.kind in ("ReplicaSet", "StatefulSet") and spec is not None:
            spec.setdefault("replicas", 1)
        elif kind.kind == "Job" and spec is not None:
            for k, v in (("backoffLimit", 6), ("completions", 1), ("parallelism", 1), ("suspend", False),
                         ("completionMode", "NonIndexed"), ("manualSelector", False)):
                spec.setdefault(k, v)
            if old:  # the selector and the template's controller labels are immutable, kept
                job_selector(obj, old)
        elif kind.kind == "CustomResourceDefinition":
            self._check_crd(obj)

    def _check_crd(self, obj):
        spec = obj.get("spec") or {}
        names = spec.get("names") or {}
        if not spec.get("group") or not names.get("plural") or not names.get("kind") or not spec.get("versions"):
            raise ApiError(422, "Invalid", 'CustomResourceDefinition "%s" is invalid: spec: Required value: group, '
                           'names.plural, names.kind and versions are required' % obj["metadata"].get("name"))
        if obj["metadata"].get("name") != "%s.%s" % (names["plural"], spec["group"]):
            raise ApiError(422, "Invalid", 'CustomResourceDefinition "%s" is invalid: metadata.name: Invalid value: '
                           'must be spec.names.plural+"."+spec.group' % obj["metadata"].get("name"))

    def _register_crd(self, obj):
        spec = obj["spec"]
        names = spec["names"]
        self.store.drop_kinds(obj["metadata"]["name"])
        for v in spec.get("versions") or []:
            if not v.get("served", True):
                continue
            self.store.add_kind(Kind(spec["group"], v["name"], names["kind"], names["plural"],
                                     spec.get("scope", "Namespaced") == "Namespaced", names.get("shortNames") or [],
                                     status="status" in (v.get("subresources") or {}),
                                     scale="scale" in (v.get("subresources") or {}),
                                     singular=names.get("singular"), crd=obj["metadata"]["name"],
                                     categories=names.get("categories") or []))

    # ---- writes ----
    def create(self, kind, ns, body, manager, dry_run=False):
        with self.store.lock:
            obj = self._normalize(kind, ns, body)
            md = obj["metadata"]
            if not md.get("name") and md.get("generateName"):
                md["name"] = md["generateName"] + "".join(random.choice(string.ascii_lowercase + string.digits)
                                                          for _ in range(5))
            self._defaults(kind, obj, None)
            self._check_namespace(kind, ns, md["name"])
            if self.store.get(kind, ns, md["name"]):
                raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (kind.qualified, md["name"]),
                               _details(kind, md["name"]))
            entry = {"obj": obj, "managers": {}}
            self._stamp_new(kind, obj)
            ssa.update(entry["managers"], None, obj, manager, kind.api_version, kind.status, now_ts())
            return 201, self._commit(kind, entry, "ADDED", dry_run)

    def _stamp_new(self, kind, obj):
        md = obj["metadata"]
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_ts()
        md["generation"] = 1
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
            md.pop(k, None)
        if kind.status and kind.kind not in ("Namespace", "Service"):
            obj.pop("status", None)
        obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
        if kind.kind == "Job":
            job_selector(obj, None)

    def _commit(self, kind, entry, etype, dry_run):
        if dry_run:
            entry["obj"]["metadata"].setdefault("resourceVersion", str(self.store.rv))
            return self.render(kind, entry)
        if kind.kind == "CustomResourceDefinition":
            self._register_crd(entry["obj"])
        self.store.save(kind, entry, etype)
        return self.render(kind, entry)

    def _carry(self, kind, old, new, sub):
        """The server-owned parts of old an update keeps."""
        omd, nmd = old["metadata"], new["metadata"]
        for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if k in omd:
                nmd[k] = omd[k]
            else:
                nmd.pop(k, None)
        if sub == "status":
            st = new.get("status")
            new.clear()
            new.update(copy.deepcopy(old))
            if st is not None:
                new["status"] = st
            nmd = new["metadata"]
        elif kind.status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        gen = omd.get("generation", 1)
        nmd["generation"] = gen + 1 if _spec_of(new) != _spec_of(old) else gen
        new["apiVersion"], new["kind"] = kind.api_version, kind.kind

    def _finish_update(self, kind, entry, old_obj, new, manager, dry_run, apply_done=False):
        self._defaults(kind, new, old_obj)
        if not apply_done:
            ssa.update(entry["managers"], old_obj, new, manager, kind.api_version, kind.status, now_ts())
        entry["obj"] = new
        if new["metadata"].get("deletionTimestamp") and not self._held(kind, new):
            if not dry_run:
                self._remove(kind, entry)
            return self.render(kind, entry)
        return self._commit(kind, entry, "MODIFIED", dry_run)

    def replace(self, kind, ns, name, body, manager, sub=None, dry_run=False):
        with self.store.lock:
            new = self._normalize(kind, ns, body, name)
            e = self.store.get(kind, ns, name)
            if not e:
                raise not_found(kind, name)
            rv = new["metadata"].get("resourceVersion")
            if rv and rv != e["obj"]["metadata"]["resourceVersion"]:
                raise self.conflict(kind, name)
            if kind.kind == "Namespace" and sub == "finalize":
                fin = (new.get("spec") or {}).get("finalizers") or []
                new = copy.deepcopy(e["obj"])
                new["spec"]["finalizers"] = fin
                sub = None
            self._carry(kind, e["obj"], new, sub)
            entry = {"obj": e["obj"], "managers": copy.deepcopy(e["managers"])} if dry_run else e
            return 200, self._finish_update(kind, entry, copy.deepcopy(e["obj"]), new, manager, dry_run)

    def conflict(self, kind, name):
        return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                        'please apply your changes to the latest version and try again' % (kind.qualified, name),
                        _details(kind, name))

    def patch(self, kind, ns, name, ptype, body, manager, force=False, sub=None, dry_run=False):
        with self.store.lock:
            e = self.store.get(kind, ns, name)
            if ptype == "apply":
                return self._apply(kind, ns, name, e, body, manager, force, sub, dry_run)
            if not e:
                raise not_found(kind, name)
            cur = self.render(kind, e)
            cur["metadata"].pop("managedFields", None)
            try:
                if ptype == "json":
                    new = patchlib.json_patch(cur, body)
                elif ptype == "merge":
                    new = patchlib.merge_patch(cur, body)
                else:
                    new = patchlib.strategic(cur, body)
            except patchlib.PatchError as err:
                raise ApiError(422, "Invalid", str(err), _details(kind, name))
            if not isinstance(new, dict):
                raise ApiError(422, "Invalid", "the patch did not make an object", _details(kind, name))
            new = self._normalize(kind, ns, new, name)
            rv = new["metadata"].get("resourceVersion")
            if rv and rv != e["obj"]["metadata"]["resourceVersion"]:
                raise self.conflict(kind, name)
            self._carry(kind, e["obj"], new, sub)
            entry = {"obj": e["obj"], "managers": copy.deepcopy(e["managers"])} if dry_run else e
            return 200, self._finish_update(kind, entry, copy.deepcopy(e["obj"]), new, manager, dry_run)

    def _apply(self, kind, ns, name, e, body, manager, force, sub, dry_run):
        if not manager:
            raise ApiError(400, "BadRequest", "PATCH, application/apply-patch+yaml: fieldManager is required")
        if not isinstance(body, dict) or not body.get("apiVersion") or not body.get("kind"):
            raise ApiError(400, "BadRequest", "apiVersion and kind must be set in an applied object")
        if body["kind"] != kind.kind:
            raise ApiError(400, "BadRequest", "the kind %s does not match %s" % (body["kind"], kind.kind))
        applied = self._normalize(kind, ns, body, name)
        applied["metadata"].pop("resourceVersion", None)
        if sub == "status":
            applied = {"apiVersion": applied["apiVersion"], "kind": applied["kind"],
                       "metadata": {"name": name}, "status": applied.get("status") or {}}
        managers = copy.deepcopy(e["managers"]) if e else {}
        live = copy.deepcopy(e["obj"]) if e else None
        try:
            merged = ssa.apply(live, managers, applied, manager, force, kind.api_version,
                               kind.status and sub != "status", now_ts())
        except ssa.Conflict as c:
            raise ApiError(409, "Conflict", c.message(), {
                "name": name, "group": kind.group, "kind": kind.plural,
                "causes": [{"reason": "FieldManagerConflict", "message": who, "field": path}
                           for who, path in c.conflicts]})
        merged.setdefault("metadata", {})["name"] = name
        if kind.namespaced:
            merged["metadata"]["namespace"] = ns
        if not e:
            self._defaults(kind, merged, None)
            self._check_namespace(kind, ns, name)
            self._stamp_new(kind, merged)
            entry = {"obj": merged, "managers": managers}
            return 201, self._commit(kind, entry, "ADDED", dry_run)
        self._carry(kind, e["obj"], merged, sub)
        entry = {"obj": e["obj"], "managers": managers}
        out = self._finish_update(kind, entry, copy.deepcopy(e["obj"]), merged, manager, dry_run, apply_done=True)
        if not dry_run:
            e["managers"] = managers
            e["obj"] = entry["obj"]
        return 200, out

    # ---- deletion ----
    def _held(self, kind, obj):
        if obj["metadata"].get("finalizers"):
            return True
        return kind.kind == "Namespace" and bool((obj.get("spec") or {}).get("finalizers"))

    def delete(self, kind, ns, name, opts, dry_run=False):
        with self.store.lock:
            e = self.store.get(kind, ns, name)
            if not e:
                raise not_found(kind, name)
            md = e["obj"]["metadata"]
            pre = (opts or {}).get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != md["uid"]:
                raise ApiError(409, "Conflict", "Precondition failed: UID in precondition: %s, UID in object meta: %s"
                               % (pre["uid"], md["uid"]), _details(kind, name))
            if pre.get("resourceVersion") and pre["resourceVersion"] != md["resourceVersion"]:
                raise ApiError(409, "Conflict", "Precondition failed: ResourceVersion in precondition: %s, "
                               "ResourceVersion in object meta: %s" % (pre["resourceVersion"], md["resourceVersion"]),
                               _details(kind, name))
            if dry_run:
                return 200, self.render(kind, e)
            if self._held(kind, e["obj"]):
                if not md.get("deletionTimestamp"):
                    md["deletionTimestamp"] = now_ts()
                    md["deletionGracePeriodSeconds"] = 0
                    if kind.kind == "Namespace":
                        e["obj"].setdefault("status", {})["phase"] = "Terminating"
                    self.store.save(kind, e, "MODIFIED")
                return 200, self.render(kind, e)
            out = self.render(kind, e)
            self._remove(kind, e, (opts or {}).get("propagationPolicy"))
            if kind.kind in ("Pod", "Namespace") or kind.crd:
                return 200, out
            return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                         "details": dict(_details(kind, name), uid=md["uid"])}

    def _remove(self, kind, entry, policy=None):
        obj = entry["obj"]
        self.store.remove(kind, entry)
        if kind.kind == "CustomResourceDefinition":  # its objects go with it
            for k in [k for k in self.store.kinds.values() if k.crd == obj["metadata"]["name"]]:
                for ce in self.store.entries(k):
                    self.store.remove(k, ce)
            self.store.drop_kinds(obj["metadata"]["name"])
        if policy == "Orphan":
            return
        uid = obj["metadata"]["uid"]
        for (g, plural, ns, name), dep in list(self.store.objs.items()):
            if any(r.get("uid") == uid for r in dep["obj"]["metadata"].get("ownerReferences") or []):
                dk = next((k for k in self.store.kinds.values() if k.group == g and k.plural == plural), None)
                if dk and self.store.get(dk, ns, name):
                    try:
                        self.delete(dk, ns, name, {"propagationPolicy": "Background"})
                    except ApiError:
                        pass

    def secret_token(self, ns, name):
        """data.token of a secret (base64), for auth.py."""
        with self.store.lock:
            e = self.store.get(self.store.kind("", "v1", "secrets"), ns, name)
            return (e["obj"].get("data") or {}).get("token") if e else None

    def save_status(self, kind, entry, status):
        """A controller's status write: only when something changed. Caller holds the lock."""
        if entry["obj"].get("status") == status:
            return False
        entry["obj"]["status"] = status
        self.store.save(kind, entry, "MODIFIED")
        return True


JOB_LABELS = ("batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name", "controller-uid", "job-name")


def job_selector(obj, old):
    """A Job's selector (its controller-uid) and its pod template's labels, as the real server sets
    them on create (old None) and keeps them on update."""
    md, spec = obj["metadata"], obj.setdefault("spec", {})
    if old:
        spec["selector"] = copy.deepcopy((old.get("spec") or {}).get("selector"))
        olabels = (((old.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
        labels = {k: v for k, v in olabels.items() if k in JOB_LABELS}
    else:
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": md["uid"]}}
        labels = dict(zip(JOB_LABELS, (md["uid"], md["name"], md["uid"], md["name"])))
    tmd = spec.setdefault("template", {}).setdefault("metadata", {})
    tmd["labels"] = dict(tmd.get("labels") or {}, **labels)


def template_hash(template):
    h = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    return "".join(c for c in h if c in "bcdfghjklmnpqrstvwxz2456789")[:10] or h[:10]
