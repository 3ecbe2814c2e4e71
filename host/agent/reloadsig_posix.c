/* reloadsig_posix.c — SIGHUP reloads (see reloadsig.h). */
#include "agent/reloadsig.h"

#include <signal.h>

int reloadsig_start(uv_signal_t *h, uv_signal_cb cb)
{
    return uv_signal_start(h, cb, SIGHUP);
}
