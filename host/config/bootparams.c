/* bootparams.c — host config → boot parameters. */
#include "config/bootparams.h"

#include <errno.h>
#include <string.h>

#include "bootid.h"
#include "manifest.h"

int bootparams_from_config(const struct hostcfg *cfg, const char *root_disk, const char *boot_id,
                           struct boot_params *p, struct evm_err *err)
{
    boot_params_defaults(p);
    if (cfg && cfg->state == HOSTCFG_OK) {
        p->dind = hostcfg_bool(&cfg->settings, HOSTCFG_DIND_ENABLED);
        p->dind_allow_privileged = hostcfg_bool(&cfg->settings, HOSTCFG_DIND_ALLOW_PRIVILEGED);
        p->swap_mb = hostcfg_uint(&cfg->settings, HOSTCFG_SWAP_MB);
    }
    if (root_disk) {
        if (strlen(root_disk) >= sizeof(p->root_disk))
            return evm_errf(err, EINVAL, "root disk %s: name too long", root_disk);
        strcpy(p->root_disk, root_disk);
    }
    if (boot_id) {
        if (!boot_id_valid(boot_id))
            return evm_errf(err, EINVAL, "boot id %s: must be %d lowercase hex digits", boot_id,
                            BOOT_ID_HEX_LEN);
        memcpy(p->boot_id, boot_id, BOOT_ID_HEX_LEN + 1);
    }
    return 0;
}
