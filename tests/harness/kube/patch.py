"""patch.py: the three PATCH flavours of the API server (Python standard library only).

  json_patch(obj, ops)       RFC 6902 (application/json-patch+json)
  merge_patch(obj, patch)    RFC 7386 (application/merge-patch+json)
  strategic(obj, patch)      application/strategic-merge-patch+json: a merge patch, except that the
                             lists the real server merges by key (containers and volumes by name,
                             container ports by containerPort, ...) merge item by item, metadata
                             finalizers merge as a set, and the $patch / $retainKeys /
                             $deleteFromPrimitiveList directives are honoured ($setElementOrder ignored).
All return a new object and leave their arguments alone. PatchError: the patch cannot apply (422).
"""
import copy


class PatchError(Exception):
    pass


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# ---- JSON patch ----

def _tokens(pointer):
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError("invalid JSON pointer %r" % pointer)
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _parent(doc, pointer):
    toks = _tokens(pointer)
    if not toks:
        raise PatchError("cannot operate on the whole document")
    cur = doc
    for t in toks[:-1]:
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list) and t.isdigit() and int(t) < len(cur):
            cur = cur[int(t)]
        else:
            raise PatchError("doc is missing path: %s" % pointer)
    return cur, toks[-1]


def _get(doc, pointer):
    cur = doc
    for t in _tokens(pointer):
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list) and t.isdigit() and int(t) < len(cur):
            cur = cur[int(t)]
        else:
            raise PatchError("doc is missing path: %s" % pointer)
    return cur


def _add(doc, pointer, value):
    parent, last = _parent(doc, pointer)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise PatchError("index out of range: %s" % pointer)
    else:
        raise PatchError("doc is missing path: %s" % pointer)


def _remove(doc, pointer):
    parent, last = _parent(doc, pointer)
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise PatchError("unable to remove nonexistent key: %s" % pointer)


def json_patch(obj, ops):
    if not isinstance(ops, list):
        raise PatchError("a JSON patch is a list of operations")
    doc = copy.deepcopy(obj)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError("bad operation %r" % (op,))
        kind, path = op["op"], op["path"]
        if kind == "add":
            _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            _remove(doc, path)
            _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "move":
            v = _remove(doc, op["from"])
            _add(doc, path, v)
        elif kind == "copy":
            _add(doc, path, copy.deepcopy(_get(doc, op["from"])))
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise PatchError("testing value %s failed" % path)
        else:
            raise PatchError("unknown operation %r" % kind)
    return doc


# ---- strategic merge patch ----

MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name",
              "volumes": "name", "env": "name", "imagePullSecrets": "name", "volumeMounts": "mountPath",
              "volumeDevices": "devicePath", "hostAliases": "ip", "ownerReferences": "uid",
              "ports": None, "conditions": "type"}
SET_LISTS = {"finalizers"}


def _list_key(name, items):
    key = MERGE_KEYS.get(name)
    if name == "ports":
        key = "containerPort" if all(isinstance(i, dict) and "containerPort" in i for i in items) else "port"
    return key


def _merge_list(name, live, patch):
    if name in SET_LISTS and all(not isinstance(i, (dict, list)) for i in patch):
        if not patch:
            return []
        return list(live) + [i for i in patch if i not in live]
    key = _list_key(name, patch)
    if not key or not all(isinstance(i, dict) and key in i for i in patch):
        return [i for i in copy.deepcopy(patch) if not (isinstance(i, dict) and i.get("$patch"))]
    out = copy.deepcopy(live)
    for item in patch:
        at = next((n for n, cur in enumerate(out) if isinstance(cur, dict) and cur.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if at is not None:
                out.pop(at)
            continue
        if at is None:
            out.append(strategic({}, item))
        else:
            out[at] = strategic(out[at], item)
    return out


def strategic(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None or (isinstance(v, dict) and v.get("$patch") == "delete"):
            out.pop(k, None)
        elif isinstance(v, list):
            out[k] = _merge_list(k, out.get(k) if isinstance(out.get(k), list) else [], v)
        else:
            out[k] = strategic(out.get(k), v)
    for k, v in patch.items():
        if k.startswith("$deleteFromPrimitiveList/") and isinstance(out.get(k.split("/", 1)[1]), list):
            name = k.split("/", 1)[1]
            out[name] = [i for i in out[name] if i not in v]
    if isinstance(patch.get("$retainKeys"), list):
        out = {k: v for k, v in out.items() if k in patch["$retainKeys"]}
    return out
