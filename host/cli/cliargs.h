/* cliargs.h — option values the commands share, parsed once: each helper prints the
 * usage error itself ("ephemerd-vmhost: --flag VALUE: what was expected") and returns -1,
 * so that the command returns EXIT_USAGE; and the common end of a command's getopt loop. */
#ifndef EVM_CLIARGS_H
#define EVM_CLIARGS_H

#include <stdio.h>

#include "initrd/bootinitrd.h" /* enum compress */

/* A whole number 0..max. */
int cli_uint(const char *flag, const char *s, unsigned max, unsigned *out);

/* --compress: zstd, gzip or none. */
int cli_compress(const char *s, enum compress *out);

/* The data directory a command works on: --data-dir's value when given, else this
 * platform's default (datadir.h), in out. Logs why not and returns -1 (exit EXIT_FAIL). */
int cli_data_dir(const char *given, char *out, size_t size);

/* DIR's file name (config.toml, status.json) with the platform's separator, in out; logs and
 * returns -1 when too long. */
int cli_data_file(const char *dir, const char *name, char *out, size_t size);

/* An option the command's getopt loop does not handle itself: for 'h' (--help) the usage
 * goes to stdout and the result is EXIT_OK; for anything else to stderr, EXIT_USAGE. */
int cli_help_or_usage(int opt, void (*usage)(FILE *f));

#endif
