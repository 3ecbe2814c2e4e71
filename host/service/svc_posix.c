/* svc_posix.c — `service ...` on Linux: the systemd unit ephemerd-vm.service is the service
 * (host/service/ephemerd-vm.service, docs/running.md); every call says so. */
#include "service/svc.h"

#include <errno.h>

static int not_here(struct evm_err *err)
{
    return evm_errf(err, ENOTSUP,
                    "on Linux the service is the systemd unit ephemerd-vm.service: use "
                    "systemctl (enable --now, status, reload, stop) ephemerd-vm; see "
                    "docs/running.md");
}

int svc_install(const char *data_dir, struct evm_err *err)
{
    (void)data_dir;
    return not_here(err);
}

int svc_uninstall(unsigned timeout_s, struct evm_err *err)
{
    (void)timeout_s;
    return not_here(err);
}

int svc_start(unsigned timeout_s, struct evm_err *err)
{
    (void)timeout_s;
    return not_here(err);
}

int svc_stop(unsigned timeout_s, struct evm_err *err)
{
    (void)timeout_s;
    return not_here(err);
}

int svc_reload(struct evm_err *err)
{
    return not_here(err);
}

int svc_status(FILE *out, bool *running, struct evm_err *err)
{
    (void)out;
    *running = false;
    return not_here(err);
}

int svc_run(const char *data_dir, struct evm_err *err)
{
    (void)data_dir;
    return not_here(err);
}
