/* hcssweep_win.h — what a crashed agent leaves behind, removed: compute systems with our
 * Owner (terminated and closed) and host network endpoints with our name prefix (deleted).
 * An agent runs one VM at a time, and the sweep runs only while this agent's VM is off (at
 * vm_start, and at vm_disk_ensure, since a leftover VM would hold the disk open), so none of
 * them is in use. Windows only. */
#ifndef EVM_HCSSWEEP_WIN_H
#define EVM_HCSSWEEP_WIN_H

#include "vm/hcsapi_win.h"

/* The Owner every compute system of this backend carries. */
#define HCS_OWNER "ephemerd"

/* Removes the leftovers; each one removed is logged as a warning, a failure too (nothing
 * here stops a boot). Needs computecore; endpoints are swept only when computenetwork is
 * loaded. */
void hcs_sweep_stale(const struct hcsapi *api);

#endif
