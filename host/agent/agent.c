/* agent.c — the agent's run loop (see agent.h). One libuv loop drives everything: the VM backend's
 * callbacks, console lines, port probes, the ready deadline, restart backoff and signals. */
#include "agent/agent.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "bootid.h"
#include "config/bootparams.h"
#include "cmdline.h"
#include "conparse.h"
#include "config/hostcfg.h"
#include "agent/lock.h"
#include "log.h"
#include "random.h"
#include "fileutil.h"
#include "agent/status.h"
#include "vm/vm.h"

#define DEFAULT_CPUS 2u
#define DEFAULT_MEMORY_MB 2048u
#define DEFAULT_DISK_GB 64u
#define PROBE_HOLD_MS 300u /* a forward that stays open this long reached a listener */
#define PROBE_RETRY_MS 200u
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

struct paths {
    char vmdir[4096], kernel[4096], base[4096], binary[4096], boot_initrd[4096], cache[4096],
        disk[4096], console[4096], status[4096], config[4096], state[4096];
};

struct agent {
    uv_loop_t loop;
    const struct run_opts *o;
    struct paths p;
    struct hostcfg cfg;
    struct vm_status st;
    struct vm *vm;
    struct vm_info info;
    uv_signal_t sigint, sigterm;
    uv_timer_t ready_timer, probe_timer, restart_timer;
    uv_tcp_t probe;
    uv_connect_t probe_req;
    bool probe_active;
    int probe_port; /* 0 containerd, 1 dispatch */
    bool probe_got_data;
    char probe_sink[256];
    uint64_t boot_started; /* uv_now at VM start */
    bool ready, stopping, vm_running, done;
    unsigned failures_in_row;
    int result;
    struct evm_err failure;
    char fatal_stage[32], fatal_reason[512];
    int daemon_exit; /* -1 unknown */
    char last_stage[32];
};

static void set_state(struct agent *a, const char *state)
{
    snprintf(a->st.state, sizeof(a->st.state), "%s", state);
    a->st.since = time(NULL);
    struct evm_err err = {0};
    if (status_write(a->p.status, &a->st, &err) < 0)
        log_warn("status: %s", err.msg);
}

static int path_in(char *out, size_t len, const char *dir, const char *name)
{
    size_t d = strlen(dir), n = strlen(name);
    if (d + 1 + n + 1 > len)
        return -ENAMETOOLONG;
    memmove(out, dir, d);
    out[d] = '/';
    memcpy(out + d + 1, name, n + 1);
    return 0;
}

static int setup_paths(struct agent *a, struct evm_err *err)
{
    struct paths *p = &a->p;
    const char *d = a->o->data_dir;
    if (path_in(p->vmdir, sizeof(p->vmdir), d, "vm/linux") < 0 ||
        path_in(p->status, sizeof(p->status), d, "status.json") < 0 ||
        path_in(p->config, sizeof(p->config), d, "config.toml") < 0 ||
        path_in(p->boot_initrd, sizeof(p->boot_initrd), p->vmdir, "boot-initrd.img") < 0 ||
        path_in(p->cache, sizeof(p->cache), p->vmdir, "cache") < 0 ||
        path_in(p->disk, sizeof(p->disk), p->vmdir, "root.img") < 0 ||
        path_in(p->console, sizeof(p->console), p->vmdir, "console.log") < 0 ||
        path_in(p->state, sizeof(p->state), p->vmdir, "run") < 0)
        return evm_errf(err, ENAMETOOLONG, "data directory path too long: %s", d);
    snprintf(p->kernel, sizeof(p->kernel), "%s", a->o->kernel ? a->o->kernel : "");
    snprintf(p->base, sizeof(p->base), "%s", a->o->base_initrd ? a->o->base_initrd : "");
    snprintf(p->binary, sizeof(p->binary), "%s", a->o->binary ? a->o->binary : "");
    if (!p->kernel[0])
        path_in(p->kernel, sizeof(p->kernel), p->vmdir, "kernel");
    if (!p->base[0])
        path_in(p->base, sizeof(p->base), p->vmdir, "base-initrd.img");
    if (!p->binary[0])
        path_in(p->binary, sizeof(p->binary), p->vmdir, "ephemerd-linux");
    int r = mkdir_p(p->vmdir, err);
    if (r == 0)
        r = mkdir_p(p->state, err);
    return r;
}

