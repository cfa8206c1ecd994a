"""eks_catalog.py: what the EKS stand-in (eks.py) offers: Kubernetes versions, add-ons with their
versions per cluster version, their configuration schemas (JSON Schema, draft-07 subset), and a
small validator for configurationValues (Python standard library only).

The schemas are trimmed copies of what DescribeAddonConfiguration answers on AWS: the top level
and every nested object refuse unknown keys ("additionalProperties": false), so a misspelled key is
an InvalidParameterException, as on EKS. vpc-cni's has init.env (the aws-vpc-cni-init container),
where ENABLE_V6_EGRESS / ENABLE_V4_EGRESS go, and env (the aws-node container).
"""
import re

VERSIONS = ["1.28", "1.29", "1.30", "1.31"]
DEFAULT_VERSION = VERSIONS[-1]
PLATFORM = {"1.28": "eks.33", "1.29": "eks.26", "1.30": "eks.21", "1.31": "eks.17"}
RELEASE = {"1.28": "1.28.15-20241115", "1.29": "1.29.10-20241115", "1.30": "1.30.6-20241115",
           "1.31": "1.31.2-20241115"}

# addon -> (type, [(version, {k8s version: default?})])
ADDONS = {
    "vpc-cni": ("networking", [
        ("v1.19.0-eksbuild.1", {v: True for v in VERSIONS}),
        ("v1.18.5-eksbuild.1", {v: False for v in VERSIONS}),
    ]),
    "coredns": ("networking", [
        ("v1.11.3-eksbuild.2", {"1.29": True, "1.30": True, "1.31": True}),
        ("v1.11.1-eksbuild.13", {"1.29": False, "1.30": False, "1.31": False}),
        ("v1.10.1-eksbuild.13", {"1.28": True}),
    ]),
    "kube-proxy": ("networking", [
        ("v1.31.2-eksbuild.3", {"1.31": True}),
        ("v1.30.6-eksbuild.3", {"1.30": True}),
        ("v1.29.10-eksbuild.3", {"1.29": True}),
        ("v1.28.15-eksbuild.4", {"1.28": True}),
    ]),
}

_BOOL_STR = {"type": "string", "pattern": "^(true|false)$"}
_INT_STR = {"type": "string", "pattern": "^[0-9]+$"}
_RESOURCES = {"type": "object", "additionalProperties": False, "properties": {
    "limits": {"type": "object", "additionalProperties": False,
               "properties": {"cpu": {"type": "string"}, "memory": {"type": "string"}}},
    "requests": {"type": "object", "additionalProperties": False,
                 "properties": {"cpu": {"type": "string"}, "memory": {"type": "string"}}}}}
_TOLERATIONS = {"type": "array", "items": {"type": "object"}}

VPC_CNI_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "definitions": {"env": {"type": "object", "additionalProperties": False, "properties": {
        "ADDITIONAL_ENI_TAGS": {"type": "string"}, "ANNOTATE_POD_IP": _BOOL_STR,
        "AWS_VPC_CNI_NODE_PORT_SUPPORT": _BOOL_STR, "AWS_VPC_ENI_MTU": _INT_STR,
        "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": _BOOL_STR, "AWS_VPC_K8S_CNI_EXTERNALSNAT": _BOOL_STR,
        "AWS_VPC_K8S_CNI_LOGLEVEL": {"type": "string"}, "AWS_VPC_K8S_CNI_VETHPREFIX": {"type": "string"},
        "DISABLE_INTROSPECTION": _BOOL_STR, "DISABLE_METRICS": _BOOL_STR, "ENABLE_IPv4": _BOOL_STR,
        "ENABLE_IPv6": _BOOL_STR, "ENABLE_POD_ENI": _BOOL_STR, "ENABLE_PREFIX_DELEGATION": _BOOL_STR,
        "ENABLE_V4_EGRESS": _BOOL_STR, "ENABLE_V6_EGRESS": _BOOL_STR,
        "MINIMUM_IP_TARGET": _INT_STR, "POD_SECURITY_GROUP_ENFORCING_MODE": {"type": "string"},
        "WARM_ENI_TARGET": _INT_STR, "WARM_IP_TARGET": _INT_STR, "WARM_PREFIX_TARGET": _INT_STR}},
        "initEnv": {"type": "object", "additionalProperties": False, "properties": {
            "DISABLE_TCP_EARLY_DEMUX": _BOOL_STR, "ENABLE_IPv6": _BOOL_STR,
            "ENABLE_V4_EGRESS": _BOOL_STR, "ENABLE_V6_EGRESS": _BOOL_STR}}},
    "properties": {
        "affinity": {"type": "object"},
        "enableNetworkPolicy": _BOOL_STR,
        "enableWindowsIpam": _BOOL_STR,
        "env": {"$ref": "#/definitions/env"},
        "init": {"type": "object", "additionalProperties": False, "properties": {
            "env": {"$ref": "#/definitions/initEnv"}}},
        "livenessProbeTimeoutSeconds": {"type": "integer"},
        "nodeAgent": {"type": "object", "additionalProperties": False, "properties": {
            "enableCloudWatchLogs": _BOOL_STR, "enablePolicyEventLogs": _BOOL_STR,
            "healthProbeBindAddr": {"type": "string"}, "metricsBindAddr": {"type": "string"},
            "resources": _RESOURCES}},
        "readinessProbeTimeoutSeconds": {"type": "integer"},
        "resources": _RESOURCES,
        "tolerations": _TOLERATIONS,
    },
}

