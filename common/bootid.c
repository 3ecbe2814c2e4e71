/* bootid.c — generating boot ids (32 lowercase hex digits from 16 random bytes). */
#include "digest.h"
#include "random.h"

int boot_id_generate(char out[BOOT_ID_HEX_LEN + 1], struct evm_err *err)
{
    unsigned char raw[BOOT_ID_HEX_LEN / 2];
    int r = random_bytes(raw, sizeof(raw), err);
    if (r < 0)
        return r;
    hex_encode(raw, sizeof(raw), out);
    return 0;
}
