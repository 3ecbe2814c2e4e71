/* svccmd.h — the command line the Service Control Manager runs for the service:
 *   "C:\...\ephemerd-vmhost.exe" service run --data-dir "D"
 * quoted as CommandLineToArgvW and the C runtime split it (pure: tested natively too). */
#ifndef EVM_SVCCMD_H
#define EVM_SVCCMD_H

#include <stddef.h>

#include "err.h"

/* Appends arg to out (cap bytes, NUL-terminated) in double quotes: a '"' as \", the
 * backslashes before a '"' or the closing quote doubled, others kept. -ENAMETOOLONG when it
 * does not fit; -EINVAL for an empty argument or one with a control character. */
int svc_quote_arg(const char *arg, char *out, size_t cap, struct evm_err *err);

/* The service's command line for exe (absolute) and data_dir (absolute). */
int svc_command_line(const char *exe, const char *data_dir, char *out, size_t cap,
                     struct evm_err *err);

#endif
