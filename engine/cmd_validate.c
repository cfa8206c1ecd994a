/* cmd_validate.c: `mesh validate`: load and check the spec, touch nothing else. */
#include "cli.h"
#include "cmd.h"
#include "session.h"
#include "spec/spec.h"
#include "ui.h"

int cmd_validate(struct cli_opts *o)
{
    ui_init(o->json);
    struct session s;
    session_init(&s, o);
    int rc = session_load_spec(&s, 0);
    if (!rc) {
        size_t n = s.spec->resources.len;
        if (ui.json) ui_event("summary", json_pack("{s:s, s:b, s:I}", "command", "validate", "valid", 1, "resources", (json_int_t)n));
        else ui_out("%sThe spec is valid:%s %s, %zu resource%s.\n", ui_c("green"), ui_c("reset"), o->spec_path, n, n == 1 ? "" : "s");
    }
    session_release(&s);
    return rc ? 1 : 0;
}
