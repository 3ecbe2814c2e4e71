/* test_disk.c — the root disk step (design §4 step 6) on image files: superblock detection
 * (real ext2/ext4 made by e2fsprogs, blank, short, and other filesystems' signatures written
 * here), disk_prepare's decisions with the real mkfs.ext4/resize2fs on an image file and the
 * mount replaced by a recording hook, the same on a real loop device with a real mount when
 * loop devices work, disk_wait on a temporary directory, and run_program. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "disk.h"
#include "run.h"
#include "testutil.h"

#define MKFS "/sbin/mkfs.ext4"
#define MKE2FS "/sbin/mke2fs"
#define RESIZE "/sbin/resize2fs"
#define DEBUGFS "/sbin/debugfs"

static bool have(const char *prog)
{
    return access(prog, X_OK) == 0;
}

static void sh(const char *fmt, ...) EVM_PRINTF(1, 2);
static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st != 0)
        fail_msg("command failed (%d): %s", st, cmd);
}

/* Runs a command and returns its stdout (malloc'd). */
static char *sh_out(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t n;
    while ((n = fread(buf + len, 1, cap - 1 - len, f)) > 0)
        len += n;
    buf[len] = '\0';
    pclose(f);
    return buf;
}

/* A sparse file of mb MiB. */
static void make_image(const char *path, unsigned mb)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)mb << 20), 0);
    close(fd);
}

static void poke(const char *path, off_t off, const void *bytes, size_t n)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
    close(fd);
}

static void peek(const char *path, off_t off, void *bytes, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, bytes, n, off), (ssize_t)n);
    close(fd);
}

static uint32_t ext_blocks(const char *img)
{
    uint32_t v;
    peek(img, 1024 + 4, &v, 4); /* s_blocks_count_lo (little-endian host) */
    return v;
}

static enum fs_kind probe(const char *path, char *name, size_t namelen)
{
    enum fs_kind kind = (enum fs_kind) - 1;
    struct evm_err err = {0};
    int rc = disk_probe(path, &kind, name, namelen, &err);
    if (rc != 0)
        fail_msg("disk_probe(%s): %d %s", path, rc, err.msg);
    return kind;
}

/* ---- disk_probe ---------------------------------------------------------------------- */

static void test_probe_ext(void **state)
{
    (void)state;
    if (!have(MKFS))
        skip();
    char *dir = tu_tmpdir();
    char *img = tu_path(dir, "ext4.img");
    make_image(img, 32);
    sh(MKFS " -q -F %s", img);
    char name[64];
    assert_int_equal(probe(img, name, sizeof(name)), FS_EXT);
    assert_string_equal(name, "ext4");
    if (have(MKE2FS)) {
        make_image(img, 32);
        sh(MKE2FS " -q -F -t ext2 %s", img);
        assert_int_equal(probe(img, name, sizeof(name)), FS_EXT);
        assert_string_equal(name, "ext2");
        make_image(img, 32);
        sh(MKE2FS " -q -F -t ext3 %s", img);
        assert_int_equal(probe(img, name, sizeof(name)), FS_EXT);
        assert_string_equal(name, "ext3");
    }
    /* A boot sector signature on top of the ext superblock is ambiguous: not ours. */
    make_image(img, 32);
    sh(MKFS " -q -F %s", img);
    poke(img, 510, "\x55\xaa", 2);
    assert_int_equal(probe(img, name, sizeof(name)), FS_OTHER);
    assert_string_equal(name, "ext4 + dos partition table");
    tu_rmrf(dir);
    free(img);
    free(dir);
}

static void test_probe_blank_and_short(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *img = tu_path(dir, "blank.img");
    char name[64] = "junk";
    make_image(img, 1);
    assert_int_equal(probe(img, name, sizeof(name)), FS_NONE);
    assert_string_equal(name, "");
    /* Short files: what is missing reads as zero. */
    make_image(img, 0);
    assert_int_equal(probe(img, name, sizeof(name)), FS_NONE);
    int fd = open(img, O_WRONLY | O_TRUNC | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 100), 0);
    close(fd);
    assert_int_equal(probe(img, name, sizeof(name)), FS_NONE);
    poke(img, 0, "XFSB", 4);
    assert_int_equal(probe(img, name, sizeof(name)), FS_OTHER);
    assert_string_equal(name, "xfs");
    /* 2 KiB holding an ext superblock magic only. */
    unsigned char buf[2048] = {0};
    buf[1080] = 0x53;
    buf[1081] = 0xef;
    tu_write(img, buf, sizeof(buf));
    assert_int_equal(probe(img, name, sizeof(name)), FS_EXT);
    assert_string_equal(name, "ext2");
    /* Missing device. */
    struct evm_err err = {0};
    enum fs_kind kind;
    char *missing = tu_path(dir, "nope");
    assert_int_equal(disk_probe(missing, &kind, NULL, 0, &err), -ENOENT);
    assert_non_null(strstr(err.msg, missing));
    free(missing);
    tu_rmrf(dir);
    free(img);
    free(dir);
}

