/* cmd_initrd.c — `ephemerd-vmhost initrd build|inspect`: the command-line face of the
 * boot-initrd builder and inspector. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootid.h"
#include "initrd/bootinitrd.h"
#include "cli/cmd_base.h"
#include "cli/cliargs.h"
#include "cli/commands.h"
#include "digest.h"
#include "config/hostcfg.h"
#include "initrd/inspect.h"
#include "log.h"
#include "manifest.h"
#include "random.h"

static void build_usage(FILE *f)
{
    fputs("Usage: ephemerd-vmhost initrd build --base FILE --binary FILE [--config FILE]\n"
          "           [--boot-id HEX] [--compress zstd|gzip|none] [--cache-dir DIR] -o OUT\n"
          "\n"
          "Writes OUT = base initrd, zero padding to 4 bytes, the binary member (assets/,\n"
          "assets/ephemerd-linux 0755) and the boot member (assets/config.toml 0600 when the\n"
          "config is usable, assets/manifest 0600). OUT is replaced atomically (mode 0600).\n"
          "\n"
          "  --base FILE        base initrd (built once per release): a newc cpio archive,\n"
          "                     possibly compressed, as the kernel unpacks it\n"
          "  --binary FILE      the in-VM daemon binary\n"
          "  --config FILE      host config.toml to embed (missing or unusable: boot without;\n"
          "                     over 1 MiB or a malformed agent key: error)\n"
          "  --boot-id HEX      32 lowercase hex digits (default: a fresh random id)\n"
          "  --compress ALG     zstd (default), gzip or none, for both tail members\n"
          "  --cache-dir DIR    binary-member cache (default: the directory of OUT)\n"
          "  -o, --output OUT   the boot initrd to write\n"
          "  -v, --verbose      debug logging\n"
          "  -h, --help         this help\n"
          "\n"
          "Entry mtimes are SOURCE_DATE_EPOCH when set, else 0: the same inputs and boot id\n"
          "give byte-identical output.\n",
          f);
}

struct build_args {
    struct bootinitrd_opts o;
    const char *config;
    char boot_id[BOOT_ID_HEX_LEN + 1];
};

/* Fills a from the command line. -1 when it did, else the exit code to return. */
static int parse_build_args(int argc, char **argv, struct build_args *a)
{
    static const struct option opts[] = {
        {"base", required_argument, NULL, 'b'},     {"binary", required_argument, NULL, 'e'},
        {"config", required_argument, NULL, 'c'},   {"boot-id", required_argument, NULL, 'i'},
        {"compress", required_argument, NULL, 'z'}, {"cache-dir", required_argument, NULL, 'd'},
        {"output", required_argument, NULL, 'o'},   {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof(*a));
    a->o.compress = COMPRESS_DEFAULT;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            a->o.base = optarg;
            break;
        case 'e':
            a->o.binary = optarg;
            break;
        case 'c':
            a->config = optarg;
            break;
        case 'i':
            if (!boot_id_valid(optarg)) {
                fprintf(stderr, "ephemerd-vmhost: --boot-id %s: must be %d lowercase hex digits\n",
                        optarg, BOOT_ID_HEX_LEN);
                return EXIT_USAGE;
            }
            memcpy(a->boot_id, optarg, BOOT_ID_HEX_LEN + 1);
            break;
        case 'z':
            if (cli_compress(optarg, &a->o.compress) < 0)
                return EXIT_USAGE;
            break;
        case 'd':
            a->o.cache_dir = optarg;
            break;
        case 'o':
            a->o.out = optarg;
            break;
        case 'v':
            log_init(NULL, LOG_DEBUG);
            break;
        case 'h':
            build_usage(stdout);
            return EXIT_OK;
        default:
            build_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc || !a->o.base || !a->o.binary || !a->o.out) {
        fprintf(stderr, "ephemerd-vmhost: initrd build needs --base, --binary and -o%s\n",
                optind < argc ? " (and takes no other arguments)" : "");
        return EXIT_USAGE;
    }
    if (!*a->o.base || !*a->o.binary || !*a->o.out) {
        fprintf(stderr, "ephemerd-vmhost: initrd build: %s is an empty file name\n",
                !*a->o.base     ? "--base"
                : !*a->o.binary ? "--binary"
                                : "-o");
        return EXIT_USAGE;
    }
    return -1;
}

