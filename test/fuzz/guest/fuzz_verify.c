/* fuzz_verify.c — libFuzzer target for tail verification (guest/verify.c): arbitrary
 * manifest text is verified against a small fixed tail made once in a temporary directory.
 * It must never crash, block (a FIFO is in the tail), follow a symlink out of the root
 * (two are in the tail, one to a FIFO outside it: following it would block or fail
 * differently), and every rejection must say why. What it accepts must really match. */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "manifest.h"
#include "tail.h"
#include "verify.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BID "0123456789abcdef0123456789abcdef"
#define BIN_BYTES "fake daemon\n"
#define CFG_BYTES "a = 1\n"

/* The fixed tail, made once per process; read-only afterwards. */
static char top_dir[256];
static char root_dir[300];

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_verify setup: %s: %s\n", what, strerror(errno));
        abort();
    }
}

static void put(const char *rel, const char *bytes, mode_t mode)
{
    char p[400];
    snprintf(p, sizeof(p), "%s/%s", root_dir, rel);
    FILE *f = fopen(p, "wb");
    must(f != NULL, p);
    must(fwrite(bytes, 1, strlen(bytes), f) == strlen(bytes), p);
    must(fclose(f) == 0, p);
    must(chmod(p, mode) == 0, p);
}

static void sub(const char *rel, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", root_dir, rel);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    if (top_dir[0])
        nftw(top_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *base = getenv("TMPDIR");
    snprintf(top_dir, sizeof(top_dir), "%s/evm-fuzz-verify-XXXXXX", base && *base ? base : "/tmp");
    must(mkdtemp(top_dir) != NULL, "mkdtemp");
    atexit(cleanup);
    snprintf(root_dir, sizeof(root_dir), "%s/root", top_dir);
    char p[400];
    must(mkdir(root_dir, 0755) == 0, root_dir);
    sub("assets", p, sizeof(p));
    must(mkdir(p, 0755) == 0, p);
    sub("assets/dir", p, sizeof(p));
    must(mkdir(p, 0755) == 0, p);
    put(TAIL_BINARY, BIN_BYTES, 0755);
    put(TAIL_CONFIG, CFG_BYTES, 0600);
    put("assets/dir/empty", "", 0644);
    sub("assets/fifo", p, sizeof(p));
    must(mkfifo(p, 0600) == 0, p);
    /* Outside the root: a FIFO reached through a relative symlink, and an absolute link. */
    char out[400];
    snprintf(out, sizeof(out), "%s/outside", top_dir);
    must(mkfifo(out, 0600) == 0, out);
    sub("assets/escape", p, sizeof(p));
    must(symlink("../../outside", p) == 0, p);
    sub("assets/abs", p, sizeof(p));
    must(symlink(out, p) == 0, p);
    sub("assets/linkdir", p, sizeof(p));
    must(symlink("dir", p) == 0, p);
    return 0;
}

/* What a listed path that verified must be: one of the regular files made above. */
static int expected_bytes(const char *path, const char **bytes, unsigned *mode)
{
    if (strcmp(path, TAIL_BINARY) == 0)
        *bytes = BIN_BYTES, *mode = 0755;
    else if (strcmp(path, TAIL_CONFIG) == 0)
        *bytes = CFG_BYTES, *mode = 0600;
    else if (strcmp(path, "assets/dir/empty") == 0)
        *bytes = "", *mode = 0644;
    else
        return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct manifest m;
    struct evm_err err = {0};
    /* An (ignored) unknown line picks the command line's boot id: none or another one;
     * by default the one the seeds use. */
    const char *bid = BID;
    if (memmem(data, size, "\n#nobid\n", 8))
        bid = NULL;
    else if (memmem(data, size, "\n#otherbid\n", 11))
        bid = "ffffffffffffffffffffffffffffffff";
    int r = verify_tail_text(root_dir, bid, (const char *)data, size, &m, &err);
    if (r != 0) {
        if (r != -err.code || err.code == 0 || err.msg[0] == '\0')
            abort(); /* every rejection says why */
        return 0;
    }
    /* Accepted: it must be exactly right. */
    if (!bid || strcmp(m.boot_id, bid) != 0 || !manifest_find(&m, TAIL_BINARY))
        abort();
    int has_cfg = 0;
    for (size_t i = 0; i < m.nfiles; i++) {
        const char *bytes;
        unsigned mode;
        if (!expected_bytes(m.files[i].path, &bytes, &mode))
            abort(); /* a FIFO, directory, symlink or missing file was accepted */
        uint8_t sum[DIGEST_LEN];
        digest_buf(bytes, strlen(bytes), sum);
        if (m.files[i].mode != mode || m.files[i].size != strlen(bytes) ||
            memcmp(m.files[i].sha256, sum, DIGEST_LEN) != 0)
            abort();
        has_cfg |= strcmp(m.files[i].path, TAIL_CONFIG) == 0;
    }
    if (!has_cfg)
        abort(); /* the tail holds a config.toml: accepting it unlisted is a bug */
    return 0;
}
