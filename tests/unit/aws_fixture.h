/* aws_fixture.h: an AWS provider handle and a driver call pointed at a scripted server
 * (scripted_server.h) through one AWS_ENDPOINT_URL* variable, with test credentials, retries
 * paced for tests (MESH_BACKOFF_SCALE), region us-west-2 and run id "run1". Header-only: included
 * after <cmocka.h> by the cmocka tests of the AWS layer (test_aws_call, test_aws_ec2, test_iam). */
#ifndef MESH_TEST_AWS_FIXTURE_H
#define MESH_TEST_AWS_FIXTURE_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "aws/provider.h"
#include "driver.h"
#include "scripted_server.h"

struct fixture {
    struct server srv;
    struct aws_handle h;
    struct aws_creds creds;
    struct mesh_err err;
    struct call call;
    volatile sig_atomic_t cancel;
    const char *endpoint_env;
};

/* Serve script (n replies) and point endpoint_env (e.g. "AWS_ENDPOINT_URL_IAM") at it; the
 * call is made for address. */
static void aws_fixture_start(struct fixture *f, const struct reply *script, int n, const char *endpoint_env,
                              const char *address)
{
    memset(f, 0, sizeof(*f));
    server_start(&f->srv, script, n);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->srv.port);
    f->endpoint_env = endpoint_env;
    setenv(endpoint_env, url, 1);
    setenv("MESH_BACKOFF_SCALE", "0.001", 1);
    f->creds.access_key = "AKIDTEST";
    f->creds.secret_key = "secret";
    http_client_init(&f->h.client.http);
    f->h.client.http.base_delay = f->h.client.http.throttle_delay = 0.001;
    http_retries_init(&f->h.retries, -1);
    f->h.client.http.retries = &f->h.retries;
    f->h.client.fixed = &f->creds;
    snprintf(f->h.client.region, sizeof(f->h.client.region), "us-west-2");
    f->h.nazs = -1;
    mesh_err_init(&f->err);
    f->call.address = address;
    f->call.run_id = "run1";
    f->call.err = &f->err;
    f->call.cancel = &f->cancel;
    f->call.provider = &f->h;
}

/* Stop the server; the endpoint variable goes with it (the next test sets its own). */
static void fixture_stop(struct fixture *f)
{
    server_stop(&f->srv);
    unsetenv(f->endpoint_env);
}

/* The group teardown: the per-thread HTTP state and libxml2's globals, so ASan sees no leak. */
static int teardown_all(void **state)
{
    (void)state;
    http_thread_release();
    xmlCleanupParser();
    return 0;
}

#endif