static void test_probe_other_signatures(void **state)
{
    (void)state;
    static const struct {
        off_t off;
        const char *bytes;
        size_t n;
        const char *name;
    } sigs[] = {
        {0, "XFSB", 4, "xfs"},
        {65600, "_BHRfS_M", 8, "btrfs"},
        {4096 - 10, "SWAPSPACE2", 10, "swap"},
        {4096 - 10, "SWAP-SPACE", 10, "swap"},
        {65536 - 10, "SWAPSPACE2", 10, "swap"},
        {4096 - 10, "S1SUSPEND", 9, "swsuspend"},
        {512, "EFI PART", 8, "gpt partition table"},
        {4096, "EFI PART", 8, "gpt partition table"},
        {510, "\x55\xaa", 2, "dos partition table"},
        {0, "hsqs", 4, "squashfs"},
        {0, "LUKS\xba\xbe", 6, "crypto_LUKS"},
        {3, "NTFS    ", 8, "ntfs"},
        {3, "EXFAT   ", 8, "exfat"},
        {32769, "CD001", 5, "iso9660"},
        {65536 + 52, "ReIsEr2Fs", 9, "reiserfs"},
        {1024, "\x10\x20\xf5\xf2", 4, "f2fs"},
        {4096, "\xfc\x4e\x2b\xa9", 4, "linux_raid_member"},
    };
    char *dir = tu_tmpdir();
    char *img = tu_path(dir, "other.img");
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        make_image(img, 1);
        poke(img, sigs[i].off, sigs[i].bytes, sigs[i].n);
        char name[64] = "";
        enum fs_kind kind = probe(img, name, sizeof(name));
        if (kind != FS_OTHER || strcmp(name, sigs[i].name) != 0)
            fail_msg("signature %zu (%s): kind %d name \"%s\"", i, sigs[i].name, kind, name);
    }
    /* vfat: a boot sector with a FAT type string; LVM2: its label. */
    make_image(img, 1);
    poke(img, 82, "FAT32   ", 8);
    poke(img, 510, "\x55\xaa", 2);
    char name[64];
    assert_int_equal(probe(img, name, sizeof(name)), FS_OTHER);
    assert_string_equal(name, "vfat");
    make_image(img, 1);
    poke(img, 512, "LABELONE", 8);
    poke(img, 512 + 24, "LVM2 001", 8);
    assert_int_equal(probe(img, name, sizeof(name)), FS_OTHER);
    assert_string_equal(name, "LVM2_member");
    /* Real tools' output where present. */
    if (have("/sbin/mkswap")) {
        make_image(img, 1);
        sh("/sbin/mkswap -q %s >/dev/null 2>&1 || /sbin/mkswap %s >/dev/null", img, img);
        assert_int_equal(probe(img, name, sizeof(name)), FS_OTHER);
        assert_string_equal(name, "swap");
    }
    /* Non-zero bytes no signature explains are not a filesystem. */
    unsigned char junk[8192];
    tu_fill(junk, sizeof(junk), 7);
    memset(junk + 510, 0, 2);
    memset(junk + 1080, 0, 2);
    memset(junk, 0, 8); /* no magic at 0 */
    make_image(img, 1);
    poke(img, 8, junk + 8, sizeof(junk) - 8 - 4096);
    enum fs_kind kind = probe(img, name, sizeof(name));
    assert_int_equal(kind, FS_NONE);
    tu_rmrf(dir);
    free(img);
    free(dir);
}

/* ---- disk_prepare with a recording mount ------------------------------------------- */

struct mount_rec {
    int calls;
    char source[512];
    char target[512];
    char fstype[32];
    unsigned long flags;
    int fail_errno;
};

