/* test_vm_qemu_posix.c — the QEMU backend against a real kernel (EVM_TEST_KERNEL; skipped
 * when unset) with small busybox initrds written here with libarchive: console lines and
 * console.log, a guest power-off (status 0), the orderly stop requested on the console, the
 * ctrl-alt-delete fallback (at once when no request was written, after half the grace when
 * the guest ignores the request), the quit step when the guest ignores both, vm_kill, a host port
 * forward, QEMU's own error for a bad kernel path, a missing qemu binary, and QEMU dying with the
 * agent (PR_SET_PDEATHSIG), the spec's size limits (the host config's). Every scenario is bounded
 * and checks afterwards that its QEMU is gone. Env: EVM_TEST_KERNEL (bzImage or vmlinux),
 * EVM_TEST_MODULES (optional: the kernel's lib/modules/<version> directory, for the port-forward
 * scenario; found next to the kernel otherwise), EVM_BUSYBOX (default /bin/busybox). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "config/hostcfg.h"
#include "testutil.h"
#include "vm/vm.h"

#define SCENARIO_MS 90000 /* per scenario, generous for TCG on a busy 2-core machine */
#define GUEST_PORT 10000

static const char *const net_modules[] = {
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
    "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
    "kernel/drivers/virtio/virtio_pci.ko",
    "kernel/net/core/failover.ko",
    "kernel/drivers/net/net_failover.ko",
    "kernel/drivers/net/virtio_net.ko",
};
#define N_NET_MODULES (sizeof(net_modules) / sizeof(net_modules[0]))

/* ---- initrd ------------------------------------------------------------------------ */

static void ar_add(struct archive *a, const char *name, mode_t type, unsigned perm,
                   const void *data, size_t len)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_nlink(e, 1);
    if (archive_write_header(a, e) != ARCHIVE_OK)
        fail_msg("cpio header %s: %s", name, archive_error_string(a));
    if (len && archive_write_data(a, data, len) != (la_ssize_t)len)
        fail_msg("cpio data %s: %s", name, archive_error_string(a));
    archive_entry_free(e);
}

static void ar_add_file(struct archive *a, const char *name, const char *src, unsigned perm)
{
    size_t len;
    char *data = tu_read(src, &len);
    if (!data)
        fail_msg("reading %s: %s", src, strerror(errno));
    ar_add(a, name, AE_IFREG, perm, data, len);
    free(data);
}

