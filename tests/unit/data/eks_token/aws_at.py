#!/usr/bin/env python3
"""aws_at.py EPOCH AWS-ARGS...: runs the AWS CLI (v1, the image's `aws`) with its clock frozen at
EPOCH (UTC seconds), to make the fixtures of tests/unit/test_eks_token.c, e.g.

    env -i PATH="$PATH" HOME=/nonexistent AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \
        python3 tests/unit/data/eks_token/aws_at.py 1764930896 \
        eks get-token --cluster-name cluster-1 --region eu-west-1 --output json

Only the clock changes: botocore's signer (botocore.auth.get_current_datetime) and the
command's expirationTimestamp (awscli.customizations.eks.get_token.get_current_datetime) both
read it; everything else is the CLI's own code path (awscli.clidriver.main), with no network
call (get-token only presigns)."""
import datetime
import sys

import awscli.clidriver
import awscli.customizations.eks.get_token as get_token
import botocore.auth

FROZEN = datetime.datetime.fromtimestamp(int(sys.argv[1]), datetime.timezone.utc)


def frozen_now(remove_tzinfo=True):
    return FROZEN.replace(tzinfo=None) if remove_tzinfo else FROZEN


botocore.auth.get_current_datetime = frozen_now
get_token.get_current_datetime = frozen_now
sys.argv = ['aws'] + sys.argv[2:]
sys.exit(awscli.clidriver.main())
