/* aws_plumbing_probe.c: a small client over the AWS plumbing for tests/e2e/aws_plumbing.sh.
 *   probe identity        STS GetCallerIdentity: "account ACCOUNT arn ARN"
 *   probe vpcs            EC2 DescribeVpcs, all pages (MaxResults 5): "vpcs N"
 *   probe creds           which credentials the chain found: "creds SOURCE ACCESS_KEY_ID"
 *   probe call SERVICE ACTION VERSION [KEY=VALUE...]   any Query API call: "ok ROOT_ELEMENT"
 * Always ends with "retries N" (the run's retry counter). Exit 1 with the error on failure.
 * Environment: as any AWS client (AWS_ENDPOINT_URL, AWS_REGION, credentials), plus
 * MESH_RETRY_BUDGET (default 1000). */
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/endpoint.h"
#include "aws/query.h"

static int count_vpcs(xmlNodePtr root, void *ctx, struct mesh_err *err)
{
    int *n = ctx;
    for (xmlNodePtr it = aws_xml_first(aws_xml_find(root, "vpcSet"), "item"); it; it = aws_xml_next(it, "item"))
        (*n)++;
    return 0;
}

static int call_any(int argc, char **argv, struct aws_client *c, struct mesh_err *err)
{
    if (argc < 5) return mesh_err_set(err, MESH_EINVAL, NULL, "call SERVICE ACTION VERSION [KEY=VALUE...]");
    struct aws_query q;
    aws_query_init(&q, argv[3], argv[4]);
    for (int i = 5; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) continue;
        *eq = '\0';
        aws_query_add(&q, argv[i], eq + 1);
    }
    xmlDocPtr doc = NULL;
    int rc = aws_query_call(c, argv[2], &q, &doc, err);
    if (rc == 0) printf("ok %s\n", (const char *)xmlDocGetRootElement(doc)->name);
    xmlFreeDoc(doc);
    aws_query_release(&q);
    return rc;
}

static int run(const char *cmd, struct aws_client *c, struct mesh_err *err)
{
    if (strcmp(cmd, "creds") == 0) {
        struct aws_creds cr;
        memset(&cr, 0, sizeof(cr));
        if (aws_credentials_get(c->creds, &cr, err) < 0) return err->code;
        printf("creds %s %s\n", cr.source, cr.access_key);
        aws_creds_clear(&cr);
        return 0;
    }
    if (strcmp(cmd, "identity") == 0) {
        struct aws_query q;
        aws_query_init(&q, "GetCallerIdentity", "2011-06-15");
        xmlDocPtr doc = NULL;
        int rc = aws_query_call(c, "sts", &q, &doc, err);
        if (rc == 0) {
            xmlNodePtr r = xmlDocGetRootElement(doc);
            char *acct = aws_xml_text(r, "GetCallerIdentityResult/Account");
            char *arn = aws_xml_text(r, "GetCallerIdentityResult/Arn");
            printf("account %s arn %s\n", acct ? acct : "?", arn ? arn : "?");
            free(acct);
            free(arn);
        }
        xmlFreeDoc(doc);
        aws_query_release(&q);
        return rc;
    }
    if (strcmp(cmd, "vpcs") == 0) {
        struct aws_query q;
        aws_query_init(&q, "DescribeVpcs", "2016-11-15");
        aws_query_add(&q, "MaxResults", "5");
        int n = 0;
        int rc = aws_query_each_page(c, "ec2", &q, "NextToken", "nextToken", count_vpcs, &n, err);
        if (rc == 0) printf("vpcs %d\n", n);
        aws_query_release(&q);
        return rc;
    }
    return mesh_err_set(err, MESH_EINVAL, NULL, "unknown command '%s'", cmd);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s identity|vpcs|creds|call ...\n", argv[0]);
        return 2;
    }
    struct mesh_err err;
    mesh_err_init(&err);
    struct http_retries retries;
    const char *b = getenv("MESH_RETRY_BUDGET");
    http_retries_init(&retries, b ? atol(b) : 1000);
    struct aws_client c;
    memset(&c, 0, sizeof(c));
    http_client_init(&c.http);
    c.http.retries = &retries;
    char *region = NULL;
    int rc = aws_region_resolve(NULL, NULL, &region, &err);
    if (rc == 0) {
        snprintf(c.region, sizeof(c.region), "%s", region);
        struct aws_credentials_config cfg = { .region = region, .http = &c.http };
        c.creds = aws_credentials_new(&cfg);
        rc = strcmp(argv[1], "call") == 0 ? call_any(argc, argv, &c, &err) : run(argv[1], &c, &err);
        aws_credentials_free(c.creds);
    }
    free(region);
    printf("retries %ld\n", http_retries_count(&retries));
    if (rc < 0) {
        char buf[2048];
        fprintf(stderr, "error: %s\n", mesh_err_str(&err, buf, sizeof(buf)));
    }
    http_thread_release();
    xmlCleanupParser();
    return rc < 0 ? 1 : 0;
}
