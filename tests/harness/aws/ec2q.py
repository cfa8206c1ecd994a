#!/usr/bin/env python3
"""ec2q.py: fast counts of what mesh made in the emulator, for loops that would spend minutes
starting the aws CLI (Python standard library only; calls are signed with the harness's keys, see
orphans.py, which lists every type, not only the EC2 network).

  ec2q.py URL count             objects tagged mesh:address, all kinds (live NAT gateways only)
  ec2q.py URL orphans IDS_FILE  those whose ID is not in IDS_FILE (one ID per line); lists them
  ec2q.py URL call ACTION [NAME=VALUE...]   one EC2 call: prints the reply; exit 1 unless 200
"""
import re
import sys

import orphans
import sigv4

KINDS = [("DescribeVpcs", "vpcId"), ("DescribeSubnets", "subnetId"),
         ("DescribeInternetGateways", "internetGatewayId"),
         ("DescribeEgressOnlyInternetGateways", "egressOnlyInternetGatewayId"),
         ("DescribeAddresses", "allocationId"), ("DescribeNatGateways", "natGatewayId"),
         ("DescribeRouteTables", "routeTableId"), ("DescribeSecurityGroups", "groupId")]


def call(url, action):
    st, _, data = sigv4.query_call(url, "us-west-2", "ec2", {"Action": action, "Version": "2016-11-15",
                                                             "Filter.1.Name": "tag-key",
                                                             "Filter.1.Value.1": "mesh:address"}, orphans.creds())
    if st != 200:
        raise RuntimeError("%s: %d %s" % (action, st, data[:300]))
    return data.decode()


def made(url):
    out = []
    for action, idk in KINDS:
        xml = call(url, action)
        # top-level items of the reply's set: split on the ID element, keep the state near it
        for m in re.finditer(r"<%s>([^<]+)</%s>" % (idk, idk), xml):
            rid = m.group(1)
            if action == "DescribeNatGateways":
                tail = xml[m.end():m.end() + 4000]
                st = re.search(r"<state>([^<]+)</state>", tail)
                if st and st.group(1) in ("deleted", "deleting", "failed"):
                    continue
            if action == "DescribeRouteTables" and not rid.startswith("rtb-"):
                continue
            if rid not in out:
                out.append(rid)
    # an ID element may repeat inside other items (a route table's associations name it again)
    return out


def one_call(url, action, args):
    params = dict(a.split("=", 1) for a in args)
    params.update(Action=action, Version="2016-11-15")
    st, _, data = sigv4.query_call(url, "us-west-2", "ec2", params, orphans.creds())
    print(data.decode())
    sys.exit(0 if st == 200 else 1)


def main():
    url, cmd = sys.argv[1], sys.argv[2]
    if cmd == "call":
        one_call(url, sys.argv[3], sys.argv[4:])
    ids = made(url)
    if cmd == "count":
        print(len(ids))
    elif cmd == "orphans":
        held = {l.strip() for l in open(sys.argv[3]) if l.strip()}
        orphans = [i for i in ids if i not in held]
        for o in orphans:
            print("orphan", o, file=sys.stderr)
        print(len(orphans))


if __name__ == "__main__":
    main()
