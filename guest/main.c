/* main.c — ephemerd-init: the guest's PID 1 (design §4). Runs the boot steps in order, each
 * logged as "ephemerd-init: …" and marked with EPHEMERD_STAGE, launches the daemon and stays
 * PID 1. A fatal error prints EPHEMERD_FATAL and follows ephemerd.on_fatal, so the host learns
 * of a failed boot at once instead of by timeout. The same binary is /sbin/poweroff,
 * /sbin/reboot and /sbin/halt (chosen by argv[0]). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cgroup.h"
#include "clock.h"
#include "cmdline.h"
#include "console.h"
#include "dhcp.h"
#include "disk.h"
#include "launch.h"
#include "log.h"
#include "manifest.h"
#include "markers.h"
#include "modlater.h"
#include "modroot.h"
#include "modules.h"
#include "mounts.h"
#include "netcfg.h"
#include "populate.h"
#include "powerctl.h"
#include "fileutil.h"
#include "resolv.h"
#include "stage.h"
#include "stopreq.h"
#include "supervise.h"
#include "swap.h"
#include "switchroot.h"
#include "sysctl.h"
#include "tail.h"
#include "verify.h"
#include "version.h"

#define NEWROOT "/newroot"
#define MODULES_DIR "/modules"
#define ROOTFS_TARBALL "/assets/rootfs.tar.gz"
#define TAIL_CONFIG_PATH "/" TAIL_CONFIG
#define TAIL_BINARY_PATH "/" TAIL_BINARY
#define CONSOLE_KERNEL_LEVEL 5 /* KERN_WARNING (4) and worse reach the console */
#define SWAPFILE "/swapfile"   /* in the new root: swap comes after the launch */
#define DHCP_TIMEOUT_MS 15000u
/* How long the network waits for an ethernet interface once the eager modules are in (a
 * VMBus NIC appears when its channel offer is handled, after hv_netvsc is loaded), and how
 * often it checks that while no link notification comes. */
#define NET_LINK_WAIT_MS 2000u
#define NET_LINK_TICK_MS 25u
#define STOP_GRACE_MS 10000u

struct init {
    struct console con;
    struct boot_params params;
    bool params_ok;
    int modfd;                 /* /modules, kept open across switch_root (-1: none) */
    struct modules_job *eager; /* step 3 on its own threads (NULL: done or none) */
    pthread_t net_th;          /* step 4 on its own thread, from the end of step 2 on */
    bool net_threaded;
    atomic_bool eager_done; /* the eager modules are in (or there are none) */
    struct dhcp_lease lease;
    char release[65];      /* uname -r */
    bool on_demand;        /* the new root loads modules on demand (modprobe + index) */
    struct modlater later; /* the modules after the launch */
    struct swap_job swap;  /* swap, after the launch */
};

/* Every path's power-off: the network interfaces down first (netcfg_links_down says why),
 * then supervise's sync, unmount and power-off. Never returns. */
static void power_off(void)
{
    struct evm_err err = {0};
    unsigned n = 0;
    if (netcfg_links_down(&n, &err) < 0)
        log_warn("%s", err.msg);
    log_info("%u network interface(s) brought down", n);
    supervise_poweroff_now();
}

/* A fatal error: report it where the host looks, then do what ephemerd.on_fatal says.
 * Never returns. */
static void fatal(struct init *in, const char *stage, const char *reason)
{
    log_error("%s: %s", stage, reason);
    console_fatal(&in->con, stage, reason);
    enum on_fatal what = in->params_ok ? in->params.on_fatal : ON_FATAL_POWEROFF;
    if (what == ON_FATAL_SHELL) {
        if (access("/bin/sh", X_OK) == 0) {
            log_error("on_fatal=shell: starting /bin/sh");
            execl("/bin/sh", "sh", (char *)NULL);
            log_error("exec /bin/sh: %s", strerror(errno));
        } else {
            log_error("on_fatal=shell: no /bin/sh in the initrd; powering off");
        }
    }
    if (what == ON_FATAL_HANG) {
        log_error("on_fatal=hang: waiting forever (debugging)");
        for (;;)
            pause();
    }
    power_off();
}

static void step_done(struct init *in, const char *stage)
{
    console_stage(&in->con, stage);
}

static void warn_cb(void *ctx, const char *msg)
{
    (void)ctx;
    log_warn("kernel command line: %s", msg);
}

