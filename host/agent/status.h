/* status.h — the agent's health document (design §5): <data-dir>/status.json, replaced
 * atomically on every change, read back by `ephemerd-vmhost status`. Holds no secrets. */
#ifndef EVM_STATUS_H
#define EVM_STATUS_H

#include <stdint.h>
#include <time.h>

#include "err.h"
#include "tail.h"

struct vm_status {
    char state[24]; /* starting, booting, ready, reloading, stopping, stopped, failed, restarting */
    char boot_id[BOOT_ID_HEX_LEN + 1];
    time_t since;         /* when state was entered */
    char last_error[512]; /* why the last boot failed or the VM is not ready */
    char last_fatal[512]; /* the guest's last EPHEMERD_FATAL, "stage: reason" */
    unsigned restarts;
    char ip[16];
    /* Where the host reaches the guest's containerd and dispatch ports: 127.0.0.1 and the
     * forwarded ports (QEMU), or the guest's address and its own ports (Hyper-V). */
    char ports_host[16];
    uint16_t containerd_port;
    uint16_t dispatch_port;
    long long ready_ms; /* boot to ready, -1 when not ready */
};

int status_write(const char *path, const struct vm_status *s, struct evm_err *err);
int status_read(const char *path, struct vm_status *s, struct evm_err *err);

#endif
