/* bootparams.h — derives the guest's boot parameters (the kernel command line keys of
 * design §3) from the host config and the agent's own settings. */
#ifndef EVM_BOOTPARAMS_H
#define EVM_BOOTPARAMS_H

#include "cmdline.h"
#include "config/hostcfg.h"

/* cfg may be NULL or not OK: the dind fallback flags are then off and swap_mb is the
 * default. [vm.linux] swap_mb, when set, is ephemerd.swap_mb. root_disk and boot_id may be
 * NULL (left out). */
int bootparams_from_config(const struct hostcfg *cfg, const char *root_disk, const char *boot_id,
                           struct boot_params *p, struct evm_err *err);

#endif