static void parse_cmdline(struct init *in)
{
    char *text;
    size_t len;
    struct evm_err err = {0};
    if (read_regular_file("/proc/cmdline", CMDLINE_MAX * 2, &text, &len, &err) < 0)
        fatal(in, "cmdline", err.msg);
    int r = cmdline_parse(text, &in->params, warn_cb, NULL, &err);
    free(text);
    if (r < 0)
        fatal(in, "cmdline", err.msg);
    in->params_ok = true;
    console_set_boot_id(&in->con, in->params.boot_id);
    if (!in->params.root_disk[0])
        fatal(in, "cmdline", "no ephemerd.root_disk on the kernel command line");
    log_info("boot id %s, root disk %s, containerd port %u, on_fatal %s",
             in->params.boot_id[0] ? in->params.boot_id : "(none)", in->params.root_disk,
             in->params.containerd_port, on_fatal_name(in->params.on_fatal));
}

/* Whether the network gives up waiting for its interface: NET_LINK_WAIT_MS after the eager
 * modules are in. */
struct link_wait {
    struct init *in;
    uint64_t deadline;
};

static bool link_give_up(void *ctx)
{
    struct link_wait *w = ctx;
    if (!atomic_load(&w->in->eager_done))
        return false;
    uint64_t now = clock_monotonic_ms();
    if (!w->deadline)
        w->deadline = now + NET_LINK_WAIT_MS;
    return now >= w->deadline;
}

/* The first ethernet interface, as soon as its driver has made it. */
static int wait_ethernet(struct init *in, char *ifname, size_t len, struct evm_err *err)
{
    struct link_wait w = {.in = in};
    return netcfg_wait_ethernet(ifname, len, NET_LINK_TICK_MS, link_give_up, &w, err);
}

static void network(struct init *in, struct dhcp_lease *lease)
{
    struct evm_err err = {0};
    char ifname[32];
    memset(lease, 0, sizeof(*lease));
    if (netcfg_link_up("lo", &err) < 0)
        log_warn("lo: %s", err.msg);
    if (wait_ethernet(in, ifname, sizeof(ifname), &err) < 0) {
        log_warn("no network: %s", err.msg);
        return;
    }
    if (net_configure(ifname, DHCP_TIMEOUT_MS, lease, &err) < 0) {
        log_warn("no network on %s: %s", ifname, err.msg);
        memset(lease, 0, sizeof(*lease));
        return;
    }
    char ip[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN] = "";
    struct in_addr a = {.s_addr = lease->addr}, g = {.s_addr = lease->router};
    inet_ntop(AF_INET, &a, ip, sizeof(ip));
    if (lease->router)
        inet_ntop(AF_INET, &g, gw, sizeof(gw));
    log_info("%s: %s/%u router %s, %u DNS server(s)", ifname, ip, lease->prefix,
             gw[0] ? gw : "(none)", lease->ndns);
    console_ip(&in->con, ip);
}

static void exit_marker(void *ctx, int status)
{
    struct init *in = ctx;
    console_exit(&in->con, status);
}

static void poweroff_hook(void *ctx, int status)
{
    (void)ctx;
    log_info("daemon gone (status %d): powering off", status);
    power_off();
}

/* 1. Mounts and the console. */
static void step_mounts(struct init *in)
{
    struct evm_err err = {0};
    if (mounts_early("/", &err) < 0)
        fatal(in, "mounts", err.msg);
    if (console_reopen("/", &err) < 0)
        log_warn("console: %s", err.msg);
    /* Only warnings and worse from the kernel on the console from here on (dmesg has the
     * rest): an info message printed mid-line would split a marker the host parses. */
    if (console_kernel_level(CONSOLE_KERNEL_LEVEL, &err) < 0)
        log_warn("%s", err.msg);
    /* Line mode without echo from now on: a stop request the host writes is never echoed
     * into the console output, and one written during the boot waits for supervise. */
    if (stopreq_console_setup(STDIN_FILENO, &err) < 0)
        log_warn("%s", err.msg);
    /* ctrl-alt-del sends SIGINT to PID 1 instead of rebooting at once. */
    if (reboot(RB_DISABLE_CAD) < 0)
        log_warn("reboot(RB_DISABLE_CAD): %s", strerror(errno));
    log_info("ephemerd-init %s (commit %s) starting", EVM_VERSION, EVM_COMMIT);
}

