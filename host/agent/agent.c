/* agent.c — the agent's run loop (see agent.h). One libuv loop drives everything: the VM backend's
 * callbacks, console lines, the readiness probe (probe.c), the ready deadline, the power-off
 * deadline after the daemon's own exit, restart backoff, signals, the service manager's
 * control (agentctl.c) and reloads of config.toml (reload.c says what changed). The agent is
 * written against vm.h only: the backend says which device the guest sees its root disk as, makes
 * the disk, and says how the guest's ports are reached. The orderly stop is the contract's: the
 * stop request line on the console (markers.h), then the backend's own fallback. Each phase is
 * reported to the hooks (agenthooks.h). */
#include "agent/agent.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#include "agent/agentctl.h"
#include "agent/datadir.h"
#include "agent/lock.h"
#include "agent/probe.h"
#include "agent/reload.h"
#include "agent/reloadsig.h"
#include "agent/status.h"
#include "bootid.h"
#include "cmdline.h"
#include "config/bootparams.h"
#include "config/hostcfg.h"
#include "conparse.h"
#include "fileutil.h"
#include "log.h"
#include "vm/vm.h"

#define PROBE_RETRY_MS 200u
/* Test hook (test/e2e): before the real stop request, write one for another boot id, which
 * the guest must ignore and log. */
#define DECOY_STOP_ENV "EPHEMERD_VMHOST_TEST_DECOY_STOP"
#define BACKOFF_MIN_MS 1000u
#define BACKOFF_MAX_MS 60000u

void run_opts_defaults(struct run_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->compress = COMPRESS_DEFAULT;
    o->ready_timeout_s = 300;
    o->stop_grace_ms = 30000;
    o->allow_tcg = true;
}

struct agent {
    uv_loop_t loop;
    const struct run_opts *o;
    struct datadir p;
    struct hostcfg cfg;
    struct vm_status st;
    struct vm *vm;
    struct vm_info info;
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t ready_timer, restart_timer;
    uv_timer_t poweroff_timer; /* the guest's power-off after its daemon's exit */
    struct agent_ctl ctl;
    bool ctl_ready; /* ctl initialised: close and destroy it */
    struct probe probe;
    uint16_t guest_ports[2]; /* containerd, dispatch */
    uint64_t boot_started;   /* uv_now at VM start */
    bool ready, stopping, vm_running, done;
    bool reloading;            /* the VM is being stopped to boot again with a new config */
    char cmdline[CMDLINE_MAX]; /* the running boot's kernel command line */
    unsigned failures_in_row;
    int result;
    struct evm_err failure;
    char fatal_stage[32], fatal_reason[512];
    int daemon_exit; /* -1 unknown */
    char last_stage[32];
};

static void phase(struct agent *a, enum agent_phase ph, const char *fmt, ...) EVM_PRINTF(3, 4);

/* Tells the service manager, if one follows the agent. */
static void phase(struct agent *a, enum agent_phase ph, const char *fmt, ...)
{
    const struct agent_hooks *h = a->o->hooks;
    if (!h || !h->on_phase)
        return;
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    h->on_phase(h->ctx, ph, text);
}

static void set_state(struct agent *a, const char *state)
{
    snprintf(a->st.state, sizeof(a->st.state), "%s", state);
    a->st.since = time(NULL);
    struct evm_err err = {0};
    if (status_write(a->p.status, &a->st, &err) < 0)
        log_warn("status: %s", err.msg);
}

static int setup_paths(struct agent *a, struct evm_err *err)
{
    return datadir_paths(a->o->data_dir, a->o->kernel, a->o->base_initrd, a->o->binary,
                         vm_backend()->disk_file, &a->p, err);
}

/* The data dir is the operator's (it holds config.toml and the VM's inputs): a missing one is
 * a mistake to report, not a tree to create. Below it the agent makes what it needs. */
