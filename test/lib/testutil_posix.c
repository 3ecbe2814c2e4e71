/* testutil_posix.c — temp directories and command output capture on POSIX. */
#include "testutil.h"

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = tu_path(base && *base ? base : "/tmp", "evm-test-XXXXXX");
    if (!mkdtemp(tmpl))
        fail_msg("mkdtemp failed");
    return tmpl;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmrf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int tu_setenv(const char *name, const char *value)
{
    return value ? setenv(name, value, 1) : unsetenv(name);
}

static int redirect(int fd, const char *path)
{
    int saved = dup(fd);
    int f = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (saved < 0 || f < 0 || dup2(f, fd) != fd)
        fail_msg("redirecting fd %d to %s failed", fd, path);
    close(f);
    return saved;
}

static void restore(int fd, int saved)
{
    if (dup2(saved, fd) != fd)
        fail_msg("restoring fd %d failed", fd);
    close(saved);
}

struct tu_out tu_capture(int (*cmd)(int, char **), int argc, const char **argv)
{
    char **copy = calloc((size_t)argc + 1, sizeof(char *));
    if (!copy)
        fail_msg("out of memory");
    for (int i = 0; i < argc; i++)
        copy[i] = strdup(argv[i]);
    char *dir = tu_tmpdir();
    char *po = tu_path(dir, "stdout"), *pe = tu_path(dir, "stderr");
    fflush(stdout);
    fflush(stderr);
    int so = redirect(STDOUT_FILENO, po), se = redirect(STDERR_FILENO, pe);
    struct tu_out o;
    o.rc = cmd(argc, copy);
    fflush(stdout);
    fflush(stderr);
    restore(STDOUT_FILENO, so);
    restore(STDERR_FILENO, se);
    o.out = tu_read(po, NULL);
    o.err = tu_read(pe, NULL);
    tu_rmrf(dir);
    free(dir);
    free(po);
    free(pe);
    for (int i = 0; i < argc; i++)
        free(copy[i]);
    free(copy);
    return o;
}

void tu_out_free(struct tu_out *o)
{
    free(o->out);
    free(o->err);
}
