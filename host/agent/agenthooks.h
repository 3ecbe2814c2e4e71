/* agenthooks.h — how a service manager follows and steers a running agent: systemd's notify
 * protocol on Linux (service/notify_posix.c), the Service Control Manager on Windows
 * (service/scm_win.c). The agent reports its phases through hooks, called on the agent's
 * loop thread; the manager asks it to stop or to reload through a control that is safe to
 * call from any thread (the SCM's handler runs on its own). */
#ifndef EVM_AGENTHOOKS_H
#define EVM_AGENTHOOKS_H

enum agent_phase {
    AGENT_BOOTING,   /* a boot is under way (first, restart or reload); text: what it is at */
    AGENT_READY,     /* the VM is ready (again, after a reload); text: where its ports are */
    AGENT_RELOADING, /* config.toml changed what the VM is: restarting it in order */
    AGENT_STOPPING,  /* the orderly stop has begun; text: why */
    AGENT_FAILED,    /* a boot failed; text: why. The agent may retry (AGENT_BOOTING follows) */
};

/* A running agent's control. Valid from on_control(ctl) until on_control(NULL): once the
 * agent's loop has ended, the calls below return -EINVAL; after on_control(NULL) the
 * pointer must not be used (a manager calling from another thread guards its copy of the
 * pointer with its own lock, taken in on_control too). */
struct agent_ctl;

/* Ask for the orderly stop (what SIGTERM does). Safe from any thread; 0 or -EINVAL when
 * the agent is already gone. A stop wins over a reload asked at the same time. */
int agent_ctl_stop(struct agent_ctl *ctl);

/* Ask for a reload (what SIGHUP does): config.toml is read again; when anything that
 * affects the VM changed, the VM is stopped in order and booted again. Safe from any
 * thread. */
int agent_ctl_reload(struct agent_ctl *ctl);

struct agent_hooks {
    void *ctx;
    /* The agent's control once its loop is up, then NULL just before run_agent returns. */
    void (*on_control)(void *ctx, struct agent_ctl *ctl);
    /* Each phase change, and within AGENT_BOOTING each step and guest stage (a progress
     * tick). text is one line, valid during the call. AGENT_FAILED also comes, without any
     * on_control, when run_agent fails before its loop (no data dir, another agent on it). */
    void (*on_phase)(void *ctx, enum agent_phase phase, const char *text);
};

#endif
