/* fault.h: the fault layer between the engine and every driver, for tests only. Enabled by
 * MESH_FAULTS (docs/testing.md): "fail:call=N", "crash:call=N", "crash-after:call=N",
 * "fail:address=A:op=O" (every call on A, of operation O if given), "fail:prob=P:seed=S",
 * "delay:type=T:ms=M" (type optional), "stats:file=PATH" (the most calls
 * of each operation in flight at once, and "calls N", the calls so far, written to PATH), several
 * joined by ",".
 * Driver calls are counted in start order from 1 across the whole process. */
#ifndef MESH_FAULT_H
#define MESH_FAULT_H

#include "base/err.h"

int fault_init(const char *spec, struct mesh_err *err);
void fault_release(void);
int fault_enabled(void);
/* Before a driver call: returns 0 or MESH_ERR (the call fails); may sleep or kill the process.
 * *seq gets the call's number (for crash-after). */
int fault_before(const char *type, const char *address, const char *op, long *seq, struct mesh_err *err);
/* After the call returned: may kill the process (crash-after). */
void fault_after(long seq, const char *op);

#endif
