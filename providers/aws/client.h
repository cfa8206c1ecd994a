/* client.h: one signed AWS request: endpoint (endpoint.h), credentials (credentials.h), SigV4
 * (sigv4.h), the shared HTTP layer with its retry policy (http.h), and the AWS error of a failed
 * reply turned into "WHAT failed: Code: Message (request id ID)". Both the Query protocol
 * (query.h) and REST-JSON callers (EKS) go through aws_client_send. */
#ifndef MESH_AWS_CLIENT_H
#define MESH_AWS_CLIENT_H

#include "aws/credentials.h"
#include "aws/sigv4.h"
#include "http.h"

struct aws_client {
    struct http_client http;          /* timeouts, CA bundle, retry budget, cancel flag */
    struct aws_credentials *creds;    /* shared, thread-safe; NULL: use fixed */
    const struct aws_creds *fixed;    /* static credentials (an AssumeRole's source) */
    char region[64];
};

struct aws_send {
    const char *service;       /* "ec2", "sts", "iam", "eks": endpoint and signing scope */
    const char *base_url;      /* scheme://host[/prefix] the path is appended to; NULL: the
                                * service's endpoint (endpoint.h). S3 names the bucket's here. */
    const char *method;
    const char *path;          /* "/" or "/clusters/x"; wire-encoded */
    const char *query;         /* without '?'; NULL when none */
    const char *body;
    size_t body_len;
    const char *content_type;
    const struct sigv4_pair *headers;  /* extra headers, signed; may be NULL */
    size_t nheaders;
    const char *what;          /* "ec2 DescribeVpcs": prefix of error messages */
    int secret_body;           /* body carries a secret: never logged */
    int secret_reply;          /* reply carries a secret: never logged */
    int no_sign;               /* AssumeRoleWithWebIdentity is not signed */
    int once;                  /* not idempotent (aws_action_once): http.h's `once` */
    size_t max_reply;          /* http.h's max_reply; 0: the client's */
    volatile sig_atomic_t *cancel;  /* per call (struct call's); NULL: the client's */
};

/* Whether service's action makes a new object each time AWS processes it, with neither a
 * duplicate check (a second CreateSubnet of a CIDR is refused, a second CreateVpc is not) nor an
 * idempotency token (CreateRouteTable, CreateNatGateway, CreateLaunchTemplate,
 * CreateEgressOnlyInternetGateway and EKS's creates carry one: call.token). Such a request is
 * never resent once it may have reached AWS (http.h `once`): the engine asks find instead. */
int aws_action_once(const char *service, const char *action);

/* Returns 0 and the reply when the status is 2xx; otherwise sets err from the AWS error
 * (MESH_ENOTFOUND for *.NotFound-like codes) and still fills resp. */
int aws_client_send(struct aws_client *c, const struct aws_send *s, struct http_response *resp,
                    struct mesh_err *err);

#endif
