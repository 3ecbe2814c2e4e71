/* cmd_run.c — `ephemerd-vmhost run`: options to struct run_opts, config.toml's [log] for the
 * agent's logging, the service manager's notify socket (Linux: systemd's; none elsewhere),
 * then the agent. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/datadir.h"
#include "cli/cliargs.h"
#include "cli/commands.h"
#include "config/hostcfg.h"
#include "log.h"
#include "service/notify.h"
#include "vm/vm.h"

/* For the usage: the platform's default data directory, in buf. */
static const char *default_data_dir(char *buf, size_t size)
{
    struct evm_err err = {0};
    if (datadir_default(buf, size, &err) < 0)
        snprintf(buf, size, "%s", "none on this host: pass --data-dir");
    return buf;
}

static void run_usage(FILE *f)
{
    char dir[DATADIR_PATH_MAX];
    fprintf(f,
            "Usage: ephemerd-vmhost run [--data-dir DIR] [--backend %s] [--once] [options]\n"
            "\n"
            "Builds the boot initrd from DIR/config.toml, boots the Linux VM, waits for the\n"
            "guest's address and both of its ports, logs 'vm ready', then supervises the VM\n"
            "(restart with capped backoff on an unexpected stop) until SIGINT/SIGTERM, and stops\n"
            "it in order (the console stop request, then the backend's fallback). SIGHUP\n"
            "(Linux) reads config.toml again: when what the VM is changed (the embedded file,\n"
            "the kernel command line, cpus, memory, disk size) the VM is stopped in order and\n"
            "booted again, else it keeps running; a broken file is logged and ignored. Under\n"
            "systemd (NOTIFY_SOCKET set) the agent reports READY=1, STATUS=, RELOADING=1 and\n"
            "STOPPING=1 (Type=notify; see docs/running.md). Console output goes to\n"
            "DIR/vm/linux/console.log; health to DIR/status.json (see 'ephemerd-vmhost\n"
            "status'). The agent logs on stderr as config.toml's [log] says (level; format\n"
            "text or json lines), read at each boot and reload;\n"
            "'ephemerd-vmhost config show' prints the settings a boot would use.\n"
            "\n"
            "  --data-dir DIR       the agent's data directory (holds config.toml; default\n"
            "                       %s)\n"
            "  --backend NAME       VM backend (this build: %s)\n"
            "  --once               stop right after ready and exit 0 (any failure exits 1)\n"
            "  --dry-run            print the launch plan as JSON (QEMU's argv, or the HCS\n"
            "                       document) and exit; builds, writes and starts nothing\n"
            "  --kernel FILE        kernel (default DIR/vm/linux/kernel)\n"
            "  --base-initrd FILE   base initrd (default DIR/vm/linux/base-initrd.img)\n"
            "  --binary FILE        daemon binary (default DIR/vm/linux/ephemerd-linux)\n"
            "  --compress ALG       tail compression: zstd (default), gzip, none\n"
            "  --ready-timeout S    give up on a boot not ready after S seconds (default 300)\n"
            "  --stop-grace MS      guest shutdown grace before the VM is quit (default 30000)\n"
            "  --disk-timeout S     how long the guest waits for its root disk\n"
            "  --no-disk            boot without a root disk (to test the guest's failure path)\n"
            "  --no-tcg             fail instead of emulating when KVM is unusable\n"
            "  --max-restarts N     give up after N failed boots in a row (default: never)\n"
            "  -v, --verbose        debug logging (every console line), whatever [log] level\n"
            "  -h, --help           this help\n",
            vm_backend()->name, default_data_dir(dir, sizeof(dir)), vm_backend()->name);
}

/* Fills o from the command line. Returns -1 when it did so, else the exit code to return
 * (help printed, or a usage error reported). */
