/* cmd_status.c — `ephemerd-vmhost status`: the agent's health from DIR/status.json. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "agent/datadir.h"
#include "agent/lock.h"
#include "agent/status.h"
#include "cli/cliargs.h"
#include "cli/commands.h"
#include "log.h"

int cmd_status(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        puts("Usage: ephemerd-vmhost status [--data-dir DIR]\n\n"
             "Prints the agent's health (DIR/status.json; DIR defaults to the platform's data\n"
             "directory, /var/lib/ephemerd-vm on Linux, %ProgramData%\\ephemerd on Windows).\n"
             "The data dir's lock tells whether an agent is running: without one, a state that\n"
             "only a running agent can be in (starting, booting, ready, reloading, stopping,\n"
             "restarting) is reported as stale, with the last known state. Exit 0 when an\n"
             "agent is running and the VM is ready, 1 when not (the reason is printed), 2 on a\n"
             "usage error.");
        return EXIT_OK;
    }
    if (argc != 1 && (argc != 3 || strcmp(argv[1], "--data-dir") != 0)) {
        fputs("Usage: ephemerd-vmhost status [--data-dir DIR]\n", stderr);
        return EXIT_USAGE;
    }
    char dir[DATADIR_PATH_MAX], path[DATADIR_PATH_MAX];
    if (cli_data_dir(argc == 3 ? argv[2] : NULL, dir, sizeof(dir)) < 0 ||
        cli_data_file(dir, "status.json", path, sizeof(path)) < 0)
        return EXIT_FAIL;
    struct vm_status s;
    struct evm_err err = {0};
    if (status_read(path, &s, &err) < 0) {
        log_error("%s", err.msg);
        return EXIT_FAIL;
    }
    /* The document outlives its agent: only a running agent makes its state current. */
    bool running = false;
    if (dirlock_held(dir, &running, &err) < 0) {
        log_error("%s", err.msg);
        return EXIT_FAIL;
    }
    bool final = strcmp(s.state, "stopped") == 0 || strcmp(s.state, "failed") == 0;
    if (!running && !final)
        printf("state:      stale (no agent is running; last known state: %s)\n", s.state);
    else
        printf("state:      %s%s\n", s.state, running ? "" : " (no agent is running)");
    printf("boot id:    %s\nrestarts:   %u\n", s.boot_id, s.restarts);
    if (s.ip[0])
        printf("guest ip:   %s\n", s.ip);
    if (s.containerd_port)
        printf("containerd: %s:%u\ndispatch:   %s:%u\n", s.ports_host[0] ? s.ports_host : "?",
               s.containerd_port, s.ports_host[0] ? s.ports_host : "?", s.dispatch_port);
    if (s.ready_ms >= 0 && strcmp(s.state, "ready") == 0)
        printf("ready in:   %lld ms\n", s.ready_ms);
    if (s.last_error[0])
        printf("last error: %s\n", s.last_error);
    if (s.last_fatal[0])
        printf("last fatal: %s\n", s.last_fatal);
    return running && strcmp(s.state, "ready") == 0 ? EXIT_OK : EXIT_FAIL;
}
