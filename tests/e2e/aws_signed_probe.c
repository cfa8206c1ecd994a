/* aws_signed_probe.c: one JSON 1.1 or REST-JSON call through aws_call.h, for tests/e2e/aws_signed.sh
 * (the Query protocol is exercised by mesh itself there).
 *   probe json SERVICE TARGET BODY                   "ok REPLY" (compact JSON)
 *   probe rest SERVICE ACTION METHOD PATH BODY|-     the same
 * then "calls SERVICE N" (the provider handle's counter). A failure prints
 * "err KIND CAUSE REQUEST_ID: MESSAGE" and exits 1. The provider is opened as mesh opens it
 * (region and credentials from the environment, endpoints from AWS_ENDPOINT_URL*). */
#include <jansson.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <string.h>

#include "aws/aws_call.h"
#include "aws/provider.h"
#include "http.h"

int main(int argc, char **argv)
{
    if (argc < 5 || (strcmp(argv[1], "rest") == 0 && argc < 7)) {
        fprintf(stderr, "usage: probe json SERVICE TARGET BODY | probe rest SERVICE ACTION METHOD PATH BODY|-\n");
        return 2;
    }
    struct mesh_err err;
    mesh_err_init(&err);
    json_t *config = json_object();
    void *handle = NULL;
    if (aws_provider.open(config, &handle, &err) < 0) {
        printf("err open: %s\n", err.msg);
        return 1;
    }
    json_decref(config);
    struct call c;
    memset(&c, 0, sizeof(c));
    c.address = "probe";
    c.err = &err;
    c.provider = handle;
    int json = strcmp(argv[1], "json") == 0;
    const char *text = json ? argv[4] : argv[6];
    json_t *body = strcmp(text, "-") == 0 ? NULL : json_loads(text, 0, NULL), *reply = NULL;
    struct mesh_err e;
    int rc = json ? aws_call_json(&c, argv[2], argv[3], body, &reply, &e)
                  : aws_call_rest(&c, argv[2], argv[3], argv[4], argv[5], NULL, body, &reply, &e);
    if (rc == 0) {
        char *s = json_dumps(reply, JSON_COMPACT | JSON_SORT_KEYS);
        printf("ok %s\n", s);
        free(s);
    } else {
        printf("err %d %s %s: %s\n", e.code, e.cause[0] ? e.cause : "-", e.request_id[0] ? e.request_id : "-", e.msg);
    }
    struct aws_handle *h = handle;
    printf("calls %s %ld\n", argv[2], atomic_load(&h->calls_by[aws_service_index(argv[2])]));
    json_decref(body);
    json_decref(reply);
    aws_provider.close(handle);
    http_thread_release();
    xmlCleanupParser();
    return rc ? 1 : 0;
}
