/* gen.c — makes the bench's deterministic inputs.
 *
 *   gen base OUT SIZE SEED     a newc cpio archive of exactly SIZE bytes (a multiple of 4):
 *                              one file, rootfs.tar.zst, of xoshiro256** bytes seeded by
 *                              splitmix64(SEED), then TRAILER!!! — incompressible, identical
 *                              on every run and machine, and a base initrd the kernel (and
 *                              `initrd inspect`) can walk.
 *   gen elf OUT SIZE LIST      concatenates the ELF files (first bytes "\x7fELF") named on
 *                              stdin (NUL-separated, in the order given) until SIZE bytes,
 *                              truncating the last one exactly; writes "<bytes> <path>" lines
 *                              for the files used to LIST. Non-ELF and unreadable files are
 *                              skipped; stdin is read to its end. Fails if the files run out
 *                              before SIZE.
 *
 * Both write OUT.tmp and rename it to OUT, so an interrupted run never leaves a
 * plausible-looking input behind. Standalone (no project sources). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (1u << 20)

struct rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static int write_all(int fd, const void *buf, size_t len, const char *what)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            fprintf(stderr, "gen: writing %s: %s\n", what, strerror(e));
            return -e;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int open_tmp(const char *out, char *tmp, size_t tmp_len)
{
    int n = snprintf(tmp, tmp_len, "%s.tmp", out);
    if (n < 0 || (size_t)n >= tmp_len) {
        fprintf(stderr, "gen: output path too long: %s\n", out);
        return -ENAMETOOLONG;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        fprintf(stderr, "gen: creating %s: %s\n", tmp, strerror(e));
        return -e;
    }
    return fd;
}

static int finish_tmp(int fd, const char *tmp, const char *out)
{
    if (close(fd) != 0) {
        int e = errno;
        fprintf(stderr, "gen: closing %s: %s\n", tmp, strerror(e));
        return -e;
    }
    if (rename(tmp, out) != 0) {
        int e = errno;
        fprintf(stderr, "gen: renaming %s to %s: %s\n", tmp, out, strerror(e));
        return -e;
    }
    return 0;
}

static int parse_u64(const char *s, const char *what, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
        fprintf(stderr, "gen: bad %s: %s\n", what, s);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* One newc header + name, padded to 4 (mtime 0, uid/gid 0, nlink 1). Returns its length. */
static size_t newc_header(char *dst, size_t cap, unsigned ino, unsigned mode, uint64_t filesize,
                          const char *name)
{
    size_t namesize = strlen(name) + 1;
    int n =
        snprintf(dst, cap, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode,
                 0u, 0u, 1u, 0u, (unsigned)filesize, 0u, 0u, 0u, 0u, (unsigned)namesize, 0u);
    size_t len = (size_t)n;
    memcpy(dst + len, name, namesize);
    len += namesize;
    while (len % 4 != 0)
        dst[len++] = '\0';
    return len;
}

/* A newc archive of exactly size bytes: one file BASE_MEMBER full of seeded random bytes
 * (like the base's already-compressed rootfs tarball), then TRAILER!!!. */
#define BASE_MEMBER "rootfs.tar.zst"
static int gen_base(const char *out, uint64_t size, uint64_t seed)
{
    char hdr[256], trailer[256];
    size_t hdr_len = newc_header(hdr, sizeof hdr, 1, 0100644, 0, BASE_MEMBER);
    size_t trailer_len = newc_header(trailer, sizeof trailer, 0, 0, 0, "TRAILER!!!");
    if (size % 4 != 0 || size < hdr_len + trailer_len ||
        size - hdr_len - trailer_len > UINT32_MAX) {
        fprintf(stderr, "gen: base size %" PRIu64 " must be a multiple of 4 in [%zu, 4 GiB)\n",
                size, hdr_len + trailer_len);
        return -EINVAL;
    }
    uint64_t data_len = size - hdr_len - trailer_len; /* a multiple of 4: no data padding */
    hdr_len = newc_header(hdr, sizeof hdr, 1, 0100644, data_len, BASE_MEMBER);

    struct rng r;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r.s[i] = splitmix64(&x);

    uint64_t *buf = malloc(CHUNK);
    if (buf == NULL) {
        fprintf(stderr, "gen: out of memory\n");
        return -ENOMEM;
    }
    char tmp[4096];
    int fd = open_tmp(out, tmp, sizeof tmp);
    if (fd < 0) {
        free(buf);
        return fd;
    }
    int rc = write_all(fd, hdr, hdr_len, tmp);
    for (uint64_t done = 0; done < data_len && rc == 0;) {
        for (size_t i = 0; i < CHUNK / sizeof *buf; i++)
            buf[i] = xoshiro_next(&r); /* host byte order: x86-64 only, like the bench */
        uint64_t n = data_len - done < CHUNK ? data_len - done : CHUNK;
        rc = write_all(fd, buf, (size_t)n, tmp);
        done += n;
    }
    if (rc == 0)
        rc = write_all(fd, trailer, trailer_len, tmp);
    free(buf);
    if (rc != 0) {
        close(fd);
        unlink(tmp);
        return rc;
    }
    return finish_tmp(fd, tmp, out);
}