/* /init (the script), /bin/busybox, /hi.sh, and the modules from moddir when given. */
static void write_initrd(const char *path, const char *script, const char *moddir)
{
    const char *bb = getenv("EVM_BUSYBOX") ? getenv("EVM_BUSYBOX") : "/bin/busybox";
    struct archive *a = archive_write_new();
    assert_non_null(a);
    assert_int_equal(archive_write_set_format_cpio_newc(a), ARCHIVE_OK);
    assert_int_equal(archive_write_add_filter_none(a), ARCHIVE_OK);
    if (archive_write_open_filename(a, path) != ARCHIVE_OK)
        fail_msg("%s: %s", path, archive_error_string(a));
    ar_add(a, "bin", AE_IFDIR, 0755, NULL, 0);
    ar_add(a, "proc", AE_IFDIR, 0755, NULL, 0);
    ar_add(a, "m", AE_IFDIR, 0755, NULL, 0);
    ar_add_file(a, "bin/busybox", bb, 0755);
    ar_add(a, "init", AE_IFREG, 0755, script, strlen(script));
    const char hi[] = "#!/bin/busybox sh\n/bin/busybox echo hi\n";
    ar_add(a, "hi.sh", AE_IFREG, 0755, hi, strlen(hi));
    for (size_t i = 0; moddir && i < N_NET_MODULES; i++) {
        char *src = tu_path(moddir, net_modules[i]);
        char name[64];
        snprintf(name, sizeof(name), "m/%zu.ko", i);
        ar_add_file(a, name, src, 0644);
        free(src);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

#define SH "#!/bin/busybox sh\nB=/bin/busybox\n"

static const char init_hello[] = SH "$B echo HELLO-EVM\n$B poweroff -f\n";

static const char init_reboot[] = SH "$B echo HELLO-EVM\n$B reboot -f\n";

/* Turns ctrl-alt-delete into SIGINT for PID 1 and powers off on it. */
static const char init_cad[] = SH "$B mount -t proc proc /proc\n"
                                  "$B echo 0 > /proc/sys/kernel/ctrl-alt-del\n"
                                  "trap '$B echo GOT-CAD; $B poweroff -f' INT\n"
                                  "$B echo READY\n"
                                  "while :; do $B sleep 1000 & wait; done\n";

/* Reads the console and powers off on the stop request (like ephemerd-init does). */
static const char init_console[] = SH "$B mount -t proc proc /proc\n"
                                      "$B echo READY\n"
                                      "while read -r line; do case \"$line\" in\n"
                                      "  EPHEMERD_STOP*) $B echo GOT-STOP; $B poweroff -f;;\n"
                                      "esac; done\n"
                                      "$B echo CONSOLE-EOF\n"
                                      "while :; do $B sleep 1000; done\n";

/* Ignores ctrl-alt-delete (SIGINT to a PID 1 without a handler is dropped). */
static const char init_deaf[] = SH "$B mount -t proc proc /proc\n"
                                   "$B echo 0 > /proc/sys/kernel/ctrl-alt-del\n"
                                   "$B echo READY\n"
                                   "while :; do $B sleep 1000; done\n";

static const char init_net[] =
    SH "for m in /m/0.ko /m/1.ko /m/2.ko /m/3.ko /m/4.ko /m/5.ko "
       "/m/6.ko /m/7.ko; do $B insmod $m || $B echo INSMOD-FAIL $m; done\n"
       "$B ip link set lo up\n"
       "$B ip link set eth0 up\n"
       "$B ip addr add 10.0.2.15/24 dev eth0\n"
       "$B echo LISTENING\n"
       "$B nc -l -p 10000 -e /hi.sh\n"
       "$B echo SERVED\n"
       "$B poweroff -f\n";

/* ---- a run ------------------------------------------------------------------------- */

enum action { ACT_NONE, ACT_STOP, ACT_CONSOLE_STOP, ACT_KILL, ACT_CONNECT };

#define STOP_LINE "EPHEMERD_STOP boot_id=0123456789abcdef0123456789abcdef\n"

struct run {
    uv_loop_t loop;
    struct vm *vm;
    struct vm_info info;
    uv_timer_t watchdog;
    bool watchdog_fired;
    const char *marker; /* console line that triggers the action */
    enum action action;
    unsigned grace_ms;
    bool acted;
    int exits;
    int exit_code;
    enum vm_exit_kind exit_kind;
    char reason[1024];
    char seen[4096]; /* console lines of interest, '|'-joined */
    uint64_t t0, t_marker, t_exit;
    /* port-forward client */
    uv_tcp_t tcp;
    uv_connect_t conn;
    uv_timer_t retry;
    bool tcp_open;
    char got[64];
    size_t got_len;
    int attempts;
};

static void note(struct run *r, const char *line)
{
    static const char *const keys[] = {"HELLO-EVM", "READY",  "GOT-CAD",    "GOT-STOP",
                                       "LISTENING", "SERVED", "INSMOD-FAIL"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strstr(line, keys[i]) && strlen(r->seen) + strlen(keys[i]) + 2 < sizeof(r->seen)) {
            strcat(r->seen, keys[i]);
            strcat(r->seen, "|");
        }
    }
}

static void start_connect(struct run *r);

static void on_retry(uv_timer_t *t)
{
    start_connect(t->data);
}

static void on_tcp_closed(uv_handle_t *h)
{
    struct run *r = h->data;
    r->tcp_open = false;
    if (strncmp(r->got, "hi", 2) != 0 && r->exits == 0 && !r->watchdog_fired) {
        r->got_len = 0;
        uv_timer_start(&r->retry, on_retry, 100, 0);
    }
}

static void on_tcp_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    struct run *r = h->data;
    (void)s;
    *b = uv_buf_init(r->got + r->got_len, (unsigned)(sizeof(r->got) - 1 - r->got_len));
}