/* Whether fds 0-2 are open: the kernel opens /dev/console for init when the initramfs (or
 * its own built-in one) has it. Only then may threads open files before step 1 makes 0-2 the
 * console: a file they opened could otherwise take one of them and be replaced under them. */
static bool std_fds_open(void)
{
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) < 0)
            return false;
    return true;
}

/* 3. Modules: the eager ones (disk, filesystem, network) start loading on threads of their
 * own; the boot goes on with what does not need them (verify) and waits for them before the
 * network and the disk. The rest load after the launch (modlater.h) or on demand. */
static void step_modules_start(struct init *in)
{
    struct evm_err err = {0};
    in->modfd = open(MODULES_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (in->modfd < 0) {
        log_warn("no " MODULES_DIR " (%s): no kernel modules to load", strerror(errno));
        atomic_store(&in->eager_done, true);
        return;
    }
    if (modules_job_start(in->modfd, "load-order", modules_finit, NULL, modules_default_workers(),
                          &in->eager, &err) < 0)
        log_warn("%s: loading the modules in the foreground", err.msg);
}

static void step_modules_wait(struct init *in)
{
    struct evm_err err = {0};
    struct modules_result mr;
    int r = 0;
    if (in->modfd < 0)
        return;
    if (in->eager)
        r = modules_job_wait(in->eager, &mr, &err);
    else
        r = modules_load_at(in->modfd, "load-order", modules_finit, NULL, modules_default_workers(),
                            &mr, &err);
    in->eager = NULL;
    if (r < 0)
        fatal(in, "modules", err.msg);
    atomic_store(&in->eager_done, true);
    if (mr.no_list)
        log_warn("no " MODULES_DIR "/load-order: no kernel modules to load");
    log_info("modules: %u loaded, %u skipped in %llu ms", mr.loaded, mr.skipped,
             (unsigned long long)mr.ms);
}

/* 4. The network, on a thread of its own (never fatal): it starts DHCP as soon as the
 * network driver has made its interface, while the other modules load and the disk is
 * prepared. */
static void *network_main(void *arg)
{
    struct init *in = arg;
    network(in, &in->lease);
    return NULL;
}

static void step_network_start(struct init *in)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&in->net_th, NULL, network_main, in);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    in->net_threaded = e == 0;
    if (e != 0)
        log_warn("starting the network thread: %s: configuring it after the disk", strerror(e));
}

static void step_network_join(struct init *in)
{
    if (in->net_threaded)
        pthread_join(in->net_th, NULL);
    else
        network(in, &in->lease); /* no thread: here, the eager modules being in */
    in->net_threaded = false;
}

/* 5. Verify the tail against its manifest. Returns whether it carries a host config. */
static bool step_verify(struct init *in)
{
    struct evm_err err = {0};
    struct manifest man;
    if (verify_tail("/", in->params.boot_id, &man, &err) < 0)
        fatal(in, "verify", err.msg);
    return manifest_find(&man, TAIL_CONFIG) != NULL;
}

/* 6. Root disk. */
static void step_disk(struct init *in)
{
    struct evm_err err = {0};
    log_info("waiting for %s (up to %u s)", in->params.root_disk, in->params.disk_timeout);
    if (disk_wait(in->params.root_disk, in->params.disk_timeout, &err) < 0)
        fatal(in, "disk", err.msg);
    struct disk_tools tools = {.mkfs_ext4 = "/sbin/mkfs.ext4", .resize2fs = "/sbin/resize2fs"};
    bool formatted = false;
    if (mkdir(NEWROOT, 0755) < 0 && errno != EEXIST)
        fatal(in, "disk", "cannot create " NEWROOT);
    if (disk_prepare(in->params.root_disk, NEWROOT, &tools, &formatted, &err) < 0)
        fatal(in, "disk", err.msg);
    log_info("root disk %s mounted at " NEWROOT "%s", in->params.root_disk,
             formatted ? " (new filesystem)" : "");
}

/* 7. First populate; the daemon binary every boot. No room for the rootfs is fatal. Swap
 * comes after the launch (daemon_started). */
static void step_populate(struct init *in)
{
    struct evm_err err = {0};
    if (path_exists(NEWROOT GUEST_DAEMON_PATH) != 1) {
        log_info("first boot on this disk: populating from " ROOTFS_TARBALL);
        if (populate_rootfs(ROOTFS_TARBALL, NEWROOT, &err) < 0)
            fatal(in, "populate", err.msg);
    }
    if (install_daemon(NEWROOT, TAIL_BINARY_PATH, &err) < 0)
        fatal(in, "populate", err.msg);
}