/* Appends up to *left bytes of the ELF file at path to out_fd; sets *used to the bytes taken
 * (0 when the file is not an ELF file or cannot be opened). */
static int append_elf(const char *path, int out_fd, const char *tmp, uint64_t *left,
                      unsigned char *buf, uint64_t *used)
{
    *used = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return 0; /* vanished or unreadable: skip */
    int rc = 0;
    unsigned char magic[4];
    ssize_t n = pread(fd, magic, sizeof magic, 0);
    if (n != (ssize_t)sizeof magic || memcmp(magic, "\177ELF", sizeof magic) != 0)
        goto out;
    for (;;) {
        if (*left == 0)
            break;
        size_t want = *left < CHUNK ? (size_t)*left : CHUNK;
        n = read(fd, buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            fprintf(stderr, "gen: reading %s: %s\n", path, strerror(e));
            rc = -e;
            goto out;
        }
        if (n == 0)
            break;
        rc = write_all(out_fd, buf, (size_t)n, tmp);
        if (rc != 0)
            goto out;
        *left -= (uint64_t)n;
        *used += (uint64_t)n;
    }
out:
    close(fd);
    return rc;
}

static int gen_elf(const char *out, uint64_t size, const char *list_path)
{
    FILE *list = fopen(list_path, "w");
    if (list == NULL) {
        int e = errno;
        fprintf(stderr, "gen: creating %s: %s\n", list_path, strerror(e));
        return -e;
    }
    unsigned char *buf = malloc(CHUNK);
    if (buf == NULL) {
        fclose(list);
        fprintf(stderr, "gen: out of memory\n");
        return -ENOMEM;
    }
    char tmp[4096];
    int fd = open_tmp(out, tmp, sizeof tmp);
    if (fd < 0) {
        free(buf);
        fclose(list);
        return fd;
    }
    uint64_t left = size;
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (left > 0 && rc == 0) {
        ssize_t len = getdelim(&line, &cap, '\0', stdin);
        if (len < 0)
            break;
        if (len == 0 || line[0] == '\0')
            continue;
        uint64_t used = 0;
        rc = append_elf(line, fd, tmp, &left, buf, &used);
        if (rc == 0 && used > 0 && fprintf(list, "%" PRIu64 " %s\n", used, line) < 0)
            rc = -EIO;
    }
    /* Drain the rest of the list so the producer never dies of SIGPIPE (pipefail). */
    while (getdelim(&line, &cap, '\0', stdin) >= 0)
        ;
    free(line);
    free(buf);
    if (rc == 0 && left > 0) {
        fprintf(stderr,
                "gen: the ELF files listed ran out %" PRIu64 " bytes short of %" PRIu64 "\n", left,
                size);
        rc = -ENODATA;
    }
    if (fclose(list) != 0 && rc == 0) {
        int e = errno;
        fprintf(stderr, "gen: writing %s: %s\n", list_path, strerror(e));
        rc = -e;
    }
    if (rc != 0) {
        close(fd);
        unlink(tmp);
        return rc;
    }
    return finish_tmp(fd, tmp, out);
}

int main(int argc, char **argv)
{
    uint64_t size, seed;
    if (argc == 5 && strcmp(argv[1], "base") == 0) {
        if (parse_u64(argv[3], "size", &size) != 0 || parse_u64(argv[4], "seed", &seed) != 0)
            return 2;
        return gen_base(argv[2], size, seed) == 0 ? 0 : 1;
    }
    if (argc == 5 && strcmp(argv[1], "elf") == 0) {
        if (parse_u64(argv[3], "size", &size) != 0)
            return 2;
        return gen_elf(argv[2], size, argv[4]) == 0 ? 0 : 1;
    }
    fputs("usage: gen base OUT SIZE SEED\n"
          "       gen elf OUT SIZE LIST < NUL-separated paths\n",
          stderr);
    return 2;
}
