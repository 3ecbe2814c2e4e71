/* disk.c — design §4 step 6: waiting for the root disk's device node, recognising what the
 * disk holds from its superblock area, mkfs.ext4 only on an empty disk, mount, online grow.
 * The probe is a pure function over the first 68 KiB (disk_probe_buf) plus a read. */
#include "disk.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "fileutil.h"
#include "log.h"
#include "run.h"

/* ---- waiting ------------------------------------------------------------------------- */

/* NETLINK_KOBJECT_UEVENT and struct sockaddr_nl from the kernel's uapi linux/netlink.h,
 * kept here so the guest does not need kernel headers under musl. */
#define DISK_NETLINK_KOBJECT_UEVENT 15
struct disk_sockaddr_nl {
    sa_family_t nl_family;
    unsigned short nl_pad;
    uint32_t nl_pid;
    uint32_t nl_groups;
};

#define DISK_POLL_FALLBACK_MS 100 /* no inotify watch and no uevents: short re-checks */
#define DISK_POLL_SAFETY_MS 1000  /* with events: a re-check at least this often */

/* 0 when dev opens; else the positive errno (ENOENT: not there yet). */
static int disk_try_open(const char *dev)
{
    int fd = open(dev, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return errno;
    close(fd);
    return 0;
}

static int disk_uevent_socket(struct evm_err *err)
{
    int fd =
        socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, DISK_NETLINK_KOBJECT_UEVENT);
    if (fd < 0)
        return evm_errf(err, errno, "uevent socket: %s", strerror(errno));
    struct disk_sockaddr_nl sa;
    memset(&sa, 0, sizeof(sa));
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = 1; /* the kernel's uevent multicast group */
    if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return evm_errf(err, e, "binding the uevent socket: %s", strerror(e));
    }
    return fd;
}

/* Reads and discards whatever is queued: any event is only a reason to re-check. */
static void disk_drain(int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0)
            continue;
        if (n < 0 && (errno == EINTR || errno == ENOBUFS))
            continue; /* ENOBUFS: uevents were dropped; the re-check covers them */
        break;
    }
}

/* The directory holding dev ("." for a bare name). */
static int disk_dir_of(const char *dev, char *dir, size_t size, struct evm_err *err)
{
    const char *slash = strrchr(dev, '/');
    if (!slash) {
        snprintf(dir, size, ".");
        return 0;
    }
    size_t n = slash == dev ? 1 : (size_t)(slash - dev);
    if (n >= size)
        return evm_errf(err, ENAMETOOLONG, "disk: device path too long: %s", dev);
    memcpy(dir, dev, n);
    dir[n] = '\0';
    return 0;
}

/* What wakes the wait: an inotify watch on the device's directory and a uevent socket,
 * either of which may be missing. */
struct disk_events {
    int ino; /* -1 when none */
    bool watching;
    int uev; /* -1 when none */
};

/* Subscribes before the first check, so a node created in between still wakes the poll. */
static void disk_events_open(struct disk_events *ev, const char *dir)
{
    ev->watching = false;
    ev->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (ev->ino >= 0) {
        uint32_t mask = IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_CLOSE_WRITE;
        if (inotify_add_watch(ev->ino, dir, mask) >= 0)
            ev->watching = true;
        else
            log_debug("disk: cannot watch %s (%s); polling", dir, strerror(errno));
    }
    struct evm_err uerr = {0};
    ev->uev = disk_uevent_socket(&uerr);
    if (ev->uev < 0)
        log_debug("disk: no uevent socket (%s)", uerr.msg);
}

static void disk_events_close(struct disk_events *ev)
{
    if (ev->ino >= 0)
        close(ev->ino);
    if (ev->uev >= 0)
        close(ev->uev);
}

/* Waits at most wait_ms for an event that may mean the device changed. A missing node is
 * announced by inotify; one that exists but does not open yet (no medium, still being set
 * up) by a uevent. Without the one that applies it waits only briefly. */
static int disk_events_wait(const struct disk_events *ev, int last, uint64_t wait_ms,
                            struct evm_err *err)
{
    bool evented = last == ENOENT ? (ev->watching || ev->uev >= 0) : ev->uev >= 0;
    uint64_t cap = evented ? DISK_POLL_SAFETY_MS : DISK_POLL_FALLBACK_MS;
    if (wait_ms > cap)
        wait_ms = cap;
    struct pollfd pfd[2];
    nfds_t npfd = 0;
    if (ev->watching)
        pfd[npfd++] = (struct pollfd){.fd = ev->ino, .events = POLLIN};
    if (ev->uev >= 0)
        pfd[npfd++] = (struct pollfd){.fd = ev->uev, .events = POLLIN};
    if (poll(npfd ? pfd : NULL, npfd, (int)wait_ms) < 0 && errno != EINTR)
        return evm_errf(err, errno, "poll: %s", strerror(errno));
    if (ev->watching)
        disk_drain(ev->ino);
    if (ev->uev >= 0)
        disk_drain(ev->uev);
    return 0;
}