/* 8. Sysctls. */
static void step_sysctl(struct init *in)
{
    struct evm_err err = {0};
    if (sysctl_apply_defaults("/proc/sys", &err) < 0)
        fatal(in, "sysctl", err.msg);
}

/* 9. resolv.conf. */
static void step_resolv(const struct dhcp_lease *lease)
{
    struct evm_err err = {0};
    if (resolv_write(NEWROOT, lease->dns, lease->ndns, lease->router, &err) < 0)
        log_warn("resolv.conf: %s", err.msg);
}

/* 10. Stage the host config (stage_config logs INIT_LOG_CONFIG_STAGED itself), then make
 * what this boot wrote on the disk (the daemon binary, the config, resolv.conf) durable with
 * one syncfs: one journal commit instead of two fsyncs per file. Returns whether the config
 * was staged. */
static bool step_config(struct init *in, bool host_config)
{
    struct evm_err err = {0};
    bool staged = false;
    if (stage_config(NEWROOT, host_config ? TAIL_CONFIG_PATH : NULL, &staged, &err) < 0)
        fatal(in, "config", err.msg);
    int fd = open(NEWROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || syncfs(fd) != 0) {
        char why[256];
        snprintf(why, sizeof(why), "syncing the root disk: %s", strerror(errno));
        fatal(in, "config", why);
    }
    close(fd);
    return staged;
}

/* 11. The module tree for the new root (read-only, kept through switch_root). Not fatal:
 * without it only the init's own lists load modules. */
static void modules_into_newroot(struct init *in)
{
    struct utsname u;
    struct evm_err err = {0};
    if (uname(&u) != 0) {
        log_warn("uname: %s: no kernel modules after switch_root", strerror(errno));
        return;
    }
    snprintf(in->release, sizeof(in->release), "%s", u.release);
    if (in->modfd < 0)
        return;
    if (modroot_bind(MODULES_DIR, NEWROOT, in->release, &err) < 0)
        log_warn("%s: no kernel modules after switch_root", err.msg);
}

/* 11. What containerd expects of the kernel, beyond the moved mounts: the cgroup
 * controllers for the daemon's subtree, and a check of every mount (a warning each). */
static void container_interfaces(void)
{
    struct evm_err err = {0};
    unsigned enabled = 0;
    if (cgroup_enable_controllers(NEWROOT "/sys/fs/cgroup", &enabled, &err) < 0)
        log_warn("%s: containers get no cgroup limits", err.msg);
    unsigned wanted = 0;
    while (cgroup_wanted[wanted])
        wanted++;
    unsigned missing = mounts_check(NEWROOT);
    log_info("container interfaces: %u of %u cgroup controllers enabled, %u mount(s) missing",
             enabled, wanted, missing);
}

/* 11–12. Move mounts, switch root; then the modprobe the kernel runs. */
static void step_switch_root(struct init *in)
{
    struct evm_err err = {0};
    modules_into_newroot(in);
    if (mounts_move_into(NEWROOT, &err) < 0)
        fatal(in, "switch_root", err.msg);
    container_interfaces();
    const char *const keep[] = {MODULES_DIR + 1, NULL};
    if (switch_root(NEWROOT, keep, &err) < 0)
        fatal(in, "switch_root", err.msg);
    if (in->release[0] && modroot_modprobe("/", "/proc/sys", in->release, &in->on_demand, &err) < 0)
        log_warn("kernel.modprobe: %s", err.msg);
}

/* The supervise hook: the daemon runs; what it does not need to start begins now, on
 * threads of their own at a lower priority: swap, sized to what the disk holds (swap_setup:
 * made when missing, kept as it is once made, never fatal: a disk with no room for it runs
 * without swap), and the modules after the launch. */