static void on_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct run *r = s->data;
    (void)b;
    if (n > 0) {
        r->got_len += (size_t)n;
        r->got[r->got_len] = '\0';
        if (r->got_len + 1 < sizeof(r->got))
            return;
    }
    if (n == 0)
        return;
    uv_close((uv_handle_t *)&r->tcp, on_tcp_closed);
}

static void on_tcp_connect(uv_connect_t *c, int status)
{
    struct run *r = c->data;
    if (status < 0) {
        uv_close((uv_handle_t *)&r->tcp, on_tcp_closed);
        return;
    }
    uv_read_start((uv_stream_t *)&r->tcp, on_tcp_alloc, on_tcp_read);
}

static void start_connect(struct run *r)
{
    r->attempts++;
    uv_tcp_init(&r->loop, &r->tcp);
    r->tcp.data = r;
    r->tcp_open = true;
    r->conn.data = r;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", r->info.reach.host_ports[0], &sa);
    uv_tcp_connect(&r->conn, &r->tcp, (const struct sockaddr *)&sa, on_tcp_connect);
}

static void on_line(void *ctx, const char *line)
{
    struct run *r = ctx;
    note(r, line);
    if (r->acted || !r->marker || !strstr(line, r->marker))
        return;
    r->acted = true;
    r->t_marker = uv_now(&r->loop);
    switch (r->action) {
    case ACT_STOP: /* no console request: the fallback at once */
        vm_stop(r->vm, r->grace_ms, false);
        vm_stop(r->vm, r->grace_ms, false); /* idempotent */
        break;
    case ACT_CONSOLE_STOP: {
        struct evm_err err = {0};
        if (vm_console_write(r->vm, STOP_LINE, strlen(STOP_LINE), &err) != 0)
            fail_msg("vm_console_write: %s", err.msg);
        vm_stop(r->vm, r->grace_ms, true);
        break;
    }
    case ACT_KILL:
        vm_kill(r->vm);
        break;
    case ACT_CONNECT:
        start_connect(r);
        break;
    case ACT_NONE:
        break;
    }
}

static void on_exit_cb(void *ctx, enum vm_exit_kind kind, int code, const char *reason)
{
    struct run *r = ctx;
    r->exits++;
    r->exit_code = code;
    r->exit_kind = kind;
    r->t_exit = uv_now(&r->loop);
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    uv_timer_stop(&r->watchdog);
    uv_timer_stop(&r->retry);
    vm_close(r->vm); /* allowed from inside on_exit */
}

