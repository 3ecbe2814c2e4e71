/* populate.h — design §4 step 7, first populate: extracting the root filesystem tarball onto
 * the freshly mounted root disk, safely (nothing can land outside the root). */
#ifndef EVM_GUEST_POPULATE_H
#define EVM_GUEST_POPULATE_H

#include "err.h"

/* Extracts tarball (a tar, gzip-compressed or not; libarchive: gzip filter + tar formats)
 * into the directory root, which must already exist and not be a symlink.
 *
 * How: the process changes its working directory to root for the duration (the cwd is
 * restored before returning, also on failure) and libarchive's archive_write_disk writes
 * each entry by its own relative path, with
 *   ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | SECURE_NODOTDOT | SECURE_SYMLINKS
 *   | PERM | OWNER | TIME | XATTR
 * Owners are the archive's numeric uid/gid (no name lookup: the initramfs's passwd is not
 * the rootfs's); modes are exact (umask ignored; setuid/setgid kept since owners are set);
 * xattrs such as security.capability are restored. Before libarchive sees an entry, it is
 * checked here too: an absolute path, a ".." component, or a hard link whose target is
 * absolute, has a ".." component or passes through a symlink under root is refused.
 * Symlink entries may point anywhere (they are created, never followed); an entry whose
 * path passes through an existing symlink is refused by libarchive. Existing files are
 * replaced (an interrupted earlier populate is simply redone).
 *
 * A refused or failed entry stops the populate: -EPERM (refused) or the error, with a
 * message naming the entry ("populate: refusing archive entry \"../x\": ..."). A corrupt or
 * truncated archive fails likewise (-EIO). Warnings (e.g. an xattr the filesystem does not
 * take) are logged and do not fail. On success the filesystem is synced (syncfs), so the
 * extracted tree is on disk before the caller marks the populate done. */
int populate_rootfs(const char *tarball, const char *root, struct evm_err *err);

#endif
