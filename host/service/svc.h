/* svc.h — `ephemerd-vmhost service ...`: the agent as a host service, per platform. On
 * Windows (svc_win.c: the Service Control Manager; scm_win.c: the service process) a service
 * named SVC_NAME, automatic start, restart-on-failure recovery, LocalSystem; on Linux
 * (svc_posix.c) the systemd unit is the service and every call says so (-ENOTSUP). */
#ifndef EVM_SVC_H
#define EVM_SVC_H

#include <stdbool.h>
#include <stdio.h>

#include "err.h"

#define SVC_NAME "ephemerd-vm"
#define SVC_DISPLAY_NAME "ephemerd VM host agent"
#define SVC_DESCRIPTION                                                                            \
    "Boots and supervises the ephemerd Linux VM (Hyper-V, through HCS). Data and logs: "           \
    "the data directory on its command line."

/* The service's log: DATA/logs/vmhost.log, rotated at SVC_LOG_MAX_BYTES, SVC_LOG_KEEP kept. */
#define SVC_LOG_DIR "logs"
#define SVC_LOG_FILE "vmhost.log"
#define SVC_LOG_MAX_BYTES (10ull << 20)
#define SVC_LOG_KEEP 5u

/* The agent's options under the service: give up after this many failed boots in a row (the
 * service then stops with an error and the SCM's recovery restarts it). */
#define SVC_MAX_RESTARTS 3u

/* Registers the service to run this executable with data_dir (absolute; the caller resolves
 * the default), or updates an existing registration to it (an upgrade). */
int svc_install(const char *data_dir, struct evm_err *err);
/* Stops the service when it runs (waiting up to timeout_s), then deletes it. */
int svc_uninstall(unsigned timeout_s, struct evm_err *err);
/* Starts the service and waits until it runs (the VM is ready) or stops, up to timeout_s. */
int svc_start(unsigned timeout_s, struct evm_err *err);
/* Asks the service to stop in order and waits until it has, up to timeout_s. */
int svc_stop(unsigned timeout_s, struct evm_err *err);
/* Asks the running service to reload config.toml. */
int svc_reload(struct evm_err *err);
/* Prints the service's state and configuration to out; *running tells whether it runs. */
int svc_status(FILE *out, bool *running, struct evm_err *err);
/* Service mode: what the SCM runs. Connects to the SCM and runs the agent on data_dir until
 * the SCM stops it. Returns 0, or a negative errno when it could not run as a service. */
int svc_run(const char *data_dir, struct evm_err *err);

#endif
