/* modlater.h — the init's work after the daemon is launched (docs/guest-init.md, "Modules"):
 * on a thread of its own, at a lower priority than the daemon, load /modules/load-later (the
 * container set: br_netfilter, overlay, netfilter, the hardware RNG, …) and, when the new
 * root cannot load modules on demand (no modprobe or no module index), /modules/load-demand
 * too; then set the bridge netfilter sysctls br_netfilter brings. PID 1 meanwhile supervises
 * the daemon; a module the daemon needs sooner is loaded on demand by the kernel. */
#ifndef EVM_GUEST_MODLATER_H
#define EVM_GUEST_MODLATER_H

#include <pthread.h>
#include <stdbool.h>

#include "err.h"
#include "modules.h"

#define MODLATER_NICE 10

struct modlater {
    int dirfd;             /* /modules, opened before switch_root (stays valid after) */
    bool demand;           /* also load-demand */
    const char *procsys;   /* "/proc/sys" */
    module_loader_fn load; /* modules_finit in production */
    void *ctx;
    unsigned workers;
    /* results, valid after modlater_wait */
    struct modules_result later, demanded;
    int rc;
    struct evm_err err;
    pthread_t th;
};

/* Starts the thread (every signal blocked in it). */
int modlater_start(struct modlater *ml, struct evm_err *err);

/* Waits for it (tests; PID 1 never does). Returns its result. */
int modlater_wait(struct modlater *ml);

#endif
