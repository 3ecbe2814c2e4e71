/* svccmd.c — the service's command line, quoted for CommandLineToArgvW (see svccmd.h). */
#include "service/svccmd.h"

#include <errno.h>
#include <string.h>

/* Appends n copies of c; false when out of room (one byte is kept for the NUL). */
static int put(char *out, size_t cap, size_t *len, char c, size_t n)
{
    if (*len + n >= cap)
        return -1;
    memset(out + *len, c, n);
    *len += n;
    out[*len] = '\0';
    return 0;
}

int svc_quote_arg(const char *arg, char *out, size_t cap, struct evm_err *err)
{
    if (!arg[0])
        return evm_errf(err, EINVAL, "an empty argument in the service's command line");
    size_t len = strlen(out), slashes = 0;
    int r = put(out, cap, &len, '"', 1);
    for (const char *p = arg; r == 0 && *p; p++) {
        if ((unsigned char)*p < 0x20)
            return evm_errf(err, EINVAL, "a control character in the service's command line");
        if (*p == '\\') {
            slashes++;
            continue;
        }
        /* Backslashes before a quote are doubled, and the quote escaped. */
        size_t n = *p == '"' ? slashes * 2 + 1 : slashes;
        r = put(out, cap, &len, '\\', n);
        if (r == 0)
            r = put(out, cap, &len, *p, 1);
        slashes = 0;
    }
    if (r == 0)
        r = put(out, cap, &len, '\\', slashes * 2); /* before the closing quote */
    if (r == 0)
        r = put(out, cap, &len, '"', 1);
    if (r < 0)
        return evm_errf(err, ENAMETOOLONG, "the service's command line is too long");
    return 0;
}

int svc_command_line(const char *exe, const char *data_dir, char *out, size_t cap,
                     struct evm_err *err)
{
    if (cap == 0)
        return evm_errf(err, ENAMETOOLONG, "the service's command line is too long");
    out[0] = '\0';
    int r = svc_quote_arg(exe, out, cap, err);
    static const char mid[] = " service run --data-dir ";
    if (r == 0 && strlen(out) + sizeof(mid) > cap)
        r = evm_errf(err, ENAMETOOLONG, "the service's command line is too long");
    if (r == 0) {
        strcat(out, mid);
        r = svc_quote_arg(data_dir, out, cap, err);
    }
    return r;
}