static int initrd_build(int argc, char **argv)
{
    struct build_args args;
    int rc = parse_build_args(argc, argv, &args);
    if (rc >= 0)
        return rc;
    struct bootinitrd_opts o = args.o;
    const char *config = args.config;
    char *boot_id = args.boot_id;
    struct evm_err err = {0};
    if (!boot_id[0] && boot_id_generate(boot_id, &err) < 0) {
        log_error("%s", err.msg);
        return EXIT_FAIL;
    }
    o.boot_id = boot_id;
    if (bootinitrd_mtime_from_env(&o.mtime, &err) < 0) {
        log_error("%s", err.msg);
        return EXIT_FAIL;
    }

    struct hostcfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    if (config) {
        if (hostcfg_load(config, &cfg, &err) < 0) {
            log_error("%s", err.msg);
            return EXIT_FAIL;
        }
        o.config = &cfg;
    }
    struct bootinitrd_result res;
    int r = bootinitrd_build(&o, &res, &err);
    hostcfg_free(&cfg);
    if (r < 0) {
        log_error("building %s: %s", o.out, err.msg);
        return EXIT_FAIL;
    }
    char hex[DIGEST_HEX_LEN + 1];
    hex_encode(res.binary_sha256, sizeof(res.binary_sha256), hex);
    printf("wrote %s: %llu bytes (base %llu; binary member %llu at %llu, %s; boot member %llu at "
           "%llu)\n",
           o.out, (unsigned long long)res.out_size, (unsigned long long)res.base_size,
           (unsigned long long)res.binary_member.length,
           (unsigned long long)res.binary_member.offset,
           res.in_place    ? "kept (in-place update)"
           : res.cache_hit ? "cached"
                           : "built",
           (unsigned long long)res.boot_member.length, (unsigned long long)res.boot_member.offset);
    printf("boot-id %s compress %s config %s binary-sha256 %s\n", boot_id,
           compress_name(o.compress), res.config_embedded ? "embedded" : "none", hex);
    return EXIT_OK;
}

static void inspect_usage(FILE *f)
{
    fputs("Usage: ephemerd-vmhost initrd inspect FILE\n"
          "\n"
          "Lists every member of an initrd (offset, compression, entries: mode, uid, gid,\n"
          "size, name) and checks that the tail's assets/manifest matches what the file\n"
          "holds. Exit 0 when it matches (or there is none), 3 on a mismatch, 1 when the\n"
          "file cannot be read or is malformed (an empty file, or one without a member,\n"
          "is malformed).\n",
          f);
}

static int initrd_inspect(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        inspect_usage(stdout);
        return EXIT_OK;
    }
    if (argc != 2 || argv[1][0] == '-') {
        inspect_usage(stderr);
        return EXIT_USAGE;
    }
    struct evm_err err = {0};
    bool ok = false;
    int r = inspect_initrd(argv[1], stdout, &ok, &err);
    fflush(stdout);
    if (r == -EBADMSG) {
        log_error("%s", err.msg);
        return EXIT_MISMATCH;
    }
    if (r < 0) {
        log_error("%s", err.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

int cmd_initrd(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "build") == 0)
        return initrd_build(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "inspect") == 0)
        return initrd_inspect(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "base") == 0)
        return cmd_initrd_base(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs("Usage: ephemerd-vmhost initrd build|inspect|base ... (see each --help)\n", stdout);
        return EXIT_OK;
    }
    fputs("Usage: ephemerd-vmhost initrd build|inspect|base ... (see each --help)\n", stderr);
    return EXIT_USAGE;
}
