/* qemu_host.h — what this Linux host offers the QEMU backend (qemu_host_posix.c). */
#ifndef EVM_QEMU_HOST_H
#define EVM_QEMU_HOST_H

#include "err.h"

#define QEMU_BIN "qemu-system-x86_64"

/* First executable `name` on PATH, malloc'd; NULL when absent. */
char *qemu_find_on_path(const char *name);

/* 0 when KVM can run a stock kernel here; else a negative errno and err says why not (no
 * /dev/kvm, no permission, or nested KVM without vmx/svm). */
int qemu_kvm_usable(struct evm_err *err);

#endif
