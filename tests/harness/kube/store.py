"""store.py: the fake API server's kinds and objects (Python standard library only).

Kinds: the built-in kinds it serves, plus those CRDs add. Objects: one dict per object, keyed by
(group, plural, namespace, name) whatever the version asked, with the field managers beside it
(ssa.py renders them into metadata.managedFields). Every write takes a new resourceVersion from one
global counter and appends a watch event to a bounded history, so a watch from a resourceVersion
replays what it missed. One lock guards everything; watchers wait on its condition.
"""
import copy
import datetime
import re
import threading


def now_ts():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Kind:
    def __init__(self, group, version, kind, plural, namespaced, short=(), status=False, scale=False,
                 singular=None, verbs=None, crd=None, categories=()):
        self.group, self.version, self.kind, self.plural = group, version, kind, plural
        self.namespaced, self.short, self.status, self.scale = namespaced, list(short), status, scale
        self.singular = singular or kind.lower()
        self.verbs = verbs or ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        self.crd = crd  # the CRD's name, for kinds a CRD added
        self.categories = list(categories)

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def qualified(self):  # "deployments.apps", as the real server names a resource in messages
        return self.plural + ("." + self.group if self.group else "")

    @property
    def list_kind(self):
        return self.kind + "List"

    @property
    def storable(self):
        return "get" in self.verbs