COREDNS_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "affinity": {"type": ["object", "null"]},
        "autoScaling": {"type": "object", "additionalProperties": False, "properties": {
            "enabled": {"type": "boolean"}, "minReplicas": {"type": "integer"},
            "maxReplicas": {"type": "integer"}}},
        "computeType": {"type": "string"},
        "corefile": {"type": "string"},
        "nodeSelector": {"type": "object"},
        "podAnnotations": {"type": "object"},
        "podDisruptionBudget": {"type": "object"},
        "podLabels": {"type": "object"},
        "replicaCount": {"type": "integer"},
        "resources": _RESOURCES,
        "tolerations": _TOLERATIONS,
        "topologySpreadConstraints": {"type": "array"},
    },
}

KUBE_PROXY_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "ipvs": {"type": "object", "additionalProperties": False, "properties": {
            "scheduler": {"type": "string"}}},
        "mode": {"type": "string", "enum": ["iptables", "ipvs", "nftables"]},
        "podAnnotations": {"type": "object"},
        "resources": _RESOURCES,
    },
}

SCHEMAS = {"vpc-cni": VPC_CNI_SCHEMA, "coredns": COREDNS_SCHEMA, "kube-proxy": KUBE_PROXY_SCHEMA}


def addon_versions(name, k8s=None):
    """[(version, {k8s: default})] of an add-on, newest first, those supporting k8s if given."""
    return [(v, c) for v, c in ADDONS[name][1] if k8s is None or k8s in c]


def default_addon_version(name, k8s):
    for v, c in ADDONS[name][1]:
        if c.get(k8s):
            return v
    return None


def next_minor(version):
    major, minor = version.split(".")
    return "%s.%d" % (major, int(minor) + 1)


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _type_ok(value, t):
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[t])


def validate(value, schema, root=None, where="$"):
    """The first schema violation as a message ("$.init.env.FOO: ..."), or None."""
    root = root or schema
    if "$ref" in schema:
        schema = root["definitions"][schema["$ref"].rsplit("/", 1)[1]]
    types = schema.get("type")
    if types:
        types = types if isinstance(types, list) else [types]
        if not any(_type_ok(value, t) for t in types):
            return "%s: %s found, %s expected" % (where, type(value).__name__, "/".join(types))
    if "enum" in schema and value not in schema["enum"]:
        return "%s: does not have a value in the enumeration %s" % (where, schema["enum"])
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        return "%s: does not match the regex pattern %s" % (where, schema["pattern"])
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            if k not in value:
                return "%s.%s: is missing but it is required" % (where, k)
        for k, v in value.items():
            if k in props:
                err = validate(v, props[k], root, "%s.%s" % (where, k))
                if err:
                    return err
            elif schema.get("additionalProperties") is False:
                return ("%s.%s: is not defined in the schema and the schema does not allow additional "
                        "properties" % (where, k))
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            err = validate(v, schema["items"], root, "%s[%d]" % (where, i))
            if err:
                return err
    return None
