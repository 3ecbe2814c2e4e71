/* main.c — ephemerd-vmhost: the host agent's entry point and subcommand dispatch. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "log.h"
#include "version.h"

static void usage(FILE *f)
{
    fputs("Usage: ephemerd-vmhost COMMAND [OPTIONS]\n"
          "\n"
          "The host agent of the ephemerd Linux VM: builds the per-boot initrd and the kernel\n"
          "command line, launches and supervises the VM.\n"
          "\n"
          "Commands:\n"
          "  initrd build     build a boot initrd (base + daemon binary + host config)\n"
          "  initrd inspect   list an initrd's members and check its tail manifest\n"
          "  initrd base      build a base initrd from a declarative list (initrd/*.list)\n"
          "  cmdline          print the kernel command line the agent would boot with\n"
          "  config show      print the settings a boot would use and where each comes from\n"
          "  run              boot the VM and supervise it\n"
          "  status           print the agent's health\n"
          "  doctor           check whether a boot can work on this host\n"
          "  service          the agent as a host service (install, start, stop, status...)\n"
          "\n"
          "Run 'ephemerd-vmhost COMMAND --help' for a command's options.\n"
          "Exit codes: 0 success, 1 failure (reason on stderr), 2 usage error,\n"
          "            3 initrd inspect found a manifest mismatch.\n",
          f);
}

int main(int argc, char **argv)
{
    log_init("ephemerd-vmhost", LOG_INFO);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        evm_version_print(stdout, "ephemerd-vmhost");
        return EXIT_OK;
    }
    if (strcmp(cmd, "initrd") == 0)
        return cmd_initrd(argc - 1, argv + 1);
    if (strcmp(cmd, "cmdline") == 0)
        return cmd_cmdline(argc - 1, argv + 1);
    if (strcmp(cmd, "config") == 0)
        return cmd_config(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return cmd_status(argc - 1, argv + 1);
    if (strcmp(cmd, "doctor") == 0)
        return cmd_doctor(argc - 1, argv + 1);
    if (strcmp(cmd, "service") == 0)
        return cmd_service(argc - 1, argv + 1);
    fprintf(stderr, "ephemerd-vmhost: unknown command '%s' (see --help)\n", cmd);
    return EXIT_USAGE;
}
