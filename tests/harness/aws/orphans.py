#!/usr/bin/env python3
"""orphans.py: what is left in the AWS stand-ins, over every type mesh makes (Python standard
library only; signed calls straight to moto, so injected faults never skew the count, plus the
proxy's GET /__eks for EKS).

  IAM roles (not AWS service roles), customer-managed policies, OIDC providers; KMS customer keys
  not pending deletion, KMS aliases (not alias/aws/*); log groups; launch templates; EC2 network
  objects tagged mesh:address (VPCs, subnets, internet and egress-only gateways, EIPs, NAT gateways
  not deleted, route tables, security groups); EKS clusters, node groups and add-ons (DELETING ones
  too: they are not gone yet) and cluster security groups the harness could not delete yet.

An object is held (not an orphan) when one of its names, IDs or ARNs appears in the --held file,
one token per line; a line may hold several, separated by ",", and a token's part before "#" counts
too, so mesh's state IDs ("arn#createdAt", "id1,id2") can be written as they are.

Usage: orphans.py --moto URL --proxy URL [--held FILE] [--region us-west-2] [--count]
  prints "orphan TYPE NAME ID" per leftover object and the number of them on the last line;
  --count: the lines go to stderr and only the number to stdout ([ "$(orphans.py ...)" = 0 ]).
Credentials: HARNESS_ACCESS_KEY_ID/HARNESS_SECRET_ACCESS_KEY, else AWS_ACCESS_KEY_ID/..., else a test key.
"""
import argparse
import json
import os
import sys
import urllib.request
import xml.etree.ElementTree as ET

import sigv4


def creds():
    k, s = os.environ.get("HARNESS_ACCESS_KEY_ID"), os.environ.get("HARNESS_SECRET_ACCESS_KEY")
    return {"key": k, "secret": s} if k and s else sigv4.env_creds()


class Moto:
    def __init__(self, url, region):
        self.url, self.region, self.creds = url, region, creds()

    def query(self, service, version, action, **params):
        """Every page of a Query call: a list of roots (namespaces stripped)."""
        roots, marker = [], None
        while True:
            p = dict(params, Action=action, Version=version)
            if marker:
                p["Marker" if service == "iam" else "NextToken"] = marker
            st, _, data = sigv4.query_call(self.url, self.region, service, p, self.creds)
            if st != 200:
                raise RuntimeError("%s %s: %d %s" % (service, action, st, data[:300]))
            root = ET.fromstring(data)
            for el in root.iter():
                el.tag = el.tag.split("}", 1)[-1]
            roots.append(root)
            marker = root.findtext(".//Marker") if root.findtext(".//IsTruncated") == "true" \
                else root.findtext("nextToken")
            if not marker:
                return roots

    def json(self, service, target, body, token_key="nextToken", out_key=None):
        items, token = [], None
        while True:
            b = dict(body, **({token_key: token} if token else {}))
            st, reply = sigv4.json_call(self.url, self.region, service, target, b, self.creds)
            if st != 200:
                raise RuntimeError("%s %s: %d %s" % (service, target, st, reply))
            items += reply.get(out_key, [])
            token = reply.get("NextMarker" if token_key == "Marker" else token_key)
            if not token or (token_key == "Marker" and not reply.get("Truncated")):
                return items


EC2_KINDS = [("DescribeVpcs", "vpcSet", "vpcId", "aws_vpc"), ("DescribeSubnets", "subnetSet", "subnetId", "aws_subnet"),
             ("DescribeInternetGateways", "internetGatewaySet", "internetGatewayId", "aws_internet_gateway"),
             ("DescribeEgressOnlyInternetGateways", "egressOnlyInternetGatewaySet", "egressOnlyInternetGatewayId",
              "aws_egress_only_internet_gateway"),
             ("DescribeAddresses", "addressesSet", "allocationId", "aws_eip"),
             ("DescribeNatGateways", "natGatewaySet", "natGatewayId", "aws_nat_gateway"),
             ("DescribeRouteTables", "routeTableSet", "routeTableId", "aws_route_table"),
             ("DescribeSecurityGroups", "securityGroupInfo", "groupId", "aws_security_group")]


