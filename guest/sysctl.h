/* sysctl.h — design §4 step 8: kernel parameters through /proc/sys. */
#ifndef EVM_GUEST_SYSCTL_H
#define EVM_GUEST_SYSCTL_H

#include "err.h"

/* Writes value (plus a newline) to <procsys>/<key with dots turned into slashes>, e.g.
 * "net.ipv4.ip_forward" → <procsys>/net/ipv4/ip_forward. procsys is normally "/proc/sys".
 * The file must exist (it is never created): a missing one is -ENOENT ("no such sysctl").
 * key may hold only [A-Za-z0-9_-] separated by single dots; value no control characters. */
int sysctl_set(const char *procsys, const char *key, const char *value, struct evm_err *err);

/* Step 8: net.ipv4.ip_forward=1 (an error when it fails). */
int sysctl_apply_defaults(const char *procsys, struct evm_err *err);

/* Once br_netfilter is loaded (the init's modules after the launch):
 * net.bridge.bridge-nf-call-iptables=1 and net.bridge.bridge-nf-call-ip6tables=1, each a
 * warning when absent (br_netfilter not loaded: bridged container traffic then bypasses
 * iptables) or failing. Returns how many were set. */
int sysctl_bridge_nf(const char *procsys);

#endif