static int rec_mount(const char *source, const char *target, const char *fstype,
                     unsigned long flags, const char *data, void *ctx)
{
    (void)data;
    struct mount_rec *r = ctx;
    r->calls++;
    snprintf(r->source, sizeof(r->source), "%s", source);
    snprintf(r->target, sizeof(r->target), "%s", target);
    snprintf(r->fstype, sizeof(r->fstype), "%s", fstype);
    r->flags = flags;
    if (r->fail_errno) {
        errno = r->fail_errno;
        return -1;
    }
    return 0;
}

static void test_prepare_blank_formats(void **state)
{
    (void)state;
    if (!have(MKFS) || !have(RESIZE))
        skip();
    char *dir = tu_tmpdir();
    char *img = tu_path(dir, "disk.img");
    make_image(img, 32);
    struct mount_rec rec = {0};
    struct disk_tools tools = {MKFS, RESIZE, rec_mount, &rec};
    bool formatted = false;
    struct evm_err err = {0};
    int rc = disk_prepare(img, dir, &tools, &formatted, &err);
    if (rc != 0)
        fail_msg("disk_prepare: %d %s", rc, err.msg);
    assert_true(formatted);
    char name[64];
    assert_int_equal(probe(img, name, sizeof(name)), FS_EXT);
    assert_string_equal(name, "ext4");
    char label[17] = {0};
    peek(img, 1024 + 120, label, 16); /* s_volume_name */
    assert_string_equal(label, "ephemerd-root");
    assert_int_equal(rec.calls, 1);
    assert_string_equal(rec.source, img);
    assert_string_equal(rec.target, dir);
    assert_string_equal(rec.fstype, "ext4");
    assert_true(rec.flags & MS_NOATIME);
    tu_rmrf(dir);
    free(img);
    free(dir);
}

static void test_prepare_existing_kept_and_grown(void **state)
{
    (void)state;
    if (!have(MKFS) || !have(RESIZE) || !have(DEBUGFS))
        skip();
    /* An ext4 holding a file, on an image that has since grown. */
    char *dir = tu_tmpdir();
    char *img = tu_path(dir, "disk.img");
    char *src = tu_path(dir, "hello.src");
    tu_write(src, "survivor\n", 9);
    make_image(img, 32);
    sh(MKFS " -q -F %s", img);
    sh(DEBUGFS " -w -R 'write %s hello.txt' %s >/dev/null 2>&1", src, img);
    uint32_t before = ext_blocks(img);
    assert_int_equal(truncate(img, 64 << 20), 0);

    struct mount_rec rec = {0};
    struct disk_tools tools = {MKFS, RESIZE, rec_mount, &rec};
    bool formatted = true;
    struct evm_err err = {0};
    int rc = disk_prepare(img, dir, &tools, &formatted, &err);
    if (rc != 0)
        fail_msg("disk_prepare: %d %s", rc, err.msg);
    assert_false(formatted);
    assert_int_equal(rec.calls, 1);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), DEBUGFS " -R 'cat /hello.txt' %s 2>/dev/null", img);
    char *out = sh_out(cmd);
    assert_string_equal(out, "survivor\n");
    free(out);
    /* resize2fs grew it to the image's new size. */
    assert_true(ext_blocks(img) > before);
    tu_rmrf(dir);
    free(src);
    free(img);
    free(dir);
}

/* A filesystem that already fills its disk is not handed to resize2fs (an exec and a scan
 * saved on every boot): a resize2fs that would leave a mark is never run. */
static void test_prepare_full_skips_resize(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *img = tu_path(dir, "disk.img");
    char *mark = tu_path(dir, "resize-ran");
    char *script = tu_path(dir, "resize2fs");
    make_image(img, 32);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), MKFS " -q -F %s >/dev/null 2>&1", img);
    assert_int_equal(system(cmd), 0);
    char body[512];
    snprintf(body, sizeof(body), "#!/bin/sh\ntouch %s\n", mark);
    tu_write(script, body, strlen(body));
    assert_int_equal(chmod(script, 0755), 0);

    struct mount_rec rec = {0};
    struct disk_tools tools = {MKFS, script, rec_mount, &rec};
    bool formatted = true;
    struct evm_err err = {0};
    assert_int_equal(disk_prepare(img, dir, &tools, &formatted, &err), 0);
    assert_false(formatted);
    assert_int_equal(access(mark, F_OK), -1);

    /* Grown by 8 MiB: now resize2fs runs. */
    assert_int_equal(truncate(img, 40 << 20), 0);
    assert_int_equal(disk_prepare(img, dir, &tools, &formatted, &err), 0);
    assert_int_equal(access(mark, F_OK), 0);
    tu_rmrf(dir);
    free(img);
    free(mark);
    free(script);
    free(dir);
}

