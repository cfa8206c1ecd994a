"""ssa.py: field ownership and server-side apply, simplified (Python standard library only).

A field is a leaf path of an object: a tuple of map keys down to a scalar, a list or an empty map.
A list whose items are maps with unique merge keys is merged item by item, as the real server does
with its merge keys: containers, initContainers, env, volumes... by name, a container's ports by
containerPort (list_key). Its items are path elements ("k", KEY, VALUE), shown as [name="NAME"] or
[containerPort=80] and in FieldsV1 as k:{"name":"NAME"}; dropping an item's key drops the item.
Other lists are atomic: owned and compared whole (the real server keys container ports by
containerPort and protocol, Service ports by port and protocol; here: by containerPort, by name). Left out:
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
        elif list_key(prefix[-1] if prefix else None, v):
            key = list_key(prefix[-1], v)
            for item in v:
                walk(item, prefix + (("k", key, item[key]),))
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


def list_key(field, v):
    """The key list v (the value of field `field`) merges by, or None: it is atomic. A container's
    ports by containerPort; other lists of maps by name; the key's values must be unique."""
    if not isinstance(v, list) or not v or not all(isinstance(i, dict) for i in v):
        return None
    if field == "ports" and all(isinstance(i.get("containerPort"), int) for i in v):
        key = "containerPort"
    elif all(isinstance(i.get("name"), str) for i in v):
        key = "name"
    else:
        return None
    return key if len({i[key] for i in v}) == len(v) else None


def field_str(path):
    return "".join("[%s=%s]" % (p[1], json.dumps(p[2])) if isinstance(p, tuple) else "." + p for p in path)


def _child(cur, p):
    if isinstance(p, tuple):
        if not isinstance(cur, list):
            return MISSING
        return next((i for i in cur if isinstance(i, dict) and i.get(p[1]) == p[2]), MISSING)
    if not isinstance(cur, dict) or p not in cur:
        return MISSING
    return cur[p]


def get_path(obj, path):
    cur = obj
    for p in path:
        cur = _child(cur, p)
        if cur is MISSING:
            return MISSING
    return cur


def set_path(obj, path, value):
    cur = obj
    for i, p in enumerate(path[:-1]):
        want = list if isinstance(path[i + 1], tuple) else dict
        child = _child(cur, p)
        if not isinstance(child, want):
            child = [] if want is list else {}
            if isinstance(p, tuple):
                child = {p[1]: p[2]} if want is dict else child
                cur.append(child)
            else:
                cur[p] = child
        cur = child
    cur[path[-1]] = copy.deepcopy(value)


def _item_key(path):
    """The path of a keyed list item whose key leaf this is, else None."""
    return path[:-1] if len(path) >= 2 and isinstance(path[-2], tuple) and path[-1] == path[-2][1] else None


def del_path(obj, path):
    item = _item_key(path)
    if item:  # an item's key goes: the item goes
        lst = get_path(obj, item[:-1])
        if isinstance(lst, list):
            lst[:] = [i for i in lst if not (isinstance(i, dict) and i.get(item[-1][1]) == item[-1][2])]
        return
    parent = get_path(obj, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


def _related(a, b):
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _keeps(p, other):
    """Does owning `other` keep field p alive? Its own path or a related one; for a keyed item's
    name, any field of that item."""
    item = _item_key(p)
    return _related(p, other) or bool(item and other[:len(item)] == item)


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
            for owned in sorted(ent["paths"], key=field_str):
                for p, v in new.items():
                    if len(p) < len(owned) and v == {}:
                        continue  # an empty map applied owns the map, not what others put in it
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
        if v == {} and isinstance(get_path(merged, p), dict):
            continue  # an empty map merges into what is there
        set_path(merged, p, v)
    merged["apiVersion"], merged["kind"] = applied.get("apiVersion"), applied.get("kind")
    mine = managers.get((manager, "Apply"))
    if mine:
        others = set().union(*[e["paths"] for k, e in managers.items() if k != (manager, "Apply")])
        for p in mine["paths"] - set(new):
            if not any(_keeps(p, o) for o in others) and not any(q[:len(p)] == p for q in new):
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
    for p in sorted(paths, key=field_str):
        cur = out
        for part in p:
            key = "k:" + json.dumps({part[1]: part[2]}, separators=(",", ":")) if isinstance(part, tuple) else "f:" + part
            cur = cur.setdefault(key, {})
    return out


def render_managed(managers):
    return [{"manager": m, "operation": op, "apiVersion": e["apiVersion"], "time": e["time"],
             "fieldsType": "FieldsV1", "fieldsV1": fields_v1(e["paths"])}
            for (m, op), e in sorted(managers.items(), key=lambda kv: kv[1]["time"])]