static void on_watchdog(uv_timer_t *t)
{
    struct run *r = t->data;
    r->watchdog_fired = true;
    vm_kill(r->vm);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static bool pid_gone(long pid)
{
    if (pid <= 0)
        return true;
    if (kill((pid_t)pid, 0) != 0)
        return errno == ESRCH;
    /* A zombie reparented to an init that does not reap also counts as gone. */
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return true;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

struct fx {
    char *dir;
    char *kernel;
    char *moddir;
};

/* Boots `script`, runs the loop until the VM has exited (bounded), and leaves the outcome
 * in r. Asserts that QEMU is gone afterwards. */
static void boot(struct fx *f, struct run *r, const char *script, bool with_modules)
{
    char *initrd = tu_path(f->dir, "initrd.cpio");
    char *state = tu_path(f->dir, "state");
    char *log = tu_path(f->dir, "console.log");
    write_initrd(initrd, script, with_modules ? f->moddir : NULL);
    assert_int_equal(uv_loop_init(&r->loop), 0);
    uv_timer_init(&r->loop, &r->watchdog);
    uv_timer_init(&r->loop, &r->retry);
    r->watchdog.data = r->retry.data = r;
    struct vm_spec spec = {0};
    spec.kernel = f->kernel;
    spec.initrd = initrd;
    spec.cmdline = "console=ttyS0,115200 panic=-1 rdinit=/init loglevel=4";
    spec.cpus = 1;
    spec.memory_mb = 256;
    spec.state_dir = state;
    spec.console_log = log;
    spec.allow_tcg = true;
    spec.nports = 1;
    spec.guest_ports[0] = GUEST_PORT;
    struct vm_events ev = {on_line, on_exit_cb, r};
    struct evm_err err = {0};
    r->t0 = uv_now(&r->loop);
    int rc = vm_start(&r->loop, &spec, &ev, &r->vm, &r->info, &err);
    if (rc != 0)
        fail_msg("vm_start: %s", err.msg);
    assert_true(r->info.pid > 0);
    assert_int_equal(r->info.reach.kind, VM_REACH_LOOPBACK_FORWARD);
    assert_true(r->info.reach.host_ports[0] > 0);
    assert_true(r->info.reach.accept_hold_ms > 0); /* a forward accepts before the guest */
    uv_timer_start(&r->watchdog, on_watchdog, SCENARIO_MS, 0);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    if (r->exits == 0) { /* cannot happen unless on_exit was lost: never leave QEMU behind */
        vm_kill(r->vm);
        vm_close(r->vm);
    }
    uv_walk(&r->loop, close_walk, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&r->loop), 0);
    fprintf(stderr, "  [%s] %s: exit %d after %llu ms (marker at %llu ms): %s\n",
            r->info.accelerated ? "KVM" : "TCG", r->seen, r->exit_code,
            (unsigned long long)(r->t_exit - r->t0),
            (unsigned long long)(r->acted ? r->t_marker - r->t0 : 0), r->reason);
    assert_true(pid_gone(r->info.pid));
    assert_false(r->watchdog_fired);
    assert_int_equal(r->exits, 1);
    free(initrd);
    free(state);
    free(log);
}

/* ---- fixtures ---------------------------------------------------------------------- */

static char *find_moddir(const char *kernel)
{
    const char *env = getenv("EVM_TEST_MODULES");
    if (env && *env)
        return strdup(env);
    char *k = strdup(kernel);
    char *slash = strrchr(k, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(k, ".");
    char *found = NULL;
    const char *subs[] = {"/lib/modules/*", "/../lib/modules/*", "/modules/*",
                          "/tree/lib/modules/*"};
    for (size_t i = 0; !found && i < sizeof(subs) / sizeof(subs[0]); i++) {
        char pat[4096];
        snprintf(pat, sizeof(pat), "%s%s/kernel/drivers/net/virtio_net.ko", k, subs[i]);
        glob_t g;
        if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
            found = strdup(g.gl_pathv[0]);
            *strstr(found, "/kernel/drivers/net/virtio_net.ko") = '\0';
        }
        globfree(&g);
    }
    free(k);
    return found;
}

static int setup(void **state)
{
    const char *k = getenv("EVM_TEST_KERNEL");
    if (!k || !*k) {
        fprintf(stderr, "EVM_TEST_KERNEL unset: skipping the real-VM tests "
                        "(scripts/test/test-kernel.sh provides a kernel)\n");
        *state = NULL;
        return 0;
    }
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dir = tu_tmpdir();
    f->kernel = strdup(k);
    f->moddir = find_moddir(k);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (!f)
        return 0;
    tu_rmrf(f->dir);
    free(f->dir);
    free(f->kernel);
    free(f->moddir);
    free(f);
    return 0;
}

#define NEED_KERNEL(state)                                                                         \
    do {                                                                                           \
        if (!*(state))                                                                             \
            skip();                                                                                \
    } while (0)

/* ---- scenarios --------------------------------------------------------------------- */

static void test_hello_poweroff(void **state)
{
    NEED_KERNEL(state);
    struct fx *f = *state;
    struct run *r = calloc(1, sizeof(*r));
    boot(f, r, init_hello, false);
    assert_non_null(strstr(r->seen, "HELLO-EVM"));
    assert_int_equal(r->exit_code, 0);
    assert_string_equal(r->reason, "qemu exited with status 0 (guest powered off)");
    assert_int_equal(r->exit_kind, VM_EXIT_POWEROFF);
    char *log = tu_path(f->dir, "console.log");
    struct stat st;
    assert_int_equal(stat(log, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *text = tu_read(log, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "HELLO-EVM"));
    /* console.log holds the raw bytes, CRs included: the serial console writes CR LF */
    assert_non_null(strstr(text, "HELLO-EVM\r\n"));
    free(text);
    free(log);
    free(r);
}

/* -no-reboot: a guest reboot (or a kernel panic with panic=-1) ends the VM. */
static void test_guest_reboot_ends_vm(void **state)
{
    NEED_KERNEL(state);
    struct fx *f = *state;
    struct run *r = calloc(1, sizeof(*r));
    boot(f, r, init_reboot, false);
    assert_non_null(strstr(r->seen, "HELLO-EVM"));
    assert_int_equal(r->exit_code, 0);
    assert_string_equal(r->reason,
                        "qemu exited with status 0 (guest rebooted or its kernel panicked)");
    assert_int_equal(r->exit_kind, VM_EXIT_UNEXPECTED);
    free(r);
}

static void test_stop_through_ctrl_alt_del(void **state)
{
    NEED_KERNEL(state);
    struct fx *f = *state;
    struct run *r = calloc(1, sizeof(*r));
    r->marker = "READY";
    r->action = ACT_STOP;
    r->grace_ms = 30000;
    boot(f, r, init_cad, false);
    assert_non_null(strstr(r->seen, "GOT-CAD"));
    assert_int_equal(r->exit_code, 0);
    assert_string_equal(r->reason, "qemu exited with status 0 (guest powered off)");
    assert_true(r->t_exit - r->t_marker < r->grace_ms);
    free(r);
}

/* The contract's orderly stop: the request line reaches the guest through the console. */
static void test_stop_requested_on_console(void **state)
{
    NEED_KERNEL(state);
    struct fx *f = *state;
    struct run *r = calloc(1, sizeof(*r));
    r->marker = "READY";
    r->action = ACT_CONSOLE_STOP;
    r->grace_ms = 30000;
    boot(f, r, init_console, false);
    assert_non_null(strstr(r->seen, "GOT-STOP"));
    assert_null(strstr(r->seen, "GOT-CAD"));
    assert_int_equal(r->exit_code, 0);
    assert_int_equal(r->exit_kind, VM_EXIT_POWEROFF);
    assert_true(r->t_exit - r->t_marker < r->grace_ms / 2); /* before any fallback */
    free(r);
}

/* A guest that does not act on the console request gets ctrl-alt-delete after half the
 * grace period. */
static void test_console_stop_falls_back_to_ctrl_alt_del(void **state)
{
    NEED_KERNEL(state);
    struct fx *f = *state;
    struct run *r = calloc(1, sizeof(*r));
    r->marker = "READY";
    r->action = ACT_CONSOLE_STOP;
    r->grace_ms = 8000;
    boot(f, r, init_cad, false);
    assert_non_null(strstr(r->seen, "GOT-CAD"));
    assert_int_equal(r->exit_kind, VM_EXIT_POWEROFF);
    assert_true(r->t_exit - r->t_marker >= r->grace_ms / 2);
    assert_true(r->t_exit - r->t_marker < r->grace_ms);
    free(r);
}

static void test_stop_quits_when_guest_ignores(void **state)
{
    NEED_KERNEL(state);
    struct fx *f = *state;
    struct run *r = calloc(1, sizeof(*r));
    r->marker = "READY";
    r->action = ACT_STOP;
    r->grace_ms = 1500;
    boot(f, r, init_deaf, false);
    assert_null(strstr(r->seen, "GOT-CAD"));
    assert_int_equal(r->exit_code, 0);
    assert_string_equal(r->reason, "qemu exited with status 0 (quit by the host over QMP)");
    assert_int_equal(r->exit_kind, VM_EXIT_FORCED);
    assert_true(r->t_exit - r->t_marker >= r->grace_ms);
    assert_true(r->t_exit - r->t_marker < r->grace_ms + 2000 + 1000);
    free(r);
}

static void test_kill(void **state)
{
    NEED_KERNEL(state);
    struct fx *f = *state;
    struct run *r = calloc(1, sizeof(*r));
    r->marker = "READY";
    r->action = ACT_KILL;
    boot(f, r, init_cad, false);
    assert_int_equal(r->exit_code, 128 + SIGKILL);
    assert_non_null(strstr(r->reason, "qemu killed by signal 9"));
    assert_int_equal(r->exit_kind, VM_EXIT_FORCED);
    assert_null(strstr(r->seen, "GOT-CAD"));
    free(r);
}

static void test_port_forward(void **state)
{
    NEED_KERNEL(state);
    struct fx *f = *state;
    if (!f->moddir) {
        fprintf(stderr, "no modules next to the kernel and EVM_TEST_MODULES unset: skipping\n");
        skip();
    }
    struct run *r = calloc(1, sizeof(*r));
    r->marker = "LISTENING";
    r->action = ACT_CONNECT;
    boot(f, r, init_net, true);
    assert_null(strstr(r->seen, "INSMOD-FAIL"));
    assert_string_equal(r->got, "hi\n");
    assert_non_null(strstr(r->seen, "SERVED"));
    assert_int_equal(r->exit_code, 0);
    fprintf(stderr, "  port forward 127.0.0.1:%u -> guest %u: %d connection attempt(s)\n",
            r->info.reach.host_ports[0], GUEST_PORT, r->attempts);
    free(r);
}

static void on_exit_only(void *ctx, enum vm_exit_kind kind, int code, const char *reason)
{
    on_exit_cb(ctx, kind, code, reason);
}

static void test_bad_kernel_reports_qemu_error(void **state)
{
    NEED_KERNEL(state);
    struct fx *f = *state;
    struct run *r = calloc(1, sizeof(*r));
    assert_int_equal(uv_loop_init(&r->loop), 0);
    uv_timer_init(&r->loop, &r->watchdog);
    uv_timer_init(&r->loop, &r->retry);
    r->watchdog.data = r->retry.data = r;
    char *state_dir = tu_path(f->dir, "state-bad");
    char *log = tu_path(f->dir, "console-bad.log");
    char *missing = tu_path(f->dir, "no-such-kernel");
    struct vm_spec spec = {0};
    spec.kernel = missing;
    spec.initrd = missing;
    spec.cmdline = "console=ttyS0";
    spec.cpus = 1;
    spec.memory_mb = 128;
    spec.state_dir = state_dir;
    spec.console_log = log;
    spec.allow_tcg = true;
    struct vm_events ev = {NULL, on_exit_only, r};
    struct evm_err err = {0};
    if (vm_start(&r->loop, &spec, &ev, &r->vm, &r->info, &err) != 0)
        fail_msg("vm_start: %s", err.msg);
    uv_timer_start(&r->watchdog, on_watchdog, 30000, 0);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_walk(&r->loop, close_walk, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&r->loop), 0);
    fprintf(stderr, "  bad kernel: exit %d: %s\n", r->exit_code, r->reason);
    assert_int_equal(r->exits, 1);
    assert_int_not_equal(r->exit_code, 0);
    assert_non_null(strstr(r->reason, "qemu exited with status 1: "));
    assert_non_null(strstr(r->reason, "no-such-kernel"));
    assert_true(pid_gone(r->info.pid));
    free(state_dir);
    free(log);
    free(missing);
    free(r);
}

/* ---- the files the backend writes in the data dir, with a stand-in qemu ------------- */

static void fake_exit(void *ctx, enum vm_exit_kind kind, int code, const char *reason)
{
    (void)kind;
    (void)code;
    (void)reason;
    *(int *)ctx += 1;
}

/* vm_start with a stand-in qemu (a shell script that exits at once) on PATH; runs the loop
 * until its exit when it started. Returns vm_start's result; err holds its message. */
static int start_fake(const char *dir, const char *state_dir, const char *console,
                      struct evm_err *err)
{
    char *bin = tu_path(dir, "bin");
    char *qemu = tu_path(bin, "qemu-system-x86_64");
    assert_int_equal(mkdir(bin, 0755), 0);
    tu_write(qemu, "#!/bin/sh\nexit 1\n", 17);
    assert_int_equal(chmod(qemu, 0755), 0);
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    assert_int_equal(tu_setenv("PATH", bin), 0);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct vm_spec spec = {0};
    spec.kernel = spec.initrd = spec.cmdline = "x";
    spec.cpus = 1;
    spec.memory_mb = 128;
    spec.state_dir = state_dir;
    spec.console_log = console;
    spec.allow_tcg = true;
    int exits = 0;
    struct vm_events ev = {NULL, fake_exit, &exits};
    struct vm *vm = NULL;
    struct vm_info info;
    int rc = vm_start(&loop, &spec, &ev, &vm, &info, err);
    assert_int_equal(tu_setenv("PATH", old), 0);
    if (rc == 0) {
        while (exits == 0 && uv_run(&loop, UV_RUN_ONCE))
            ;
        assert_int_equal(exits, 1);
        vm_close(vm);
    }
    uv_walk(&loop, close_walk, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    free(old);
    free(qemu);
    free(bin);
    return rc;
}

/* An existing console.log left world-readable, and a state dir left 0777, are made private. */
static void test_console_log_and_state_dir_made_private(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *run = tu_path(dir, "run");
    char *log = tu_path(dir, "console.log");
    assert_int_equal(mkdir(run, 0700), 0);
    assert_int_equal(chmod(run, 0777), 0);
    tu_write(log, "old\n", 4);
    assert_int_equal(chmod(log, 0644), 0);
    struct evm_err err = {0};
    assert_int_equal(start_fake(dir, run, log, &err), 0);
    struct stat st;
    assert_int_equal(stat(log, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(stat(run, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    char *pid = tu_path(run, "qemu.pid");
    assert_int_equal(stat(pid, &st), -1); /* no pidfile any more */
    free(pid);
    tu_rmrf(dir);
    free(run);
    free(log);
    free(dir);
}

/* A console.log with a second name (a hard link to a file elsewhere) is refused, and so is
 * a state dir that is a symlink: nothing is written through them. */
static void test_console_hardlink_and_state_symlink_refused(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *run = tu_path(dir, "run");
    char *log = tu_path(dir, "console.log");
    char *other = tu_path(dir, "elsewhere");
    tu_write(other, "keep\n", 5);
    assert_int_equal(link(other, log), 0);
    struct evm_err err = {0};
    assert_int_equal(start_fake(dir, run, log, &err), -EMLINK);
    assert_non_null(strstr(err.msg, "a hard link is refused"));
    size_t len;
    char *text = tu_read(other, &len);
    assert_int_equal(len, 5);
    free(text);

    assert_int_equal(unlink(log), 0);
    char *target = tu_path(dir, "target");
    assert_int_equal(mkdir(target, 0777), 0);
    char *run2 = tu_path(dir, "run2");
    assert_int_equal(symlink(target, run2), 0);
    char *dir2 = tu_path(dir, "second");
    assert_int_equal(mkdir(dir2, 0700), 0);
    assert_true(start_fake(dir2, run2, log, &err) < 0);
    assert_non_null(strstr(err.msg, "not a directory"));
    tu_rmrf(dir);
    free(dir2);
    free(run2);
    free(target);
    free(other);
    free(run);
    free(log);
    free(dir);
}

static void test_missing_qemu(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    assert_int_equal(tu_setenv("PATH", dir), 0);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct vm_spec spec = {0};
    spec.kernel = spec.initrd = spec.cmdline = "x";
    spec.cpus = 1;
    spec.memory_mb = 128;
    spec.state_dir = dir;
    spec.console_log = "/dev/null";
    spec.allow_tcg = true;
    struct vm_events ev = {0};
    struct vm *vm = NULL;
    struct vm_info info;
    struct evm_err err = {0};
    int rc = vm_start(&loop, &spec, &ev, &vm, &info, &err);
    assert_int_equal(tu_setenv("PATH", old), 0);
    assert_int_equal(rc, -ENOENT);
    assert_null(vm);
    assert_non_null(strstr(err.msg, "qemu-system-x86_64 not found"));
    assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0); /* nothing left on the loop */
    assert_int_equal(uv_loop_close(&loop), 0);
    free(old);
    tu_rmrf(dir);
    free(dir);
}

static void test_bad_spec(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct vm_spec spec = {0};
    spec.kernel = spec.initrd = spec.cmdline = spec.state_dir = spec.console_log = "x";
    spec.cpus = 0;
    spec.memory_mb = 128;
    struct vm_events ev = {0};
    struct vm *vm = NULL;
    struct vm_info info;
    struct evm_err err = {0};
    assert_int_equal(vm_start(&loop, &spec, &ev, &vm, &info, &err), -EINVAL);
    assert_null(vm);
    assert_true(strlen(err.msg) > 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_string_equal(vm_backend()->name, "qemu");
    assert_string_equal(vm_backend()->root_disk, "/dev/vda");
    assert_string_equal(vm_backend()->disk_file, "root.img");
}

/* Issue 10: the backend's memory floor and the config check's are the one key table's: a spec
 * below it is refused naming the config key, before anything starts. */
static void test_spec_limits_are_the_configs(void **state)
{
    (void)state;
    assert_int_equal(vm_backend()->min_memory_mb, hostcfg_keydef(HOSTCFG_MEMORY_MB)->min);
    assert_int_equal(vm_backend()->min_memory_mb, 128);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct vm_spec spec = {0};
    spec.kernel = spec.initrd = spec.cmdline = spec.state_dir = spec.console_log = "x";
    spec.cpus = 1;
    spec.memory_mb = 127;
    struct vm_events ev = {0};
    struct vm *vm = NULL;
    struct vm_info info;
    struct evm_err err = {0};
    assert_int_equal(vm_start(&loop, &spec, &ev, &vm, &info, &err), -EINVAL);
    assert_null(vm);
    assert_string_equal(
        err.msg, "vm: 127 MiB of memory is out of range (128 to 16777216, vm.linux.memory_mb)");
    spec.memory_mb = 128;
    spec.cpus = 1025;
    assert_int_equal(vm_start(&loop, &spec, &ev, &vm, &info, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "vm.linux.cpus"));
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void orphan_line(void *ctx, const char *line)
{
    if (strstr(line, "READY"))
        uv_stop(ctx);
}

static void orphan_timeout(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* The agent dies without closing anything while its guest runs: QEMU must die too
 * (setpriv's PR_SET_PDEATHSIG). */
static void test_qemu_dies_with_agent(void **state)
{
    NEED_KERNEL(state);
    struct fx *f = *state;
    char *initrd = tu_path(f->dir, "initrd-orphan.cpio");
    write_initrd(initrd, init_cad, NULL);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        uv_loop_t loop;
        uv_timer_t timer;
        if (uv_loop_init(&loop) != 0 || uv_timer_init(&loop, &timer) != 0)
            _exit(2);
        char *state_dir = tu_path(f->dir, "state-orphan");
        char *log = tu_path(f->dir, "console-orphan.log");
        struct vm_spec spec = {0};
        spec.kernel = f->kernel;
        spec.initrd = initrd;
        spec.cmdline = "console=ttyS0 panic=-1 rdinit=/init";
        spec.cpus = 1;
        spec.memory_mb = 128;
        spec.state_dir = state_dir;
        spec.console_log = log;
        spec.allow_tcg = true;
        struct vm_events ev = {orphan_line, NULL, &loop};
        struct vm *vm;
        struct vm_info info;
        struct evm_err err = {0};
        if (vm_start(&loop, &spec, &ev, &vm, &info, &err) != 0)
            _exit(3);
        /* the guest is up (bounded wait), then the agent dies abruptly */
        uv_timer_start(&timer, orphan_timeout, SCENARIO_MS, 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        long pid = info.pid;
        if (write(fds[1], &pid, sizeof(pid)) != (ssize_t)sizeof(pid))
            _exit(4);
        raise(SIGKILL);
        _exit(5);
    }
    close(fds[1]);
    free(initrd);
    long pid = 0;
    ssize_t n = read(fds[0], &pid, sizeof(pid));
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_int_equal(n, (ssize_t)sizeof(pid));
    assert_true(pid > 0);
    bool gone = false;
    for (int i = 0; i < 100 && !gone; i++) { /* up to 5 s */
        gone = pid_gone(pid);
        if (!gone) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (!gone) {
        kill((pid_t)pid, SIGKILL);
        fail_msg("qemu (pid %ld) survived its agent", pid);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_spec),
        cmocka_unit_test(test_spec_limits_are_the_configs),
        cmocka_unit_test(test_missing_qemu),
        cmocka_unit_test(test_console_log_and_state_dir_made_private),
        cmocka_unit_test(test_console_hardlink_and_state_symlink_refused),
        cmocka_unit_test_setup_teardown(test_hello_poweroff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_reboot_ends_vm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_through_ctrl_alt_del, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_requested_on_console, setup, teardown),
        cmocka_unit_test_setup_teardown(test_console_stop_falls_back_to_ctrl_alt_del, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stop_quits_when_guest_ignores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_forward, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_kernel_reports_qemu_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qemu_dies_with_agent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
