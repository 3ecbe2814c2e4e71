/* agent.h — `ephemerd-vmhost run`: the agent's main job (design §5). Builds the boot initrd,
 * starts the VM, follows its console, waits for EPHEMERD_IP and both forwarded ports, reports
 * ready, supervises (restart with capped backoff on an unexpected stop), reloads config.toml
 * on SIGHUP (Linux) or agent_ctl_reload (restarting the VM in order when what it is
 * changed) and stops the VM in order on SIGINT/SIGTERM or agent_ctl_stop. A service manager
 * follows it through the hooks of agenthooks.h. */
#ifndef EVM_AGENT_H
#define EVM_AGENT_H

#include <stdbool.h>

#include "agent/agenthooks.h"
#include "initrd/bootinitrd.h"
#include "err.h"

struct run_opts {
    const char *data_dir;
    const char *kernel;      /* default <data-dir>/vm/linux/kernel */
    const char *base_initrd; /* default <data-dir>/vm/linux/base-initrd.img */
    const char *binary;      /* default <data-dir>/vm/linux/ephemerd-linux */
    enum compress compress;
    bool once;             /* stop right after ready and return */
    bool dry_run;          /* print the launch plan only (run_plan) */
    bool no_disk;          /* boot without a root disk (testing the guest's failure path) */
    unsigned disk_timeout; /* seconds; 0 = the guest's default */
    unsigned ready_timeout_s;
    unsigned stop_grace_ms;
    bool allow_tcg;                  /* emulate when KVM is unusable */
    unsigned max_restarts;           /* service mode: give up after this many in a row; 0 = never */
    const struct agent_hooks *hooks; /* NULL: no service manager follows the agent */
};

void run_opts_defaults(struct run_opts *o);

/* 0: stopped in order (or --once reached ready); negative errno with err naming why the VM
 * failed (the guest's EPHEMERD_FATAL reason when there is one, else the backend's). */
int run_agent(const struct run_opts *o, struct evm_err *err);

/* `run --dry-run`: the launch plan the agent would start with these options (vm_plan's
 * JSON, malloc'd), without building anything, creating any file or starting anything. The
 * host config is read and checked as for a boot; the boot id is a fresh one. */
int run_plan(const struct run_opts *o, char **json, struct evm_err *err);

#endif