static int disk_wait_timeout(const char *dev, unsigned timeout_s, int last, struct evm_err *err)
{
    if (last == ENOENT)
        return evm_errf(err, ETIMEDOUT, "root disk %s did not appear within %u s", dev, timeout_s);
    return evm_errf(err, ETIMEDOUT, "root disk %s exists but could not be opened within %u s: %s",
                    dev, timeout_s, strerror(last));
}

int disk_wait(const char *dev, unsigned timeout_s, struct evm_err *err)
{
    if (!dev || !*dev)
        return evm_errf(err, EINVAL, "disk: no device given");
    char dir[4096];
    int rc = disk_dir_of(dev, dir, sizeof(dir), err);
    if (rc < 0)
        return rc;
    struct disk_events ev;
    disk_events_open(&ev, dir);
    uint64_t deadline = clock_monotonic_ms() + (uint64_t)timeout_s * 1000u;
    for (;;) {
        int last = disk_try_open(dev);
        if (last == 0)
            break;
        uint64_t now = clock_monotonic_ms();
        if (now >= deadline) {
            rc = disk_wait_timeout(dev, timeout_s, last, err);
            break;
        }
        rc = disk_events_wait(&ev, last, deadline - now, err);
        if (rc < 0) {
            evm_err_wrap(err, "disk: waiting for %s", dev);
            break;
        }
    }
    disk_events_close(&ev);
    return rc;
}

/* ---- probing ------------------------------------------------------------------------- */

static bool at(const unsigned char *buf, size_t len, size_t off, const void *sig, size_t n)
{
    return off + n <= len && memcmp(buf + off, sig, n) == 0;
}

static uint32_t le32_at(const unsigned char *buf, size_t len, size_t off)
{
    if (off + 4 > len)
        return 0;
    return (uint32_t)buf[off] | (uint32_t)buf[off + 1] << 8 | (uint32_t)buf[off + 2] << 16 |
           (uint32_t)buf[off + 3] << 24;
}

/* Signatures that live in the first KiB, which an ext filesystem leaves zeroed. */
static const char *probe_first_kib(const unsigned char *b, size_t len)
{
    if (at(b, len, 0, "XFSB", 4))
        return "xfs";
    if (at(b, len, 0, "LUKS\xba\xbe", 6) || at(b, len, 0, "SKUL\xba\xbe", 6))
        return "crypto_LUKS";
    if (at(b, len, 0, "hsqs", 4) || at(b, len, 0, "sqsh", 4))
        return "squashfs";
    if (le32_at(b, len, 0) == 0xa92b4efcu)
        return "linux_raid_member";
    if (at(b, len, 3, "NTFS    ", 8))
        return "ntfs";
    if (at(b, len, 3, "EXFAT   ", 8))
        return "exfat";
    for (size_t s = 0; s < 4; s++) {
        if (at(b, len, s * 512, "LABELONE", 8) && at(b, len, s * 512 + 24, "LVM2 001", 8))
            return "LVM2_member";
    }
    if (at(b, len, 512, "EFI PART", 8))
        return "gpt partition table";
    bool boot_sig = at(b, len, 510, "\x55\xaa", 2);
    if (boot_sig && (at(b, len, 54, "FAT12   ", 8) || at(b, len, 54, "FAT16   ", 8) ||
                     at(b, len, 82, "FAT32   ", 8) || at(b, len, 54, "FAT     ", 8)))
        return "vfat";
    if (boot_sig)
        return "dos partition table";
    return NULL;
}

/* Signatures deeper in, looked for only when there is no ext superblock (there, those
 * offsets hold ext metadata or file data). */
