/* cgroup.h — the cgroup v2 controllers containerd needs (cpu, memory, io, pids, cpuset)
 * enabled for the daemon's subtree: the root cgroup's cgroup.subtree_control, where the
 * daemon and every cgroup containerd makes below it live. */
#ifndef EVM_GUEST_CGROUP_H
#define EVM_GUEST_CGROUP_H

#include "err.h"

/* The controllers enabled, in the order they are written. */
extern const char *const cgroup_wanted[];

/* Reads <cgroot>/cgroup.controllers and writes "+<name>" to <cgroot>/cgroup.subtree_control
 * for each name of cgroup_wanted, one write each (so one the kernel refuses does not keep the
 * others off). A controller the kernel does not offer, or one whose write fails, is a warning
 * naming it and what containers lose. *enabled counts the ones written. Errors (cgroup2 not
 * mounted at cgroot: no cgroup.controllers) are returned; the caller warns. */
int cgroup_enable_controllers(const char *cgroot, unsigned *enabled, struct evm_err *err);

#endif
