/* initrdmagic.h — what the kernel can unpack at the start of an initrd, checked on the base
 * before a boot initrd is built from it. The kernel (init/initramfs.c unpack_to_rootfs,
 * lib/decompress.c) skips zero bytes, then takes either a newc cpio header ("070701", or
 * "070702" with checksums) at a 4-byte boundary or a compressed stream it recognises by its
 * first bytes: gzip, bzip2, lzma, xz, lzo, lz4 (legacy frames) or zstd. Anything else,
 * including an old-format cpio archive, ends the unpacking with "junk in compressed
 * archive" or "no cpio magic". */
#ifndef EVM_INITRDMAGIC_H
#define EVM_INITRDMAGIC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* How much of a file's start initrd_magic_check looks at. */
#define INITRD_MAGIC_PEEK 4096

/* buf: the first n bytes of the file (n < INITRD_MAGIC_PEEK only when the file is shorter).
 * 0 when it starts like an initrd, *kind naming the format ("newc cpio", "gzip", ...);
 * otherwise -EINVAL with err saying what the file starts with (no file name). */
int initrd_magic_check(const uint8_t *buf, size_t n, const char **kind, struct evm_err *err);

#endif
