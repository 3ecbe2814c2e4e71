/* swap.c — the swapfile: its size by the documented rule (swap_size_mb: what the root
 * filesystem can hold), allocated with fallocate (zeros written where that is not
 * supported), a swap v1 header written here instead of exec'ing mkswap, atomic rename into
 * place; swapon on a regular file only; swap_setup, the never-fatal sequence the init runs on
 * a thread of its own after the launch (swap_job). */
#include "swap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cmdline.h" /* SWAP_FS_DIVISOR, SWAP_RESERVE_MB, SWAP_MIN_MB */
#include "log.h"
#include "random.h"

/* The kernel's union swap_header (include/linux/swap.h), info part: it follows 1024 bytes
 * of boot bits; the magic occupies the last 10 bytes of the first page. */
#define SWAP_BOOTBITS 1024u
#define SWAP_OFF_VERSION (SWAP_BOOTBITS + 0)
#define SWAP_OFF_LAST_PAGE (SWAP_BOOTBITS + 4)
#define SWAP_OFF_NR_BADPAGES (SWAP_BOOTBITS + 8)
#define SWAP_OFF_UUID (SWAP_BOOTBITS + 12)
#define SWAP_OFF_LABEL (SWAP_BOOTBITS + 28)
#define SWAP_LABEL_LEN 16u
#define SWAP_MAGIC "SWAPSPACE2"
#define SWAP_MAGIC_LEN 10u
#define SWAP_MIN_PAGES 10u
#define SWAP_ZERO_CHUNK (1024u * 1024u)

static size_t swap_page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    return ps >= 4096 ? (size_t)ps : 4096u;
}

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v)); /* the header is in the kernel's (native) byte order */
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Allocates [0, size) of fd: fallocate, or zeros written where it is unsupported. */
static int swap_allocate(int fd, const char *path, uint64_t size, struct evm_err *err)
{
    if (fallocate(fd, 0, 0, (off_t)size) == 0)
        return 0;
    int e = errno;
    if (e != EOPNOTSUPP && e != ENOSYS)
        return evm_errf(err, e, "swap: allocating %llu MiB for %s: %s",
                        (unsigned long long)(size >> 20), path, strerror(e));
    log_debug("swap: no fallocate on the filesystem of %s; writing zeros", path);
    unsigned char *zeros = calloc(1, SWAP_ZERO_CHUNK);
    if (!zeros)
        return evm_errf(err, ENOMEM, "swap: out of memory");
    int rc = 0;
    for (uint64_t off = 0; off < size && rc == 0;) {
        size_t n = size - off < SWAP_ZERO_CHUNK ? (size_t)(size - off) : SWAP_ZERO_CHUNK;
        ssize_t w = pwrite(fd, zeros, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            rc = evm_errf(err, e, "swap: writing %s: %s", path, strerror(e));
        } else {
            off += (uint64_t)w;
        }
    }
    free(zeros);
    return rc;
}

static int swap_write_header(int fd, const char *path, uint64_t size, size_t ps,
                             struct evm_err *err)
{
    unsigned char *page = calloc(1, ps);
    if (!page)
        return evm_errf(err, ENOMEM, "swap: out of memory");
    put32(page + SWAP_OFF_VERSION, 1);
    put32(page + SWAP_OFF_LAST_PAGE, (uint32_t)(size / ps - 1));
    put32(page + SWAP_OFF_NR_BADPAGES, 0);
    unsigned char *uuid = page + SWAP_OFF_UUID;
    int rc = random_bytes(uuid, 16, err);
    if (rc == 0) {
        uuid[6] = (unsigned char)((uuid[6] & 0x0f) | 0x40); /* version 4 (random) */
        uuid[8] = (unsigned char)((uuid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
        memcpy(page + SWAP_OFF_LABEL, SWAP_LABEL, sizeof(SWAP_LABEL) - 1);
        memcpy(page + ps - SWAP_MAGIC_LEN, SWAP_MAGIC, SWAP_MAGIC_LEN);
        size_t done = 0;
        while (done < ps && rc == 0) {
            ssize_t w = pwrite(fd, page + done, ps - done, (off_t)done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                int e = w < 0 ? errno : EIO;
                rc = evm_errf(err, e, "swap: writing the header of %s: %s", path, strerror(e));
            } else {
                done += (size_t)w;
            }
        }
    }
    free(page);
    return rc;
}

/* The directory holding path, into dir[cap]. */
static int swap_dir_of(const char *path, char *dir, size_t cap, struct evm_err *err)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, cap, ".");
    else if (slash == path)
        snprintf(dir, cap, "/");
    else if ((size_t)(slash - path) < cap)
        snprintf(dir, cap, "%.*s", (int)(slash - path), path);
    else
        return evm_errf(err, ENAMETOOLONG, "swap: path too long: %s", path);
    return 0;
}

