/* cmd_misc.c: `mesh force-unlock RUN_ID` and `mesh version`. */
#include <stdio.h>

#include <openssl/crypto.h>
#include <yaml.h>

#include "cli.h"
#include "cmd.h"
#include "driver.h"
#include "session.h"
#include "store.h"
#include "ui.h"

int cmd_force_unlock(struct cli_opts *o)
{
    ui_init(0);  /* exactly one RUN_ID: main.c checked it against the command's grammar */
    struct session s;
    session_init(&s, o);
    s.writing = 1;
    session_load_spec_lenient(&s);  /* its state: section may say the state is team state */
    struct mesh_err err;
    mesh_err_init(&err);
    int opened = session_open_state(&s, 0, &err), rc = 0;
    if (opened == 1) mesh_err_set(&err, MESH_ERR, NULL, "there is no state at %s", session_state_path(&s));
    if (opened || store_force_unlock(s.store, o->args.items[0], &err)) {
        ui_error(&err);
        rc = 1;
    } else {
        printf("The state lock of run %s was released.\n", (const char *)o->args.items[0]);
    }
    session_release(&s);
    return rc;
}

int cmd_version(struct cli_opts *o)
{
    (void)o;
    printf("mesh %s\n", MESH_VERSION);
    printf("  state schema %d, %zu resource types\n", STORE_SCHEMA_VERSION, driver_count());
    printf("  sqlite %s, %s, libyaml %s, jansson %s, %s\n", store_sqlite_version(),
           OpenSSL_version(OPENSSL_VERSION), yaml_get_version_string(), JANSSON_VERSION, provider_http_version());
    return 0;
}
