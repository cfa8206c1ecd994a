"""eks.py: an in-memory stand-in for the Amazon EKS REST-JSON API, served by proxy.py instead of
moto's (Python standard library only).

moto's EKS is too thin for mesh (everything ACTIVE at once, no add-ons or updates, one endpoint and
OIDC issuer for every cluster, no cluster security group, Kubernetes 1.19, clusters that cannot be
deleted once they had node groups). This one follows the API reference's request and response
shapes and errors (x-amzn-ErrorType + {"message"}), with time:

  clusters     CreateCluster DescribeCluster ListClusters DeleteCluster UpdateClusterConfig
               (logging | resourcesVpcConfig endpoint access | accessConfig, one kind per call)
               UpdateClusterVersion (+1 minor only) DescribeUpdate ListUpdates
  node groups  CreateNodegroup DescribeNodegroup ListNodegroups UpdateNodegroupConfig (scalingConfig,
               labels) UpdateNodegroupVersion (version, releaseVersion, launchTemplate) DeleteNodegroup
  add-ons      CreateAddon DescribeAddon ListAddons UpdateAddon DeleteAddon DescribeAddonVersions
               DescribeAddonConfiguration (configurationValues checked against the schema)
  tags         TagResource UntagResource ListTagsForResource (cluster, node group and add-on ARNs)

What it checks against moto (signed side calls, sigv4.py): the role exists, trusts the right service
(eks / ec2.amazonaws.com) and, for node roles, has the worker-node managed policies; the subnets exist,
share a VPC and span two AZs (IPv6 clusters: have IPv6 CIDRs); the KMS key of encryptionConfig is
enabled; a node group's launch template exists (diskSize beside it is refused). What it makes in
moto: the cluster security group (a real SG in the cluster's VPC, self-ingress, tagged
aws:eks:cluster-name; deleted with the cluster, retried while something still references it) and,
when control-plane logging is on, /aws/eks/NAME/cluster if it does not exist (as EKS does).

Status: Create* answer CREATING, Update* make the object UPDATING with an InProgress update, Delete*
make it DELETING; each ends after the hold time for its kind (0 unless set: the next read sees the
end). Each cluster has its own endpoint https://HEX.gr7.REGION.eks.amazonaws.com, OIDC issuer
https://oidc.eks.REGION.amazonaws.com/id/HEX and CA (openssl-made), shown once ACTIVE. Refusals as
EKS: ResourceInUseException for a duplicate name, DeleteCluster while node groups exist (even
DELETING ones) or while the cluster is CREATING/UPDATING, DeleteNodegroup while CREATING/UPDATING,
any update while one is in progress; InvalidParameterException for an unassumable role (also while
the role is younger than iam_delay_calls proxy calls: IAM eventual consistency), a version jump other
than +1 minor, a no-op UpdateClusterConfig, configuration values outside the schema (JSON only);
InvalidRequestException for a node group or add-on on a cluster that is not ACTIVE. coredns created
on a cluster with no ACTIVE node group ends DEGRADED, not ACTIVE.

Controls (see proxy.py): hold times per kind / phase / name, create failures, iam_delay_calls, and an
endpoint + CA override per cluster name.
"""
import base64
import copy
import json
import re
import subprocess
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import eks_catalog as cat
import sigv4

ACCOUNT = "123456789012"
LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
NODE_POLICIES = ["arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                 "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"]
SG_DESCRIPTION = ("EKS created security group applied to ENI that is attached to EKS Control Plane master "
                  "nodes, as well as any managed workloads.")

_C = r"/clusters/(?P<name>[^/]+)"
ROUTES = [(m, re.compile("^" + p + "$"), a) for m, p, a in [
    ("POST", "/clusters", "CreateCluster"),
    ("GET", "/clusters", "ListClusters"),
    ("GET", _C, "DescribeCluster"),
    ("DELETE", _C, "DeleteCluster"),
    ("POST", _C + "/update-config", "UpdateClusterConfig"),
    ("POST", _C + "/updates", "UpdateClusterVersion"),
    ("GET", _C + "/updates", "ListUpdates"),
    ("GET", _C + "/updates/(?P<id>[^/]+)", "DescribeUpdate"),
    ("POST", _C + "/node-groups", "CreateNodegroup"),
    ("GET", _C + "/node-groups", "ListNodegroups"),
    ("GET", _C + "/node-groups/(?P<ng>[^/]+)", "DescribeNodegroup"),
    ("DELETE", _C + "/node-groups/(?P<ng>[^/]+)", "DeleteNodegroup"),
    ("POST", _C + "/node-groups/(?P<ng>[^/]+)/update-config", "UpdateNodegroupConfig"),
    ("POST", _C + "/node-groups/(?P<ng>[^/]+)/update-version", "UpdateNodegroupVersion"),
    ("POST", _C + "/addons", "CreateAddon"),
    ("GET", _C + "/addons", "ListAddons"),
    ("GET", _C + "/addons/(?P<addon>[^/]+)", "DescribeAddon"),
    ("DELETE", _C + "/addons/(?P<addon>[^/]+)", "DeleteAddon"),
    ("POST", _C + "/addons/(?P<addon>[^/]+)/update", "UpdateAddon"),
    ("GET", "/addons/supported-versions", "DescribeAddonVersions"),
    ("GET", "/addons/configuration-schemas", "DescribeAddonConfiguration"),
    ("POST", "/tags/(?P<arn>.+)", "TagResource"),
    ("GET", "/tags/(?P<arn>.+)", "ListTagsForResource"),
    ("DELETE", "/tags/(?P<arn>.+)", "UntagResource"),
]]


def route(method, path):
    """(action, {param: decoded value}) for an EKS request, or ("METHOD path", {}) if unknown."""
    raw = path.split("?", 1)[0]
    for m, rx, action in ROUTES:
        hit = rx.match(raw) if m == method else None
        if hit:
            return action, {k: urllib.parse.unquote(v) for k, v in hit.groupdict().items()}
    return "%s %s" % (method, raw), {}


class ApiError(Exception):
    STATUS = {"InvalidParameterException": 400, "InvalidRequestException": 400, "ClientException": 400,
              "BadRequestException": 400, "ResourceNotFoundException": 404, "NotFoundException": 404,
              "ResourceInUseException": 409, "ServerException": 500, "UnknownOperationException": 404}

    def __init__(self, code, message, **fields):
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields

    def reply(self):
        body = dict(self.fields, message=self.message)
        return self.STATUS.get(self.code, 400), [("x-amzn-ErrorType", self.code)], body


def now():
    return time.time()


def make_ca():
    """A base64 PEM of a fresh self-signed CA (openssl), or a fixed stand-in if openssl is missing."""
    try:
        pem = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                              "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=kubernetes",
                              "-days", "3650", "-keyout", "/dev/null"],
                             capture_output=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        pem = b"-----BEGIN CERTIFICATE-----\nbWVzaC1oYXJuZXNzLWNh\n-----END CERTIFICATE-----\n"
    return base64.b64encode(pem).decode()