/* The root disk: a sparse raw file of the configured size, grown (never shrunk). */
static int ensure_disk(struct agent *a, struct evm_err *err)
{
    unsigned gb = a->cfg.settings.disk_size_gb ? a->cfg.settings.disk_size_gb : DEFAULT_DISK_GB;
    uint64_t want = (uint64_t)gb << 30;
    uv_fs_t req;
    int fd = uv_fs_open(NULL, &req, a->p.disk, UV_FS_O_RDWR | UV_FS_O_CREAT, 0600, NULL);
    uv_fs_req_cleanup(&req);
    if (fd < 0)
        return evm_errf(err, -fd, "root disk %s: %s", a->p.disk, uv_strerror(fd));
    int r = uv_fs_fstat(NULL, &req, fd, NULL);
    uint64_t have = r == 0 ? req.statbuf.st_size : 0;
    uv_fs_req_cleanup(&req);
    if (r == 0 && have < want) {
        r = uv_fs_ftruncate(NULL, &req, fd, (int64_t)want, NULL);
        uv_fs_req_cleanup(&req);
        if (r == 0)
            log_info("root disk %s: %u GiB (sparse)", a->p.disk, gb);
    }
    uv_fs_close(NULL, &req, fd, NULL);
    uv_fs_req_cleanup(&req);
    if (r < 0)
        return evm_errf(err, -r, "root disk %s: %s", a->p.disk, uv_strerror(r));
    return 0;
}

static void on_console_line(void *ctx, const char *line);
static void on_vm_exit(void *ctx, int code, const char *reason);
static void begin_stop(struct agent *a, const char *why);
static void probe_next(struct agent *a);

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

