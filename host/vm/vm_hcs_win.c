/* vm_hcs_win.c — the Windows side of vm.h. The HCS backend (computecore.dll) is not built
 * yet: starting a VM on Windows fails with a clear error instead of pretending. Everything
 * else the agent does on Windows (boot initrd, command line, config, status) works. */
#include "vm/vm.h"

#include <errno.h>

int vm_start(uv_loop_t *loop, const struct vm_spec *spec, const struct vm_events *ev,
             struct vm **out, struct vm_info *info, struct evm_err *err)
{
    (void)loop;
    (void)spec;
    (void)ev;
    (void)info;
    *out = NULL;
    return evm_errf(err, ENOSYS,
                    "the HCS backend is not available in this build yet; "
                    "booting the VM is supported on Linux (QEMU) only");
}

void vm_stop(struct vm *vm, unsigned grace_ms)
{
    (void)vm;
    (void)grace_ms;
}

void vm_kill(struct vm *vm)
{
    (void)vm;
}

void vm_close(struct vm *vm)
{
    (void)vm;
}

const char *vm_backend_name(void)
{
    return "hcs";
}
