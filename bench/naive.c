/* naive.c — the bench's baseline: "the approach this replaces". Reads the base initrd, the
 * daemon binary and the config fully into memory, builds the newc cpio tail in memory
 * (assets/ 0755, assets/ephemerd-linux 0755, assets/config.toml 0600, TRAILER!!!), gzips
 * the whole tail at level 6 in one deflate call into a second buffer, then writes
 * base ‖ zero padding to 4 ‖ gzipped tail to OUT (mode 0600, no temp file, no fsync).
 * Peak memory is the sum of those buffers (~base + 2 × binary + compressed tail).
 *
 *   naive BASE BINARY CONFIG OUT
 *
 * Standalone (zlib only): it is a yardstick, not project code. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct buf {
    unsigned char *data;
    size_t len;
    size_t cap;
};

static int read_whole(const char *path, struct buf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        fprintf(stderr, "naive: opening %s: %s\n", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        fprintf(stderr, "naive: stat %s: %s\n", path, strerror(e));
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "naive: %s is not a regular file\n", path);
        close(fd);
        return -EINVAL;
    }
    b->cap = (size_t)st.st_size;
    b->len = 0;
    b->data = malloc(b->cap ? b->cap : 1);
    if (b->data == NULL) {
        fprintf(stderr, "naive: out of memory reading %s\n", path);
        close(fd);
        return -ENOMEM;
    }
    while (b->len < b->cap) {
        ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            fprintf(stderr, "naive: reading %s: %s\n", path, strerror(e));
            close(fd);
            return -e;
        }
        if (n == 0) {
            fprintf(stderr, "naive: %s shrank while being read\n", path);
            close(fd);
            return -EIO;
        }
        b->len += (size_t)n;
    }
    close(fd);
    return 0;
}

static size_t pad4(size_t n)
{
    return (4 - (n & 3)) & 3;
}

static size_t newc_entry_size(const char *name, size_t data_len)
{
    size_t hdr = 110 + strlen(name) + 1;
    return hdr + pad4(hdr) + data_len + pad4(data_len);
}

/* Appends one newc entry; b must have room (sized by newc_entry_size). */
static void newc_put(struct buf *b, unsigned ino, unsigned mode, const char *name,
                     const unsigned char *data, size_t data_len)
{
    size_t namesize = strlen(name) + 1;
    char hdr[111];
    /* magic ino mode uid gid nlink mtime filesize devmaj devmin rdevmaj rdevmin namesize chk */
    snprintf(hdr, sizeof hdr, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino,
             mode, 0u, 0u, 1u, 0u, (unsigned)data_len, 0u, 0u, 0u, 0u, (unsigned)namesize, 0u);
    memcpy(b->data + b->len, hdr, 110);
    b->len += 110;
    memcpy(b->data + b->len, name, namesize);
    b->len += namesize;
    size_t p = pad4(110 + namesize);
    memset(b->data + b->len, 0, p);
    b->len += p;
    if (data_len > 0)
        memcpy(b->data + b->len, data, data_len);
    b->len += data_len;
    p = pad4(data_len);
    memset(b->data + b->len, 0, p);
    b->len += p;
}

static int gzip6(const struct buf *in, struct buf *out)
{
    if (in->len > UINT32_MAX / 2) {
        fputs("naive: tail too large for a single deflate call\n", stderr);
        return -EFBIG;
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* windowBits 15 + 16: gzip wrapper; zlib's default header has mtime 0. */
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        fprintf(stderr, "naive: deflateInit2 failed\n");
        return -ENOMEM;
    }
    out->cap = deflateBound(&zs, (uLong)in->len);
    out->len = 0;
    out->data = malloc(out->cap);
    if (out->data == NULL) {
        deflateEnd(&zs);
        fprintf(stderr, "naive: out of memory for the compressed tail\n");
        return -ENOMEM;
    }
    zs.next_in = in->data;
    zs.avail_in = (uInt)in->len;
    zs.next_out = out->data;
    zs.avail_out = (uInt)out->cap;
    int zrc = deflate(&zs, Z_FINISH);
    out->len = out->cap - zs.avail_out;
    deflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        fprintf(stderr, "naive: deflate did not finish (%d)\n", zrc);
        return -EIO;
    }
    return 0;
}

static int write_all(int fd, const unsigned char *p, size_t len, const char *path)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            fprintf(stderr, "naive: writing %s: %s\n", path, strerror(e));
            return -e;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fputs("usage: naive BASE BINARY CONFIG OUT\n", stderr);
        return 2;
    }
    struct buf base = {0}, bin = {0}, cfg = {0}, tail = {0}, gz = {0};
    if (read_whole(argv[1], &base) != 0 || read_whole(argv[2], &bin) != 0 ||
        read_whole(argv[3], &cfg) != 0)
        return 1;
    if (bin.len > UINT32_MAX || cfg.len > UINT32_MAX) {
        fputs("naive: input too large for newc\n", stderr);
        return 1;
    }

    tail.cap = newc_entry_size("assets", 0) + newc_entry_size("assets/ephemerd-linux", bin.len) +
               newc_entry_size("assets/config.toml", cfg.len) + newc_entry_size("TRAILER!!!", 0);
    tail.data = malloc(tail.cap);
    if (tail.data == NULL) {
        fputs("naive: out of memory for the tail\n", stderr);
        return 1;
    }
    newc_put(&tail, 1, 040755, "assets", NULL, 0);
    newc_put(&tail, 2, 0100755, "assets/ephemerd-linux", bin.data, bin.len);
    newc_put(&tail, 3, 0100600, "assets/config.toml", cfg.data, cfg.len);
    newc_put(&tail, 0, 0, "TRAILER!!!", NULL, 0);

    if (gzip6(&tail, &gz) != 0)
        return 1;

    int fd = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "naive: creating %s: %s\n", argv[4], strerror(errno));
        return 1;
    }
    static const unsigned char zeros[4];
    if (write_all(fd, base.data, base.len, argv[4]) != 0 ||
        write_all(fd, zeros, pad4(base.len), argv[4]) != 0 ||
        write_all(fd, gz.data, gz.len, argv[4]) != 0) {
        close(fd);
        return 1;
    }
    if (close(fd) != 0) {
        fprintf(stderr, "naive: closing %s: %s\n", argv[4], strerror(errno));
        return 1;
    }
    free(base.data);
    free(bin.data);
    free(cfg.data);
    free(tail.data);
    free(gz.data);
    return 0;
}