/* "<path>.new", the temporary swap_create writes, into tmp[cap]. */
static int swap_tmp_path(const char *path, char *tmp, size_t cap, struct evm_err *err)
{
    if (snprintf(tmp, cap, "%s.new", path) >= (int)cap)
        return evm_errf(err, ENAMETOOLONG, "swap: path too long: %s", path);
    return 0;
}

/* Removes the temporary of an interrupted swap_create (by its own name only). */
static int swap_remove_leftover(const char *tmp, struct evm_err *err)
{
    if (unlink(tmp) < 0 && errno != ENOENT) {
        int e = errno;
        return evm_errf(err, e, "swap: removing the leftover %s: %s", tmp, strerror(e));
    }
    return 0;
}

static int swap_fsync_dir_of(const char *path, struct evm_err *err)
{
    char dir[4096];
    int r = swap_dir_of(path, dir, sizeof(dir), err);
    if (r < 0)
        return r;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return evm_errf(err, errno, "swap: opening %s: %s", dir, strerror(errno));
    int rc = 0;
    if (fsync(fd) < 0)
        rc = evm_errf(err, errno, "swap: fsync of the directory of %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

int swap_create(const char *path, unsigned mb, struct evm_err *err)
{
    if (mb == 0)
        return 0;
    size_t ps = swap_page_size();
    uint64_t size = (uint64_t)mb << 20;
    if (size / ps < SWAP_MIN_PAGES)
        return evm_errf(err, EINVAL, "swap: %u MiB is too small for a swap area (%u pages)", mb,
                        SWAP_MIN_PAGES);
    if (size / ps - 1 > UINT32_MAX || (uint64_t)(off_t)size != size)
        return evm_errf(err, EINVAL, "swap: %u MiB is too large for a swapfile", mb);

    char tmp[4096];
    int rc = swap_tmp_path(path, tmp, sizeof(tmp), err);
    if (rc == 0)
        rc = swap_remove_leftover(tmp, err);
    if (rc < 0)
        return rc;
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        return evm_errf(err, e, "swap: creating %s: %s", tmp, strerror(e));
    }
    if (fchmod(fd, 0600) < 0) {
        int e = errno;
        rc = evm_errf(err, e, "swap: chmod %s: %s", tmp, strerror(e));
    }
    if (rc == 0)
        rc = swap_allocate(fd, tmp, size, err);
    if (rc == 0)
        rc = swap_write_header(fd, tmp, size, ps, err);
    if (rc == 0 && fsync(fd) < 0) {
        int e = errno;
        rc = evm_errf(err, e, "swap: fsync %s: %s", tmp, strerror(e));
    }
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0) {
        int e = errno;
        rc = evm_errf(err, e, "swap: renaming %s to %s: %s", tmp, path, strerror(e));
    }
    if (rc < 0) {
        unlink(tmp);
        return rc;
    }
    rc = swap_fsync_dir_of(path, err);
    if (rc < 0)
        return rc;
    log_info("swap: created %s (%u MiB)", path, mb);
    return 0;
}

