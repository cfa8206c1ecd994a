#!/usr/bin/env python3
"""auth.py: turn moto's signature checking on with a usable identity (Python standard library only).

moto_server started with INITIAL_NO_AUTH_ACTION_COUNT=3 accepts 3 calls unchecked, then verifies
the SigV4 signature (and the IAM policies) of every EC2, IAM, STS, KMS and logs call. Those 3 calls
make the harness's identity: IAM user mesh-harness, an inline admin policy, an access key, printed
as {"key": ..., "secret": ..., "arn": ...}. Any call before them (there must be none) would use up
the budget and make the bootstrap fail, which is reported.

Usage: auth.py MOTO_URL [REGION] > keys.json
"""
import json
import re
import sys

import sigv4

CALLS = 3  # what INITIAL_NO_AUTH_ACTION_COUNT must be
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def main():
    url = sys.argv[1]
    region = sys.argv[2] if len(sys.argv) > 2 else "us-east-1"

    def iam(**params):
        st, _, data = sigv4.query_call(url, region, "iam", dict(params, Version="2010-05-08"), None)
        if st != 200:
            sys.exit("auth.py: %s failed (%d): %s" % (params["Action"], st, data[:300].decode("utf-8", "replace")))
        return data.decode()
    user = iam(Action="CreateUser", UserName="mesh-harness")
    iam(Action="PutUserPolicy", UserName="mesh-harness", PolicyName="admin", PolicyDocument=json.dumps(ADMIN))
    key = iam(Action="CreateAccessKey", UserName="mesh-harness")
    creds = {"key": re.search(r"<AccessKeyId>([^<]+)<", key).group(1),
             "secret": re.search(r"<SecretAccessKey>([^<]+)<", key).group(1),
             "arn": re.search(r"<Arn>([^<]+)<", user).group(1)}
    # The check is on now: an unsigned call must fail, a signed one pass.
    st, _, _ = sigv4.query_call(url, region, "sts", {"Action": "GetCallerIdentity", "Version": "2011-06-15"}, None)
    st2, _, _ = sigv4.query_call(url, region, "sts", {"Action": "GetCallerIdentity", "Version": "2011-06-15"}, creds)
    if st == 200 or st2 != 200:
        sys.exit("auth.py: moto does not check signatures as expected (test key %d, harness key %d)" % (st, st2))
    print(json.dumps(creds))


if __name__ == "__main__":
    main()
