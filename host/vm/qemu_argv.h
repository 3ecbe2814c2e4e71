/* qemu_argv.h — the QEMU backend's command line, built from a vm_spec without any I/O, so
 * that it can be tested on strings (and printed as the launch plan). */
#ifndef EVM_QEMU_ARGV_H
#define EVM_QEMU_ARGV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "vm/vm.h"

struct qemu_launch {
    const struct vm_spec *spec;
    bool kvm;                   /* -accel kvm -cpu host; else tcg and -cpu max */
    const char *qemu;           /* path of qemu-system-x86_64 */
    const char *setpriv;        /* util-linux setpriv for PR_SET_PDEATHSIG; NULL: none */
    long agent_pid;             /* with setpriv: QEMU starts only if its parent is still this */
    const char *qmp_path;       /* QMP unix socket */
    const uint16_t *host_ports; /* spec->nports loopback ports, forwarded to spec->guest_ports */
};

/* A NULL-terminated argv; every string is owned by it. */
struct qemu_argv {
    char **v;
    size_t n, cap;
    bool oom;
};

/* Builds the argv (v[0] is setpriv when given, else qemu). On failure (-ENOMEM) a is freed
 * and zeroed. */
int qemu_argv_build(struct qemu_argv *a, const struct qemu_launch *l, struct evm_err *err);
void qemu_argv_free(struct qemu_argv *a);

/* asprintf that returns NULL on failure. */
char *qemu_asprintf(const char *fmt, ...) EVM_PRINTF(1, 2);

#endif