int swap_read_header(int fd, struct swap_header_info *out, struct evm_err *err)
{
    size_t ps = swap_page_size();
    unsigned char *page = calloc(1, ps);
    if (!page)
        return evm_errf(err, ENOMEM, "swap: out of memory");
    size_t got = 0;
    int rc = 0;
    while (got < ps) {
        ssize_t n = pread(fd, page + got, ps - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            rc = evm_errf(err, e, "swap: reading the header: %s", strerror(e));
            break;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (rc == 0 && (got < ps || memcmp(page + ps - SWAP_MAGIC_LEN, SWAP_MAGIC, SWAP_MAGIC_LEN)))
        rc = evm_errf(err, EINVAL, "swap: no \"" SWAP_MAGIC "\" at offset %zu", ps - 10);
    if (rc == 0) {
        memset(out, 0, sizeof(*out));
        out->version = get32(page + SWAP_OFF_VERSION);
        out->last_page = get32(page + SWAP_OFF_LAST_PAGE);
        out->nr_badpages = get32(page + SWAP_OFF_NR_BADPAGES);
        memcpy(out->uuid, page + SWAP_OFF_UUID, 16);
        memcpy(out->label, page + SWAP_OFF_LABEL, SWAP_LABEL_LEN);
        out->label[SWAP_LABEL_LEN] = '\0';
    }
    free(page);
    return rc;
}

int swap_enable(const char *path, struct evm_err *err)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        int e = errno;
        return evm_errf(err, e, "swap: %s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode))
        return evm_errf(err, EINVAL, "swap: %s is not a regular file (%s): not enabling it", path,
                        S_ISLNK(st.st_mode) ? "a symlink" : "a special file or directory");
    if ((st.st_mode & 07777) != 0600) {
        log_warn("swap: %s had mode %04o; setting 0600", path, (unsigned)(st.st_mode & 07777));
        if (chmod(path, 0600) < 0) {
            int e = errno;
            return evm_errf(err, e, "swap: chmod 0600 %s: %s", path, strerror(e));
        }
    }
    if (swapon(path, 0) < 0) {
        int e = errno;
        if (e == EBUSY) {
            log_info("swap: %s is already enabled", path);
            return 0;
        }
        return evm_errf(err, e, "swap: swapon %s: %s%s", path, strerror(e),
                        e == EINVAL ? " (a filesystem without swapfile support, a file with "
                                      "holes, or no valid swap header)"
                                    : "");
    }
    log_info("swap: enabled %s (%lld MiB)", path, (long long)(st.st_size >> 20));
    return 0;
}

/* ---- sizing and step 7 -------------------------------------------------------------- */

unsigned swap_size_mb(unsigned requested_mb, uint64_t fs_total_bytes, uint64_t fs_avail_bytes,
                      bool *capped)
{
    uint64_t mb = requested_mb;
    uint64_t share = (fs_total_bytes >> 20) / SWAP_FS_DIVISOR;
    uint64_t free_mb = fs_avail_bytes >> 20;
    uint64_t room = free_mb > SWAP_RESERVE_MB ? free_mb - SWAP_RESERVE_MB : 0;
    if (share < mb)
        mb = share;
    if (room < mb)
        mb = room;
    if (mb < SWAP_MIN_MB)
        mb = 0;
    if (capped)
        *capped = mb < requested_mb;
    return (unsigned)mb;
}

/* Size and free space of the filesystem holding dir. */
static int swap_measure(const char *dir, uint64_t *total, uint64_t *avail, struct evm_err *err)
{
    struct statvfs sv;
    if (statvfs(dir, &sv) < 0) {
        int e = errno;
        return evm_errf(err, e, "swap: statvfs %s: %s", dir, strerror(e));
    }
    uint64_t unit = sv.f_frsize ? (uint64_t)sv.f_frsize : (uint64_t)sv.f_bsize;
    *total = (uint64_t)sv.f_blocks * unit;
    *avail = (uint64_t)sv.f_bavail * unit;
    return 0;
}

/* The warning for a capped or skipped request (on the console, where the operator looks). */
static void swap_warn_capped(unsigned requested, unsigned granted, uint64_t total, uint64_t avail)
{
    unsigned long long fs_mb = total >> 20, free_mb = avail >> 20;
    if (granted > 0)
        log_warn("swap: %u MiB requested, %u MiB granted: a swapfile takes at most 1/%u of the "
                 "root filesystem (%llu MiB) and leaves %u MiB of its free space (%llu MiB)",
                 requested, granted, SWAP_FS_DIVISOR, fs_mb, SWAP_RESERVE_MB, free_mb);
    else if (requested < SWAP_MIN_MB)
        log_warn("swap: %u MiB requested, none granted: below the %u MiB minimum swapfile; "
                 "booting without swap",
                 requested, SWAP_MIN_MB);
    else
        log_warn("swap: %u MiB requested, none granted: the root filesystem (%llu MiB, %llu MiB "
                 "free) holds less than the %u MiB minimum swapfile (at most 1/%u of it, "
                 "leaving %u MiB free); booting without swap",
                 requested, fs_mb, free_mb, SWAP_MIN_MB, SWAP_FS_DIVISOR, SWAP_RESERVE_MB);
}

/* path does not exist: a swapfile as large as the filesystem allows, up to requested_mb. */
static void swap_create_fitted(const char *path, unsigned requested_mb, struct swap_outcome *o)
{
    struct evm_err err = {0};
    char tmp[4096], dir[4096];
    uint64_t total = 0, avail = 0;
    /* The leftover first: its blocks would count as used. */
    int r = swap_tmp_path(path, tmp, sizeof(tmp), &err);
    if (r == 0)
        r = swap_remove_leftover(tmp, &err);
    if (r == 0)
        r = swap_dir_of(path, dir, sizeof(dir), &err);
    if (r == 0)
        r = swap_measure(dir, &total, &avail, &err);
    if (r < 0) {
        log_warn("%s; booting without swap", err.msg);
        return;
    }
    bool capped = false;
    unsigned mb = swap_size_mb(requested_mb, total, avail, &capped);
    if (capped)
        swap_warn_capped(requested_mb, mb, total, avail);
    if (mb == 0)
        return;
    if (swap_create(path, mb, &err) < 0) {
        log_warn("%s; booting without swap", err.msg);
        return;
    }
    o->granted_mb = mb;
    o->created = true;
}

static bool swap_missing(const char *path)
{
    struct stat st;
    return lstat(path, &st) < 0 && errno == ENOENT;
}

void swap_setup(const char *path, unsigned requested_mb, struct swap_outcome *out)
{
    struct swap_outcome o = {.granted_mb = 0, .created = false, .enabled = false};
    struct evm_err err = {0};
    if (requested_mb == 0)
        log_info("swap: none (ephemerd.swap_mb=0)");
    if (requested_mb > 0 && swap_missing(path))
        swap_create_fitted(path, requested_mb, &o);
    /* An existing swapfile (also one another size) is used as it is. */
    if (requested_mb > 0 && !swap_missing(path)) {
        o.enabled = swap_enable(path, &err) == 0;
        if (!o.enabled)
            log_warn("%s; booting without swap", err.msg);
    }
    if (out)
        *out = o;
}

static void *swap_job_main(void *arg)
{
    struct swap_job *job = arg;
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SWAP_NICE) != 0)
        log_debug("setpriority: %s", strerror(errno));
    swap_setup(job->path, job->requested_mb, &job->out);
    return NULL;
}

int swap_job_start(struct swap_job *job, struct evm_err *err)
{
    memset(&job->out, 0, sizeof(job->out));
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&job->th, NULL, swap_job_main, job);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0)
        return evm_errf(err, e, "starting the swap thread: %s", strerror(e));
    return 0;
}

void swap_job_wait(struct swap_job *job)
{
    pthread_join(job->th, NULL);
}