def _strip_ns(root):
    for el in root.iter():
        if "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


class Upstream:
    """Signed side calls to moto, on behalf of EKS. keys_file ({"key", "secret"}) is read at the first
    call: the harness writes it once moto's signature checking is bootstrapped (auth.py)."""

    def __init__(self, url, keys_file=None):
        self.url, self.keys_file, self._creds = url, keys_file, None

    @property
    def creds(self):
        if self._creds is None and self.keys_file:
            with open(self.keys_file) as f:
                self._creds = json.load(f)
        return self._creds

    def query(self, region, service, params):
        """(status, ElementTree root or None)."""
        st, _, data = sigv4.query_call(self.url, region, service, params, self.creds)
        try:
            return st, _strip_ns(ET.fromstring(data))
        except ET.ParseError:
            return st, None

    def ec2(self, region, action, **params):
        return self.query(region, "ec2", dict(params, Action=action, Version="2016-11-15"))

    def iam(self, region, action, **params):
        return self.query(region, "iam", dict(params, Action=action, Version="2010-05-08"))

    def json(self, region, service, target, body):
        return sigv4.json_call(self.url, region, service, target, body, self.creds)


def _err_code(root):
    el = root.find(".//Error/Code") if root is not None else None
    return el.text if el is not None else "unknown"


def _bool(v, default):
    return default if v is None else bool(v)


def _paginate(items, q, default_max=100):
    try:
        start = int(q.get("nextToken", ["0"])[0] or 0)
        n = int(q.get("maxResults", [str(default_max)])[0])
    except ValueError:
        raise ApiError("InvalidParameterException", "nextToken or maxResults is not valid")
    if not 1 <= n <= 100:
        raise ApiError("InvalidParameterException", "maxResults must be between 1 and 100")
    page = items[start:start + n]
    token = str(start + n) if start + n < len(items) else None
    return page, token


def _public(obj):
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


