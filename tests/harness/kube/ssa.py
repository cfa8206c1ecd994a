"""ssa.py: field ownership and server-side apply, simplified (Python standard library only).

A field is a leaf path of an object: a tuple of map keys down to a scalar, a list (lists are atomic
here: owned and compared whole, where the real server merges some by key) or an empty map. Left out:
apiVersion, kind, status when the kind has a status subresource, and the server's own metadata
(name, namespace, uid, resourceVersion, generation, creationTimestamp, managedFields...).

Each object keeps managers {(manager, operation): {"paths": set, "apiVersion", "time"}}:
  - apply(): manager M applies object A. Every field of A that another manager owns with a value
    different from the live one is a conflict (409, unless force, which takes the field over).
    A's fields are merged into the live object; fields M applied before and omits now are removed
    unless someone else owns them. M's Apply entry then owns exactly A's fields.
  - update(): a create, PUT or PATCH by M: M's Update entry takes every field the write added or
    changed (from any owner, no conflicts); removed fields lose their owners.
render_managed() turns the entries into metadata.managedFields (FieldsV1: {"f:data": {"f:x": {}}}).
"""
import copy
import json

SERVER_META = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
               "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}
MISSING = object()


class Conflict(Exception):
    def __init__(self, conflicts):
        super().__init__()
        self.conflicts = conflicts  # [(manager description, ".field.path")]

    def message(self):
        n = len(self.conflicts)
        lines = ["%s: %s" % (who, path) for who, path in self.conflicts]
        return "Apply failed with %d conflict%s: %s" % (n, "" if n == 1 else "s", "\n".join(lines))


def leaf_paths(obj, skip_status):
    out = {}

    def walk(v, prefix):
        if isinstance(v, dict) and v:
            for k, sub in v.items():
                walk(sub, prefix + (k,))
        else:
            out[prefix] = v
    for k, v in (obj or {}).items():
        if k in ("apiVersion", "kind") or (k == "status" and skip_status):
            continue
        if k == "metadata" and isinstance(v, dict):
            for mk, mv in v.items():
                if mk not in SERVER_META:
                    walk(mv, ("metadata", mk))
            continue
        walk(v, (k,))
    return out


def field_str(path):
    return "".join("." + p for p in path)


def get_path(obj, path):
    cur = obj
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return MISSING
        cur = cur[p]
    return cur


def set_path(obj, path, value):
    cur = obj
    for p in path[:-1]:
        if not isinstance(cur.get(p), dict):
            cur[p] = {}
        cur = cur[p]
    cur[path[-1]] = copy.deepcopy(value)


def del_path(obj, path):
    cur = obj
    for p in path[:-1]:
        if not isinstance(cur, dict) or p not in cur:
            return
        cur = cur[p]
    if isinstance(cur, dict):
        cur.pop(path[-1], None)


def _related(a, b):
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def describe(manager, operation, ent):
    if operation == "Apply":
        return "conflict with %s" % json.dumps(manager)
    return "conflict with %s using %s" % (json.dumps(manager), ent["apiVersion"])


def apply(live, managers, applied, manager, force, api_version, skip_status, now):
    """The object after manager's apply of applied (live None: a create). Changes managers in place.
    Raises Conflict."""
    new = leaf_paths(applied, skip_status)
    if live is not None:
        live_paths = leaf_paths(live, skip_status)
        conflicts, taken = [], []
        for (m, op), ent in sorted(managers.items()):
            if m == manager:
                continue
            for owned in sorted(ent["paths"]):
                for p, v in new.items():
                    if _related(owned, p) and live_paths.get(owned, MISSING) != get_path(applied, owned):
                        conflicts.append((describe(m, op, ent), field_str(owned)))
                        taken.append((ent, owned))
                        break
        if conflicts and not force:
            raise Conflict(conflicts)
        for ent, owned in taken:
            ent["paths"].discard(owned)
        merged = copy.deepcopy(live)
    else:
        merged = {}
    for p, v in new.items():
        set_path(merged, p, v)
    merged["apiVersion"], merged["kind"] = applied.get("apiVersion"), applied.get("kind")
    mine = managers.get((manager, "Apply"))
    if mine:
        others = set().union(*[e["paths"] for k, e in managers.items() if k != (manager, "Apply")])
        for p in mine["paths"] - set(new):
            if not any(_related(p, o) for o in others) and not any(_related(p, q) for q in new):
                del_path(merged, p)
    managers[(manager, "Apply")] = {"paths": set(new), "apiVersion": api_version, "time": now}
    prune(managers, merged, skip_status)
    return merged


def update(managers, old, new, manager, api_version, skip_status, now):
    oldp = leaf_paths(old, skip_status) if old else {}
    newp = leaf_paths(new, skip_status)
    changed = {p for p, v in newp.items() if oldp.get(p, MISSING) != v}
    if not changed and old is not None:
        prune(managers, new, skip_status)
        return
    for ent in managers.values():
        ent["paths"] = {p for p in ent["paths"] if not any(_related(p, c) for c in changed)}
    ent = managers.setdefault((manager, "Update"), {"paths": set(), "apiVersion": api_version})
    ent["paths"] |= changed
    ent["time"] = now
    ent["apiVersion"] = api_version
    prune(managers, new, skip_status)


def prune(managers, obj, skip_status):
    """Owners lose fields that are gone; managers that own nothing go."""
    present = leaf_paths(obj, skip_status)
    for key in list(managers):
        managers[key]["paths"] = {p for p in managers[key]["paths"] if p in present}
        if not managers[key]["paths"] and key[1] == "Update":
            del managers[key]


def fields_v1(paths):
    out = {}
    for p in sorted(paths):
        cur = out
        for part in p:
            cur = cur.setdefault("f:" + part, {})
    return out


def render_managed(managers):
    return [{"manager": m, "operation": op, "apiVersion": e["apiVersion"], "time": e["time"],
             "fieldsType": "FieldsV1", "fieldsV1": fields_v1(e["paths"])}
            for (m, op), e in sorted(managers.items(), key=lambda kv: kv[1]["time"])]