static void test_prepare_refuses_other(void **state)
{
    (void)state;
    static const struct {
        off_t off;
        const char *bytes;
        size_t n;
        const char *name;
    } sigs[] = {
        {0, "XFSB", 4, "xfs"},
        {65600, "_BHRfS_M", 8, "btrfs"},
        {4086, "SWAPSPACE2", 10, "swap"},
        {512, "EFI PART", 8, "gpt partition table"},
    };
    char *dir = tu_tmpdir();
    char *img = tu_path(dir, "disk.img");
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        make_image(img, 8);
        unsigned char junk[4096];
        tu_fill(junk, sizeof(junk), (uint32_t)i + 1);
        poke(img, 1 << 20, junk, sizeof(junk)); /* content that must survive */
        poke(img, sigs[i].off, sigs[i].bytes, sigs[i].n);
        size_t len0;
        char *before = tu_read(img, &len0);
        struct mount_rec rec = {0};
        struct disk_tools tools = {MKFS, RESIZE, rec_mount, &rec};
        bool formatted = true;
        struct evm_err err = {0};
        assert_int_equal(disk_prepare(img, dir, &tools, &formatted, &err), -EEXIST);
        assert_false(formatted);
        assert_non_null(strstr(err.msg, sigs[i].name));
        assert_non_null(strstr(err.msg, img));
        assert_int_equal(rec.calls, 0);
        size_t len1;
        char *after = tu_read(img, &len1);
        assert_int_equal(len0, len1);
        assert_memory_equal(before, after, len0);
        free(before);
        free(after);
    }
    tu_rmrf(dir);
    free(img);
    free(dir);
}

static void test_prepare_failures(void **state)
{
    (void)state;
    if (!have(MKFS) || !have(RESIZE) || !have("/bin/false"))
        skip();
    char *dir = tu_tmpdir();
    char *img = tu_path(dir, "disk.img");
    struct mount_rec rec = {0};
    bool formatted;
    struct evm_err err = {0};

    /* mkfs fails: an error naming the device and mkfs; nothing mounted. */
    make_image(img, 16);
    struct disk_tools bad_mkfs = {"/bin/false", RESIZE, rec_mount, &rec};
    assert_int_equal(disk_prepare(img, dir, &bad_mkfs, &formatted, &err), -EIO);
    assert_non_null(strstr(err.msg, img));
    assert_non_null(strstr(err.msg, "/bin/false exited with status 1"));
    assert_false(formatted);
    assert_int_equal(rec.calls, 0);

    /* mkfs missing. */
    struct disk_tools no_mkfs = {"/nonexistent/mkfs.ext4", RESIZE, rec_mount, &rec};
    assert_int_equal(disk_prepare(img, dir, &no_mkfs, &formatted, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/mkfs.ext4"));

    /* The mount fails: its errno, naming device and mount point. */
    rec.fail_errno = EINVAL;
    struct disk_tools tools = {MKFS, RESIZE, rec_mount, &rec};
    assert_int_equal(disk_prepare(img, dir, &tools, &formatted, &err), -EINVAL);
    assert_non_null(strstr(err.msg, img));
    assert_non_null(strstr(err.msg, dir));
    assert_int_equal(rec.calls, 1);

    /* resize2fs failing is only a warning: the disk is mounted and used as it is. */
    rec.fail_errno = 0;
    struct disk_tools bad_resize = {MKFS, "/bin/false", rec_mount, &rec};
    assert_int_equal(disk_prepare(img, dir, &bad_resize, &formatted, &err), 0);
    assert_false(formatted);
    assert_int_equal(rec.calls, 2);
    tu_rmrf(dir);
    free(img);
    free(dir);
}

/* ---- disk_prepare on a real loop device -------------------------------------------- */

static char *loop_attach(const char *img)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "losetup -f --show %s 2>/dev/null", img);
    char *out = sh_out(cmd);
    out[strcspn(out, "\n")] = '\0';
    if (strncmp(out, "/dev/loop", 9) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* CAP_SYS_RESOURCE: ext4's online resize ioctl needs it (a sandbox may drop it; PID 1 in
 * the guest has it). */
static bool have_cap_sys_resource(void)
{
    char *status = tu_read("/proc/self/status", NULL);
    if (!status)
        return false;
    const char *p = strstr(status, "CapEff:");
    unsigned long long caps = p ? strtoull(p + 7, NULL, 16) : 0;
    free(status);
    return (caps >> 24) & 1u;
}

struct loopfix {
    char *dir, *img, *mnt, *loop;
};

static int loop_setup(void **state)
{
    struct loopfix *f = calloc(1, sizeof(*f));
    f->dir = tu_tmpdir();
    f->img = tu_path(f->dir, "disk.img");
    f->mnt = tu_path(f->dir, "mnt");
    *state = f;
    return mkdir(f->mnt, 0755);
}

/* Runs even when the test failed: nothing stays mounted or attached. */
static int loop_teardown(void **state)
{
    struct loopfix *f = *state;
    (void)umount2(f->mnt, MNT_DETACH);
    if (f->loop) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "losetup -d %s", f->loop);
        if (system(cmd) != 0)
            fprintf(stderr, "test_disk: could not detach %s\n", f->loop);
    }
    tu_rmrf(f->dir);
    free(f->loop);
    free(f->mnt);
    free(f->img);
    free(f->dir);
    free(f);
    return 0;
}