static int parse_run_args(int argc, char **argv, struct run_opts *o)
{
    enum {
        OPT_BACKEND = 256,
        OPT_KERNEL,
        OPT_BASE,
        OPT_BINARY,
        OPT_COMPRESS,
        OPT_READY,
        OPT_GRACE,
        OPT_DISKTO,
        OPT_NODISK,
        OPT_NOTCG,
        OPT_MAXR,
        OPT_DRYRUN
    };
    static const struct option opts[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"once", no_argument, NULL, '1'},
        {"kernel", required_argument, NULL, OPT_KERNEL},
        {"base-initrd", required_argument, NULL, OPT_BASE},
        {"binary", required_argument, NULL, OPT_BINARY},
        {"compress", required_argument, NULL, OPT_COMPRESS},
        {"ready-timeout", required_argument, NULL, OPT_READY},
        {"stop-grace", required_argument, NULL, OPT_GRACE},
        {"disk-timeout", required_argument, NULL, OPT_DISKTO},
        {"no-disk", no_argument, NULL, OPT_NODISK},
        {"no-tcg", no_argument, NULL, OPT_NOTCG},
        {"max-restarts", required_argument, NULL, OPT_MAXR},
        {"dry-run", no_argument, NULL, OPT_DRYRUN},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    run_opts_defaults(o);
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->data_dir = optarg;
            break;
        case OPT_BACKEND:
            if (strcmp(optarg, vm_backend()->name) != 0) {
                fprintf(stderr, "ephemerd-vmhost: --backend %s: this build has only %s\n", optarg,
                        vm_backend()->name);
                return EXIT_USAGE;
            }
            break;
        case '1':
            o->once = true;
            break;
        case OPT_KERNEL:
            o->kernel = optarg;
            break;
        case OPT_BASE:
            o->base_initrd = optarg;
            break;
        case OPT_BINARY:
            o->binary = optarg;
            break;
        case OPT_COMPRESS:
            if (cli_compress(optarg, &o->compress) < 0)
                return EXIT_USAGE;
            break;
        case OPT_READY:
            if (cli_uint("--ready-timeout", optarg, 86400, &o->ready_timeout_s) < 0 ||
                o->ready_timeout_s == 0)
                return EXIT_USAGE;
            break;
        case OPT_GRACE:
            if (cli_uint("--stop-grace", optarg, 3600000, &o->stop_grace_ms) < 0)
                return EXIT_USAGE;
            break;
        case OPT_DISKTO:
            if (cli_uint("--disk-timeout", optarg, 3600, &o->disk_timeout) < 0)
                return EXIT_USAGE;
            if (o->disk_timeout == 0) {
                fprintf(stderr, "ephemerd-vmhost: --disk-timeout 0: at least 1 second\n");
                return EXIT_USAGE;
            }
            break;
        case OPT_NODISK:
            o->no_disk = true;
            break;
        case OPT_NOTCG:
            o->allow_tcg = false;
            break;
        case OPT_MAXR:
            if (cli_uint("--max-restarts", optarg, 1000000, &o->max_restarts) < 0)
                return EXIT_USAGE;
            break;
        case OPT_DRYRUN:
            o->dry_run = true;
            break;
        case 'v':
            log_set_cli_level(LOG_DEBUG); /* kept over config.toml's [log] level */
            break;
        case 'h':
            run_usage(stdout);
            return EXIT_OK;
        default:
            run_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        run_usage(stderr);
        return EXIT_USAGE;
    }
    return -1;
}

static int print_plan(const struct run_opts *o)
{
    char *json;
    struct evm_err err = {0};
    if (run_plan(o, &json, &err) < 0) {
        log_error("%s", err.msg);
        return EXIT_FAIL;
    }
    puts(json);
    free(json);
    return EXIT_OK;
}

/* config.toml's [log] from the first line on (each boot's load and each reload apply it
 * again). */
static int apply_config_log(const char *data_dir)
{
    char path[DATADIR_PATH_MAX];
    if (cli_data_file(data_dir, "config.toml", path, sizeof(path)) < 0)
        return -1;
    hostcfg_apply_log_file(path);
    return 0;
}

/* The agent under the service manager's eye when one listens (NOTIFY_SOCKET), else alone;
 * a failure is also the manager's last word (ERRNO=, STATUS=). */
static int run_notified(struct run_opts *o)
{
    struct evm_err err = {0};
    struct notify *n = NULL;
    if (notify_open(&n, &err) < 0)
        log_warn("not notifying the service manager: %s", err.msg);
    struct agent_hooks hooks;
    notify_agent_hooks(n, &hooks);
    o->hooks = n ? &hooks : NULL;
    memset(&err, 0, sizeof(err));
    int r = run_agent(o, &err);
    if (r < 0) {
        log_error("%s", err.msg);
        char msg[NOTIFY_MSG_MAX];
        struct evm_err nerr = {0};
        notify_format_exit(msg, sizeof(msg), -r, err.msg);
        if (notify_send(n, msg, &nerr) < 0)
            log_warn("notify: %s", nerr.msg);
    }
    notify_close(n);
    o->hooks = NULL;
    return r < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_run(int argc, char **argv)
{
    struct run_opts o;
    char data_dir[DATADIR_PATH_MAX];
    int rc = parse_run_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (cli_data_dir(o.data_dir, data_dir, sizeof(data_dir)) < 0)
        return EXIT_FAIL;
    o.data_dir = data_dir;
    if (apply_config_log(o.data_dir) < 0)
        return EXIT_FAIL;
    if (o.dry_run)
        return print_plan(&o);
    return run_notified(&o);
}