static const char *probe_deep(const unsigned char *b, size_t len)
{
    static const size_t pages[] = {4096, 8192, 16384, 65536};
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        size_t off = pages[i] - 10;
        if (at(b, len, off, "SWAPSPACE2", 10) || at(b, len, off, "SWAP-SPACE", 10))
            return "swap";
        if (at(b, len, off, "S1SUSPEND", 9) || at(b, len, off, "S2SUSPEND", 9) ||
            at(b, len, off, "ULSUSPEND", 9) || at(b, len, off, "LINHIB0001", 10))
            return "swsuspend";
    }
    if (at(b, len, 65536 + 64, "_BHRfS_M", 8))
        return "btrfs";
    if (le32_at(b, len, 1024) == 0xF2F52010u)
        return "f2fs";
    if (at(b, len, 4096, "EFI PART", 8))
        return "gpt partition table";
    if (le32_at(b, len, 4096) == 0xa92b4efcu)
        return "linux_raid_member";
    static const size_t reiser_offs[] = {65536 + 52, 8192 + 52};
    for (size_t i = 0; i < 2; i++) {
        size_t o = reiser_offs[i];
        if (at(b, len, o, "ReIsErFs", 8) || at(b, len, o, "ReIsEr2Fs", 9) ||
            at(b, len, o, "ReIsEr3Fs", 9))
            return "reiserfs";
    }
    if (at(b, len, 32769, "CD001", 5))
        return "iso9660";
    return NULL;
}

#define EXT_SB 1024u
#define EXT_FEATURE_COMPAT_HAS_JOURNAL 0x0004u
#define EXT_FEATURE_INCOMPAT_JOURNAL_DEV 0x0008u
/* extents, 64bit, mmp, flex_bg, ea_inode, dirdata, csum_seed, largedir, inline_data,
 * encrypt, casefold: any of these needs ext4. */
#define EXT4_INCOMPAT_MASK 0xFFC0u
/* huge_file, gdt_csum, dir_nlink, extra_isize, quota, bigalloc, metadata_csum... */
#define EXT4_RO_COMPAT_MASK 0xFFF8u

static void set_name(char *name, size_t namelen, const char *s1, const char *s2)
{
    if (name && namelen > 0)
        snprintf(name, namelen, "%s%s%s", s1, s2 ? " + " : "", s2 ? s2 : "");
}

enum fs_kind disk_probe_buf(const unsigned char *buf, size_t len, char *name, size_t namelen)
{
    const char *first = probe_first_kib(buf, len);
    if (at(buf, len, EXT_SB + 56, "\x53\xef", 2)) {
        uint32_t compat = le32_at(buf, len, EXT_SB + 92);
        uint32_t incompat = le32_at(buf, len, EXT_SB + 96);
        uint32_t ro_compat = le32_at(buf, len, EXT_SB + 100);
        const char *ext = "ext2";
        if ((incompat & EXT4_INCOMPAT_MASK) || (ro_compat & EXT4_RO_COMPAT_MASK))
            ext = "ext4";
        else if (compat & EXT_FEATURE_COMPAT_HAS_JOURNAL)
            ext = "ext3";
        if (incompat & EXT_FEATURE_INCOMPAT_JOURNAL_DEV) {
            set_name(name, namelen, "jbd", first);
            return FS_OTHER;
        }
        if (first) {
            set_name(name, namelen, ext, first);
            return FS_OTHER;
        }
        set_name(name, namelen, ext, NULL);
        return FS_EXT;
    }
    const char *other = first ? first : probe_deep(buf, len);
    if (other) {
        set_name(name, namelen, other, NULL);
        return FS_OTHER;
    }
    set_name(name, namelen, "", NULL);
    return FS_NONE;
}

int disk_probe(const char *dev, enum fs_kind *kind, char *name, size_t namelen, struct evm_err *err)
{
    int fd = open(dev, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return evm_errf(err, e, "disk: cannot open %s: %s", dev, strerror(e));
    }
    unsigned char *buf = calloc(1, DISK_PROBE_BYTES);
    if (!buf) {
        close(fd);
        return evm_errf(err, ENOMEM, "disk: probing %s: out of memory", dev);
    }
    /* A short device or image: the rest reads as zero. */
    char what[4200];
    snprintf(what, sizeof(what), "the superblock area of %s", dev);
    size_t got = 0;
    int rc = read_full(fd, buf, DISK_PROBE_BYTES, &got, err, what);
    close(fd);
    if (rc < 0)
        evm_err_wrap(err, "disk");
    else
        *kind = disk_probe_buf(buf, got, name, namelen);
    free(buf);
    return rc;
}

/* ---- preparing ----------------------------------------------------------------------- */

static int disk_sys_mount(const char *source, const char *target, const char *fstype,
                          unsigned long flags, const char *data, void *ctx)
{
    (void)ctx;
    return mount(source, target, fstype, flags, data);
}

