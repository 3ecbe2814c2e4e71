/* reloadsig_win.c — no reload signal on Windows (see reloadsig.h). */
#include "agent/reloadsig.h"

int reloadsig_start(uv_signal_t *h, uv_signal_cb cb)
{
    (void)h;
    (void)cb;
    return 0;
}