/* Starts one boot: fresh boot id, boot initrd, command line, VM. */
static int boot(struct agent *a, struct evm_err *err)
{
    char boot_id[BOOT_ID_HEX_LEN + 1];
    int r = boot_id_generate(boot_id, err);
    if (r < 0)
        return r;
    memcpy(a->st.boot_id, boot_id, sizeof(boot_id));
    a->ready = false;
    a->fatal_reason[0] = a->fatal_stage[0] = a->last_stage[0] = '\0';
    a->daemon_exit = -1;
    a->st.ip[0] = '\0';
    a->st.ready_ms = -1;
    set_state(a, "starting");

    /* The host config is read anew every boot: editing it and restarting is the whole
     * update procedure. */
    hostcfg_free(&a->cfg);
    r = hostcfg_load(a->p.config, &a->cfg, err);
    if (r < 0)
        return r;

    struct bootinitrd_opts bo = {
        .base = a->p.base,
        .binary = a->p.binary,
        .config = &a->cfg,
        .boot_id = boot_id,
        .compress = a->o->compress,
        .cache_dir = a->p.cache,
        .out = a->p.boot_initrd,
    };
    r = bootinitrd_mtime_from_env(&bo.mtime, err);
    struct bootinitrd_result br;
    if (r == 0)
        r = bootinitrd_build(&bo, &br, err);
    if (r < 0)
        return evm_err_wrap(err, "building the boot initrd");
    log_info("boot initrd %s: %llu bytes, binary member %s, host config %s", a->p.boot_initrd,
             (unsigned long long)br.out_size, br.cache_hit ? "cached" : "built",
             br.config_embedded ? "embedded" : "not embedded");

    struct boot_params bp;
    r = bootparams_from_config(&a->cfg, "/dev/vda", boot_id, &bp, err);
    if (r < 0)
        return r;
    if (a->o->disk_timeout)
        bp.disk_timeout = a->o->disk_timeout;
    char cmdline[CMDLINE_MAX];
    r = cmdline_build(&bp, NULL, 0, cmdline, sizeof(cmdline), err);
    if (r < 0)
        return r;
    log_debug("kernel command line: %s", cmdline);

    if (!a->o->no_disk) {
        r = ensure_disk(a, err);
        if (r < 0)
            return r;
    }
    struct vm_spec spec = {
        .kernel = a->p.kernel,
        .initrd = a->p.boot_initrd,
        .cmdline = cmdline,
        .cpus = a->cfg.settings.cpus ? a->cfg.settings.cpus : DEFAULT_CPUS,
        .memory_mb = a->cfg.settings.memory_mb ? a->cfg.settings.memory_mb : DEFAULT_MEMORY_MB,
        .disk = a->o->no_disk ? NULL : a->p.disk,
        .state_dir = a->p.state,
        .console_log = a->p.console,
        .guest_ports = {(uint16_t)bp.containerd_port, (uint16_t)(bp.containerd_port + 1)},
        .nforwards = 2,
        .allow_tcg = a->o->allow_tcg,
    };
    struct vm_events ev = {.on_console_line = on_console_line, .on_exit = on_vm_exit, .ctx = a};
    r = vm_start(&a->loop, &spec, &ev, &a->vm, &a->info, err);
    if (r < 0)
        return evm_err_wrap(err, "starting the VM");
    a->vm_running = true;
    a->boot_started = uv_now(&a->loop);
    log_info("VM started (%s, %s, %u CPU, %u MiB), boot id %s", vm_backend_name(),
             a->info.accelerated ? "accelerated" : "emulated, slow", spec.cpus, spec.memory_mb,
             boot_id);
    a->st.containerd_port = a->info.host_ports[0];
    a->st.dispatch_port = a->info.host_ports[1];
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
    log_info("vm ready in %lld ms: guest %s, containerd 127.0.0.1:%u, dispatch 127.0.0.1:%u",
             a->st.ready_ms, a->st.ip, a->st.containerd_port, a->st.dispatch_port);
    if (a->o->once)
        begin_stop(a, "--once: ready reached");
}

/* ---- port probes: a QEMU user-mode forward accepts on the host at once and closes when
 * the guest refuses, so a port is ready when a connection stays open (or sends data). ---- */

static void probe_retry(uv_timer_t *t)
{
    probe_next(t->data);
}

static void probe_closed(uv_handle_t *h)
{
    struct agent *a = h->data;
    a->probe_active = false;
    if (a->stopping || !a->vm_running || a->ready)
        return;
    if (a->probe_got_data) {
        a->probe_port++;
        probe_next(a);
    } else {
        uv_timer_start(&a->probe_timer, probe_retry, PROBE_RETRY_MS, 0);
    }
}

static void probe_finish(struct agent *a, bool ok)
{
    a->probe_got_data = ok;
    uv_timer_stop(&a->probe_timer);
    if (!uv_is_closing((uv_handle_t *)&a->probe))
        uv_close((uv_handle_t *)&a->probe, probe_closed);
}

static void probe_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    struct agent *a = h->data;
    (void)size;
    /* Read and discarded: only whether bytes arrive matters. */
    *buf = uv_buf_init(a->probe_sink, sizeof(a->probe_sink));
}

static void probe_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    struct agent *a = s->data;
    if (n > 0)
        probe_finish(a, true);
    else if (n < 0)
        probe_finish(a, false);
}

static void probe_hold_done(uv_timer_t *t)
{
    probe_finish(t->data, true);
}

static void probe_connected(uv_connect_t *req, int status)
{
    struct agent *a = req->data;
    if (status < 0 || a->stopping) {
        probe_finish(a, false);
        return;
    }
    uv_read_start((uv_stream_t *)&a->probe, probe_alloc, probe_read);
    uv_timer_start(&a->probe_timer, probe_hold_done, PROBE_HOLD_MS, 0);
}