static void daemon_started(void *ctx, long pid)
{
    struct init *in = ctx;
    (void)pid;
    struct evm_err serr = {0};
    in->swap = (struct swap_job){.path = SWAPFILE, .requested_mb = in->params.swap_mb};
    if (swap_job_start(&in->swap, &serr) < 0) {
        log_warn("%s: swap in the foreground", serr.msg);
        swap_setup(SWAPFILE, in->params.swap_mb, NULL);
    }
    if (in->modfd < 0)
        return;
    in->later = (struct modlater){.dirfd = in->modfd,
                                  .demand = !in->on_demand,
                                  .procsys = "/proc/sys",
                                  .load = modules_finit,
                                  .workers = 1};
    if (!in->on_demand)
        log_warn("no modules on demand in the new root: loading " MODULES_DIR
                 "/load-demand in the background too");
    struct evm_err err = {0};
    if (modlater_start(&in->later, &err) < 0)
        log_warn("%s: the modules after the launch are not loaded", err.msg);
}

/* 13–14. Launch and supervise; stop requests come on the console (fd 0). Never returns. */
static void step_launch(struct init *in, bool staged)
{
    struct launch l;
    launch_prepare(&l, &in->params, staged);
    char banner[160];
    launch_banner(&in->params, staged, banner, sizeof(banner));
    log_info("%s", banner);
    struct supervise_console console = {.fd = STDIN_FILENO, .boot_id = in->params.boot_id};
    struct supervise_opts so = {
        .argv = l.argv,
        .envp = l.envp,
        .grace_ms = STOP_GRACE_MS,
        .kill_all = true,
        .console = &console,
        .hooks = {.poweroff = poweroff_hook,
                  .exit_marker = exit_marker,
                  .started = daemon_started,
                  .ctx = in},
    };
    step_done(in, "launch");
    struct evm_err err = {0};
    if (supervise(&so, &err) < 0)
        fatal(in, "launch", err.msg);
    /* the poweroff hook does not return; PID 1 must never exit. */
    power_off();
}

static int run_init(void)
{
    struct init in;
    memset(&in, 0, sizeof(in));
    in.modfd = -1;
    atomic_init(&in.eager_done, false);
    console_init(&in.con, STDERR_FILENO);
    boot_params_defaults(&in.params);

    /* 3. on its own threads while 1., 2. and 5. run; after 1. when fds 0-2 are not open */
    bool modules_first = std_fds_open();
    if (modules_first)
        step_modules_start(&in);
    step_mounts(&in);
    step_done(&in, "mounts");
    if (!modules_first)
        step_modules_start(&in);
    parse_cmdline(&in); /* 2. */
    step_done(&in, "cmdline");
    step_network_start(&in); /* 4., once its driver is in, while 3. and 5.-8. run */
    bool host_config = step_verify(&in);
    step_done(&in, "verify");
    step_modules_wait(&in);
    step_done(&in, "modules");
    step_disk(&in);
    step_done(&in, "disk");
    step_populate(&in);
    step_done(&in, "populate");
    step_sysctl(&in);
    step_done(&in, "sysctl");
    step_network_join(&in);
    step_done(&in, "network");
    step_resolv(&in.lease);
    step_done(&in, "resolv");
    bool staged = step_config(&in, host_config);
    step_done(&in, "config");
    step_switch_root(&in);
    step_done(&in, "switch_root");
    step_launch(&in, staged);
    return 0;
}

static void usage(FILE *f)
{
    fputs("Usage: ephemerd-init [--help | --version]\n"
          "\n"
          "The init (PID 1) of the ephemerd Linux VM. The kernel runs it from the initrd\n"
          "(rdinit=/init); it mounts, loads modules, configures the network by DHCP,\n"
          "verifies the initrd tail, prepares the root disk, stages the host config,\n"
          "switches root and supervises ephemerd-linux. Run as anything but PID 1 it does\n"
          "nothing and exits 2. Installed also as poweroff, reboot and halt, which ask\n"
          "PID 1 to stop the VM.\n",
          f);
}

int main(int argc, char **argv)
{
    const char *name = strrchr(argv[0], '/');
    name = name ? name + 1 : argv[0];
    if (powerctl_signal_for(name) != 0)
        return powerctl_main(argc, argv, 1);
    log_init("ephemerd-init", LOG_INFO);
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        evm_version_print(stdout, "ephemerd-init");
        return 0;
    }
    if (getpid() != 1) {
        fprintf(stderr,
                "ephemerd-init: this is the ephemerd VM's init and must run as PID 1 (this is "
                "PID %ld); it has done nothing. See --help.\n",
                (long)getpid());
        return 2;
    }
    if (argc > 1)
        log_warn("ignoring %d argument(s) from the kernel", argc - 1);
    return run_init();
}
