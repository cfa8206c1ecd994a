/* fault.c: placeholder */
#include "driver.h"
int fault_init(const char *spec, struct mesh_err *err) { (void)spec; (void)err; return 0; }
void fault_release(void) {}
int fault_before_call(const char *type, const char *address, const char *op, struct mesh_err *err) { return 0; }
