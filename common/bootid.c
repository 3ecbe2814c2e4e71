/* bootid.c — see bootid.h. */
#include "bootid.h"

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

int boot_id_valid(const char *s)
{
    if (!s)
        return 0;
    for (size_t i = 0; i < BOOT_ID_HEX_LEN; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return s[BOOT_ID_HEX_LEN] == '\0';
}
