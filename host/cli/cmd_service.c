/* cmd_service.c — `ephemerd-vmhost service install|uninstall|start|stop|status|reload`: the
 * agent as a host service (service/svc.h: the Windows Service Control Manager; on Linux the
 * systemd unit is the service and these say so, exit 2), and `service run`, the service
 * process the SCM starts (internal: not for a terminal). */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "agent/datadir.h"
#include "cli/cliargs.h"
#include "cli/commands.h"
#include "log.h"
#include "service/svc.h"

#define SERVICE_TIMEOUT_DEFAULT_S 600u

static void service_usage(FILE *f)
{
    fputs("Usage: ephemerd-vmhost service COMMAND [--data-dir DIR] [--timeout S]\n"
          "\n"
          "The agent as a Windows service named " SVC_NAME " (automatic start, restarted by\n"
          "the Service Control Manager when it fails, runs as LocalSystem). On Linux the\n"
          "systemd unit ephemerd-vm.service is the service: these commands say so (exit 2).\n"
          "\n"
          "Commands:\n"
          "  install     register the service for DIR (default: the platform's data dir,\n"
          "              %ProgramData%\\ephemerd); run again to change DIR or after an upgrade\n"
          "  uninstall   stop the service if it runs, then remove it (DIR is kept)\n"
          "  start       start it and wait until the VM is ready (or the start failed)\n"
          "  stop        stop the VM in order and wait until the service has stopped\n"
          "  status      the service's state, exit codes and configuration\n"
          "  reload      re-read config.toml: the VM is restarted in order if it changed\n"
          "  run         (internal) the service process the Service Control Manager starts\n"
          "\n"
          "  --data-dir DIR   install, run: the agent's data directory\n"
          "  --timeout S      start, stop, uninstall: how long to wait (default 600)\n"
          "  -h, --help       this help\n"
          "\n"
          "The service logs to DIR\\logs\\vmhost.log (rotated at 10 MiB, 5 kept). Exit codes:\n"
          "0 success (status: the service runs), 1 failure (reason on stderr; status: not\n"
          "running or not installed), 2 usage error or not supported on this platform.\n",
          f);
}

struct service_args {
    const char *sub;
    const char *data_dir; /* NULL: the default */
    unsigned timeout_s;
};

/* Returns -1 when args is filled, else the exit code (help, or a usage error). */
static int parse_service_args(int argc, char **argv, struct service_args *a)
{
    static const struct option opts[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof(*a));
    a->timeout_s = SERVICE_TIMEOUT_DEFAULT_S;
    if (argc < 2)
        return cli_help_or_usage('?', service_usage);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return cli_help_or_usage('h', service_usage);
    a->sub = argv[1];
    int c;
    optind = 0;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        if (c == 'd')
            a->data_dir = optarg;
        else if (c == 't') {
            if (cli_uint("--timeout", optarg, 86400, &a->timeout_s) < 0 || a->timeout_s == 0)
                return EXIT_USAGE;
        } else
            return cli_help_or_usage(c, service_usage);
    }
    if (optind < argc - 1)
        return cli_help_or_usage('?', service_usage);
    return -1;
}

/* A failure's exit code: not supported here is a usage error (2), anything else 1. */
static int failed(int r, const struct evm_err *err)
{
    if (r == -ENOTSUP) {
        fprintf(stderr, "ephemerd-vmhost: %s\n", err->msg);
        return EXIT_USAGE;
    }
    log_error("%s", err->msg);
    return EXIT_FAIL;
}

/* install and run: --data-dir, else the platform's default. */
static int with_data_dir(const struct service_args *a, int (*fn)(const char *, struct evm_err *),
                         struct evm_err *err)
{
    char dir[DATADIR_PATH_MAX];
    int r = datadir_choose(a->data_dir, dir, sizeof(dir), err);
    return r < 0 ? r : fn(dir, err);
}

static int run_sub(const struct service_args *a, struct evm_err *err, bool *running)
{
    const char *s = a->sub;
    if (strcmp(s, "install") == 0)
        return with_data_dir(a, svc_install, err);
    if (strcmp(s, "uninstall") == 0)
        return svc_uninstall(a->timeout_s, err);
    if (strcmp(s, "start") == 0)
        return svc_start(a->timeout_s, err);
    if (strcmp(s, "stop") == 0)
        return svc_stop(a->timeout_s, err);
    if (strcmp(s, "reload") == 0)
        return svc_reload(err);
    if (strcmp(s, "status") == 0)
        return svc_status(stdout, running, err);
    return with_data_dir(a, svc_run, err); /* "run", checked by the caller */
}

int cmd_service(int argc, char **argv)
{
    static const char *const subs[] = {"install", "uninstall", "start", "stop",
                                       "status",  "reload",    "run"};
    struct service_args a;
    int rc = parse_service_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    bool known = false;
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        known = known || strcmp(a.sub, subs[i]) == 0;
    if (!known) {
        fprintf(stderr, "ephemerd-vmhost: service %s: unknown command (see service --help)\n",
                a.sub);
        return EXIT_USAGE;
    }
    struct evm_err err = {0};
    bool running = true;
    int r = run_sub(&a, &err, &running);
    if (r < 0)
        return failed(r, &err);
    return running ? EXIT_OK : EXIT_FAIL;
}
