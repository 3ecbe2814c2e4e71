/* cmd_status.c — `ephemerd-vmhost status`: the agent's health from DIR/status.json. */
#include <stdio.h>
#include <string.h>

#include "agent/status.h"
#include "cli/commands.h"
#include "log.h"

int cmd_status(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        puts("Usage: ephemerd-vmhost status --data-dir DIR\n\n"
             "Prints the agent's health (DIR/status.json). Exit 0 when the VM is ready, 1 when\n"
             "it is not (the reason is printed), 2 on a usage error.");
        return EXIT_OK;
    }
    if (argc != 3 || strcmp(argv[1], "--data-dir") != 0) {
        fputs("Usage: ephemerd-vmhost status --data-dir DIR\n", stderr);
        return EXIT_USAGE;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/status.json", argv[2]);
    struct vm_status s;
    struct evm_err err = {0};
    if (status_read(path, &s, &err) < 0) {
        log_error("%s", err.msg);
        return EXIT_FAIL;
    }
    printf("state:      %s\nboot id:    %s\nrestarts:   %u\n", s.state, s.boot_id, s.restarts);
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
    return strcmp(s.state, "ready") == 0 ? EXIT_OK : EXIT_FAIL;
}