static int make_dirs(struct agent *a, struct evm_err *err)
{
    struct stat st;
    if (stat(a->o->data_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return evm_errf(err, ENOENT,
                        "data directory %s: not a directory (create it and put config.toml "
                        "and vm/linux/ in it; see docs/running.md)",
                        a->o->data_dir);
    int r = mkdir_p(a->p.vmdir, err);
    if (r == 0)
        r = mkdir_p(a->p.state, err);
    return r;
}

/* The root disk at the configured size, in the backend's format (grown, never shrunk). */
static int ensure_disk(struct agent *a, struct evm_err *err)
{
    unsigned gb = hostcfg_uint(&a->cfg.settings, HOSTCFG_DISK_SIZE_GB);
    bool grown;
    return vm_disk_ensure(a->p.disk, (uint64_t)gb << 30, &grown, err);
}

static void on_console_line(void *ctx, const char *line);
static void on_vm_exit(void *ctx, enum vm_exit_kind kind, int code, const char *reason);
static void begin_stop(struct agent *a, const char *why);

static void fail(struct agent *a, int code, const char *msg)
{
    if (a->failure.code == 0)
        evm_errf(&a->failure, code, "%s", msg);
    snprintf(a->st.last_error, sizeof(a->st.last_error), "%s", a->failure.msg);
}

static void on_ready_timeout(uv_timer_t *t)
{
    struct agent *a = t->data;
    char why[160];
    snprintf(why, sizeof(why), "VM not ready after %u s (last stage: %s)", a->o->ready_timeout_s,
             a->last_stage[0] ? a->last_stage : "none");
    log_warn("%s", why);
    fail(a, ETIMEDOUT, why);
    if (a->vm)
        vm_kill(a->vm);
}

/* A fresh boot id; per-boot state reset; the host config read anew (editing it and
 * restarting is the whole update procedure). */
static int boot_begin(struct agent *a, struct evm_err *err)
{
    int r = boot_id_generate(a->st.boot_id, err);
    if (r < 0)
        return r;
    a->ready = false;
    a->fatal_reason[0] = a->fatal_stage[0] = a->last_stage[0] = '\0';
    a->daemon_exit = -1;
    a->st.ip[0] = '\0';
    a->st.ports_host[0] = '\0';
    a->st.containerd_port = a->st.dispatch_port = 0;
    a->st.ready_ms = -1;
    set_state(a, "starting");
    phase(a, AGENT_BOOTING, "starting boot %s", a->st.boot_id);
    hostcfg_free(&a->cfg);
    r = hostcfg_load(a->p.config, &a->cfg, err);
    if (r == 0)
        hostcfg_apply_log(&a->cfg.settings); /* [log], for the agent's own lines from here on */
    return r;
}

static int boot_initrd(struct agent *a, struct evm_err *err)
{
    struct bootinitrd_opts bo = {
        .base = a->p.base,
        .binary = a->p.binary,
        .config = &a->cfg,
        .boot_id = a->st.boot_id,
        .compress = a->o->compress,
        .cache_dir = a->p.cache,
        .out = a->p.boot_initrd,
        /* After a failed boot, rebuild from the inputs: a matching identity says nobody
         * changed the output, not that the disk kept every byte of it. */
        .full = a->failures_in_row > 0,
    };
    struct bootinitrd_result br;
    int r = bootinitrd_mtime_from_env(&bo.mtime, err);
    if (r == 0)
        r = bootinitrd_build(&bo, &br, err);
    if (r < 0)
        return evm_err_wrap(err, "building the boot initrd");
    log_info("boot initrd %s: %llu bytes, binary member %s, host config %s", a->p.boot_initrd,
             (unsigned long long)br.out_size,
             br.in_place    ? "kept (in-place update)"
             : br.cache_hit ? "cached"
                            : "built",
             br.config_embedded ? "embedded" : "not embedded");
    return 0;
}

/* The contract's command line for cfg and this boot id, with the root disk device the
 * backend gives the guest. */
static int make_cmdline(const struct agent *a, const struct hostcfg *cfg, struct boot_params *bp,
                        char *cmdline, size_t size, struct evm_err *err)
{
    int r = bootparams_from_config(cfg, vm_backend()->root_disk, a->st.boot_id, bp, err);
    if (r < 0)
        return r;
    if (a->o->disk_timeout)
        bp->disk_timeout = a->o->disk_timeout;
    return cmdline_build(bp, NULL, 0, cmdline, size, err);
}

static int boot_cmdline(struct agent *a, char *cmdline, size_t size, struct evm_err *err)
{
    struct boot_params bp;
    int r = make_cmdline(a, &a->cfg, &bp, cmdline, size, err);
    if (r < 0)
        return r;
    a->guest_ports[0] = (uint16_t)bp.containerd_port;
    a->guest_ports[1] = (uint16_t)(bp.containerd_port + 1);
    log_debug("kernel command line: %s", cmdline);
    return 0;
}

/* What the VM is, from the options and the host config. */
static struct vm_spec make_spec(const struct agent *a, const char *cmdline)
{
    struct vm_spec spec = {
        .name = "ephemerd-vm",
        .kernel = a->p.kernel,
        .initrd = a->p.boot_initrd,
        .cmdline = cmdline,
        .cpus = hostcfg_uint(&a->cfg.settings, HOSTCFG_CPUS),
        .memory_mb = hostcfg_uint(&a->cfg.settings, HOSTCFG_MEMORY_MB),
        .disk = a->o->no_disk ? NULL : a->p.disk,
        .state_dir = a->p.state,
        .console_log = a->p.console,
        .guest_ports = {a->guest_ports[0], a->guest_ports[1]},
        .nports = 2,
        .allow_tcg = a->o->allow_tcg,
    };
    return spec;
}

static int boot_vm(struct agent *a, const char *cmdline, struct evm_err *err)
{
    struct vm_spec spec = make_spec(a, cmdline);
    struct vm_events ev = {.on_console_line = on_console_line, .on_exit = on_vm_exit, .ctx = a};
    int r = vm_start(&a->loop, &spec, &ev, &a->vm, &a->info, err);
    if (r < 0)
        return evm_err_wrap(err, "starting the VM");
    a->vm_running = true;
    a->boot_started = uv_now(&a->loop);
    log_info("VM started (%s, %s, %u CPU, %u MiB), boot id %s", vm_backend()->name,
             a->info.accelerated ? "accelerated" : "emulated, slow", spec.cpus, spec.memory_mb,
             a->st.boot_id);
    phase(a, AGENT_BOOTING, "VM started (%s), boot id %s", vm_backend()->name, a->st.boot_id);
    return 0;
}

/* Starts one boot: fresh boot id, boot initrd, command line, root disk, VM. */
static int boot(struct agent *a, struct evm_err *err)
{
    int r = boot_begin(a, err);
    if (r == 0)
        r = boot_initrd(a, err);
    if (r == 0)
        r = boot_cmdline(a, a->cmdline, sizeof(a->cmdline), err);
    if (r == 0 && !a->o->no_disk)
        r = ensure_disk(a, err);
    if (r == 0)
        r = boot_vm(a, a->cmdline, err);
    if (r < 0)
        return r;
    set_state(a, "booting");
    uv_timer_start(&a->ready_timer, on_ready_timeout, (uint64_t)a->o->ready_timeout_s * 1000u, 0);
    return 0;
}

static void became_ready(struct agent *a)
{
    a->ready = true;
    a->failures_in_row = 0;
    uv_timer_stop(&a->ready_timer);
    a->st.ready_ms = (long long)(uv_now(&a->loop) - a->boot_started);
    a->st.last_error[0] = '\0';
    set_state(a, "ready");
    log_info("vm ready in %lld ms: guest %s, containerd %s:%u, dispatch %s:%u", a->st.ready_ms,
             a->st.ip, a->st.ports_host, a->st.containerd_port, a->st.ports_host,
             a->st.dispatch_port);
    phase(a, AGENT_READY, "containerd %s:%u, dispatch %s:%u (boot %s)", a->st.ports_host,
          a->st.containerd_port, a->st.ports_host, a->st.dispatch_port, a->st.boot_id);
    if (a->o->once)
        begin_stop(a, "--once: ready reached");
}

/* ---- readiness: the guest's ports, reached as the backend says ---------------------- */

static void on_ports_ready(void *ctx)
{
    struct agent *a = ctx;
    /* A guest whose daemon has exited is powering off, whatever still answers. */
    if (!a->stopping && !a->reloading && a->vm_running && !a->ready && a->daemon_exit < 0)
        became_ready(a);
}

/* Once the guest has printed its address: probe both ports where the backend says they are
 * reached (a loopback forward, or the guest's address). */
static void start_probe(struct agent *a)
{
    const struct vm_reach *reach = &a->info.reach;
    bool forward = reach->kind == VM_REACH_LOOPBACK_FORWARD;
    snprintf(a->st.ports_host, sizeof(a->st.ports_host), "%s", forward ? "127.0.0.1" : a->st.ip);
    a->st.containerd_port = forward ? reach->host_ports[0] : a->guest_ports[0];
    a->st.dispatch_port = forward ? reach->host_ports[1] : a->guest_ports[1];
    struct sockaddr_in t[2];
    if (uv_ip4_addr(a->st.ports_host, a->st.containerd_port, &t[0]) != 0 ||
        uv_ip4_addr(a->st.ports_host, a->st.dispatch_port, &t[1]) != 0) {
        log_warn("cannot probe the guest's ports at %s", a->st.ports_host);
        return;
    }
    probe_start(&a->probe, t, 2, reach->accept_hold_ms, on_ports_ready, a);
}

/* The daemon exited on its own and the guest has had the stop grace to power off: it is
 * stuck on the way (a kernel's shutdown can hang), so the VM is ended from outside. */
static void on_poweroff_deadline(uv_timer_t *t)
{
    struct agent *a = t->data;
    log_warn("the guest has not powered off %u ms after its daemon exited; ending the VM",
             a->o->stop_grace_ms);
    if (a->vm)
        vm_kill(a->vm);
}

/* ---- console and VM events ---------------------------------------------------------- */

static void on_console_line(void *ctx, const char *line)
{
    struct agent *a = ctx;
    struct con_msg m;
    enum con_kind k = conparse_line(line, &m);
    if (k != CON_NONE && m.boot_id[0] && strcmp(m.boot_id, a->st.boot_id) != 0) {
        log_warn("console marker from another boot ignored: %s", line);
        return;
    }
    switch (k) {
    case CON_IP:
        snprintf(a->st.ip, sizeof(a->st.ip), "%s", m.ip);
        log_info("guest address %s; waiting for its ports", m.ip);
        phase(a, AGENT_BOOTING, "guest address %s; waiting for its ports", m.ip);
        start_probe(a);
        break;
    case CON_STAGE:
        snprintf(a->last_stage, sizeof(a->last_stage), "%s", m.stage);
        log_debug("guest stage %s at %llu ms", m.stage, m.ms);
        if (!a->ready && !a->stopping && !a->reloading)
            phase(a, AGENT_BOOTING, "guest stage %s", m.stage);
        break;
    case CON_FATAL:
        snprintf(a->fatal_stage, sizeof(a->fatal_stage), "%s", m.stage);
        snprintf(a->fatal_reason, sizeof(a->fatal_reason), "%s", m.reason);
        snprintf(a->st.last_fatal, sizeof(a->st.last_fatal), "%.31s: %.470s", m.stage, m.reason);
        log_error("guest init failed at stage %s: %s", m.stage, m.reason);
        break;
    case CON_EXIT:
        a->daemon_exit = m.status;
        /* The guest powers off now; a stop under way has its own deadline (vm_stop). */
        if (!a->stopping && !a->reloading)
            uv_timer_start(&a->poweroff_timer, on_poweroff_deadline, a->o->stop_grace_ms, 0);
        /* A clean exit during a stop the agent asked for is the stop working. */
        if ((a->stopping || a->reloading) && m.status == 0)
            log_info("guest daemon exited with status 0");
        else
            log_warn("guest daemon exited with status %d%s", m.status,
                     a->stopping ? " during the stop" : "");
        break;
    case CON_NONE:
        log_debug("console: %s", line);
        break;
    }
}

static void close_all(struct agent *a);

static void on_restart(uv_timer_t *t)
{
    struct agent *a = t->data;
    struct evm_err err = {0};
    if (a->stopping)
        return;
    if (boot(a, &err) < 0) {
        log_error("restart failed: %s", err.msg);
        fail(a, err.code, err.msg);
        a->result = -a->failure.code;
        set_state(a, "failed");
        phase(a, AGENT_FAILED, "%s", a->failure.msg);
        close_all(a);
    }
}

static const char *exit_kind_name(enum vm_exit_kind k)
{
    switch (k) {
    case VM_EXIT_POWEROFF:
        return "powered off";
    case VM_EXIT_FORCED:
        return "ended by the host";
    case VM_EXIT_CRASH:
        return "guest crashed";
    case VM_EXIT_UNEXPECTED:
        break;
    }
    return "unexpected exit";
}

static void on_vm_exit(void *ctx, enum vm_exit_kind kind, int code, const char *reason)
{
    struct agent *a = ctx;
    a->vm_running = false;
    uv_timer_stop(&a->ready_timer);
    uv_timer_stop(&a->poweroff_timer);
    probe_stop(&a->probe);
    log_debug("VM exit: %s", exit_kind_name(kind));
    if (a->vm) {
        vm_close(a->vm);
        a->vm = NULL;
    }
    char why[700];
    if (a->fatal_reason[0])
        snprintf(why, sizeof(why), "guest init failed at stage %s: %s", a->fatal_stage,
                 a->fatal_reason);
    else if (a->daemon_exit >= 0)
        snprintf(why, sizeof(why), "the guest daemon exited with status %d; %s", a->daemon_exit,
                 reason);
    else
        snprintf(why, sizeof(why), "%s (exit code %d)", reason, code);

    if (a->reloading && !a->stopping) {
        /* The stop a reload asked for: boot again at once, not a failure. */
        a->reloading = false;
        log_info("VM stopped for the reload (%s); booting it again", reason);
        memset(&a->failure, 0, sizeof(a->failure));
        uv_timer_start(&a->restart_timer, on_restart, 0, 0);
        return;
    }
    a->reloading = false;
    if (a->stopping) {
        log_info("VM stopped: %s", reason);
        set_state(a, "stopped");
        if (a->o->once && !a->ready && a->failure.code == 0)
            fail(a, EINTR, "stopped before the VM was ready");
        a->result = a->failure.code ? -a->failure.code : 0;
        close_all(a);
        return;
    }
    if (a->failure.code == 0 || !a->ready)
        fail(a, a->fatal_reason[0] ? EPROTO : EIO, why);
    log_warn("VM %s: %s", a->ready ? "stopped unexpectedly" : "failed to become ready", why);
    phase(a, AGENT_FAILED, "%s", a->failure.msg);
    if (a->o->once) {
        a->result = -a->failure.code;
        set_state(a, "failed");
        close_all(a);
        return;
    }
    a->failures_in_row++;
    if (a->o->max_restarts && a->failures_in_row > a->o->max_restarts) {
        log_error("giving up after %u failed boots in a row", a->failures_in_row);
        a->result = -a->failure.code;
        set_state(a, "failed");
        close_all(a);
        return;
    }
    uint64_t delay = BACKOFF_MIN_MS;
    for (unsigned i = 1; i < a->failures_in_row && delay < BACKOFF_MAX_MS; i++)
        delay *= 2;
    if (delay > BACKOFF_MAX_MS)
        delay = BACKOFF_MAX_MS;
    a->st.restarts++;
    set_state(a, "restarting");
    log_warn("restarting the VM in %llu ms (restart %u)", (unsigned long long)delay,
             a->st.restarts);
    phase(a, AGENT_BOOTING, "restarting the VM in %llu ms (restart %u)", (unsigned long long)delay,
          a->st.restarts);
    memset(&a->failure, 0, sizeof(a->failure));
    uv_timer_start(&a->restart_timer, on_restart, delay, 0);
}

/* Writes the contract's stop request (markers.h) on the guest's console; false when it
 * could not be written (the backend then falls back at once). */
static bool request_stop(struct agent *a)
{
    char line[128];
    struct evm_err err = {0};
    if (getenv(DECOY_STOP_ENV)) {
        char other[BOOT_ID_HEX_LEN + 1];
        if (boot_id_generate(other, &err) == 0 &&
            conparse_format_stop(line, sizeof(line), other, &err) == 0 &&
            vm_console_write(a->vm, line, strlen(line), &err) == 0)
            log_info("test: sent a stop request for another boot id (%s)", other);
    }
    if (conparse_format_stop(line, sizeof(line), a->st.boot_id, &err) < 0 ||
        vm_console_write(a->vm, line, strlen(line), &err) < 0) {
        log_warn("cannot write the stop request on the console: %s", err.msg);
        return false;
    }
    log_info("asked the guest to stop (console stop request, boot id %s)", a->st.boot_id);
    return true;
}

static void begin_stop(struct agent *a, const char *why)
{
    if (a->stopping)
        return;
    a->stopping = true;
    log_info("stopping: %s", why);
    phase(a, AGENT_STOPPING, "%s", why);
    uv_timer_stop(&a->restart_timer);
    uv_timer_stop(&a->poweroff_timer); /* vm_stop's grace from here on */
    if (a->reloading) {                /* the VM's orderly stop is already under way */
        set_state(a, "stopping");
        return;
    }
    if (a->vm_running && a->vm) {
        set_state(a, "stopping");
        vm_stop(a->vm, a->o->stop_grace_ms, request_stop(a));
    } else {
        set_state(a, "stopped");
        a->result = a->failure.code ? -a->failure.code : 0;
        close_all(a);
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct agent *a = s->data;
    char why[32];
    snprintf(why, sizeof(why), "signal %d", signum);
    begin_stop(a, why);
}

/* ---- reload: config.toml read again ---------------------------------------------------- */

/* Reads config.toml for a reload. A file the agent cannot use (malformed, too large,
 * unreadable) keeps the running VM: only a good file or none at all replaces it. */
static int reload_read(struct agent *a, struct hostcfg *cfg, struct evm_err *err)
{
    int r = hostcfg_load(a->p.config, cfg, err);
    if (r == 0 && cfg->state == HOSTCFG_UNUSABLE)
        r = evm_errf(err, EINVAL, "%s is unusable: %s", a->p.config, cfg->reason);
    return r;
}

/* What changed for the VM between the running boot's config and cfg; 0 when nothing did. */
static int reload_compare(struct agent *a, const struct hostcfg *cfg, char *what, size_t size,
                          unsigned *n, struct evm_err *err)
{
    struct boot_params bp;
    char cmdline[CMDLINE_MAX];
    int r = make_cmdline(a, cfg, &bp, cmdline, sizeof(cmdline), err);
    if (r < 0)
        return r;
    *n = reload_changes(&a->cfg, a->cmdline, cfg, cmdline, what, size);
    return 0;
}

/* Stops the VM in order to boot it again with the new config (on_vm_exit boots it). */
static void reload_restart(struct agent *a, const char *what)
{
    log_info("reload: config.toml changed what the VM is (%s): restarting the VM in order", what);
    a->reloading = true;
    set_state(a, "reloading");
    phase(a, AGENT_RELOADING, "config.toml changed (%s): restarting the VM", what);
    uv_timer_stop(&a->ready_timer);
    uv_timer_stop(&a->poweroff_timer);
    probe_stop(&a->probe);
    vm_stop(a->vm, a->o->stop_grace_ms, request_stop(a));
}

static void reload(struct agent *a, const char *why)
{
    if (a->stopping || a->done) {
        log_info("reload (%s) ignored: the agent is stopping", why);
        return;
    }
    log_info("reload (%s): reading %s", why, a->p.config);
    struct hostcfg cfg;
    struct evm_err err = {0};
    char what[256] = "";
    unsigned n = 0;
    int r = reload_read(a, &cfg, &err);
    if (r == 0)
        r = reload_compare(a, &cfg, what, sizeof(what), &n, &err);
    if (r < 0) {
        log_error("reload: %s; keeping the running VM and its config", err.msg);
        hostcfg_free(&cfg);
        return;
    }
    hostcfg_apply_log(&cfg.settings);
    hostcfg_free(&cfg);
    if (n == 0)
        log_info("reload: nothing that affects the VM changed; [log] applied, the VM keeps "
                 "running");
    else if (a->reloading)
        log_info("reload: %s changed; the restart under way boots with it", what);
    else if (!a->vm_running || !a->vm)
        log_info("reload: %s changed; the next boot uses it", what);
    else
        reload_restart(a, what);
}

static void on_sighup(uv_signal_t *s, int signum)
{
    (void)signum;
    reload(s->data, "SIGHUP");
}

static void on_control(void *ctx, unsigned requests)
{
    struct agent *a = ctx;
    if (requests & AGENTCTL_STOP)
        begin_stop(a, "the service manager asked to stop");
    else if (requests & AGENTCTL_RELOAD)
        reload(a, "the service manager asked");
}

static void close_all(struct agent *a)
{
    if (a->done)
        return;
    a->done = true;
    uv_handle_t *hs[] = {(uv_handle_t *)&a->sigint,        (uv_handle_t *)&a->sigterm,
                         (uv_handle_t *)&a->sighup,        (uv_handle_t *)&a->ready_timer,
                         (uv_handle_t *)&a->restart_timer, (uv_handle_t *)&a->poweroff_timer};
    for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], NULL);
    if (a->ctl_ready)
        agentctl_close(&a->ctl);
    probe_close(&a->probe);
}

/* The loop's handles: signals (SIGHUP where it reloads), timers, the probe, the control. */
static int loop_setup(struct agent *a, struct evm_err *err)
{
    uv_loop_init(&a->loop);
    uv_signal_init(&a->loop, &a->sigint);
    uv_signal_init(&a->loop, &a->sigterm);
    uv_signal_init(&a->loop, &a->sighup);
    uv_timer_init(&a->loop, &a->ready_timer);
    uv_timer_init(&a->loop, &a->restart_timer);
    uv_timer_init(&a->loop, &a->poweroff_timer);
    probe_init(&a->probe, &a->loop, PROBE_RETRY_MS);
    a->sigint.data = a->sigterm.data = a->sighup.data = a->ready_timer.data =
        a->restart_timer.data = a->poweroff_timer.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    int r = reloadsig_start(&a->sighup, on_sighup);
    if (r < 0)
        log_warn("cannot catch the reload signal: %s", uv_strerror(r));
    r = agentctl_init(&a->ctl, &a->loop, on_control, a, err);
    a->ctl_ready = r == 0;
    return r;
}

static void hooks_control(struct agent *a, struct agent_ctl *ctl)
{
    const struct agent_hooks *h = a->o->hooks;
    if (h && h->on_control)
        h->on_control(h->ctx, ctl);
}

/* The first boot and the loop until the agent is done; the result as run_agent's. */
static int run_loop(struct agent *a, struct evm_err *err)
{
    int r = loop_setup(a, err);
    if (r == 0) {
        hooks_control(a, &a->ctl);
        r = boot(a, err);
    }
    if (r < 0) {
        snprintf(a->st.last_error, sizeof(a->st.last_error), "%s", err->msg);
        set_state(a, "failed");
        phase(a, AGENT_FAILED, "%s", err->msg);
        close_all(a);
        uv_run(&a->loop, UV_RUN_DEFAULT);
    } else {
        uv_run(&a->loop, UV_RUN_DEFAULT);
        r = a->result;
        if (r < 0)
            *err = a->failure;
    }
    hooks_control(a, NULL);
    if (a->ctl_ready)
        agentctl_destroy(&a->ctl);
    uv_loop_close(&a->loop);
    return r;
}

int run_agent(const struct run_opts *o, struct evm_err *err)
{
    struct agent *a = calloc(1, sizeof(*a));
    if (!a)
        return evm_errf(err, ENOMEM, "out of memory");
    a->o = o;
    a->daemon_exit = -1;
    struct dirlock lock = {.fd = -1};
    int r = setup_paths(a, err);
    if (r == 0)
        r = make_dirs(a, err);
    if (r == 0)
        r = dirlock_acquire(o->data_dir, &lock, err);
    bool locked = r == 0;
    if (r == 0)
        r = run_loop(a, err);
    else
        phase(a, AGENT_FAILED, "%s", err->msg);
    hostcfg_free(&a->cfg);
    if (locked)
        dirlock_release(&lock);
    free(a);
    return r;
}

int run_plan(const struct run_opts *o, char **json, struct evm_err *err)
{
    *json = NULL;
    struct agent *a = calloc(1, sizeof(*a));
    if (!a)
        return evm_errf(err, ENOMEM, "out of memory");
    a->o = o;
    char cmdline[CMDLINE_MAX];
    int r = setup_paths(a, err);
    if (r == 0)
        r = boot_id_generate(a->st.boot_id, err);
    if (r == 0)
        r = hostcfg_load(a->p.config, &a->cfg, err);
    if (r == 0)
        hostcfg_apply_log(&a->cfg.settings);
    if (r == 0)
        r = boot_cmdline(a, cmdline, sizeof(cmdline), err);
    if (r == 0) {
        struct vm_spec spec = make_spec(a, cmdline);
        r = vm_plan(&spec, json, err);
    }
    hostcfg_free(&a->cfg);
    free(a);
    return r;
}
