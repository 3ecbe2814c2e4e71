/* vm_hcs_win.c — the Windows side of vm.h. The HCS backend (computecore.dll) is not built
 * yet: starting a VM on Windows fails with a clear error instead of pretending. What the
 * backend already answers (the guest's root disk device on Hyper-V SCSI, the VHDX disk
 * file) is what the agent and the `cmdline` command use. Everything else the agent does
 * on Windows (boot initrd, command line, config, status) works. */
#include "vm/vm.h"

#include <errno.h>

const struct vm_backend *vm_backend(void)
{
    static const struct vm_backend hcs = {
        .name = "hcs",
        .root_disk = "/dev/sda", /* Hyper-V synthetic SCSI */
        .disk_file = "root.vhdx",
        .min_memory_mb = 256,
    };
    return &hcs;
}

int vm_disk_ensure(const char *path, uint64_t size_bytes, bool *grown, struct evm_err *err)
{
    (void)size_bytes;
    *grown = false;
    return evm_errf(err, ENOSYS, "root disk %s: VHDX creation (virtdisk) is not in this build yet",
                    path);
}

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

int vm_console_write(struct vm *vm, const char *data, size_t len, struct evm_err *err)
{
    (void)vm;
    (void)data;
    (void)len;
    return evm_errf(err, EPIPE, "vm: no VM");
}

void vm_stop(struct vm *vm, unsigned grace_ms, bool requested)
{
    (void)vm;
    (void)grace_ms;
    (void)requested;
}

void vm_kill(struct vm *vm)
{
    (void)vm;
}

void vm_close(struct vm *vm)
{
    (void)vm;
}