def leftovers(m, proxy):
    """[(type, name, [identifiers])] of everything left."""
    out = []
    for root in m.query("iam", "2010-05-08", "ListRoles"):
        for r in root.iter("member"):
            name, path = r.findtext("RoleName"), r.findtext("Path") or "/"
            if name and not path.startswith("/aws-service-role/") and not name.startswith("AWSServiceRole"):
                out.append(("aws_iam_role", name, [name, r.findtext("RoleId"), r.findtext("Arn")]))
    for root in m.query("iam", "2010-05-08", "ListPolicies", Scope="Local"):
        for p in root.iter("member"):
            if p.findtext("PolicyName"):
                out.append(("aws_iam_policy", p.findtext("PolicyName"),
                            [p.findtext("PolicyName"), p.findtext("PolicyId"), p.findtext("Arn")]))
    for root in m.query("iam", "2010-05-08", "ListOpenIDConnectProviders"):
        for p in root.iter("Arn"):
            out.append(("aws_iam_openid_connect_provider", p.text.rsplit("/", 1)[-1], [p.text]))
    for k in m.json("kms", "TrentService.ListKeys", {}, "Marker", "Keys"):
        st, d = sigv4.json_call(m.url, m.region, "kms", "TrentService.DescribeKey", {"KeyId": k["KeyId"]}, m.creds)
        meta = d.get("KeyMetadata", {})
        if meta.get("KeyManager", "CUSTOMER") == "CUSTOMER" and meta.get("KeyState") not in (
                "PendingDeletion", "PendingReplicaDeletion"):
            out.append(("aws_kms_key", k["KeyId"], [k["KeyId"], k.get("KeyArn")]))
    for a in m.json("kms", "TrentService.ListAliases", {}, "Marker", "Aliases"):
        if not a["AliasName"].startswith("alias/aws/"):
            out.append(("aws_kms_alias", a["AliasName"], [a["AliasName"], a.get("AliasArn")]))
    for g in m.json("logs", "Logs_20140328.DescribeLogGroups", {}, "nextToken", "logGroups"):
        out.append(("aws_cloudwatch_log_group", g["logGroupName"], [g["logGroupName"], g.get("arn"),
                                                                     (g.get("arn") or "").rstrip("*").rstrip(":")]))
    for root in m.query("ec2", "2016-11-15", "DescribeLaunchTemplates"):
        for lt in root.iter("item"):
            if lt.findtext("launchTemplateId"):
                out.append(("aws_launch_template", lt.findtext("launchTemplateName"),
                            [lt.findtext("launchTemplateId"), lt.findtext("launchTemplateName")]))
    for action, set_tag, id_tag, typ in EC2_KINDS:
        for root in m.query("ec2", "2016-11-15", action, **{"Filter.1.Name": "tag-key",
                                                            "Filter.1.Value.1": "mesh:address"}):
            items = root.find(set_tag)
            for it in (items if items is not None else []):
                rid = it.findtext(id_tag)
                if not rid or (typ == "aws_nat_gateway" and it.findtext("state") in ("deleted", "deleting", "failed")):
                    continue
                tags = {t.findtext("key"): t.findtext("value") for t in it.iter("item") if t.findtext("key")}
                out.append((typ, tags.get("mesh:address", "?"), [rid]))
    if proxy:
        snap = json.load(urllib.request.urlopen(proxy + "/__eks", timeout=30))
        for c in snap["clusters"]:
            out.append(("aws_eks_cluster", "%s (%s)" % (c["name"], c["status"]), [c["name"], c["arn"]]))
        for n in snap["nodegroups"]:
            out.append(("aws_eks_node_group", "%s/%s (%s)" % (n["clusterName"], n["nodegroupName"], n["status"]),
                        [n["nodegroupArn"]]))
        for a in snap["addons"]:
            out.append(("aws_eks_addon", "%s/%s (%s)" % (a["clusterName"], a["addonName"], a["status"]), [a["addonArn"]]))
        for g in snap.get("cluster_sgs_pending_delete", []):
            out.append(("eks_cluster_security_group", g, [g]))
    return out


def held_tokens(path):
    toks = set()
    for line in open(path) if path else []:
        for t in line.strip().split(","):
            t = t.strip()
            if t:
                toks.add(t)
                toks.add(t.split("#", 1)[0])
    return toks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--moto", required=True)
    ap.add_argument("--proxy")
    ap.add_argument("--held")
    ap.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-west-2")
    ap.add_argument("--count", action="store_true")
    a = ap.parse_args()
    held = held_tokens(a.held)
    left = [(t, n, ids) for t, n, ids in leftovers(Moto(a.moto, a.region), a.proxy)
            if not any(i and i in held for i in ids)]
    lines = sys.stderr if a.count else sys.stdout
    for t, n, ids in left:
        print("orphan %s %s %s" % (t, n, ids[0]), file=lines)
    print(len(left))


if __name__ == "__main__":
    main()
