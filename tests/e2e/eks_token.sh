#!/usr/bin/env bash
# eks_token.sh: the EKS token mesh makes (providers/aws/eks_token.c, through the provider
# handle's credentials chain and region) equals the one the real `aws eks get-token` makes now,
# byte for byte, for the same second: long-term keys, temporary credentials, a profile from the
# shared files, an AWS_ENDPOINT_URL_STS override. No network: get-token only presigns.
# The probe (tests/e2e/eks_token_probe.c) is built here from the AWS client's sources, as
# aws_plumbing.sh builds its own. Prints "ok - NAME" / "not ok - NAME".
source "$(dirname "$0")/../lib/common.sh"
ROOT=$(cd "$T_TESTS/.." && pwd)
t_setup

if ! command -v aws >/dev/null; then not_ok "aws CLI on PATH (make deps)"; exit 1; fi

# ---- build the probe (ASan + UBSan) ----
PROBE="$T_DIR/eks_token_probe"
CFLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -I$ROOT/engine -I$ROOT/providers -I$ROOT/state -I$ROOT
        -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer $(pkg-config --cflags libxml-2.0)"
if out=$(cd "$ROOT" && cc $CFLAGS -o "$PROBE" tests/e2e/eks_token_probe.c engine/base/err.c engine/base/strbuf.c \
        engine/base/vec.c engine/base/duration.c engine/base/xalloc.c engine/base/wipe.c providers/http.c \
        $(ls providers/aws/*.c | grep -v /state_) $(pkg-config --libs libcurl openssl jansson libxml-2.0) -lpthread -lm 2>&1); then
    ok "build probe"
else
    not_ok "build probe"; sed 's/^/    | /' <<<"$out"; exit 1
fi

AK=AKIAIOSFODNN7EXAMPLE
SK=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
# Both sides see only what a case gives them (plus PATH and the temporary HOME).
run_clean() { env -i PATH="$PATH" HOME="$HOME" AWS_EC2_METADATA_DISABLED=true ASAN_OPTIONS=detect_leaks=1 "$@"; }

# "DATE EXPIRATION TOKEN" (epoch seconds) of `aws eks get-token`: DATE is the URL's X-Amz-Date.
cli_token() {  # CLUSTER ENV...
    local cluster=$1
    shift
    run_clean "$@" aws eks get-token --cluster-name "$cluster" --output json | $PY -c '
import base64, calendar, json, sys, time, urllib.parse
s = json.load(sys.stdin)["status"]
b = s["token"][len("k8s-aws-v1."):]
url = base64.urlsafe_b64decode(b + "=" * (-len(b) % 4)).decode()
q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
date = calendar.timegm(time.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
exp = calendar.timegm(time.strptime(s["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ"))
print(date, exp, s["token"])'
}

# The URL inside a token: "HOST EXPIRES SIGNEDHEADERS SCOPE_REGION/SCOPE_SERVICE TOKENPARAM".
url_facts() {  # TOKEN
    $PY -c '
import base64, sys, urllib.parse
b = sys.argv[1][len("k8s-aws-v1."):]
u = urllib.parse.urlsplit(base64.urlsafe_b64decode(b + "=" * (-len(b) % 4)).decode())
q = dict(urllib.parse.parse_qsl(u.query))
scope = q["X-Amz-Credential"].split("/")
print(u.netloc, q["X-Amz-Expires"], q["X-Amz-SignedHeaders"], scope[2] + "/" + scope[3],
      "token" if "X-Amz-Security-Token" in q else "no-token")' "$1"
}

# same_second NAME CLUSTER WANT_FACTS ENV...: mesh's token, made in the same second as the CLI's,
# is the CLI's, and its URL says WANT_FACTS. The probe runs in a loop for as long as the CLI
# runs (however slow a loaded machine makes it); the run whose second is the CLI's X-Amz-Date
# is compared. Up to 3 tries.
same_second() {
    local name=$1 cluster=$2 want=$3
    shift 3
    local try loop c cdate cexp ctok m mnow mexp mtok
    for try in 1 2 3; do
        rm -f "$T_DIR/stop" "$T_DIR/probes"
        ( while [ ! -e "$T_DIR/stop" ]; do
              run_clean "$@" "$PROBE" "$cluster" >>"$T_DIR/probes" 2>"$T_DIR/probe.err" || exit 1
          done ) &
        loop=$!
        c=$(cli_token "$cluster" "$@" 2>"$T_DIR/cli.err")
        local crc=$?
        touch "$T_DIR/stop"
        if ! wait "$loop"; then not_ok "$name: probe failed"; sed 's/^/    | /' "$T_DIR/probe.err"; return; fi
        if [ $crc -ne 0 ]; then not_ok "$name: aws eks get-token failed"; sed 's/^/    | /' "$T_DIR/cli.err"; return; fi
        read -r cdate cexp ctok <<<"$c"
        m=$(awk -v d="$cdate" '$1 == d { print; exit }' "$T_DIR/probes")
        [ -n "$m" ] || continue
        read -r mnow mexp mtok <<<"$m"
        if [ "$mtok" = "$ctok" ]; then ok "$name: mesh's token is aws eks get-token's, byte for byte (try $try)"
        else not_ok "$name: tokens differ at $cdate"; echo "    | mesh $(url_facts "$mtok")"; echo "    | aws  $(url_facts "$ctok")"; fi
        # The CLI computes expirationTimestamp just after signing: the same second or the next.
        if [ "$mexp" = $((mnow + 840)) ] && [ $((cexp - mexp)) -ge 0 ] && [ $((cexp - mexp)) -le 1 ]; then
            ok "$name: expires now + 14 min, as the CLI's expirationTimestamp"
        else not_ok "$name: expires $mexp (now $mnow), the CLI's expirationTimestamp $cexp"; fi
        local facts
        facts=$(url_facts "$mtok")
        if [ "$facts" = "$want" ]; then ok "$name: URL $facts"
        else not_ok "$name: URL '$facts', want '$want'"; fi
        return
    done
    not_ok "$name: no probe run in the CLI's second in 3 tries"
}

same_second "long-term keys, eu-west-1" cluster-1 \
    "sts.eu-west-1.amazonaws.com 60 host;x-k8s-aws-id eu-west-1/sts no-token" \
    AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_DEFAULT_REGION=eu-west-1

same_second "temporary credentials, us-east-1 (regional STS)" cluster-2 \
    "sts.us-east-1.amazonaws.com 60 host;x-k8s-aws-id us-east-1/sts token" \
    AWS_ACCESS_KEY_ID=ASIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=$SK \
    AWS_SESSION_TOKEN='IQoJb3JpZ2luX2VjEB8aCXVzLWVhc3QtMSJH+/example/session==' AWS_DEFAULT_REGION=us-east-1

mkdir -p "$HOME/.aws"
printf '[profile eks-e2e]\nregion = ap-southeast-2\n' >"$HOME/.aws/config"
printf '[eks-e2e]\naws_access_key_id = AKIAPROFILEEXAMPLE01\naws_secret_access_key = %s\n' "profile/secret+key" >"$HOME/.aws/credentials"
same_second "a profile's keys and region from the shared files" prod-eks \
    "sts.ap-southeast-2.amazonaws.com 60 host;x-k8s-aws-id ap-southeast-2/sts no-token" \
    AWS_PROFILE=eks-e2e

same_second "AWS_ENDPOINT_URL_STS (an emulator's address)" cluster-1 \
    "127.0.0.1:4566 60 host;x-k8s-aws-id us-west-2/sts no-token" \
    AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_DEFAULT_REGION=us-west-2 \
    AWS_ENDPOINT_URL_STS=http://127.0.0.1:4566

echo "# $T_PASSED passed, $T_FAILED failed"
[ "$T_FAILED" -eq 0 ]
