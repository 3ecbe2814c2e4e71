/* reloadsig.h — the signal that asks the agent to reload config.toml, per platform: SIGHUP on
 * Linux (systemd's ExecReload sends it; reloadsig_posix.c). Windows has none (reloadsig_win.c):
 * libuv's SIGHUP there is the console window closing, and the SCM's reload reaches the agent
 * through agent_ctl_reload instead. */
#ifndef EVM_RELOADSIG_H
#define EVM_RELOADSIG_H

#include <uv.h>

/* Starts h (initialised on the agent's loop) on the reload signal, if this platform has one.
 * 0 or a negative libuv error. */
int reloadsig_start(uv_signal_t *h, uv_signal_cb cb);

#endif
