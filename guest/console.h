/* console.h — the console markers of design §4 that the host parses, one whole line each:
 *   EPHEMERD_STAGE stage=<name> ms=<CLOCK_BOOTTIME ms>
 *   EPHEMERD_IP=<ipv4>
 *   EPHEMERD_FATAL stage=<name> reason="<text>"
 *   EPHEMERD_EXIT status=<n>
 * each followed by " boot_id=<hex>" once the command line has been parsed. */
#ifndef EVM_CONSOLE_H
#define EVM_CONSOLE_H

#include "err.h"
#include "tail.h"

struct console {
    int fd;                            /* where markers go (the console: fd 2 in init) */
    char boot_id[BOOT_ID_HEX_LEN + 1]; /* empty until known */
};

void console_init(struct console *c, int fd);
void console_set_boot_id(struct console *c, const char *boot_id);
void console_stage(const struct console *c, const char *stage);
void console_ip(const struct console *c, const char *ipv4);
/* The reason is made safe for one quoted field: '"' and '\' are escaped, control characters
 * become spaces, and it is cut at 400 bytes. */
void console_fatal(const struct console *c, const char *stage, const char *reason);
void console_exit(const struct console *c, int status);

/* Kernel messages at `level` or less severe stay off the console (klogctl's console level;
 * the kernel's log keeps them). Why: the serial driver can print a kernel message between
 * two FIFO-sized chunks of one line a process wrote, splitting a marker in two. */
int console_kernel_level(int level, struct evm_err *err);

/* Milliseconds of CLOCK_BOOTTIME (time since the kernel started, including suspend). */
unsigned long long console_boottime_ms(void);

#endif
