/* notify_win.c — no notify protocol on Windows (see notify.h): the SCM follows the agent
 * through its own hooks (H2's service code). */
#include "service/notify.h"

int notify_open(struct notify **out, struct evm_err *err)
{
    (void)err;
    *out = NULL;
    return 0;
}

int notify_send(struct notify *n, const char *msg, struct evm_err *err)
{
    (void)n;
    (void)msg;
    (void)err;
    return 0;
}

void notify_close(struct notify *n)
{
    (void)n;
}

uint64_t notify_monotonic_usec(void)
{
    return 0;
}