static void probe_next(struct agent *a)
{
    if (a->stopping || !a->vm_running || a->ready || a->probe_active)
        return;
    if (a->probe_port >= 2) {
        became_ready(a);
        return;
    }
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", a->info.host_ports[a->probe_port], &sa);
    uv_tcp_init(&a->loop, &a->probe);
    a->probe.data = a;
    a->probe_req.data = a;
    a->probe_active = true;
    a->probe_got_data = false;
    int r = uv_tcp_connect(&a->probe_req, &a->probe, (const struct sockaddr *)&sa, probe_connected);
    if (r < 0)
        probe_finish(a, false);
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
        a->probe_port = 0;
        probe_next(a);
        break;
    case CON_STAGE:
        snprintf(a->last_stage, sizeof(a->last_stage), "%s", m.stage);
        log_debug("guest stage %s at %llu ms", m.stage, m.ms);
        break;
    case CON_FATAL:
        snprintf(a->fatal_stage, sizeof(a->fatal_stage), "%s", m.stage);
        snprintf(a->fatal_reason, sizeof(a->fatal_reason), "%s", m.reason);
        snprintf(a->st.last_fatal, sizeof(a->st.last_fatal), "%.31s: %.470s", m.stage, m.reason);
        log_error("guest init failed at stage %s: %s", m.stage, m.reason);
        break;
    case CON_EXIT:
        a->daemon_exit = m.status;
        log_warn("guest daemon exited with status %d", m.status);
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
        close_all(a);
    }
}

static void on_vm_exit(void *ctx, int code, const char *reason)
{
    struct agent *a = ctx;
    a->vm_running = false;
    uv_timer_stop(&a->ready_timer);
    uv_timer_stop(&a->probe_timer);
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
    memset(&a->failure, 0, sizeof(a->failure));
    uv_timer_start(&a->restart_timer, on_restart, delay, 0);
}

static void begin_stop(struct agent *a, const char *why)
{
    if (a->stopping)
        return;
    a->stopping = true;
    log_info("stopping: %s", why);
    uv_timer_stop(&a->restart_timer);
    if (a->vm_running && a->vm) {
        set_state(a, "stopping");
        vm_stop(a->vm, a->o->stop_grace_ms);
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

static void close_all(struct agent *a)
{
    if (a->done)
        return;
    a->done = true;
    uv_handle_t *hs[] = {(uv_handle_t *)&a->sigint, (uv_handle_t *)&a->sigterm,
                         (uv_handle_t *)&a->ready_timer, (uv_handle_t *)&a->probe_timer,
                         (uv_handle_t *)&a->restart_timer};
    for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], NULL);
    if (a->probe_active && !uv_is_closing((uv_handle_t *)&a->probe))
        uv_close((uv_handle_t *)&a->probe, NULL);
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
        r = dirlock_acquire(o->data_dir, &lock, err);
    if (r < 0) {
        free(a);
        return r;
    }
    uv_loop_init(&a->loop);
    uv_signal_init(&a->loop, &a->sigint);
    uv_signal_init(&a->loop, &a->sigterm);
    uv_timer_init(&a->loop, &a->ready_timer);
    uv_timer_init(&a->loop, &a->probe_timer);
    uv_timer_init(&a->loop, &a->restart_timer);
    a->sigint.data = a->sigterm.data = a->ready_timer.data = a->probe_timer.data =
        a->restart_timer.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);

    r = boot(a, err);
    if (r < 0) {
        snprintf(a->st.last_error, sizeof(a->st.last_error), "%s", err->msg);
        set_state(a, "failed");
        close_all(a);
        uv_run(&a->loop, UV_RUN_DEFAULT);
    } else {
        uv_run(&a->loop, UV_RUN_DEFAULT);
        r = a->result;
        if (r < 0)
            *err = a->failure;
    }
    uv_loop_close(&a->loop);
    hostcfg_free(&a->cfg);
    dirlock_release(&lock);
    free(a);
    return r;
}
