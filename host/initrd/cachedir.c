/* cachedir.c — the binary-member cache: naming members, verifying a member against its
 * record (length and SHA-256) before use, writing records, discarding bad members, pruning
 * members unused for a while, sweeping killed writers' temporary files. */
#include "initrd/cachedir.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "digest.h"
#include "fileutil.h"
#include "log.h"

#define MEMBER_PREFIX "ephemerd-linux-"
#define MEMBER_SUFFIX ".member"
#define RECORD_MAGIC "ephemerd-member-sum 1\n"
#define RECORD_MAX 256

static const char *last_sep(const char *p)
{
    const char *a = strrchr(p, '/'), *b = strrchr(p, '\\');
    return a > b ? a : b;
}

static char *dirname_dup(const char *path)
{
    const char *sep = last_sep(path);
    if (!sep)
        return strdup(".");
    size_t n = sep == path ? 1 : (size_t)(sep - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* a + b, malloc'd. */
static char *concat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = malloc(na + nb + 1);
    if (p) {
        memcpy(p, a, na);
        memcpy(p + na, b, nb + 1);
    }
    return p;
}

int cachedir_member_path(const char *dir, const char *out, const char *sha256_hex,
                         const char *compress, uint64_t mtime, int version, char **path,
                         struct evm_err *err)
{
    char *d = dir ? strdup(dir) : dirname_dup(out);
    if (!d)
        return evm_errf(err, ENOMEM, "out of memory");
    size_t n = strlen(d) + strlen(sha256_hex) + strlen(compress) + 96;
    char *p = malloc(n);
    if (!p) {
        free(d);
        return evm_errf(err, ENOMEM, "out of memory");
    }
    snprintf(p, n, "%s/" MEMBER_PREFIX "%s-%s-m%llu-v%d" MEMBER_SUFFIX, d, sha256_hex, compress,
             (unsigned long long)mtime, version);
    free(d);
    *path = p;
    return 0;
}

int cachedir_prepare(const char *path, struct evm_err *err)
{
    char *d = dirname_dup(path);
    if (!d)
        return evm_errf(err, ENOMEM, "out of memory");
    int r = mkdir_p(d, err);
    free(d);
    return r < 0 ? evm_err_wrap(err, "binary-member cache") : 0;
}

/* ---- records -------------------------------------------------------------------------- */

/* Parses a record: RECORD_MAGIC, "length N\n", "sha256 HEX\n", nothing else. */
static bool parse_record(const char *text, size_t n, uint64_t *len, uint8_t digest[DIGEST_LEN])
{
    size_t magic = strlen(RECORD_MAGIC);
    if (n < magic || memcmp(text, RECORD_MAGIC, magic) != 0)
        return false;
    const char *p = text + magic, *end = text + n;
    if ((size_t)(end - p) < 7 || memcmp(p, "length ", 7) != 0)
        return false;
    p += 7;
    uint64_t v = 0;
    const char *digits = p;
    while (p < end && *p >= '0' && *p <= '9' && p - digits < 19)
        v = v * 10 + (uint64_t)(*p++ - '0');
    if (p == digits || p >= end || *p++ != '\n')
        return false;
    if ((size_t)(end - p) != 7 + DIGEST_HEX_LEN + 1 || memcmp(p, "sha256 ", 7) != 0 ||
        p[7 + DIGEST_HEX_LEN] != '\n')
        return false;
    for (size_t i = 0; i < DIGEST_HEX_LEN; i++) {
        char c = p[7 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    if (hex_decode(p + 7, DIGEST_HEX_LEN, digest, DIGEST_LEN) < 0)
        return false;
    *len = v;
    return true;
}

static int read_record(const char *member, uint64_t *len, uint8_t digest[DIGEST_LEN],
                       struct evm_err *err)
{
    char *path = concat(member, CACHEDIR_RECORD_SUFFIX);
    if (!path)
        return evm_errf(err, ENOMEM, "out of memory");
    int fd;
    uint64_t size;
    int r = atomicfile_open_owned(path, false, &fd, &size, err);
    if (r == -ENOENT)
        r = evm_errf(err, EBADMSG, "%s: no record of its length and digest (%s is missing)", member,
                     path);
    char text[RECORD_MAX];
    size_t got = 0;
    if (r == 0) {
        r = read_full(fd, text, sizeof(text), &got, err, path);
        close(fd);
    }
    if (r == 0 && !parse_record(text, got, len, digest))
        r = evm_errf(err, EBADMSG, "%s: not a valid record", path);
    free(path);
    return r;
}

int cachedir_record(const char *path, uint64_t len, const uint8_t digest[32], struct evm_err *err)
{
    char hex[DIGEST_HEX_LEN + 1];
    hex_encode(digest, DIGEST_LEN, hex);
    char text[RECORD_MAX];
    int n = snprintf(text, sizeof(text), RECORD_MAGIC "length %llu\nsha256 %s\n",
                     (unsigned long long)len, hex);
    char *rpath = concat(path, CACHEDIR_RECORD_SUFFIX);
    if (!rpath)
        return evm_errf(err, ENOMEM, "out of memory");
    struct atomicfile af;
    int r = atomicfile_open(&af, rpath, err);
    if (r == 0)
        r = atomicfile_write(&af, text, (size_t)n, err);
    if (r == 0)
        r = atomicfile_commit(&af, err);
    else
        atomicfile_abort(&af);
    free(rpath);
    return r;
}

/* ---- verification --------------------------------------------------------------------- */

/* The open member fd (size bytes) against its record. */
static int verify_member(const char *path, int fd, uint64_t size, struct evm_err *err)
{
    uint64_t want_len = 0;
    uint8_t want[DIGEST_LEN], got[DIGEST_LEN];
    int r = read_record(path, &want_len, want, err);
    if (r < 0)
        return r;
    if (size != want_len)
        return evm_errf(err, EBADMSG, "%s: %llu bytes, its record says %llu", path,
                        (unsigned long long)size, (unsigned long long)want_len);
    uint64_t hashed;
    r = digest_fd(fd, got, &hashed, err);
    if (r < 0)
        return evm_err_wrap(err, "%s", path);
    if (hashed != want_len)
        return evm_errf(err, EBADMSG, "%s: changed while it was being checked", path);
    if (memcmp(got, want, DIGEST_LEN) != 0)
        return evm_errf(err, EBADMSG, "%s: its SHA-256 does not match its record", path);
    if (lseek(fd, 0, SEEK_SET) != 0)
        return evm_errf(err, errno, "%s: seek: %s", path, strerror(errno));
    return 0;
}

int cachedir_open_member(const char *path, int *fd, uint64_t *len, struct evm_err *err)
{
    int f;
    uint64_t size;
    int r = atomicfile_open_owned(path, true, &f, &size, err);
    if (r < 0)
        return r;
    r = verify_member(path, f, size, err);
    if (r < 0) {
        close(f);
        return r;
    }
    *fd = f;
    *len = size;
    return 0;
}

static void remove_name(const char *path, const char *what)
{
    if (unlink(path) == 0)
        log_debug("binary-member cache: removed %s %s", what, path);
    else if (errno != ENOENT)
        log_warn("binary-member cache: cannot remove %s %s: %s", what, path, strerror(errno));
}

void cachedir_discard(const char *path)
{
    char *rpath = concat(path, CACHEDIR_RECORD_SUFFIX);
    remove_name(path, "member");
    if (rpath)
        remove_name(rpath, "record");
    free(rpath);
}

/* ---- pruning and sweeping ------------------------------------------------------------- */

static bool has_affixes(const char *name, const char *suffix)
{
    size_t n = strlen(name), ps = strlen(MEMBER_PREFIX), ss = strlen(suffix);
    return n > ps + ss && strncmp(name, MEMBER_PREFIX, ps) == 0 &&
           strcmp(name + n - ss, suffix) == 0;
}

static bool is_member_name(const char *name)
{
    return has_affixes(name, MEMBER_SUFFIX);
}

static bool is_record_name(const char *name)
{
    return has_affixes(name, MEMBER_SUFFIX CACHEDIR_RECORD_SUFFIX);
}

/* Last used (modified) more than CACHEDIR_KEEP_SECONDS before now; false when unknown. */
static bool unused_since(const char *path, time_t now)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_mtime < now - CACHEDIR_KEEP_SECONDS;
}

static void prune_entry(const char *dir, const char *name, const char *keep_name, time_t now)
{
    bool member = is_member_name(name), record = is_record_name(name);
    if ((!member && !record) || strcmp(name, keep_name) == 0)
        return;
    char *slash = concat(dir, "/");
    char *p = slash ? concat(slash, name) : NULL;
    free(slash);
    if (!p)
        return;
    if (member && unused_since(p, now)) {
        log_debug("binary-member cache: %s unused for over %d minutes", p,
                  CACHEDIR_KEEP_SECONDS / 60);
        cachedir_discard(p);
    } else if (record) {
        /* A record whose member is gone (a member is removed before its record). */
        char *m = strdup(p);
        if (m) {
            m[strlen(m) - strlen(CACHEDIR_RECORD_SUFFIX)] = '\0';
            if (path_exists(m) == 0 && unused_since(p, now))
                remove_name(p, "record");
        }
        free(m);
    }
    free(p);
}

void cachedir_prune(const char *keep)
{
    char *d = dirname_dup(keep);
    const char *sep = last_sep(keep);
    const char *keep_name = sep ? sep + 1 : keep;
    DIR *dir = d ? opendir(d) : NULL;
    if (!dir) {
        log_debug("binary-member cache: cannot list %s", d ? d : "?");
        free(d);
        return;
    }
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(dir)) != NULL)
        prune_entry(d, de->d_name, keep_name, now);
    closedir(dir);
    free(d);
}

static bool is_cache_stem(const char *stem, void *ctx)
{
    (void)ctx;
    return is_member_name(stem) || is_record_name(stem);
}

int cachedir_sweep(const char *dir, const char *out, struct evm_err *err)
{
    char *d = dir ? strdup(dir) : dirname_dup(out);
    if (!d)
        return evm_errf(err, ENOMEM, "out of memory");
    int r = atomicfile_sweep(d, is_cache_stem, NULL, err);
    free(d);
    return r;
}