#ifndef BLKGETSIZE64
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)
#endif

/* True when the ext filesystem on dev already spans the device (to within 1 MiB), so growing
 * it would do nothing: resize2fs is then not run, which saves an exec and a superblock scan
 * on every boot. Any doubt (unreadable, not ext) answers false, and resize2fs decides. */
static bool ext_fills_device(const char *dev)
{
    int fd = open(dev, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    unsigned char sb[1024];
    struct stat st;
    uint64_t dev_bytes = 0;
    bool ok = pread(fd, sb, sizeof(sb), 1024) == (ssize_t)sizeof(sb) && fstat(fd, &st) == 0;
    if (ok && S_ISBLK(st.st_mode))
        ok = ioctl(fd, BLKGETSIZE64, &dev_bytes) == 0;
    else if (ok)
        dev_bytes = (uint64_t)st.st_size;
    close(fd);
    if (!ok || sb[56] != 0x53 || sb[57] != 0xef)
        return false;
    uint32_t lo =
        (uint32_t)sb[4] | (uint32_t)sb[5] << 8 | (uint32_t)sb[6] << 16 | (uint32_t)sb[7] << 24;
    uint32_t log_bs = (uint32_t)sb[24] | (uint32_t)sb[25] << 8;
    uint32_t incompat =
        (uint32_t)sb[96] | (uint32_t)sb[97] << 8 | (uint32_t)sb[98] << 16 | (uint32_t)sb[99] << 24;
    uint64_t blocks = lo;
    if (incompat & 0x80) /* 64bit */
        blocks |= (uint64_t)((uint32_t)sb[336] | (uint32_t)sb[337] << 8 | (uint32_t)sb[338] << 16 |
                             (uint32_t)sb[339] << 24)
                  << 32;
    if (log_bs > 6)
        return false;
    uint64_t fs_bytes = blocks * (1024u << log_bs);
    return fs_bytes <= dev_bytes && dev_bytes - fs_bytes < (1u << 20);
}

int disk_prepare(const char *dev, const char *mnt, const struct disk_tools *tools, bool *formatted,
                 struct evm_err *err)
{
    *formatted = false;
    enum fs_kind kind;
    char name[96];
    int rc = disk_probe(dev, &kind, name, sizeof(name), err);
    if (rc < 0)
        return rc;

    if (kind == FS_OTHER)
        return evm_errf(err, EEXIST,
                        "%s holds %s, not an ext filesystem: refusing to format or mount it "
                        "(give the VM an empty disk, or wipe this one on the host)",
                        dev, name);
    if (kind == FS_NONE) {
        if (!tools->mkfs_ext4)
            return evm_errf(err, EINVAL, "disk: %s is empty and no mkfs.ext4 was given", dev);
        log_info("%s holds no filesystem: creating ext4 (label ephemerd-root)", dev);
        const char *argv[] = {tools->mkfs_ext4, "-q", "-L", "ephemerd-root", "-F", dev, NULL};
        rc = run_program(argv, NULL, err);
        if (rc < 0)
            return evm_err_wrap(err, "formatting %s", dev);
        rc = disk_probe(dev, &kind, name, sizeof(name), err);
        if (rc < 0)
            return rc;
        if (kind != FS_EXT)
            return evm_errf(err, EIO, "%s: %s succeeded but the disk shows %s afterwards", dev,
                            tools->mkfs_ext4, kind == FS_NONE ? "no filesystem" : name);
        *formatted = true;
    } else {
        log_info("%s holds an existing %s filesystem", dev, name);
    }

    disk_mount_fn do_mount = tools->mount ? tools->mount : disk_sys_mount;
    if (do_mount(dev, mnt, "ext4", MS_NOATIME, NULL, tools->mount_ctx) < 0) {
        int e = errno;
        return evm_errf(err, e, "mounting %s (ext4, noatime) at %s: %s%s", dev, mnt, strerror(e),
                        e == EINVAL ? " (corrupt filesystem, or ext4 missing from the kernel?)"
                                    : "");
    }

    if (!*formatted && tools->resize2fs && ext_fills_device(dev)) {
        log_info("%s: the filesystem already fills the disk", dev);
    } else if (!*formatted && tools->resize2fs) {
        const char *argv[] = {tools->resize2fs, dev, NULL};
        struct evm_err rerr = {0};
        if (run_program(argv, NULL, &rerr) < 0)
            log_warn("growing %s failed, continuing with its current size: %s", dev, rerr.msg);
    }
    return 0;
}
