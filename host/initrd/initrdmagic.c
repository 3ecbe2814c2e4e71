/* initrdmagic.c — recognising the start of an initrd as the kernel does: zero padding, then
 * a newc cpio header or a compressed stream's magic. */
#include "initrd/initrdmagic.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

struct magic {
    const char *kind;
    const char *bytes;
    size_t len;
};

/* lib/decompress.c's table; where the kernel compares two bytes the format's full magic
 * is used (every real stream has it), except for lzma, whose header has no more. */
static const struct magic magics[] = {
    {"gzip", "\x1f\x8b\x08", 3},
    {"gzip", "\x1f\x9e", 2}, /* old gzip, still accepted by the kernel */
    {"bzip2", "BZh", 3},
    {"lzma", "\x5d\x00", 2},
    {"xz",
     "\xfd"
     "7zXZ\x00",
     6},
    {"lzo", "\x89LZO", 4},
    {"lz4", "\x02\x21\x4c\x18", 4},
    {"zstd", "\x28\xb5\x2f\xfd", 4},
};

static bool starts_with(const uint8_t *p, size_t n, const char *bytes, size_t len)
{
    return n >= len && memcmp(p, bytes, len) == 0;
}

static int check_at(const uint8_t *p, size_t n, size_t offset, const char **kind,
                    struct evm_err *err)
{
    if (p[0] == '0' && offset % 4 == 0) {
        if (starts_with(p, n, "070701", 6) || starts_with(p, n, "070702", 6)) {
            *kind = "newc cpio";
            return 0;
        }
        if (starts_with(p, n, "070707", 6))
            return evm_errf(err, EINVAL,
                            "an old-format (odc) cpio archive; the kernel unpacks only newc "
                            "(cpio -H newc)");
    }
    for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
        if (starts_with(p, n, magics[i].bytes, magics[i].len)) {
            *kind = magics[i].kind;
            return 0;
        }
    }
    return evm_errf(err, EINVAL,
                    "not an initrd: at offset %zu neither a newc cpio header (\"070701\") nor "
                    "a compressed stream the kernel unpacks (gzip, zstd, xz, lz4, lzo, bzip2, "
                    "lzma)",
                    offset);
}

int initrd_magic_check(const uint8_t *buf, size_t n, const char **kind, struct evm_err *err)
{
    *kind = NULL;
    if (n == 0)
        return evm_errf(err, EINVAL, "empty file");
    size_t z = 0;
    while (z < n && buf[z] == 0)
        z++;
    if (z == n)
        return evm_errf(err, EINVAL, "nothing but zero bytes in its first %zu bytes", n);
    return check_at(buf + z, n - z, z, kind, err);
}
