/* cmd_cmdline.c — `ephemerd-vmhost cmdline`: prints the kernel command line the agent
 * would boot with, derived from <data-dir>/config.toml. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/bootparams.h"
#include "cmdline.h"
#include "bootid.h"
#include "agent/datadir.h"
#include "cli/cliargs.h"
#include "cli/commands.h"
#include "config/hostcfg.h"
#include "log.h"
#include "vm/vm.h"

#define MAX_EXTRAS 16

static void usage(FILE *f)
{
    fputs("Usage: ephemerd-vmhost cmdline [--data-dir DIR] [--root-disk /dev/NAME]\n"
          "           [--boot-id HEX] [--extra TOKEN]...\n"
          "\n"
          "Prints the kernel command line the agent would boot the VM with. The dind\n"
          "fallback flags follow [dind] in DIR/config.toml; a missing or unusable config\n"
          "leaves them off.\n"
          "\n"
          "  --data-dir DIR     the agent's data directory (holds config.toml; default\n"
          "                     /var/lib/ephemerd-vm, on Windows %ProgramData%\\ephemerd)\n"
          "  --root-disk DEV    the guest's root disk (default: as this build's VM backend\n"
          "                     gives it, /dev/vda for QEMU, /dev/sda for Hyper-V)\n"
          "  --boot-id HEX      include ephemerd.boot_id (32 lowercase hex digits)\n"
          "  --extra TOKEN      append a platform kernel parameter (repeatable)\n"
          "  -h, --help         this help\n",
          f);
}

int cmd_cmdline(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data-dir", required_argument, NULL, 'd'}, {"root-disk", required_argument, NULL, 'r'},
        {"boot-id", required_argument, NULL, 'i'},  {"extra", required_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL, *root_disk = NULL, *boot_id = NULL;
    const char *extras[MAX_EXTRAS];
    size_t nextras = 0;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data_dir = optarg;
            break;
        case 'r':
            root_disk = optarg;
            break;
        case 'i':
            if (!boot_id_valid(optarg)) { /* a usage error, as for `initrd build` */
                fprintf(stderr, "ephemerd-vmhost: --boot-id %s: must be %d lowercase hex digits\n",
                        optarg, BOOT_ID_HEX_LEN);
                return EXIT_USAGE;
            }
            boot_id = optarg;
            break;
        case 'x':
            if (nextras == MAX_EXTRAS) {
                fprintf(stderr, "ephemerd-vmhost: at most %d --extra tokens\n", MAX_EXTRAS);
                return EXIT_USAGE;
            }
            extras[nextras++] = optarg;
            break;
        default: /* 'h' (--help) too */
            return cli_help_or_usage(c, usage);
        }
    }
    if (optind < argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    struct evm_err err = {0};
    char dir[DATADIR_PATH_MAX], path[DATADIR_PATH_MAX];
    if (cli_data_dir(data_dir, dir, sizeof(dir)) < 0 ||
        cli_data_file(dir, "config.toml", path, sizeof(path)) < 0)
        return EXIT_FAIL;
    struct hostcfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    int r = hostcfg_load(path, &cfg, &err);
    struct boot_params p;
    char line[CMDLINE_MAX];
    if (r == 0)
        r = bootparams_from_config(&cfg, root_disk ? root_disk : vm_backend()->root_disk, boot_id,
                                   &p, &err);
    if (r == 0)
        r = cmdline_build(&p, extras, nextras, line, sizeof(line), &err);
    hostcfg_free(&cfg);
    if (r < 0) {
        log_error("%s", err.msg);
        return EXIT_FAIL;
    }
    printf("%s\n", line);
    return EXIT_OK;
}
