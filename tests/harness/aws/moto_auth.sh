# moto_auth.sh: moto's signature-checking mode for the e2e suites. Source it, then
#   moto_auth_on URL          turns checking on in a running moto_server (POST URL/moto-api/reset-auth:
#                             the next 3 calls are unchecked), makes in those 3 calls an IAM user
#                             "mesh-e2e", an inline policy allowing everything and an access key, and
#                             exports AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for them. Every later
#                             call must carry a valid SigV4 signature by a key moto's IAM holds (moto
#                             checks EC2, IAM, STS and the other Query/JSON services it implements).
#   moto_auth_off URL         back to no checks (a suite that needs fake keys, e.g. credentials tests).
#   moto_auth_bootstrap URL   the user + key part alone, for a moto_server started with
#                             INITIAL_NO_AUTH_ACTION_COUNT=3 in its environment.
# A proxy between the client and moto must forward the request bytes and the Host header unchanged
# (the signature covers both), and sign its own calls to moto with those keys.
MOTO_AUTH_COUNT=3

moto_auth_bootstrap() {  # URL
    local url="$1" out
    # the aws CLI with throwaway credentials: these 3 calls are not checked
    out=$(env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID=AKIDBOOTSTRAP AWS_SECRET_ACCESS_KEY=bootstrap \
          AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null \
          AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_ENDPOINT_URL="$url" sh -c '
        aws iam create-user --user-name mesh-e2e >/dev/null &&
        aws iam put-user-policy --user-name mesh-e2e --policy-name everything \
            --policy-document "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}" &&
        aws iam create-access-key --user-name mesh-e2e --query "AccessKey.[AccessKeyId,SecretAccessKey]" --output text') ||
        { echo "moto_auth: the bootstrap calls failed (started with INITIAL_NO_AUTH_ACTION_COUNT=$MOTO_AUTH_COUNT?)" >&2; return 1; }
    AWS_ACCESS_KEY_ID=$(printf '%s' "$out" | cut -f1)
    AWS_SECRET_ACCESS_KEY=$(printf '%s' "$out" | cut -f2)
    [ -n "$AWS_ACCESS_KEY_ID" ] && [ -n "$AWS_SECRET_ACCESS_KEY" ] || { echo "moto_auth: no access key in: $out" >&2; return 1; }
    export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
}

moto_auth_on() {  # URL
    curl -sf -X POST -H "Content-Type: text/plain" --data "$MOTO_AUTH_COUNT" "$1/moto-api/reset-auth" >/dev/null ||
        { echo "moto_auth: $1/moto-api/reset-auth refused" >&2; return 1; }
    moto_auth_bootstrap "$1"
}

moto_auth_off() {  # URL
    curl -sf -X POST -H "Content-Type: text/plain" --data inf "$1/moto-api/reset-auth" >/dev/null
}
