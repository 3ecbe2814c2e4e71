/* fuzz_bootrecord.c — libFuzzer target for the boot initrd's record parser (bootrecord.c),
 * which reads a file from the data dir: arbitrary bytes never crash it, and whatever it
 * accepts is canonical (formatting the parsed record gives back exactly the input) and has a
 * layout a full build can produce. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "initrd/bootrecord.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bootrecord r;
    struct evm_err err = {0};
    if (bootrecord_parse((const char *)data, size, &r, &err) < 0)
        return 0;
    char buf[BOOTRECORD_MAX_BYTES];
    size_t len = 0;
    if (bootrecord_format(&r, buf, sizeof(buf), &len, &err) < 0 || len != size ||
        memcmp(buf, data, size) != 0)
        abort();
    if (r.binary_member.offset % 4 || r.boot_offset % 4 || r.out.size <= r.boot_offset ||
        r.boot_offset < r.binary_member.offset + r.binary_member.length)
        abort();
    return 0;
}
