/* fuzz_dhcp_options.c — libFuzzer target for the DHCP reply parser (guest/dhcp.c):
 * arbitrary bytes must never crash it; a rejection is -EBADMSG with a message; whatever it
 * accepts satisfies the invariants the client relies on. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan catches any read past the end. */
    uint8_t *pkt = malloc(size ? size : 1);
    if (!pkt)
        return 0;
    if (size)
        memcpy(pkt, data, size);
    struct dhcp_reply r;
    struct evm_err err = {0};
    int rc = dhcp_parse_reply(pkt, size, &r, &err);
    free(pkt);
    if (rc != 0) {
        if (rc != -EBADMSG || err.msg[0] == '\0' || strnlen(err.msg, sizeof(err.msg)) >= 512)
            abort();
        return 0;
    }
    if (size < DHCP_OPTIONS_OFFSET || r.ndns > 3 || r.prefix > 32 || r.overload > 3)
        abort();
    if (r.has_subnet) {
        unsigned p;
        if (dhcp_mask_to_prefix(r.subnet_mask, &p) != 0 || p != r.prefix)
            abort();
    } else if (r.prefix != 0 || r.subnet_mask != 0) {
        abort();
    }
    if (r.msg_type < DHCP_NONE || r.msg_type > DHCP_INFORM)
        abort();
    if (memcmp(&r.xid, data + 4, 4) != 0 || memcmp(r.chaddr, data + 28, 16) != 0)
        abort();
    return 0;
}
