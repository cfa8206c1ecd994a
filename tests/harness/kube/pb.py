"""pb.py: decode the few protobuf request bodies real clients send (Python standard library only).

kubectl's and helm's typed clients (kubectl create namespace / secret / configmap / serviceaccount /
service / token, auth whoami, helm's release Secrets, DeleteOptions of typed deletes) send
application/vnd.kubernetes.protobuf: the magic "k8s\\0", then a runtime.Unknown {typeMeta
{apiVersion, kind}, raw}, raw being the object's own message. decode() turns the kinds listed in
KINDS into the JSON-shaped dict the rest of the server handles; any other kind raises Unsupported
(the server answers 415). Replies stay JSON: those clients accept it.
Field numbers: k8s.io/api/core/v1/generated.proto and apimachinery meta/v1/generated.proto.
"""
import base64
import datetime
import struct


class Unsupported(Exception):
    pass


def _varint(b, i):
    shift = out = 0
    while True:
        c = b[i]
        i += 1
        out |= (c & 0x7F) << shift
        if not c & 0x80:
            return out, i
        shift += 7


def fields(b):
    """[(number, wire type, value)]: value an int for varints and fixed, bytes for length-delimited."""
    out, i = [], 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 1:
            v = struct.unpack("<q", b[i:i + 8])[0]
            i += 8
        elif wt == 2:
            n, i = _varint(b, i)
            if i + n > len(b):  # a body cut short: never half a value
                raise ValueError("truncated: field %d wants %d bytes, %d left" % (num, n, len(b) - i))
            v = b[i:i + n]
            i += n
        elif wt == 5:
            v = struct.unpack("<i", b[i:i + 4])[0]
            i += 4
        else:
            raise Unsupported("wire type %d" % wt)
        out.append((num, wt, v))
    return out


def _int64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def _time(b):
    secs = next((_int64(v) for n, _, v in fields(b) if n == 1), 0)
    return datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _map(b, as_bytes):
    k = v = None
    for n, _, val in fields(b):
        if n == 1:
            k = val.decode()
        elif n == 2:
            v = val
    v = v if v is not None else b""
    return k, base64.b64encode(v).decode() if as_bytes else v.decode()


# name -> {number: (json name, type, message spec for "msg"/"rep_msg")}
# types: str, int, int0 / bool0 (zero means unset), intorstr, bool, time, msg, rep_str, rep_msg,
# map_str, map_bytes (base64 in JSON)
OWNER = {1: ("kind", "str"), 3: ("name", "str"), 4: ("uid", "str"), 5: ("apiVersion", "str"),
         6: ("controller", "bool"), 7: ("blockOwnerDeletion", "bool")}
META = {1: ("name", "str"), 2: ("generateName", "str"), 3: ("namespace", "str"), 5: ("uid", "str"),
        6: ("resourceVersion", "str"),
        11: ("labels", "map_str"), 12: ("annotations", "map_str"), 13: ("ownerReferences", "rep_msg", OWNER),
        14: ("finalizers", "rep_str")}
OBJREF = {1: ("kind", "str"), 2: ("namespace", "str"), 3: ("name", "str"), 4: ("uid", "str"),
          5: ("apiVersion", "str")}
LOCALREF = {1: ("name", "str")}
SERVICE_PORT = {1: ("name", "str"), 2: ("protocol", "str"), 3: ("port", "int0"), 4: ("targetPort", "intorstr"),
                5: ("nodePort", "int0"), 6: ("appProtocol", "str")}
SERVICE_SPEC = {1: ("ports", "rep_msg", SERVICE_PORT), 2: ("selector", "map_str"), 3: ("clusterIP", "str"),
                4: ("type", "str"), 5: ("externalIPs", "rep_str"), 7: ("sessionAffinity", "str"),
                8: ("loadBalancerIP", "str"), 9: ("loadBalancerSourceRanges", "rep_str"), 10: ("externalName", "str"),
                11: ("externalTrafficPolicy", "str"), 12: ("healthCheckNodePort", "int0"),
                13: ("publishNotReadyAddresses", "bool0")}
KINDS = {
    "Service": {1: ("metadata", "msg", META), 2: ("spec", "msg", SERVICE_SPEC)},
    "Namespace": {1: ("metadata", "msg", META), 2: ("spec", "msg", {1: ("finalizers", "rep_str")})},
    "Secret": {1: ("metadata", "msg", META), 2: ("data", "map_bytes"), 3: ("type", "str"),
               4: ("stringData", "map_str"), 5: ("immutable", "bool")},
    "ConfigMap": {1: ("metadata", "msg", META), 2: ("data", "map_str"), 3: ("binaryData", "map_bytes"),
                  4: ("immutable", "bool")},
    "ServiceAccount": {1: ("metadata", "msg", META), 2: ("secrets", "rep_msg", OBJREF),
                       3: ("imagePullSecrets", "rep_msg", LOCALREF), 4: ("automountServiceAccountToken", "bool")},
    "DeleteOptions": {1: ("gracePeriodSeconds", "int"),
                      2: ("preconditions", "msg", {1: ("uid", "str"), 2: ("resourceVersion", "str")}),
                      3: ("orphanDependents", "bool"), 4: ("propagationPolicy", "str"), 5: ("dryRun", "rep_str")},
    "SelfSubjectReview": {1: ("metadata", "msg", META)},
    "TokenRequest": {1: ("metadata", "msg", META),
                     2: ("spec", "msg", {1: ("audiences", "rep_str"), 4: ("expirationSeconds", "int"),
                                         3: ("boundObjectRef", "msg", OBJREF)})},
}


def message(b, spec):
    out = {}
    for num, _, v in fields(b):
        f = spec.get(num)
        if not f:
            continue
        name, t = f[0], f[1]
        if t == "str":
            if v:  # gogo-protobuf writes every string field, empty ones too
                out[name] = v.decode()
        elif t == "int":
            out[name] = _int64(v)
        elif t == "int0":  # written even when unset: 0 means absent
            if v:
                out[name] = _int64(v)
        elif t == "bool0":
            if v:
                out[name] = True
        elif t == "intorstr":
            ios = {n: val for n, _, val in fields(v)}
            if ios.get(1) == 1 and ios.get(3):
                out[name] = ios[3].decode()
            elif ios.get(2):
                out[name] = _int64(ios[2])
        elif t == "bool":
            out[name] = bool(v)
        elif t == "time":
            out[name] = _time(v)
        elif t == "msg":
            out[name] = message(v, f[2])
        elif t == "rep_str":
            out.setdefault(name, []).append(v.decode())
        elif t == "rep_msg":
            out.setdefault(name, []).append(message(v, f[2]))
        elif t in ("map_str", "map_bytes"):
            k, val = _map(v, t == "map_bytes")
            out.setdefault(name, {})[k] = val
    return out


def decode(body):
    if body[:4] != b"k8s\x00":
        raise Unsupported("no protobuf magic")
    api_version = kind = ""
    raw = b""
    for num, _, v in fields(body[4:]):
        if num == 1:
            for n2, _, v2 in fields(v):
                if n2 == 1:
                    api_version = v2.decode()
                elif n2 == 2:
                    kind = v2.decode()
        elif num == 2:
            raw = v
    if kind not in KINDS:
        raise Unsupported(kind or "no kind")
    obj = message(raw, KINDS[kind])
    obj["apiVersion"], obj["kind"] = api_version, kind
    return obj
