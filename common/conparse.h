/* conparse.h — the console protocol of common/markers.h (design §4), both directions: the
 * host recognises the guest's markers in console output; the host writes, and the guest
 * recognises, the stop request. */
#ifndef EVM_CONPARSE_H
#define EVM_CONPARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "tail.h"

enum con_kind { CON_NONE = 0, CON_IP, CON_STAGE, CON_FATAL, CON_EXIT };

struct con_msg {
    enum con_kind kind;
    char ip[16];                       /* CON_IP: dotted quad */
    char stage[32];                    /* CON_STAGE, CON_FATAL */
    unsigned long long ms;             /* CON_STAGE */
    char reason[512];                  /* CON_FATAL, unescaped */
    int status;                        /* CON_EXIT */
    char boot_id[BOOT_ID_HEX_LEN + 1]; /* empty when the line carries none */
};

/* Fills m for a marker line; returns its kind, CON_NONE for any other line (including a
 * malformed marker). Markers are recognised anywhere in the line (the kernel may prefix
 * output on the same line). */
enum con_kind conparse_line(const char *line, struct con_msg *m);

/* The stop request for boot_id, "EPHEMERD_STOP boot_id=<hex>\n", into buf. -EINVAL when
 * boot_id is not a valid boot id, -ENOSPC when buf is too small. */
int conparse_format_stop(char *buf, size_t size, const char *boot_id, struct evm_err *err);

/* True when line (CR/LF and surrounding blanks ignored) is a stop request: exactly
 * "EPHEMERD_STOP" or "EPHEMERD_STOP boot_id=<hex>". boot_id receives the id, or "" when the
 * request carries none or a malformed one (the guest then ignores it). Unlike the markers,
 * a request must be the whole line: text that merely contains one is not a request. */
bool conparse_stop_request(const char *line, char boot_id[BOOT_ID_HEX_LEN + 1]);

#endif
