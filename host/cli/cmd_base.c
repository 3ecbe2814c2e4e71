/* cmd_base.c — `ephemerd-vmhost initrd base`: the command-line face of the base initrd
 * builder (baseinitrd.c). */
#include "cli/cmd_base.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "initrd/baseinitrd.h"
#include "cli/cliargs.h"
#include "cli/commands.h"
#include "log.h"

#define MAX_LIB_DIRS 16

static void base_usage(FILE *f)
{
    fputs("Usage: ephemerd-vmhost initrd base --list FILE [--modules-dir DIR] [--init FILE]\n"
          "           [--rootfs FILE] [--lib-dir DIR]... [--compress zstd|gzip|none] -o OUT\n"
          "\n"
          "Builds the base initrd from a list (initrd/virtio.list, initrd/hyperv.list; format\n"
          "in initrd/README.md): one newc cpio member with directories, the init and its\n"
          "poweroff/reboot/halt symlinks, kernel modules with their dependencies in\n"
          "/modules (order in /modules/load-order), host binaries with the shared libraries\n"
          "they need, and the rootfs tarball. OUT is replaced atomically (mode 0600).\n"
          "\n"
          "  --list FILE        the list of what goes in\n"
          "  --modules-dir DIR  the kernel's lib/modules/VERSION (with modules.dep)\n"
          "  --init FILE        ephemerd-init, for the list's `init`\n"
          "  --rootfs FILE      the rootfs tarball, for the list's `rootfs`\n"
          "  --lib-dir DIR      where to look for shared libraries (repeatable; default\n"
          "                     /lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu, /lib64)\n"
          "  --compress ALG     zstd (default), gzip or none\n"
          "  -o, --output OUT   the base initrd to write\n"
          "  -v, --verbose      debug logging (every module and library)\n"
          "  -h, --help         this help\n"
          "\n"
          "Entry mtimes are SOURCE_DATE_EPOCH when set, else 0: the same inputs give\n"
          "byte-identical output.\n",
          f);
}

struct base_args {
    struct baseinitrd_opts o;
    const char *lib_dirs[MAX_LIB_DIRS + 1];
    size_t nlib;
};

/* Fills a from the command line. -1 when it did, else the exit code to return. */
static int parse_base_args(int argc, char **argv, struct base_args *a)
{
    static const struct option opts[] = {
        {"list", required_argument, NULL, 'l'},    {"modules-dir", required_argument, NULL, 'm'},
        {"init", required_argument, NULL, 'i'},    {"rootfs", required_argument, NULL, 'r'},
        {"lib-dir", required_argument, NULL, 'L'}, {"compress", required_argument, NULL, 'z'},
        {"output", required_argument, NULL, 'o'},  {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof(*a));
    a->o.compress = COMPRESS_DEFAULT;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            a->o.list = optarg;
            break;
        case 'm':
            a->o.modules_dir = optarg;
            break;
        case 'i':
            a->o.init = optarg;
            break;
        case 'r':
            a->o.rootfs = optarg;
            break;
        case 'L':
            if (a->nlib == MAX_LIB_DIRS) {
                fprintf(stderr, "ephemerd-vmhost: at most %d --lib-dir options\n", MAX_LIB_DIRS);
                return EXIT_USAGE;
            }
            a->lib_dirs[a->nlib++] = optarg;
            break;
        case 'z':
            if (cli_compress(optarg, &a->o.compress) < 0)
                return EXIT_USAGE;
            break;
        case 'o':
            a->o.out = optarg;
            break;
        case 'v':
            log_init(NULL, LOG_DEBUG);
            break;
        case 'h':
            base_usage(stdout);
            return EXIT_OK;
        default:
            base_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc || !a->o.list || !a->o.out) {
        fprintf(stderr, "ephemerd-vmhost: initrd base needs --list and -o%s\n",
                optind < argc ? " (and takes no other arguments)" : "");
        return EXIT_USAGE;
    }
    return -1;
}

int cmd_initrd_base(int argc, char **argv)
{
    struct base_args args;
    int rc = parse_base_args(argc, argv, &args);
    if (rc >= 0)
        return rc;
    struct baseinitrd_opts o = args.o;
    const char **lib_dirs = args.lib_dirs;
    size_t nlib = args.nlib;
    struct evm_err err = {0};
    if (nlib > 0)
        o.lib_dirs = lib_dirs;
    if (bootinitrd_mtime_from_env(&o.mtime, &err) < 0) {
        log_error("%s", err.msg);
        return EXIT_FAIL;
    }
    struct baseinitrd_result res;
    if (baseinitrd_build(&o, &res, &err) < 0) {
        log_error("building %s: %s", o.out, err.msg);
        return EXIT_FAIL;
    }
    printf("wrote %s: %llu bytes, %zu entries (%zu modules, %zu built in and skipped, %zu "
           "libraries), compress %s\n",
           o.out, (unsigned long long)res.out_size, res.entries, res.modules, res.builtin,
           res.libraries, compress_name(o.compress));
    return EXIT_OK;
}