static void test_prepare_loop_device(void **state)
{
    struct loopfix *f = *state;
    if (geteuid() != 0 || !have(MKFS) || !have(RESIZE) || system("command -v losetup >/dev/null"))
        skip();
    make_image(f->img, 64);
    f->loop = loop_attach(f->img);
    if (!f->loop) {
        print_message("loop devices unavailable here: skipping the real-mount test\n");
        skip();
    }
    struct disk_tools tools = {MKFS, RESIZE, NULL, NULL};
    bool formatted = false;
    struct evm_err err = {0};
    int rc = disk_prepare(f->loop, f->mnt, &tools, &formatted, &err);
    if (rc != 0)
        fail_msg("disk_prepare(%s): %d %s", f->loop, rc, err.msg);
    assert_true(formatted);
    struct statfs sf;
    assert_int_equal(statfs(f->mnt, &sf), 0);
    assert_int_equal((unsigned long)sf.f_type, 0xEF53ul);
    struct statvfs vf; /* mounted noatime */
    assert_int_equal(statvfs(f->mnt, &vf), 0);
    assert_true(vf.f_flag & ST_NOATIME);
    uint64_t blocks_before = sf.f_blocks;
    char *file = tu_path(f->mnt, "kept");
    tu_write(file, "persistent", 10);
    assert_int_equal(umount(f->mnt), 0);

    /* The disk grows between boots; the second prepare keeps the data and grows online. */
    assert_int_equal(truncate(f->img, 128 << 20), 0);
    sh("losetup -c %s", f->loop);
    rc = disk_prepare(f->loop, f->mnt, &tools, &formatted, &err);
    if (rc != 0)
        fail_msg("second disk_prepare(%s): %d %s", f->loop, rc, err.msg);
    assert_false(formatted);
    size_t len;
    char *got = tu_read(file, &len);
    assert_non_null(got);
    assert_int_equal(len, 10);
    assert_memory_equal(got, "persistent", 10);
    free(got);
    free(file);
    assert_int_equal(statfs(f->mnt, &sf), 0);
    if (have_cap_sys_resource())
        assert_true(sf.f_blocks > blocks_before);
    else
        print_message("no CAP_SYS_RESOURCE here: online resize not checked\n");
    assert_int_equal(umount(f->mnt), 0);
}

/* ---- disk_wait --------------------------------------------------------------------- */

static void test_wait_present(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *dev = tu_path(dir, "vda");
    tu_write(dev, "", 0);
    struct evm_err err = {0};
    assert_int_equal(disk_wait(dev, 0, &err), 0);
    assert_int_equal(disk_wait(dev, 5, &err), 0);
    tu_rmrf(dir);
    free(dev);
    free(dir);
}

/* The device appears ~100 ms later, made by a child (by create, or by rename). */
static void appear_later(const char *dev, bool by_rename)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", dev);
        int fd = open(by_rename ? tmp : dev, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            _exit(1);
        close(fd);
        if (by_rename && rename(tmp, dev) < 0)
            _exit(2);
        _exit(0);
    }
    struct evm_err err = {0};
    int rc = disk_wait(dev, 60, &err);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (rc != 0)
        fail_msg("disk_wait: %d %s", rc, err.msg);
}