class Eks:
    def __init__(self, upstream):
        self.up = upstream
        self.lock = threading.RLock()
        self.clusters, self.nodegroups, self.addons, self.updates = {}, {}, {}, {}
        self.hold, self.fail, self.iam_delay_calls = {}, set(), 0
        self.roles = {}       # role name -> proxy call number of its CreateRole
        self.overrides = {}   # cluster name -> {"endpoint": ..., "ca": ...}
        self.sg_pending = []  # (region, group id) of deleted clusters, still to delete
        self.tokens = {}      # clientRequestToken -> (kind, key)

    # ---- controls ----
    def configure(self, cfg):
        with self.lock:
            if "hold" in cfg:
                self.hold = {k: float(v) for k, v in (cfg["hold"] or {}).items()}
            if "fail" in cfg:
                self.fail = set(cfg["fail"] or [])
            if "iam_delay_calls" in cfg:
                self.iam_delay_calls = int(cfg["iam_delay_calls"] or 0)

    def set_endpoint(self, cfg):
        with self.lock:
            name = cfg.get("cluster")
            if not name:
                raise ValueError("cluster is required")
            if cfg.get("endpoint") is None and cfg.get("ca") is None:
                self.overrides.pop(name, None)
            else:
                self.overrides[name] = {"endpoint": cfg.get("endpoint"), "ca": cfg.get("ca")}

    def snapshot(self):
        with self.lock:
            self._advance()
            return {"hold": self.hold, "fail": sorted(self.fail), "iam_delay_calls": self.iam_delay_calls,
                    "endpoints": self.overrides,
                    "clusters": [self._describe_cluster(c) for _, c in sorted(self.clusters.items())],
                    "nodegroups": [_public(n) for _, n in sorted(self.nodegroups.items())],
                    "addons": [_public(a) for _, a in sorted(self.addons.items())],
                    "cluster_sgs_pending_delete": [g for _, g in self.sg_pending]}

    def note_role(self, name, callno):
        with self.lock:
            self.roles[name] = callno

    def _hold_for(self, kind, phase, name):
        for key in ("%s.%s:%s" % (kind, phase, name), "%s:%s" % (kind, name), "%s.%s" % (kind, phase), kind):
            if key in self.hold:
                return self.hold[key]
        return 0.0

    # ---- time ----
    def _advance(self):
        """Apply every transition whose hold has ended, oldest first."""
        t = now()
        due = [o for o in list(self.clusters.values()) + list(self.nodegroups.values()) + list(self.addons.values())
               if o.get("_pending") and o["_pending"][0] <= t]
        for o in sorted(due, key=lambda o: o["_pending"][0]):
            if o.get("_pending") and o["_pending"][0] <= t:
                fn = o["_pending"][1]
                o["_pending"] = None
                fn()
        if self.sg_pending:
            left = []
            for region, gid in self.sg_pending:
                st, root = self.up.ec2(region, "DeleteSecurityGroup", GroupId=gid)
                if st != 200 and _err_code(root) != "InvalidGroup.NotFound":
                    left.append((region, gid))
            self.sg_pending = left

    def _schedule(self, obj, kind, phase, name, fn):
        obj["_pending"] = (now() + self._hold_for(kind, phase, name), fn)

    def _start_update(self, obj, kind, name, target, utype, params, apply, token=None):
        """An InProgress update on obj (status UPDATING) that applies itself when its hold ends."""
        if token and token in self.tokens:
            return self.updates[self.tokens[token][1]]
        up = {"id": str(uuid.uuid4()), "status": "InProgress", "type": utype,
              "params": [{"type": k, "value": v} for k, v in params], "createdAt": now(), "errors": [],
              "_target": target}
        self.updates[up["id"]] = up
        if token:
            self.tokens[token] = ("update", up["id"])
        before = obj["status"]
        obj["status"] = "UPDATING"

        def done():
            apply()
            up["status"] = "Successful"
            obj["status"] = "ACTIVE" if before in ("ACTIVE", "UPDATING") else before
            if "modifiedAt" in obj:
                obj["modifiedAt"] = now()
            if kind == "cluster":
                self._log_group_if_logging(obj)
        self._schedule(obj, kind, "update", name, done)
        return up

    # ---- dispatch ----
    def handle(self, method, path, query, body, region, callno):
        """(status, [headers], JSON-able body) for one EKS call."""
        action, p = route(method, path)
        q = urllib.parse.parse_qs(query, keep_blank_values=True)
        try:
            req = json.loads(body or b"{}") if method in ("POST", "PUT") else {}
            if not isinstance(req, dict):
                raise ValueError
        except ValueError:
            return ApiError("BadRequestException", "the request body is not a JSON object").reply()
        fn = getattr(self, "_" + action, None)
        if fn is None:
            return ApiError("UnknownOperationException",
                            "the EKS stand-in does not serve %s" % action).reply()
        with self.lock:
            self._advance()
            try:
                out = fn(p, q, req, region, callno)
                return 200, [], {k: v for k, v in out.items() if v is not None}  # no "nextToken": null
            except ApiError as e:
                return e.reply()

    # ---- checks against moto ----
    def _check_role(self, arn, region, callno, principal, policies=()):
        cannot = ApiError("InvalidParameterException",
                          "Role with arn: %s could not be assumed because it does not exist or the trusted "
                          "entity is not correct" % arn)
        m = re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/(?:[^/]+/)*([\w+=,.@-]+)$", arn or "")
        if not m:
            raise ApiError("InvalidParameterException", "Role ARN %r is not valid" % arn)
        name = m.group(1)
        if name in self.roles and callno - self.roles[name] < self.iam_delay_calls:
            raise cannot
        st, root = self.up.iam(region, "GetRole", RoleName=name)
        if st != 200:
            raise cannot
        doc = root.findtext(".//AssumeRolePolicyDocument") or "{}"
        try:
            trust = json.loads(urllib.parse.unquote(doc))
        except ValueError:
            raise cannot
        stmts = trust.get("Statement", [])
        stmts = stmts if isinstance(stmts, list) else [stmts]
        trusted = False
        for s in stmts:
            acts = s.get("Action", [])
            acts = acts if isinstance(acts, list) else [acts]
            svc = (s.get("Principal") or {}).get("Service", []) if isinstance(s.get("Principal"), dict) else []
            svc = svc if isinstance(svc, list) else [svc]
            if s.get("Effect") == "Allow" and principal in svc and any(a in ("sts:AssumeRole", "sts:*", "*") for a in acts):
                trusted = True
        if not trusted:
            raise cannot
        if policies:
            st, root = self.up.iam(region, "ListAttachedRolePolicies", RoleName=name)
            have = {e.text for e in root.iter("PolicyArn")} if root is not None else set()
            if not set(policies) <= have:
                raise ApiError("InvalidParameterException",
                               "The provided role doesn't have the Amazon EKS Managed Policies associated with "
                               "it. Please ensure the following policies [%s] are attached" % ", ".join(policies))

    def _subnets(self, region, ids):
        """{id: {"vpc": ..., "az": ..., "v6": bool}} of existing subnets, or InvalidParameterException."""
        if not ids:
            raise ApiError("InvalidParameterException", "Subnets are required")
        params = {"SubnetId.%d" % (i + 1): s for i, s in enumerate(ids)}
        st, root = self.up.ec2(region, "DescribeSubnets", **params)
        if st != 200:
            raise ApiError("InvalidParameterException",
                           "The subnet ID '%s' does not exist (Service: AmazonEC2; Status Code: 400; Error Code: %s)"
                           % ("', '".join(ids), _err_code(root)))
        out = {}
        for item in root.find("subnetSet"):
            sid = item.findtext("subnetId")
            v6 = [a for a in item.iter("ipv6CidrBlock") if a.text]
            out[sid] = {"vpc": item.findtext("vpcId"), "az": item.findtext("availabilityZone"), "v6": bool(v6)}
        missing = [s for s in ids if s not in out]
        if missing:
            raise ApiError("InvalidParameterException", "The subnet ID '%s' does not exist" % missing[0])
        return out

    def _kms_key(self, region, enc):
        if not enc:
            return []
        if not isinstance(enc, list) or len(enc) != 1 or enc[0].get("resources") != ["secrets"]:
            raise ApiError("InvalidParameterException", "encryptionConfig must be one entry with resources [secrets]")
        arn = (enc[0].get("provider") or {}).get("keyArn")
        st, reply = self.up.json(region, "kms", "TrentService.DescribeKey", {"KeyId": arn or ""})
        meta = reply.get("KeyMetadata", {}) if st == 200 else {}
        if meta.get("KeyState") != "Enabled" or meta.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
            raise ApiError("InvalidParameterException", "KMS key %s is not an enabled symmetric key (%s)"
                           % (arn, meta.get("KeyState") or reply.get("__type")))
        return [{"resources": ["secrets"], "provider": {"keyArn": arn}}]

    def _make_cluster_sg(self, region, name, vpc):
        gname = "eks-cluster-sg-%s-%d" % (name, int(now() * 1000) % 10 ** 10)
        tags = [("Name", gname), ("aws:eks:cluster-name", name), ("kubernetes.io/cluster/" + name, "owned")]
        params = {"GroupName": gname, "GroupDescription": SG_DESCRIPTION, "VpcId": vpc,
                  "TagSpecification.1.ResourceType": "security-group"}
        for i, (k, v) in enumerate(tags):
            params["TagSpecification.1.Tag.%d.Key" % (i + 1)] = k
            params["TagSpecification.1.Tag.%d.Value" % (i + 1)] = v
        st, root = self.up.ec2(region, "CreateSecurityGroup", **params)
        gid = root.findtext("groupId") if st == 200 and root is not None else None
        if not gid:
            raise ApiError("ServerException", "could not create the cluster security group: %s" % _err_code(root))
        self.up.ec2(region, "AuthorizeSecurityGroupIngress", GroupId=gid, **{
            "IpPermissions.1.IpProtocol": "-1", "IpPermissions.1.Groups.1.GroupId": gid})
        return gid

    def _log_group_if_logging(self, c):
        on = any(s.get("enabled") and s.get("types") for s in c["logging"]["clusterLogging"])
        if on and c["status"] == "ACTIVE":
            self.up.json(c["_region"], "logs", "Logs_20140328.CreateLogGroup",
                         {"logGroupName": "/aws/eks/%s/cluster" % c["name"]})

    # ---- clusters ----
    def _cluster(self, name):
        c = self.clusters.get(name)
        if not c:
            raise ApiError("ResourceNotFoundException", "No cluster found for name: %s." % name, clusterName=name)
        return c

    def _describe_cluster(self, c):
        out = _public(c)
        if c["status"] in ("CREATING", "FAILED"):
            out.pop("endpoint", None)
            out["certificateAuthority"] = {}
            out.pop("identity", None)
        else:
            o = self.overrides.get(c["name"], {})
            if o.get("endpoint"):
                out["endpoint"] = o["endpoint"]
            if o.get("ca"):
                out["certificateAuthority"] = {"data": o["ca"]}
        return out

    def _CreateCluster(self, p, q, r, region, callno):
        name = r.get("name") or ""
        if not re.match(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$", name):
            raise ApiError("InvalidParameterException", "Cluster name %r is not valid" % name)
        token = r.get("clientRequestToken")
        if token and self.tokens.get(token) == ("cluster", name) and name in self.clusters:
            return {"cluster": self._describe_cluster(self.clusters[name])}
        if name in self.clusters:
            raise ApiError("ResourceInUseException", "Cluster already exists with name: %s" % name, clusterName=name)
        version = r.get("version") or cat.DEFAULT_VERSION
        if version not in cat.VERSIONS:
            raise ApiError("InvalidParameterException", "unsupported Kubernetes version %s" % version)
        self._check_role(r.get("roleArn"), region, callno, "eks.amazonaws.com")
        vpc_req = r.get("resourcesVpcConfig") or {}
        ids = vpc_req.get("subnetIds") or []
        subnets = self._subnets(region, ids)
        vpcs = {s["vpc"] for s in subnets.values()}
        if len(vpcs) != 1:
            raise ApiError("InvalidParameterException", "Subnets specified must be in the same VPC")
        if len({s["az"] for s in subnets.values()}) < 2:
            raise ApiError("InvalidParameterException", "Subnets specified must be in at least two different AZs")
        net = r.get("kubernetesNetworkConfig") or {}
        family = net.get("ipFamily", "ipv4")
        if family not in ("ipv4", "ipv6"):
            raise ApiError("InvalidParameterException", "ipFamily must be ipv4 or ipv6")
        if family == "ipv6" and not all(s["v6"] for s in subnets.values()):
            raise ApiError("InvalidParameterException",
                           "IPv6 clusters need subnets with an IPv6 CIDR block: %s"
                           % [k for k, s in subnets.items() if not s["v6"]])
        pub = _bool(vpc_req.get("endpointPublicAccess"), True)
        prv = _bool(vpc_req.get("endpointPrivateAccess"), False)
        if not pub and not prv:
            raise ApiError("InvalidParameterException", "endpointPublicAccess and endpointPrivateAccess cannot both be false")
        logging = self._logging_after({"clusterLogging": [{"types": LOG_TYPES, "enabled": False}]}, r.get("logging"))
        enc = self._kms_key(region, r.get("encryptionConfig"))
        access = r.get("accessConfig") or {}
        mode = access.get("authenticationMode", "CONFIG_MAP")
        if mode not in ("API", "API_AND_CONFIG_MAP", "CONFIG_MAP"):
            raise ApiError("InvalidParameterException", "authenticationMode %r is not valid" % mode)
        vpc = vpcs.pop()
        sg = self._make_cluster_sg(region, name, vpc)
        hexid = uuid.uuid4().hex.upper()
        kn = {"ipFamily": family, "elasticLoadBalancing": {"enabled": False}}
        if family == "ipv4":
            kn["serviceIpv4Cidr"] = net.get("serviceIpv4Cidr") or "172.20.0.0/16"
        else:
            kn["serviceIpv6Cidr"] = "fd%s:%s::/108" % (uuid.uuid4().hex[:2], uuid.uuid4().hex[:4])
        c = {"name": name, "arn": "arn:aws:eks:%s:%s:cluster/%s" % (region, ACCOUNT, name),
             "createdAt": now(), "version": version,
             "endpoint": "https://%s.gr7.%s.eks.amazonaws.com" % (hexid, region),
             "roleArn": r["roleArn"],
             "resourcesVpcConfig": {"subnetIds": ids, "securityGroupIds": vpc_req.get("securityGroupIds") or [],
                                    "clusterSecurityGroupId": sg, "vpcId": vpc, "endpointPublicAccess": pub,
                                    "endpointPrivateAccess": prv,
                                    "publicAccessCidrs": vpc_req.get("publicAccessCidrs") or ["0.0.0.0/0"]},
             "kubernetesNetworkConfig": kn, "logging": logging,
             "identity": {"oidc": {"issuer": "https://oidc.eks.%s.amazonaws.com/id/%s" % (region, hexid)}},
             "status": "CREATING", "certificateAuthority": {"data": make_ca()},
             "platformVersion": cat.PLATFORM[version], "tags": r.get("tags") or {},
             "health": {"issues": []},
             "accessConfig": {"bootstrapClusterCreatorAdminPermissions":
                              _bool(access.get("bootstrapClusterCreatorAdminPermissions"), True),
                              "authenticationMode": mode},
             "upgradePolicy": {"supportType": (r.get("upgradePolicy") or {}).get("supportType", "EXTENDED")},
             "_region": region}
        if token:
            c["clientRequestToken"] = token
            self.tokens[token] = ("cluster", name)
        if enc:
            c["encryptionConfig"] = enc
        self.clusters[name] = c

        def active():
            if "cluster.create:%s" % name in self.fail or "cluster:%s" % name in self.fail:
                c["status"] = "FAILED"
                c["health"] = {"issues": [{"code": "Ec2SubnetInvalidConfiguration",
                                           "message": "failed by the harness (fail control)", "resourceIds": ids}]}
                return
            c["status"] = "ACTIVE"
            self._log_group_if_logging(c)
        self._schedule(c, "cluster", "create", name, active)
        return {"cluster": self._describe_cluster(c)}

    def _DescribeCluster(self, p, q, r, region, callno):
        return {"cluster": self._describe_cluster(self._cluster(p["name"]))}

    def _ListClusters(self, p, q, r, region, callno):
        page, token = _paginate(sorted(self.clusters), q)
        return {"clusters": page, "nextToken": token}

    def _DeleteCluster(self, p, q, r, region, callno):
        c = self._cluster(p["name"])
        name = c["name"]
        if c["status"] == "DELETING":
            return {"cluster": self._describe_cluster(c)}
        if any(k[0] == name for k in self.nodegroups):
            raise ApiError("ResourceInUseException", "Cluster has nodegroups attached", clusterName=name)
        if c["status"] == "CREATING":
            raise ApiError("ResourceInUseException",
                           "Cannot delete because cluster %s is currently being created" % name, clusterName=name)
        if c["status"] == "UPDATING":
            raise ApiError("ResourceInUseException",
                           "Cannot delete because cluster %s currently has an update in progress" % name,
                           clusterName=name)
        c["status"] = "DELETING"

        def gone():
            self.clusters.pop(name, None)
            for k in [k for k in self.addons if k[0] == name]:
                self.addons.pop(k)
            for uid in [u for u, up in self.updates.items() if up["_target"][1] == name]:
                self.updates.pop(uid)
            self.sg_pending.append((c["_region"], c["resourcesVpcConfig"]["clusterSecurityGroupId"]))
        self._schedule(c, "cluster", "delete", name, gone)
        return {"cluster": self._describe_cluster(c)}

    @staticmethod
    def _logging_after(current, req):
        """The cluster's logging once req ({"clusterLogging": [{"types", "enabled"}]}) is applied."""
        enabled = {t for s in current["clusterLogging"] if s.get("enabled") for t in s.get("types", [])}
        for s in (req or {}).get("clusterLogging", []):
            for t in s.get("types", []):
                if t not in LOG_TYPES:
                    raise ApiError("InvalidParameterException", "log type %r is not valid" % t)
                (enabled.add if s.get("enabled") else enabled.discard)(t)
        on = [t for t in LOG_TYPES if t in enabled]
        off = [t for t in LOG_TYPES if t not in enabled]
        out = []
        if on:
            out.append({"types": on, "enabled": True})
        if off:
            out.append({"types": off, "enabled": False})
        return {"clusterLogging": out}

    def _busy(self, obj, what, name, **fields):
        if obj["status"] != "ACTIVE" and not (what == "addon" and obj["status"] == "DEGRADED"):
            raise ApiError("ResourceInUseException",
                           "%s %s is currently %s: an update cannot start" % (what, name, obj["status"]), **fields)

    def _UpdateClusterConfig(self, p, q, r, region, callno):
        c = self._cluster(p["name"])
        name = c["name"]
        kinds = [k for k in ("logging", "resourcesVpcConfig", "accessConfig", "upgradePolicy") if r.get(k) is not None]
        if len(kinds) != 1:
            raise ApiError("InvalidParameterException", "Only one type of update can be allowed.", clusterName=name)
        self._busy(c, "Cluster", name, clusterName=name)
        token = r.get("clientRequestToken")
        if kinds == ["logging"]:
            new = self._logging_after(c["logging"], r["logging"])
            if new == c["logging"]:
                raise ApiError("InvalidParameterException", "No changes needed for the logging config provided",
                               clusterName=name)

            def apply():
                c["logging"] = new
            up = self._start_update(c, "cluster", name, ("cluster", name, None, None), "LoggingUpdate",
                                    [("ClusterLogging", json.dumps(new["clusterLogging"]))], apply, token)
        elif kinds == ["resourcesVpcConfig"]:
            v, cur = r["resourcesVpcConfig"], c["resourcesVpcConfig"]
            if v.get("subnetIds") or v.get("securityGroupIds"):
                raise ApiError("InvalidParameterException",
                               "the EKS stand-in does not model VpcConfigUpdate (subnetIds/securityGroupIds)")
            pub = _bool(v.get("endpointPublicAccess"), cur["endpointPublicAccess"])
            prv = _bool(v.get("endpointPrivateAccess"), cur["endpointPrivateAccess"])
            cidrs = v.get("publicAccessCidrs") or cur["publicAccessCidrs"]
            if not pub and not prv:
                raise ApiError("InvalidParameterException",
                               "endpointPublicAccess and endpointPrivateAccess cannot both be false", clusterName=name)
            if (pub, prv, cidrs) == (cur["endpointPublicAccess"], cur["endpointPrivateAccess"], cur["publicAccessCidrs"]):
                raise ApiError("InvalidParameterException",
                               "Cluster is already at the desired configuration with endpointPrivateAccess: %s , "
                               "endpointPublicAccess: %s, and Public Endpoint Restrictions: [%s]"
                               % (str(prv).lower(), str(pub).lower(), ", ".join(cidrs)), clusterName=name)

            def apply():
                cur.update(endpointPublicAccess=pub, endpointPrivateAccess=prv, publicAccessCidrs=cidrs)
            up = self._start_update(c, "cluster", name, ("cluster", name, None, None), "EndpointAccessUpdate",
                                    [("EndpointPublicAccess", str(pub).lower()),
                                     ("EndpointPrivateAccess", str(prv).lower()),
                                     ("PublicAccessCidrs", json.dumps(cidrs))], apply, token)
        elif kinds == ["accessConfig"]:
            mode = r["accessConfig"].get("authenticationMode")
            order = ["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"]
            cur = c["accessConfig"]["authenticationMode"]
            if mode not in order or order.index(mode) <= order.index(cur):
                raise ApiError("InvalidParameterException",
                               "Unsupported authentication mode update from %s to %s" % (cur, mode), clusterName=name)

            def apply():
                c["accessConfig"]["authenticationMode"] = mode
            up = self._start_update(c, "cluster", name, ("cluster", name, None, None), "AccessConfigUpdate",
                                    [("AuthenticationMode", mode)], apply, token)
        else:
            st = r["upgradePolicy"].get("supportType")

            def apply():
                c["upgradePolicy"]["supportType"] = st
            up = self._start_update(c, "cluster", name, ("cluster", name, None, None), "UpgradePolicyUpdate",
                                    [("UpgradePolicy", st)], apply, token)
        return {"update": _public(up)}

    def _UpdateClusterVersion(self, p, q, r, region, callno):
        c = self._cluster(p["name"])
        name, want = c["name"], r.get("version")
        if c["status"] != "ACTIVE":
            raise ApiError("ResourceInUseException",
                           "Cannot update because cluster %s currently has an update in progress" % name
                           if c["status"] == "UPDATING" else "Cluster %s is %s" % (name, c["status"]),
                           clusterName=name)
        if want not in cat.VERSIONS or want != cat.next_minor(c["version"]):
            raise ApiError("InvalidParameterException",
                           "Unsupported Kubernetes minor version update from %s to %s" % (c["version"], want),
                           clusterName=name)

        def apply():
            c["version"] = want
            c["platformVersion"] = cat.PLATFORM[want]
        up = self._start_update(c, "cluster", name, ("cluster", name, None, None), "VersionUpdate",
                                [("Version", want), ("PlatformVersion", cat.PLATFORM[want])], apply,
                                r.get("clientRequestToken"))
        return {"update": _public(up)}

    def _target(self, p, q):
        name = self._cluster(p["name"])["name"]
        ng, addon = q.get("nodegroupName", [None])[0], q.get("addonName", [None])[0]
        if ng:
            self._nodegroup(name, ng)
            return ("nodegroup", name, ng, None)
        if addon:
            self._addon(name, addon)
            return ("addon", name, None, addon)
        return ("cluster", name, None, None)

    def _ListUpdates(self, p, q, r, region, callno):
        t = self._target(p, q)
        ids = [u["id"] for u in sorted(self.updates.values(), key=lambda u: u["createdAt"]) if u["_target"] == t]
        page, token = _paginate(ids, q)
        return {"updateIds": page, "nextToken": token}

    def _DescribeUpdate(self, p, q, r, region, callno):
        t = self._target(p, q)
        up = self.updates.get(p["id"])
        if not up or up["_target"] != t:
            raise ApiError("ResourceNotFoundException", "No update found for ID: %s" % p["id"], clusterName=t[1])
        return {"update": _public(up)}

    # ---- node groups ----
    def _nodegroup(self, cluster, ng):
        n = self.nodegroups.get((cluster, ng))
        if not n:
            raise ApiError("ResourceNotFoundException", "No node group found for name: %s." % ng,
                           clusterName=cluster, nodegroupName=ng)
        return n

    def _active_cluster(self, name, what):
        c = self._cluster(name)
        if c["status"] != "ACTIVE":
            raise ApiError("InvalidRequestException",
                           "Cluster '%s' is not in ACTIVE status (%s): cannot create %s" % (name, c["status"], what),
                           clusterName=name)
        return c

    def _launch_template(self, region, lt, current=None):
        if not lt:
            return None
        params = {"LaunchTemplateId.1": lt["id"]} if lt.get("id") else {"LaunchTemplateName.1": lt.get("name", "")}
        st, root = self.up.ec2(region, "DescribeLaunchTemplates", **params)
        item = root.find(".//launchTemplates/item") if st == 200 and root is not None else None
        if item is None:
            raise ApiError("InvalidParameterException",
                           "The launch template %s does not exist" % (lt.get("id") or lt.get("name")))
        out = {"name": item.findtext("launchTemplateName"), "id": item.findtext("launchTemplateId"),
               "version": str(lt.get("version") or item.findtext("defaultVersionNumber"))}
        if out["version"] == "$Latest":
            out["version"] = item.findtext("latestVersionNumber")
        elif out["version"] == "$Default":
            out["version"] = item.findtext("defaultVersionNumber")
        if not out["version"].isdigit() or int(out["version"]) > int(item.findtext("latestVersionNumber")):
            raise ApiError("InvalidParameterException",
                           "Launch template version %s does not exist for %s" % (lt.get("version"), out["id"]))
        if current and current["id"] != out["id"]:
            raise ApiError("InvalidParameterException",
                           "A node group's launch template cannot change (%s -> %s)" % (current["id"], out["id"]))
        return out

    @staticmethod
    def _scaling(cur, req, name):
        s = dict(cur, **{k: v for k, v in (req or {}).items() if k in ("minSize", "maxSize", "desiredSize")})
        if s["maxSize"] < 1 or s["minSize"] < 0 or not s["minSize"] <= s["desiredSize"] <= s["maxSize"]:
            raise ApiError("InvalidParameterException",
                           "Scaling config is not valid: minSize %(minSize)s, desiredSize %(desiredSize)s, "
                           "maxSize %(maxSize)s" % s, nodegroupName=name)
        return s

    def _CreateNodegroup(self, p, q, r, region, callno):
        cname = self._cluster(p["name"])["name"]
        ng = r.get("nodegroupName") or ""
        if not re.match(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,62}$", ng):
            raise ApiError("InvalidParameterException", "Nodegroup name %r is not valid" % ng, clusterName=cname)
        token = r.get("clientRequestToken")
        if token and self.tokens.get(token) == ("nodegroup", (cname, ng)) and (cname, ng) in self.nodegroups:
            return {"nodegroup": _public(self.nodegroups[(cname, ng)])}
        if (cname, ng) in self.nodegroups:
            raise ApiError("ResourceInUseException",
                           "NodeGroup already exists with name %s and cluster name %s" % (ng, cname),
                           clusterName=cname, nodegroupName=ng)
        c = self._active_cluster(cname, "a node group")
        version = r.get("version") or c["version"]
        if version not in cat.VERSIONS or cat.VERSIONS.index(version) > cat.VERSIONS.index(c["version"]):
            raise ApiError("InvalidParameterException",
                           "Requested Nodegroup version %s is not valid for cluster version %s" % (version, c["version"]),
                           clusterName=cname, nodegroupName=ng)
        self._check_role(r.get("nodeRole"), region, callno, "ec2.amazonaws.com", NODE_POLICIES)
        subnets = self._subnets(region, r.get("subnets") or [])
        if {s["vpc"] for s in subnets.values()} != {c["resourcesVpcConfig"]["vpcId"]}:
            raise ApiError("InvalidParameterException", "Subnets are not in the cluster's VPC", nodegroupName=ng)
        lt = self._launch_template(region, r.get("launchTemplate"))
        if lt and r.get("diskSize") is not None:
            raise ApiError("InvalidParameterException", "Disk size must be specified within the launch template.",
                           clusterName=cname, nodegroupName=ng)
        scaling = self._scaling({"minSize": 1, "maxSize": 2, "desiredSize": 2}, r.get("scalingConfig"), ng)
        ami = r.get("amiType") or ("AL2023_x86_64_STANDARD" if version >= "1.30" else "AL2_x86_64")
        uid = str(uuid.uuid4())
        n = {"nodegroupName": ng, "nodegroupArn": "arn:aws:eks:%s:%s:nodegroup/%s/%s/%s" % (region, ACCOUNT, cname, ng, uid),
             "clusterName": cname, "version": version, "releaseVersion": r.get("releaseVersion") or cat.RELEASE[version],
             "createdAt": now(), "modifiedAt": now(), "status": "CREATING",
             "capacityType": r.get("capacityType") or "ON_DEMAND", "scalingConfig": scaling,
             "instanceTypes": r.get("instanceTypes") or ["t3.medium"], "subnets": r["subnets"], "amiType": ami,
             "nodeRole": r["nodeRole"], "labels": r.get("labels") or {}, "taints": r.get("taints") or [],
             "resources": {"autoScalingGroups": [{"name": "eks-%s-%s" % (ng, uid)}]},
             "health": {"issues": []}, "updateConfig": r.get("updateConfig") or {"maxUnavailable": 1},
             "tags": r.get("tags") or {}}
        if lt:
            n["launchTemplate"] = lt
        else:
            n["diskSize"] = r.get("diskSize") or 20
        if token:
            self.tokens[token] = ("nodegroup", (cname, ng))
        self.nodegroups[(cname, ng)] = n

        def active():
            failed = {"nodegroup.create:%s/%s" % (cname, ng), "nodegroup:%s/%s" % (cname, ng)} & self.fail
            n["status"] = "CREATE_FAILED" if failed else "ACTIVE"
            if failed:
                n["health"] = {"issues": [{"code": "NodeCreationFailure", "message": "failed by the harness",
                                           "resourceIds": [n["resources"]["autoScalingGroups"][0]["name"]]}]}
        self._schedule(n, "nodegroup", "create", "%s/%s" % (cname, ng), active)
        return {"nodegroup": _public(n)}

    def _DescribeNodegroup(self, p, q, r, region, callno):
        return {"nodegroup": _public(self._nodegroup(self._cluster(p["name"])["name"], p["ng"]))}

    def _ListNodegroups(self, p, q, r, region, callno):
        cname = self._cluster(p["name"])["name"]
        page, token = _paginate(sorted(ng for c, ng in self.nodegroups if c == cname), q)
        return {"nodegroups": page, "nextToken": token}

    def _DeleteNodegroup(self, p, q, r, region, callno):
        cname = self._cluster(p["name"])["name"]
        n = self._nodegroup(cname, p["ng"])
        if n["status"] in ("CREATING", "UPDATING"):
            raise ApiError("ResourceInUseException", "Nodegroup %s is currently %s" % (p["ng"], n["status"]),
                           clusterName=cname, nodegroupName=p["ng"])
        if n["status"] != "DELETING":
            n["status"] = "DELETING"
            key = (cname, p["ng"])

            def gone():
                self.nodegroups.pop(key, None)
                for uid in [u for u, up in self.updates.items() if up["_target"][:3] == ("nodegroup",) + key]:
                    self.updates.pop(uid)
            self._schedule(n, "nodegroup", "delete", "%s/%s" % key, gone)
        return {"nodegroup": _public(n)}

    def _UpdateNodegroupConfig(self, p, q, r, region, callno):
        cname = self._cluster(p["name"])["name"]
        ng = p["ng"]
        n = self._nodegroup(cname, ng)
        self._busy(n, "Nodegroup", ng, clusterName=cname, nodegroupName=ng)
        params, scaling, labels = [], None, None
        if r.get("scalingConfig"):
            scaling = self._scaling(n["scalingConfig"], r["scalingConfig"], ng)
            params += [(k[0].upper() + k[1:], str(scaling[k])) for k in ("minSize", "maxSize", "desiredSize")
                       if k in r["scalingConfig"]]
        if r.get("labels"):
            add = r["labels"].get("addOrUpdateLabels") or {}
            rm = r["labels"].get("removeLabels") or []
            if set(add) & set(rm):
                raise ApiError("InvalidParameterException", "A label cannot be both added and removed",
                               nodegroupName=ng)
            labels = {k: v for k, v in dict(n["labels"], **add).items() if k not in rm}
            if add:
                params.append(("LabelsToAdd", json.dumps(add)))
            if rm:
                params.append(("LabelsToRemove", json.dumps(rm)))
        if not params:
            raise ApiError("InvalidParameterException", "No changes were requested", nodegroupName=ng)

        def apply():
            if scaling:
                n["scalingConfig"] = scaling
            if labels is not None:
                n["labels"] = labels
        up = self._start_update(n, "nodegroup", "%s/%s" % (cname, ng), ("nodegroup", cname, ng, None), "ConfigUpdate",
                                params, apply, r.get("clientRequestToken"))
        return {"update": _public(up)}

    def _UpdateNodegroupVersion(self, p, q, r, region, callno):
        c = self._cluster(p["name"])
        cname, ng = c["name"], p["ng"]
        n = self._nodegroup(cname, ng)
        self._busy(n, "Nodegroup", ng, clusterName=cname, nodegroupName=ng)
        lt = self._launch_template(region, r.get("launchTemplate"), n.get("launchTemplate")) \
            if r.get("launchTemplate") else None
        if r.get("launchTemplate") and not n.get("launchTemplate"):
            raise ApiError("InvalidParameterException", "The node group was not created with a launch template",
                           nodegroupName=ng)
        version = r.get("version") or (n["version"] if lt else c["version"])
        if version not in cat.VERSIONS or cat.VERSIONS.index(version) > cat.VERSIONS.index(c["version"]) \
                or cat.VERSIONS.index(version) < cat.VERSIONS.index(n["version"]):
            raise ApiError("InvalidParameterException",
                           "Requested Nodegroup version %s is not valid (node group %s, cluster %s)"
                           % (version, n["version"], c["version"]), nodegroupName=ng)
        release = r.get("releaseVersion") or cat.RELEASE[version]
        params = [("Version", version), ("ReleaseVersion", release)]
        if lt:
            params += [("LaunchTemplateName", lt["name"]), ("LaunchTemplateVersion", lt["version"])]

        def apply():
            n["version"], n["releaseVersion"] = version, release
            if lt:
                n["launchTemplate"] = lt
        up = self._start_update(n, "nodegroup", "%s/%s" % (cname, ng), ("nodegroup", cname, ng, None), "VersionUpdate",
                                params, apply, r.get("clientRequestToken"))
        return {"update": _public(up)}

    # ---- add-ons ----
    def _addon(self, cluster, name):
        a = self.addons.get((cluster, name))
        if not a:
            raise ApiError("ResourceNotFoundException", "No addon: %s found in cluster: %s" % (name, cluster),
                           clusterName=cluster, addonName=name)
        return a

    @staticmethod
    def _config(addon, text):
        if text in (None, ""):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            raise ApiError("InvalidParameterException",
                           "ConfigurationValue provided in request is not supported: the EKS stand-in reads JSON "
                           "only, and this is not JSON", addonName=addon)
        err = cat.validate(value, cat.SCHEMAS[addon])
        if err:
            raise ApiError("InvalidParameterException",
                           "ConfigurationValue provided in request is not supported: Json schema validation failed "
                           "with error: [%s]" % err, addonName=addon)
        return text

    def _addon_version(self, addon, version, k8s, cname):
        if addon not in cat.ADDONS:
            raise ApiError("InvalidParameterException", "Addon %s specified is not supported" % addon,
                           clusterName=cname, addonName=addon)
        if version is None:
            return cat.default_addon_version(addon, k8s)
        if version not in [v for v, _ in cat.addon_versions(addon, k8s)]:
            raise ApiError("InvalidParameterException",
                           "Addon version %s specified is not supported for %s on Kubernetes %s" % (version, addon, k8s),
                           clusterName=cname, addonName=addon)
        return version

    def _CreateAddon(self, p, q, r, region, callno):
        cname = self._cluster(p["name"])["name"]
        name = r.get("addonName") or ""
        token = r.get("clientRequestToken")
        if token and self.tokens.get(token) == ("addon", (cname, name)) and (cname, name) in self.addons:
            return {"addon": _public(self.addons[(cname, name)])}
        if (cname, name) in self.addons:
            raise ApiError("ResourceInUseException", "Addon already exists.", clusterName=cname, addonName=name)
        c = self._active_cluster(cname, "an add-on")
        version = self._addon_version(name, r.get("addonVersion"), c["version"], cname)
        cfg = self._config(name, r.get("configurationValues"))
        uid = str(uuid.uuid4())
        a = {"addonName": name, "clusterName": cname, "status": "CREATING", "addonVersion": version,
             "health": {"issues": []}, "addonArn": "arn:aws:eks:%s:%s:addon/%s/%s/%s" % (region, ACCOUNT, cname, name, uid),
             "createdAt": now(), "modifiedAt": now(), "tags": r.get("tags") or {}, "publisher": "eks", "owner": "aws"}
        if r.get("serviceAccountRoleArn"):
            a["serviceAccountRoleArn"] = r["serviceAccountRoleArn"]
        if cfg is not None:
            a["configurationValues"] = cfg
        if token:
            self.tokens[token] = ("addon", (cname, name))
        self.addons[(cname, name)] = a

        def active():
            if {"addon.create:%s/%s" % (cname, name), "addon:%s/%s" % (cname, name)} & self.fail:
                a["status"] = "CREATE_FAILED"
                a["health"] = {"issues": [{"code": "ConfigurationConflict", "message": "failed by the harness",
                                           "resourceIds": []}]}
            elif name == "coredns" and not any(k[0] == cname and n["status"] == "ACTIVE"
                                               for k, n in self.nodegroups.items()):
                a["status"] = "DEGRADED"
                a["health"] = {"issues": [{"code": "InsufficientNumberOfReplicas",
                                           "message": "The add-on is unhealthy because it doesn't have the desired "
                                                      "number of replicas.", "resourceIds": []}]}
            else:
                a["status"] = "ACTIVE"
        self._schedule(a, "addon", "create", "%s/%s" % (cname, name), active)
        return {"addon": _public(a)}

    def _DescribeAddon(self, p, q, r, region, callno):
        return {"addon": _public(self._addon(self._cluster(p["name"])["name"], p["addon"]))}

    def _ListAddons(self, p, q, r, region, callno):
        cname = self._cluster(p["name"])["name"]
        page, token = _paginate(sorted(a for c, a in self.addons if c == cname), q)
        return {"addons": page, "nextToken": token}

    def _DeleteAddon(self, p, q, r, region, callno):
        cname = self._cluster(p["name"])["name"]
        a = self._addon(cname, p["addon"])
        if a["status"] != "DELETING":
            a["status"] = "DELETING"
            key = (cname, p["addon"])

            def gone():
                self.addons.pop(key, None)
                for uid in [u for u, up in self.updates.items() if up["_target"] == ("addon", cname, None, key[1])]:
                    self.updates.pop(uid)
            self._schedule(a, "addon", "delete", "%s/%s" % key, gone)
        return {"addon": _public(a)}

    def _UpdateAddon(self, p, q, r, region, callno):
        c = self._cluster(p["name"])
        cname, name = c["name"], p["addon"]
        a = self._addon(cname, name)
        self._busy(a, "addon", name, clusterName=cname, addonName=name)
        params, changes = [], {}
        if r.get("addonVersion"):
            changes["addonVersion"] = self._addon_version(name, r["addonVersion"], c["version"], cname)
            params.append(("AddonVersion", changes["addonVersion"]))
        if "configurationValues" in r and r["configurationValues"] is not None:
            changes["configurationValues"] = self._config(name, r["configurationValues"])
            params.append(("ConfigurationValues", r["configurationValues"]))
        if r.get("serviceAccountRoleArn") is not None:
            changes["serviceAccountRoleArn"] = r["serviceAccountRoleArn"] or None
            params.append(("ServiceAccountRoleArn", r["serviceAccountRoleArn"]))
        if r.get("resolveConflicts"):
            params.append(("ResolveConflicts", r["resolveConflicts"]))

        def apply():
            for k, v in changes.items():
                if v is None:
                    a.pop(k, None)
                else:
                    a[k] = v
        up = self._start_update(a, "addon", "%s/%s" % (cname, name), ("addon", cname, None, name), "AddonUpdate",
                                params, apply, r.get("clientRequestToken"))
        return {"update": _public(up)}

    def _DescribeAddonVersions(self, p, q, r, region, callno):
        k8s = q.get("kubernetesVersion", [None])[0]
        only = q.get("addonName", [None])[0]
        out = []
        for name in sorted(cat.ADDONS):
            if only and name != only:
                continue
            vers = [{"addonVersion": v, "architecture": ["amd64", "arm64"], "computeTypes": ["ec2"],
                     "compatibilities": [{"clusterVersion": kv, "platformVersions": ["*"], "defaultVersion": d}
                                         for kv, d in sorted(compat.items()) if k8s is None or kv == k8s],
                     "requiresConfiguration": False, "requiresIamPermissions": name == "vpc-cni"}
                    for v, compat in cat.addon_versions(name, k8s)]
            if vers:
                out.append({"addonName": name, "type": cat.ADDONS[name][0], "addonVersions": vers,
                            "publisher": "eks", "owner": "aws", "defaultNamespace": "kube-system"})
        page, token = _paginate(out, q)
        return {"addons": page, "nextToken": token}

    def _DescribeAddonConfiguration(self, p, q, r, region, callno):
        name = q.get("addonName", [""])[0]
        version = q.get("addonVersion", [""])[0]
        if name not in cat.ADDONS:
            raise ApiError("ResourceNotFoundException", "Addon %s not found" % name, addonName=name)
        if version not in [v for v, _ in cat.addon_versions(name)]:
            raise ApiError("InvalidParameterException", "Addon version %s of %s is not supported" % (version, name),
                           addonName=name)
        return {"addonName": name, "addonVersion": version,
                "configurationSchema": json.dumps(cat.SCHEMAS[name]), "podIdentityConfiguration": []}

    # ---- tags ----
    def _by_arn(self, arn):
        if not arn.startswith("arn:aws:eks:"):
            raise ApiError("BadRequestException", "%s is not a valid EKS resource ARN" % arn)
        for o in list(self.clusters.values()) + list(self.nodegroups.values()) + list(self.addons.values()):
            if arn in (o.get("arn"), o.get("nodegroupArn"), o.get("addonArn")):
                return o
        raise ApiError("NotFoundException", "Resource %s not found" % arn)

    def _TagResource(self, p, q, r, region, callno):
        o = self._by_arn(p["arn"])
        tags = r.get("tags") or {}
        if not tags or any(k.lower().startswith("aws:") for k in tags):
            raise ApiError("BadRequestException", "tags must be non-empty and must not use the aws: prefix")
        o["tags"].update(tags)
        return {}

    def _UntagResource(self, p, q, r, region, callno):
        o = self._by_arn(p["arn"])
        for k in q.get("tagKeys", []):
            o["tags"].pop(k, None)
        return {}

    def _ListTagsForResource(self, p, q, r, region, callno):
        return {"tags": dict(self._by_arn(p["arn"])["tags"])}
