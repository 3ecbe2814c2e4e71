/* reload.h — what a reload of config.toml (SIGHUP, agent_ctl_reload) changes for the VM: the
 * config text the boot initrd embeds, the kernel command line, and the VM's size (cpus,
 * memory, disk). Anything else in the file ([log]) the running agent applies on the spot. */
#ifndef EVM_RELOAD_H
#define EVM_RELOAD_H

#include <stddef.h>

#include "config/hostcfg.h"

/* Compares the config a running VM was booted with (old, old_cmdline) with the one just read
 * (new, new_cmdline; both command lines built with the same boot id). Writes the changes into
 * what as a readable list ("embedded config.toml, kernel command line, cpus 2 -> 4"), or ""
 * when none, and returns how many there are. */
unsigned reload_changes(const struct hostcfg *old, const char *old_cmdline,
                        const struct hostcfg *new, const char *new_cmdline, char *what,
                        size_t what_size);

#endif
