/* stage.h — design §4 step 10 (stage the host config on the root disk, or remove a stale
 * copy) and the every-boot part of step 7 (replace the daemon binary on the disk). */
#ifndef EVM_GUEST_STAGE_H
#define EVM_GUEST_STAGE_H

#include <stdbool.h>

#include "err.h"

/* newroot: the mounted root disk (e.g. "/newroot"). src: the verified tail config (e.g.
 * "/assets/config.toml"), or NULL when the manifest does not list one.
 *
 * src != NULL: makes <newroot>/etc and etc/ephemerd (0755) when missing, refusing either
 * when it is a symlink or not a directory; writes the bytes of src to a temporary file in
 * etc/ephemerd (O_EXCL|O_NOFOLLOW), mode 0600, owner 0:0, renames it over config.toml
 * (fsat_replace_nosync: the init makes it durable with one syncfs before switch_root); logs
 * INIT_LOG_CONFIG_STAGED. A symlink named
 * config.toml is replaced by the staged file (rename replaces the link itself; nothing is
 * ever written through it); a directory named config.toml is refused. *staged = true.
 *
 * src == NULL: removes a stale etc/ephemerd/config.toml from an earlier boot (it holds
 * secrets; a symlink there is removed as a link); nothing there is fine. A symlinked or
 * non-directory etc or etc/ephemerd is refused here too (the daemon would read through
 * it), as is a directory named config.toml. *staged = false.
 *
 * Both: leftover temporary files of an interrupted earlier staging are removed. Every path
 * component below newroot is opened fd-relative with O_NOFOLLOW. */
int stage_config(const char *newroot, const char *src, bool *staged, struct evm_err *err);

/* Replaces <newroot>/usr/local/bin/ephemerd-linux with the bytes of src atomically, unless
 * it already is exactly that (a regular file of one link, 0755, owner 0:0, the same bytes:
 * compared in full, then kept without a write)
 * (temporary file in the same directory, 0755, owner 0:0, rename; durable with the init's
 * syncfs before switch_root, as the config),
 * making usr, usr/local, usr/local/bin (0755) when missing; same no-symlink rules. */
int install_daemon(const char *newroot, const char *src, struct evm_err *err);

#endif
