/* vmspec.c — the checks of a struct vm_spec that do not depend on the backend; both
 * backends run them before they start anything. */
#include <errno.h>

#include "config/hostcfg.h"
#include "vm/vm.h"

int vm_spec_check(const struct vm_spec *spec, struct evm_err *err)
{
    if (!spec->kernel || !spec->initrd || !spec->cmdline || !spec->state_dir || !spec->console_log)
        return evm_errf(err, EINVAL,
                        "vm: kernel, initrd, cmdline, state_dir and console_log are required");
    if (spec->nports > VM_MAX_PORTS)
        return evm_errf(err, EINVAL, "vm: %u ports (at most %d): out of range", spec->nports,
                        VM_MAX_PORTS);
    return hostcfg_check_vm_size(spec->cpus, spec->memory_mb, err); /* the config's limits */
}
