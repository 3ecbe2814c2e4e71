/* testutil.h — small helpers shared by the unit tests: temporary directories, whole-file
 * read/write, file identities, deterministic pseudo-random data. Platform parts in
 * testutil_posix.c and testutil_win.c. Helpers abort the test (via cmocka's fail_msg) on
 * any error. */
#ifndef EVM_TESTUTIL_H
#define EVM_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "fileid.h"

/* A fresh, empty directory under the system temp dir; free() the result. */
char *tu_tmpdir(void);
/* Removes a directory tree created by the tests. */
void tu_rmrf(const char *path);
/* dir + "/" + name, malloc'd. */
char *tu_path(const char *dir, const char *name);
void tu_write(const char *path, const void *data, size_t len);
/* Whole file, malloc'd and NUL-terminated; NULL if it cannot be opened. */
char *tu_read(const char *path, size_t *len);
/* Sets (value non-NULL) or removes an environment variable; 0 on success. */
int tu_setenv(const char *name, const char *value);
/* Writes a small valid base initrd: an uncompressed newc cpio holding "etc/" and
 * "etc/blob" with payload bytes of deterministic data. */
void tu_write_base_initrd(const char *path, size_t payload);
/* The identity (fileid.h) of the regular file at path, opened with open_regular_file. */
struct file_id tu_file_id(const char *path);
/* Deterministic bytes for a seed (xorshift). */
void tu_fill(void *buf, size_t len, uint32_t seed);

/* What a command wrote, and its exit code (tu_capture; POSIX only). */
struct tu_out {
    int rc;
    char *out, *err; /* stdout and stderr; free with tu_out_free */
};

/* Calls cmd(argc, copy of argv) with stdout and stderr redirected to files, and returns what
 * they received (getopt permutes argv, hence the copy). POSIX only (testutil_posix.c). */
struct tu_out tu_capture(int (*cmd)(int, char **), int argc, const char **argv);
void tu_out_free(struct tu_out *o);

#endif