CREATE_ONLY = ["create"]
BUILTIN = [
    Kind("", "v1", "Namespace", "namespaces", False, ["ns"], status=True),
    Kind("", "v1", "Secret", "secrets", True),
    Kind("", "v1", "ConfigMap", "configmaps", True, ["cm"]),
    Kind("", "v1", "ServiceAccount", "serviceaccounts", True, ["sa"]),
    Kind("", "v1", "Service", "services", True, ["svc"], status=True, categories=["all"]),
    Kind("", "v1", "Pod", "pods", True, ["po"], status=True, categories=["all"]),
    Kind("", "v1", "Endpoints", "endpoints", True, ["ep"]),
    Kind("", "v1", "Event", "events", True, ["ev"]),
    Kind("apps", "v1", "Deployment", "deployments", True, ["deploy"], status=True, scale=True, categories=["all"]),
    Kind("apps", "v1", "ReplicaSet", "replicasets", True, ["rs"], status=True, scale=True, categories=["all"]),
    Kind("apps", "v1", "StatefulSet", "statefulsets", True, ["sts"], status=True, scale=True, categories=["all"]),
    Kind("apps", "v1", "DaemonSet", "daemonsets", True, ["ds"], status=True, categories=["all"]),
    Kind("batch", "v1", "Job", "jobs", True, status=True, categories=["all"]),
    Kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False,
         ["crd", "crds"], status=True),
    Kind("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    Kind("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    Kind("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    Kind("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    Kind("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration",
         "mutatingwebhookconfigurations", False),
    Kind("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
         "validatingwebhookconfigurations", False),
    Kind("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, ["pdb"], status=True),
    Kind("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, ["hpa"],
         status=True, categories=["all"]),
    Kind("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", False, verbs=CREATE_ONLY),
    Kind("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", False, verbs=CREATE_ONLY),
    Kind("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False,
         verbs=CREATE_ONLY),
]


class Store:
    HISTORY = 5000

    def __init__(self):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = 0
        self.objs = {}      # (group, plural, ns, name) -> {"obj": dict, "managers": {...}}
        self.history = []   # (rv, event type, group, plural, ns, rendered object)
        self.kinds = {}     # (group, version, plural) -> Kind
        self.render = lambda entry: copy.deepcopy(entry["obj"])  # ssa.py adds managedFields
        for k in BUILTIN:
            self.add_kind(k)

    # ---- kinds ----
    def add_kind(self, k):
        with self.lock:
            self.kinds[(k.group, k.version, k.plural)] = k

    def drop_kinds(self, crd_name):
        with self.lock:
            for key in [key for key, k in self.kinds.items() if k.crd == crd_name]:
                del self.kinds[key]

    def kind(self, group, version, plural):
        return self.kinds.get((group, version, plural))

    def kind_of(self, api_version, kind):
        group, _, version = api_version.rpartition("/")
        for k in self.kinds.values():
            if k.group == group and k.version == version and k.kind == kind:
                return k
        return None

    def group_versions(self):
        """{group: [versions]} of what is served, core ("") included."""
        out = {}
        with self.lock:
            for k in self.kinds.values():
                vs = out.setdefault(k.group, [])
                if k.version not in vs:
                    vs.append(k.version)
        return out

    # ---- objects ----
    def next_rv(self):
        self.rv += 1
        return self.rv

    def get(self, kind, ns, name):
        return self.objs.get((kind.group, kind.plural, ns or "", name))

    def entries(self, kind, ns=None):
        """Entries of a kind, in one namespace or all (ns None), sorted by namespace and name."""
        out = [(key, e) for key, e in self.objs.items() if key[0] == kind.group and key[1] == kind.plural
               and (ns is None or key[2] == ns)]
        return [e for _, e in sorted(out, key=lambda kv: (kv[0][2], kv[0][3]))]

    def in_namespace(self, ns):
        return [(key, e) for key, e in self.objs.items() if key[2] == ns]

    def save(self, kind, entry, etype):
        """Store entry (new or changed): a new resourceVersion and a watch event. Caller holds lock."""
        md = entry["obj"]["metadata"]
        md["resourceVersion"] = str(self.next_rv())
        self.objs[(kind.group, kind.plural, md.get("namespace", ""), md["name"])] = entry
        self._event(kind, etype, entry)

    def remove(self, kind, entry):
        md = entry["obj"]["metadata"]
        self.objs.pop((kind.group, kind.plural, md.get("namespace", ""), md["name"]), None)
        md["resourceVersion"] = str(self.next_rv())
        self._event(kind, "DELETED", entry)

    def _event(self, kind, etype, entry):
        md = entry["obj"]["metadata"]
        self.history.append((self.rv, etype, kind.group, kind.plural, md.get("namespace", ""), self.render(entry)))
        if len(self.history) > self.HISTORY:
            del self.history[:len(self.history) - self.HISTORY]
        self.cond.notify_all()


# ---- selectors ----

def _split_top(s):
    """Split a selector on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(s):
    """[(key, op, values)]; op in = != in notin exists !exists. ValueError if malformed."""
    reqs = []
    for p in _split_top(s or ""):
        m = re.match(r"^([\w./-]+)\s+(in|notin)\s+\((.*)\)$", p)
        if m:
            reqs.append((m.group(1), m.group(2), [v.strip() for v in m.group(3).split(",") if v.strip()]))
            continue
        m = re.match(r"^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$", p)
        if m:
            reqs.append((m.group(1), "!=" if m.group(2) == "!=" else "=", [m.group(3)]))
            continue
        m = re.match(r"^(!?)([\w./-]+)$", p)
        if m:
            reqs.append((m.group(2), "!exists" if m.group(1) else "exists", []))
            continue
        raise ValueError("unable to parse requirement: %s" % p)
    return reqs


def match_labels(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "=" and v != vals[0]:
            return False
        if op == "!=" and has and v == vals[0]:
            return False
        if op == "in" and v not in vals:
            return False
        if op == "notin" and has and v in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
    return True


def parse_field_selector(s):
    reqs = []
    for p in _split_top(s or ""):
        m = re.match(r"^([\w.]+)\s*(==|=|!=)\s*(.*)$", p)
        if not m:
            raise ValueError("invalid selector: %s" % p)
        reqs.append((m.group(1), "!=" if m.group(2) == "!=" else "=", m.group(3)))
    return reqs


def match_fields(reqs, obj):
    for path, op, want in reqs:
        v = obj
        for part in path.split("."):
            v = v.get(part) if isinstance(v, dict) else None
        got = "" if v is None else (str(v).lower() if isinstance(v, bool) else str(v))
        if (op == "=") != (got == want):
            return False
    return True