static void test_wait_appears(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *dev = tu_path(dir, "vda");
    appear_later(dev, false);
    char *dev2 = tu_path(dir, "vdb");
    appear_later(dev2, true);
    tu_rmrf(dir);
    free(dev2);
    free(dev);
    free(dir);
}

static void test_wait_timeout(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *dev = tu_path(dir, "never");
    struct evm_err err = {0};
    assert_int_equal(disk_wait(dev, 1, &err), -ETIMEDOUT);
    assert_non_null(strstr(err.msg, dev));
    assert_non_null(strstr(err.msg, "1 s"));
    /* A directory that does not exist either: the polling fallback, same outcome. */
    char *deep = tu_path(dir, "no/such/dir/vda");
    assert_int_equal(disk_wait(deep, 1, &err), -ETIMEDOUT);
    assert_non_null(strstr(err.msg, deep));
    assert_int_equal(disk_wait(deep, 0, &err), -ETIMEDOUT);
    tu_rmrf(dir);
    free(deep);
    free(dev);
    free(dir);
}

/* ---- run_program ------------------------------------------------------------------- */

static void test_run_program(void **state)
{
    (void)state;
    struct evm_err err = {0};
    const char *ok[] = {"/bin/sh", "-c", "exit 0", NULL};
    assert_int_equal(run_program(ok, NULL, &err), 0);
    const char *three[] = {"/bin/sh", "-c", "exit 3", NULL};
    assert_int_equal(run_program(three, NULL, &err), -EIO);
    assert_string_equal(err.msg, "/bin/sh exited with status 3");
    const char *killed[] = {"/bin/sh", "-c", "kill -9 $$", NULL};
    assert_int_equal(run_program(killed, NULL, &err), -EIO);
    assert_non_null(strstr(err.msg, "/bin/sh killed by signal 9"));
    const char *missing[] = {"/nonexistent/prog", NULL};
    assert_int_equal(run_program(missing, NULL, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/prog"));
    const char *relative[] = {"sh", "-c", "exit 0", NULL};
    assert_int_equal(run_program(relative, NULL, &err), -EINVAL);
    /* The environment is exactly envp; NULL gives a PATH. */
    const char *env[] = {"FOO=bar", NULL};
    const char *foo[] = {"/bin/sh", "-c", "test \"$FOO\" = bar && test -z \"$HOME\"", NULL};
    assert_int_equal(run_program(foo, env, &err), 0);
    const char *path[] = {"/bin/sh", "-c", "test -n \"$PATH\" && test -z \"$FOO\"", NULL};
    assert_int_equal(run_program(path, NULL, &err), 0);
}

/* The child gets default signal handling even when the init blocks or ignores signals. */
static void test_run_program_signal_state(void **state)
{
    (void)state;
    struct evm_err err = {0};
    const char *term[] = {"/bin/sh", "-c", "kill -TERM $$; exit 0", NULL};
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    assert_int_equal(sigprocmask(SIG_BLOCK, &set, &old), 0);
    int rc = run_program(term, NULL, &err);
    assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
    assert_int_equal(rc, -EIO);
    assert_non_null(strstr(err.msg, "killed by signal 15"));

    struct sigaction ign = {.sa_handler = SIG_IGN}, prev;
    sigemptyset(&ign.sa_mask);
    assert_int_equal(sigaction(SIGTERM, &ign, &prev), 0);
    rc = run_program(term, NULL, &err);
    assert_int_equal(sigaction(SIGTERM, &prev, NULL), 0);
    assert_int_equal(rc, -EIO);
    assert_non_null(strstr(err.msg, "killed by signal 15"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_ext),
        cmocka_unit_test(test_probe_blank_and_short),
        cmocka_unit_test(test_probe_other_signatures),
        cmocka_unit_test(test_prepare_blank_formats),
        cmocka_unit_test(test_prepare_existing_kept_and_grown),
        cmocka_unit_test(test_prepare_full_skips_resize),
        cmocka_unit_test(test_prepare_refuses_other),
        cmocka_unit_test(test_prepare_failures),
        cmocka_unit_test_setup_teardown(test_prepare_loop_device, loop_setup, loop_teardown),
        cmocka_unit_test(test_wait_present),
        cmocka_unit_test(test_wait_appears),
        cmocka_unit_test(test_wait_timeout),
        cmocka_unit_test(test_run_program),
        cmocka_unit_test(test_run_program_signal_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
