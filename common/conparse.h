/* conparse.h — recognises the guest's console markers (common/markers.h, design §4) in
 * console lines. */
#ifndef EVM_CONPARSE_H
#define EVM_CONPARSE_H

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

#endif
