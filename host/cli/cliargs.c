/* cliargs.c — see cliargs.h. */
#include "cli/cliargs.h"

#include <stdio.h>
#include <stdlib.h>

#include "agent/datadir.h"
#include "cli/commands.h"
#include "log.h"

int cli_uint(const char *flag, const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || *s == '-' || v > max) {
        fprintf(stderr, "ephemerd-vmhost: %s %s: expected a whole number up to %u\n", flag, s, max);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int cli_compress(const char *s, enum compress *out)
{
    if (compress_parse(s, out) == 0)
        return 0;
    fprintf(stderr, "ephemerd-vmhost: --compress %s: expected zstd, gzip or none\n", s);
    return -1;
}

int cli_data_dir(const char *given, char *out, size_t size)
{
    struct evm_err err = {0};
    if (datadir_choose(given, out, size, &err) < 0) {
        log_error("%s", err.msg);
        return -1;
    }
    return 0;
}

int cli_data_file(const char *dir, const char *name, char *out, size_t size)
{
    if (datadir_join(out, size, dir, name) < 0) {
        log_error("data directory path too long: %s", dir);
        return -1;
    }
    return 0;
}

int cli_help_or_usage(int opt, void (*usage)(FILE *f))
{
    if (opt == 'h') {
        usage(stdout);
        return EXIT_OK;
    }
    usage(stderr);
    return EXIT_USAGE;
}
