/* test_baseinitrd_posix.c — the base initrd builder on a fake kernel modules tree (a
 * dependency chain, a built-in module, a compressed module), a fake init, a rootfs blob and
 * the host's real /sbin/mkfs.ext4: the output read back with libarchive holds every
 * directory before its contents, /init and its power-command symlinks, /modules/<release> in
 * the kernel's layout with load-order in dependency order, load-later and load-demand for
 * `later` and `demand` lines (eager first), absent `optional` modules skipped, the module
 * index a stand-in depmod made over exactly the shipped modules, the rootfs with equal
 * bytes, and the complete shared-library closure (checked with <elf.h>, independently of
 * the builder's own ELF reader); two builds are byte-identical; unknown modules, cycles,
 * conflicts and a failing or missing depmod are errors. With Debian's real depmod and
 * modprobe (skipped without them): aliases of cc-made modules resolve against the shipped
 * index. */
#include <archive.h>
#include <archive_entry.h>
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "initrd/baseinitrd.h"
#include "cli/cmd_base.h"
#include "cli/commands.h"
#include "testutil.h"

#define MKFS "/sbin/mkfs.ext4"
#define ROOTFS_BYTES (600u * 1024u) /* over the writer's 256 KiB chunk: several chunks */

struct fixture {
    char *dir, *mods, *init, *rootfs, *list, *out, *depmod;
};

/* A stand-in for depmod: checks its arguments (-b BASE -C EMPTY-DIR VERSION), then writes
 * as modules.dep.bin the staged module paths (sorted) and as modules.alias.bin the
 * modules.order it was given, so the test sees what was staged. */
static const char FAKE_DEPMOD[] =
    "#!/bin/sh\n"
    "[ $# -eq 5 ] && [ \"$1\" = -b ] && [ \"$3\" = -C ] && [ -d \"$4\" ] || "
    "{ echo \"bad arguments: $*\" >&2; exit 2; }\n"
    "[ -z \"$(ls -A \"$4\")\" ] || { echo 'config dir not empty' >&2; exit 2; }\n"
    "cd \"$2/lib/modules/$5\" || exit 3\n"
    "[ -e ../../../usr/lib/modules/$5/modules.order ] || { echo 'no usr/lib/modules' >&2; exit 4; "
    "}\n"
    "find kernel -name '*.ko*' | LC_ALL=C sort > modules.dep.bin\n"
    "cat modules.order > modules.alias.bin\n"
    "echo '# soft' > modules.softdep\n";

static void mkdirs(const char *base, const char *rel)
{
    char *p = tu_path(base, rel);
    for (char *s = strchr(p + strlen(base) + 1, '/');; s = strchr(s + 1, '/')) {
        if (s)
            *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            fail_msg("mkdir %s: %s", p, strerror(errno));
        if (!s)
            break;
        *s = '/';
    }
    free(p);
}

static void write_rel(const char *base, const char *rel, const char *text)
{
    char *p = tu_path(base, rel);
    tu_write(p, text, strlen(text));
    free(p);
}

/* mod_a needs mod-b and mod_c (transitively listed, as depmod writes it); mod-b needs
 * mod_c; mod_c is xz-compressed (copied as it is); builtin_mod is built in. */
static const char MODULES_DEP[] = "kernel/a/mod_a.ko: kernel/b/mod-b.ko kernel/c/mod_c.ko.xz\n"
                                  "kernel/b/mod-b.ko: kernel/c/mod_c.ko.xz\n"
                                  "kernel/c/mod_c.ko.xz:\n"
                                  "kernel/d/mod_d.ko:\n"
                                  "kernel/y/cy1.ko: kernel/y/cy2.ko\n"
                                  "kernel/y/cy2.ko: kernel/y/cy1.ko\n"
                                  "kernel/e/mod_e.ko: kernel/c/mod_c.ko.xz\n"
                                  "kernel/e/mod_f.ko: kernel/e/mod_g.ko\n"
                                  "kernel/e/mod_g.ko:\n"
                                  "kernel/e/mod_h.ko: kernel/e/mod_j.ko\n"
                                  "kernel/e/mod_i.ko: kernel/e/mod_j.ko\n"
                                  "kernel/e/mod_j.ko:\n";

static const char LIST[] = "# a test list\n"
                           "dir /proc 0555\n"
                           "dir /tmp 1777\n"
                           "  dir /newroot 0755\n"
                           "init /init\n"
                           "link /sbin/poweroff /init\n"
                           "link /sbin/reboot /init\n"
                           "link /sbin/halt /init\n"
                           "\n"
                           "module mod_a\n"
                           "module mod_d\n"
                           "module mod_c\n"
                           "module builtin_mod\n"
                           "file /etc/hello hello.txt 0600\n"
                           "rootfs /assets/rootfs.tar.gz\n";

static void fixture_init(struct fixture *f, const char *list_extra)
{
    memset(f, 0, sizeof(*f));
    f->dir = tu_tmpdir();
    f->mods = tu_path(f->dir, "lib/modules/6.1.0-test");
    mkdirs(f->dir, "lib/modules/6.1.0-test/kernel/a");
    mkdirs(f->dir, "lib/modules/6.1.0-test/kernel/b");
    mkdirs(f->dir, "lib/modules/6.1.0-test/kernel/c");
    mkdirs(f->dir, "lib/modules/6.1.0-test/kernel/d");
    mkdirs(f->dir, "lib/modules/6.1.0-test/kernel/y");
    write_rel(f->mods, "modules.dep", MODULES_DEP);
    write_rel(f->mods, "modules.builtin", "kernel/x/builtin_mod.ko\nkernel/x/other.ko\n");
    write_rel(f->mods, "kernel/a/mod_a.ko", "module a bytes");
    write_rel(f->mods, "kernel/b/mod-b.ko", "module b bytes");
    write_rel(f->mods, "kernel/c/mod_c.ko.xz",
              "\xfd"
              "7zXZ module c");
    write_rel(f->mods, "kernel/d/mod_d.ko", "module d bytes");
    write_rel(f->mods, "kernel/y/cy1.ko", "cy1");
    write_rel(f->mods, "kernel/y/cy2.ko", "cy2");
    mkdirs(f->dir, "lib/modules/6.1.0-test/kernel/e");
    const char *more[] = {"mod_e", "mod_f", "mod_g", "mod_h", "mod_i", "mod_j"};
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "kernel/e/%s.ko", more[i]);
        write_rel(f->mods, rel, more[i]);
    }
    /* The kernel's order: mod_d before mod_a; cy* and mod_e.. are not in it. */
    write_rel(f->mods, "modules.order",
              "kernel/d/mod_d.ko\nkernel/x/unshipped.ko\n"
              "kernel/a/mod_a.ko\nkernel/c/mod_c.ko\n"
              "kernel/b/mod-b.ko\n");
    f->depmod = tu_path(f->dir, "fake-depmod");
    write_rel(f->dir, "fake-depmod", FAKE_DEPMOD);
    assert_int_equal(chmod(f->depmod, 0755), 0);
    f->init = tu_path(f->dir, "ephemerd-init");
    write_rel(f->dir, "ephemerd-init",
              "\x7f"
              "ELF fake init");
    f->rootfs = tu_path(f->dir, "rootfs.tar.gz");
    char *blob = malloc(ROOTFS_BYTES);
    assert_non_null(blob);
    tu_fill(blob, ROOTFS_BYTES, 7);
    tu_write(f->rootfs, blob, ROOTFS_BYTES);
    free(blob);
    write_rel(f->dir, "hello.txt", "hello\n");
    f->list = tu_path(f->dir, "test.list");
    size_t n = strlen(LIST) + (list_extra ? strlen(list_extra) : 0);
    char *text = malloc(n + 1);
    assert_non_null(text);
    snprintf(text, n + 1, "%s%s", LIST, list_extra ? list_extra : "");
    tu_write(f->list, text, n);
    free(text);
    f->out = tu_path(f->dir, "base.img");
}

static void fixture_free(struct fixture *f)
{
    tu_rmrf(f->dir);
    free(f->dir);
    free(f->mods);
    free(f->init);
    free(f->rootfs);
    free(f->list);
    free(f->out);
    free(f->depmod);
}

static int build(struct fixture *f, const char *out, enum compress c, struct baseinitrd_result *res,
                 struct evm_err *err)
{
    struct baseinitrd_opts o = {.list = f->list,
                                .modules_dir = f->mods,
                                .init = f->init,
                                .rootfs = f->rootfs,
                                .compress = c,
                                .out = out ? out : f->out,
                                .depmod = f->depmod};
    return baseinitrd_build(&o, res, err);
}

/* ---- reading the archive back ------------------------------------------------------- */

struct entry {
    char *name;
    unsigned type, perm;
    char *data;
    size_t len;
    char *link;
};

struct archive_view {
    struct entry *v;
    size_t n;
    char *filters;
};

static void view_read(const char *path, struct archive_view *av)
{
    memset(av, 0, sizeof(*av));
    struct archive *a = archive_read_new();
    assert_non_null(a);
    assert_int_equal(archive_read_support_filter_all(a), ARCHIVE_OK);
    assert_int_equal(archive_read_support_format_cpio(a), ARCHIVE_OK);
    assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
    struct archive_entry *ae;
    int r;
    while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
        av->v = realloc(av->v, (av->n + 1) * sizeof(*av->v));
        assert_non_null(av->v);
        struct entry *e = &av->v[av->n++];
        memset(e, 0, sizeof(*e));
        e->name = strdup(archive_entry_pathname(ae));
        e->type = archive_entry_filetype(ae);
        e->perm = archive_entry_perm(ae);
        assert_int_equal(archive_entry_uid(ae), 0);
        assert_int_equal(archive_entry_gid(ae), 0);
        assert_int_equal(archive_entry_mtime(ae), 0);
        if (archive_entry_symlink(ae))
            e->link = strdup(archive_entry_symlink(ae));
        size_t size = (size_t)archive_entry_size(ae);
        if (e->type == AE_IFREG) {
            e->data = malloc(size + 1);
            assert_non_null(e->data);
            size_t got = 0;
            while (got < size) {
                la_ssize_t n = archive_read_data(a, e->data + got, size - got);
                assert_true(n > 0);
                got += (size_t)n;
            }
            e->data[size] = '\0';
            e->len = size;
        }
    }
    assert_int_equal(r, ARCHIVE_EOF);
    av->filters = strdup(archive_filter_name(a, 0));
    archive_read_free(a);
}

static void view_free(struct archive_view *av)
{
    for (size_t i = 0; i < av->n; i++) {
        free(av->v[i].name);
        free(av->v[i].data);
        free(av->v[i].link);
    }
    free(av->v);
    free(av->filters);
}

static const struct entry *view_find(const struct archive_view *av, const char *name)
{
    for (size_t i = 0; i < av->n; i++)
        if (strcmp(av->v[i].name, name) == 0)
            return &av->v[i];
    return NULL;
}

static const struct entry *view_find_base(const struct archive_view *av, const char *base)
{
    for (size_t i = 0; i < av->n; i++) {
        const char *s = strrchr(av->v[i].name, '/');
        if (strcmp(s ? s + 1 : av->v[i].name, base) == 0)
            return &av->v[i];
    }
    return NULL;
}

static void assert_entry(const struct archive_view *av, const char *name, unsigned type,
                         unsigned perm)
{
    const struct entry *e = view_find(av, name);
    if (!e)
        fail_msg("no entry %s in the archive", name);
    if (e->type != type || e->perm != perm)
        fail_msg("%s: type %o perm %04o, expected type %o perm %04o", name, e->type, e->perm, type,
                 perm);
}

static void assert_file_bytes(const struct archive_view *av, const char *name,
                              const char *host_path)
{
    const struct entry *e = view_find(av, name);
    if (!e)
        fail_msg("no entry %s in the archive", name);
    size_t len;
    char *want = tu_read(host_path, &len);
    assert_non_null(want);
    assert_int_equal(e->len, len);
    assert_memory_equal(e->data, want, len);
    free(want);
}

static void assert_dirs_first(const struct archive_view *av)
{
    for (size_t i = 0; i < av->n; i++) {
        assert_false(av->v[i].name[0] == '/');
        if (i > 0 && strcmp(av->v[i - 1].name, av->v[i].name) >= 0)
            fail_msg("entries not sorted: %s then %s", av->v[i - 1].name, av->v[i].name);
        char *parent = strdup(av->v[i].name);
        char *slash = strrchr(parent, '/');
        if (slash) {
            *slash = '\0';
            int seen = 0;
            for (size_t j = 0; j < i; j++)
                if (strcmp(av->v[j].name, parent) == 0 && av->v[j].type == AE_IFDIR)
                    seen = 1;
            if (!seen)
                fail_msg("%s comes before its directory %s", av->v[i].name, parent);
        }
        free(parent);
    }
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_layout_modules_rootfs(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    struct baseinitrd_result res;
    struct evm_err err = {0};
    assert_int_equal(tu_setenv("SOURCE_DATE_EPOCH", NULL), 0);
    int r = build(&f, NULL, COMPRESS_ZSTD, &res, &err);
    if (r < 0)
        fail_msg("build: %s", err.msg);
    assert_int_equal(res.modules, 4);
    assert_int_equal(res.builtin, 1);
    assert_int_equal(res.libraries, 0);
    assert_int_equal(res.later + res.demand + res.absent, 0);
    assert_int_equal(res.index, 5); /* dep.bin, alias.bin, softdep, order, builtin */

    struct stat st;
    assert_int_equal(stat(f.out, &st), 0);
    assert_int_equal((uint64_t)st.st_size, res.out_size);

    struct archive_view av;
    view_read(f.out, &av);
    assert_string_equal(av.filters, "zstd");
    assert_int_equal(av.n, res.entries);
    assert_dirs_first(&av);
    assert_entry(&av, "proc", AE_IFDIR, 0555);
    assert_entry(&av, "tmp", AE_IFDIR, 01777);
    assert_entry(&av, "newroot", AE_IFDIR, 0755);
    assert_entry(&av, "sbin", AE_IFDIR, 0755);    /* implied by the links */
    assert_entry(&av, "modules", AE_IFDIR, 0755); /* implied by the modules */
    assert_entry(&av, "assets", AE_IFDIR, 0755);
    assert_entry(&av, "init", AE_IFREG, 0755);
    assert_file_bytes(&av, "init", f.init);
    const char *names[] = {"sbin/poweroff", "sbin/reboot", "sbin/halt"};
    for (size_t i = 0; i < 3; i++) {
        assert_entry(&av, names[i], AE_IFLNK, 0777);
        assert_string_equal(view_find(&av, names[i])->link, "/init");
    }
    assert_entry(&av, "etc/hello", AE_IFREG, 0600);
    assert_string_equal(view_find(&av, "etc/hello")->data, "hello\n");
    assert_entry(&av, "assets/rootfs.tar.gz", AE_IFREG, 0644);
    assert_file_bytes(&av, "assets/rootfs.tar.gz", f.rootfs);

    /* Dependencies first, each once, each line naming its dependencies (the init loads
     * independent modules in parallel), paths relative to /modules in the kernel's layout;
     * the compressed module kept as it is; the built-in module and the modules nobody asked
     * for absent; no later or demand list when the list has none. */
    assert_entry(&av, "modules/load-order", AE_IFREG, 0644);
    assert_string_equal(view_find(&av, "modules/load-order")->data,
                        "6.1.0-test/kernel/c/mod_c.ko.xz:\n"
                        "6.1.0-test/kernel/b/mod-b.ko: 6.1.0-test/kernel/c/mod_c.ko.xz\n"
                        "6.1.0-test/kernel/a/mod_a.ko: 6.1.0-test/kernel/b/mod-b.ko "
                        "6.1.0-test/kernel/c/mod_c.ko.xz\n"
                        "6.1.0-test/kernel/d/mod_d.ko:\n");
    assert_null(view_find(&av, "modules/load-later"));
    assert_null(view_find(&av, "modules/load-demand"));
    char *p = tu_path(f.mods, "kernel/c/mod_c.ko.xz");
    assert_file_bytes(&av, "modules/6.1.0-test/kernel/c/mod_c.ko.xz", p);
    free(p);
    p = tu_path(f.mods, "kernel/b/mod-b.ko");
    assert_file_bytes(&av, "modules/6.1.0-test/kernel/b/mod-b.ko", p);
    free(p);
    assert_entry(&av, "modules/6.1.0-test/kernel/a/mod_a.ko", AE_IFREG, 0644);
    assert_entry(&av, "modules/6.1.0-test/kernel/d/mod_d.ko", AE_IFREG, 0644);
    /* The index depmod made over exactly the shipped modules (the stand-in lists what was
     * staged), with the kernel's order cut down to them and the built-in list. */
    assert_entry(&av, "modules/6.1.0-test/modules.dep.bin", AE_IFREG, 0644);
    assert_string_equal(view_find(&av, "modules/6.1.0-test/modules.dep.bin")->data,
                        "kernel/a/mod_a.ko\nkernel/b/mod-b.ko\nkernel/c/mod_c.ko.xz\n"
                        "kernel/d/mod_d.ko\n");
    assert_string_equal(view_find(&av, "modules/6.1.0-test/modules.order")->data,
                        "kernel/d/mod_d.ko\nkernel/a/mod_a.ko\nkernel/c/mod_c.ko\n"
                        "kernel/b/mod-b.ko\n");
    assert_string_equal(view_find(&av, "modules/6.1.0-test/modules.alias.bin")->data,
                        view_find(&av, "modules/6.1.0-test/modules.order")->data);
    assert_string_equal(view_find(&av, "modules/6.1.0-test/modules.builtin")->data,
                        "kernel/x/builtin_mod.ko\nkernel/x/other.ko\n");
    assert_entry(&av, "modules/6.1.0-test/modules.softdep", AE_IFREG, 0644);
    assert_null(view_find(&av, "modules/6.1.0-test/modules.symbols"));
    size_t kos = 0;
    for (size_t i = 0; i < av.n; i++)
        if (strncmp(av.v[i].name, "modules/", 8) == 0 && strstr(av.v[i].name, ".ko"))
            kos++;
    assert_int_equal(kos, 4);
    assert_null(view_find_base(&av, "builtin_mod.ko"));
    assert_null(view_find_base(&av, "cy1.ko"));
    view_free(&av);
    fixture_free(&f);
}

static void test_deterministic(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    assert_int_equal(tu_setenv("SOURCE_DATE_EPOCH", NULL), 0);
    enum compress cs[] = {COMPRESS_ZSTD, COMPRESS_GZIP, COMPRESS_NONE};
    for (size_t i = 0; i < 3; i++) {
        char *a = tu_path(f.dir, "a.img"), *b = tu_path(f.dir, "b.img");
        struct baseinitrd_result res;
        struct evm_err err = {0};
        assert_int_equal(build(&f, a, cs[i], &res, &err), 0);
        assert_int_equal(build(&f, b, cs[i], &res, &err), 0);
        size_t la, lb;
        char *da = tu_read(a, &la), *db = tu_read(b, &lb);
        assert_non_null(da);
        assert_non_null(db);
        assert_int_equal(la, lb);
        assert_memory_equal(da, db, la);
        if (cs[i] == COMPRESS_NONE)
            assert_memory_equal(da, "070701", 6); /* newc magic, no filter */
        free(da);
        free(db);
        free(a);
        free(b);
    }
    fixture_free(&f);
}

/* The ELF closure, checked with <elf.h>: every PT_INTERP and DT_NEEDED of every ELF file
 * in the archive is in the archive (DT_NEEDED by file name, as the loader finds it). */
static void check_elf_closure(const struct archive_view *av, const struct entry *e, size_t *elves)
{
    if (e->type != AE_IFREG || e->len < sizeof(Elf64_Ehdr) || memcmp(e->data, ELFMAG, SELFMAG))
        return;
    (*elves)++;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)(const void *)e->data;
    assert_int_equal(eh->e_ident[EI_CLASS], ELFCLASS64);
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(const void *)(e->data + eh->e_phoff);
    const Elf64_Dyn *dyn = NULL;
    size_t ndyn = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_INTERP) {
            const char *interp = e->data + ph[i].p_offset;
            assert_true(interp[0] == '/');
            if (!view_find(av, interp + 1))
                fail_msg("%s: interpreter %s is not in the archive", e->name, interp);
        } else if (ph[i].p_type == PT_DYNAMIC) {
            dyn = (const Elf64_Dyn *)(const void *)(e->data + ph[i].p_offset);
            ndyn = ph[i].p_filesz / sizeof(Elf64_Dyn);
        }
    }
    const char *strtab = NULL;
    for (size_t i = 0; i < ndyn && dyn[i].d_tag != DT_NULL; i++) {
        if (dyn[i].d_tag != DT_STRTAB)
            continue;
        for (unsigned j = 0; j < eh->e_phnum; j++)
            if (ph[j].p_type == PT_LOAD && dyn[i].d_un.d_ptr >= ph[j].p_vaddr &&
                dyn[i].d_un.d_ptr < ph[j].p_vaddr + ph[j].p_filesz)
                strtab = e->data + ph[j].p_offset + (dyn[i].d_un.d_ptr - ph[j].p_vaddr);
    }
    for (size_t i = 0; i < ndyn && dyn[i].d_tag != DT_NULL; i++) {
        if (dyn[i].d_tag != DT_NEEDED)
            continue;
        assert_non_null(strtab);
        const char *so = strtab + dyn[i].d_un.d_val;
        if (!view_find_base(av, so))
            fail_msg("%s needs %s, which is not in the archive", e->name, so);
    }
}

static void test_bin_library_closure(void **state)
{
    (void)state;
    if (access(MKFS, X_OK) != 0)
        skip(); /* e2fsprogs is Priority: required on Debian; not expected */
    struct fixture f;
    fixture_init(&f, "bin /sbin/mkfs.ext4 /sbin/mkfs.ext4\n"
                     "bin /sbin/resize2fs /sbin/resize2fs\n");
    struct baseinitrd_result res;
    struct evm_err err = {0};
    int r = build(&f, NULL, COMPRESS_ZSTD, &res, &err);
    if (r < 0)
        fail_msg("build: %s", err.msg);
    struct archive_view av;
    view_read(f.out, &av);
    assert_dirs_first(&av);
    /* The symlink mkfs.ext4 -> mke2fs is stored as the real file under the asked name. */
    assert_entry(&av, "sbin/mkfs.ext4", AE_IFREG, 0755);
    assert_file_bytes(&av, "sbin/mkfs.ext4", MKFS);
    assert_entry(&av, "sbin/resize2fs", AE_IFREG, 0755);
    const char *libs[] = {"libext2fs.so.2", "libcom_err.so.2", "libc.so.6", "ld-linux-x86-64.so.2"};
    for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        const struct entry *e = view_find_base(&av, libs[i]);
        if (!e)
            fail_msg("%s is not in the archive", libs[i]);
        assert_int_equal(e->type, AE_IFREG);
    }
    assert_entry(&av, "lib64/ld-linux-x86-64.so.2", AE_IFREG, 0755);
    assert_true(res.libraries >= 4);
    /* Each library once (a library both tools need is not stored twice). */
    size_t libc = 0, elves = 0;
    for (size_t i = 0; i < av.n; i++) {
        const char *s = strrchr(av.v[i].name, '/');
        if (strcmp(s ? s + 1 : av.v[i].name, "libext2fs.so.2") == 0)
            libc++;
        check_elf_closure(&av, &av.v[i], &elves);
    }
    assert_int_equal(libc, 1);
    assert_true(elves >= 6); /* mkfs, resize2fs, the interpreter, at least 3 libraries */
    view_free(&av);
    fixture_free(&f);
}

static void expect_failure(const char *extra, const char *modules_dir_override, int code,
                           const char *needle)
{
    struct fixture f;
    fixture_init(&f, extra);
    struct baseinitrd_opts o = {.list = f.list,
                                .modules_dir = modules_dir_override ? NULL : f.mods,
                                .init = f.init,
                                .rootfs = f.rootfs,
                                .out = f.out,
                                .depmod = f.depmod};
    struct baseinitrd_result res;
    struct evm_err err = {0};
    int r = baseinitrd_build(&o, &res, &err);
    if (r != -code || !strstr(err.msg, needle))
        fail_msg("extra '%s': got %d '%s', expected %d with '%s'", extra ? extra : "", r, err.msg,
                 -code, needle);
    assert_int_equal(access(f.out, F_OK), -1); /* nothing written */
    fixture_free(&f);
}

static void test_errors(void **state)
{
    (void)state;
    expect_failure("module no_such_mod\n", NULL, ENOENT, "no_such_mod");
    expect_failure("module cy1\n", NULL, ELOOP, "cycle");
    expect_failure(NULL, "none", EINVAL, "no modules directory");
    expect_failure("file /init hello.txt 0644\n", NULL, EEXIST, "/init");
    expect_failure("file /init/x hello.txt 0644\n", NULL, ENOTDIR, "/init");
    expect_failure("dir /proc 0755\n", NULL, EINVAL, "twice");
    expect_failure("file etc/x hello.txt 0644\n", NULL, EINVAL, "absolute");
    expect_failure("file /etc/../x hello.txt 0644\n", NULL, EINVAL, "'..'");
    expect_failure("file /etc/x hello.txt 0999\n", NULL, EINVAL, "octal");
    expect_failure("frobnicate /x\n", NULL, EINVAL, "unknown directive 'frobnicate'");
    expect_failure("bin /sbin/hello hello.txt\n", NULL, ENOEXEC, "not an ELF");
    expect_failure("file /etc/missing missing.txt 0644\n", NULL, ENOENT, "missing.txt");
    expect_failure("module mod_a extra\n", NULL, EINVAL, "module option 'extra'");
    expect_failure("module no_such_mod later\n", NULL, ENOENT, "no_such_mod");
}

/* module NAME later/demand/optional: three load lists, eager modules first whatever the
 * list's order (a dependency an eager and a later module share is loaded eagerly), an absent
 * optional module skipped. */
static void test_load_classes(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "module mod_h later\n"
                     "module mod_e later\n"
                     "module no_such_mod later optional\n"
                     "module mod_f demand\n"
                     "module builtin_mod demand optional\n"
                     "module mod_i\n");
    struct baseinitrd_result res;
    struct evm_err err = {0};
    if (build(&f, NULL, COMPRESS_NONE, &res, &err) < 0)
        fail_msg("build: %s", err.msg);
    assert_int_equal(res.modules, 10);
    assert_int_equal(res.later, 2);  /* mod_h, mod_e */
    assert_int_equal(res.demand, 2); /* mod_g, mod_f */
    assert_int_equal(res.absent, 1);
    assert_int_equal(res.builtin, 2);
    struct archive_view av;
    view_read(f.out, &av);
    const char *eager = view_find(&av, "modules/load-order")->data;
    assert_non_null(strstr(eager, "6.1.0-test/kernel/e/mod_j.ko:\n"
                                  "6.1.0-test/kernel/e/mod_i.ko: 6.1.0-test/kernel/e/mod_j.ko\n"));
    assert_string_equal(view_find(&av, "modules/load-later")->data,
                        "6.1.0-test/kernel/e/mod_h.ko: 6.1.0-test/kernel/e/mod_j.ko\n"
                        "6.1.0-test/kernel/e/mod_e.ko: 6.1.0-test/kernel/c/mod_c.ko.xz\n");
    assert_string_equal(view_find(&av, "modules/load-demand")->data,
                        "6.1.0-test/kernel/e/mod_g.ko:\n"
                        "6.1.0-test/kernel/e/mod_f.ko: 6.1.0-test/kernel/e/mod_g.ko\n");
    assert_non_null(strstr(view_find(&av, "modules/6.1.0-test/modules.dep.bin")->data,
                           "kernel/e/mod_f.ko\nkernel/e/mod_g.ko\n"));
    view_free(&av);
    fixture_free(&f);
}

/* depmod failing, missing, or writing no index: an error, nothing written. */
static void test_depmod_errors(void **state)
{
    (void)state;
    const char *scripts[][2] = {
        {"#!/bin/sh\necho 'depmod: ERROR: something broke' >&2\nexit 1\n",
         "exited with status 1: depmod: ERROR: something broke"},
        {"#!/bin/sh\ncd \"$2/lib/modules/$5\" && : > modules.dep.bin\n",
         "depmod wrote no modules.alias.bin"},
    };
    for (size_t i = 0; i <= 2; i++) {
        struct fixture f;
        fixture_init(&f, NULL);
        if (i < 2)
            write_rel(f.dir, "fake-depmod", scripts[i][0]);
        else
            assert_int_equal(unlink(f.depmod), 0);
        struct baseinitrd_result res;
        struct evm_err err = {0};
        int r = build(&f, NULL, COMPRESS_NONE, &res, &err);
        const char *want = i < 2 ? scripts[i][1] : "fake-depmod";
        if (r >= 0 || !strstr(err.msg, want))
            fail_msg("case %zu: got %d '%s', expected '%s'", i, r, err.msg, want);
        assert_int_equal(access(f.out, F_OK), -1);
        /* No staging tree is left behind in TMPDIR. */
        fixture_free(&f);
    }
}

/* The real thing: Debian's depmod over two modules made by cc (ELF objects with a .modinfo
 * section, as depmod reads them), then Debian's modprobe resolving the aliases against the
 * index the initrd ships — what the guest's modprobe and the kernel's autoloading see. */
static const char MOD_A_C[] =
    "static const char a1[] __attribute__((section(\".modinfo\"), used)) = \"alias=fs-testfs\";\n"
    "static const char a2[] __attribute__((section(\".modinfo\"), used)) = \"license=GPL\";\n"
    "int mod_a_fn(void) { return 1; }\n";
static const char MOD_B_C[] =
    "static const char b1[] __attribute__((section(\".modinfo\"), used)) = "
    "\"alias=net-pf-99\";\n"
    "static const char b2[] __attribute__((section(\".modinfo\"), used)) = \"license=GPL\";\n"
    "int mod_b_fn(void) { return 2; }\n";

static int run_cmd(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    return pclose(p);
}

static void test_real_depmod(void **state)
{
    (void)state;
    if (system("command -v cc >/dev/null && command -v modprobe >/dev/null && "
               "(command -v depmod || test -x /usr/sbin/depmod || test -x /sbin/depmod) "
               ">/dev/null") != 0) {
        skip(); /* kmod and a C compiler: scripts/setup.sh installs both */
        return;
    }
    char *dir = tu_tmpdir();
    char *mods = tu_path(dir, "lib/modules/9.9.9-evm");
    mkdirs(dir, "lib/modules/9.9.9-evm/kernel/x");
    write_rel(dir, "a.c", MOD_A_C);
    write_rel(dir, "b.c", MOD_B_C);
    char cmd[8192], out[4096];
    snprintf(cmd, sizeof(cmd),
             "cc -c -o %s/kernel/x/mod_a.ko %s/a.c && cc -c -o %s/kernel/x/mod-b.ko %s/b.c", mods,
             dir, mods, dir);
    assert_int_equal(system(cmd), 0);
    write_rel(mods, "modules.dep", "kernel/x/mod_a.ko:\nkernel/x/mod-b.ko: kernel/x/mod_a.ko\n");
    write_rel(mods, "modules.builtin", "kernel/y/unix.ko\n");
    write_rel(dir, "t.list", "module mod_b later\nmodule unix\n");
    char *list = tu_path(dir, "t.list"), *img = tu_path(dir, "base.img");
    struct baseinitrd_opts o = {
        .list = list, .modules_dir = mods, .out = img, .compress = COMPRESS_NONE};
    struct baseinitrd_result res;
    struct evm_err err = {0};
    if (baseinitrd_build(&o, &res, &err) < 0)
        fail_msg("build: %s", err.msg);
    assert_true(res.index >= 4);

    /* The shipped tree, as the guest mounts it at /lib/modules/9.9.9-evm. */
    struct archive_view av;
    view_read(img, &av);
    char *root = tu_path(dir, "root");
    assert_int_equal(mkdir(root, 0755), 0);
    for (size_t i = 0; i < av.n; i++) {
        const char *pre = "modules/9.9.9-evm/";
        if (strncmp(av.v[i].name, pre, strlen(pre)) != 0 || av.v[i].type != AE_IFREG)
            continue;
        char rel[512];
        snprintf(rel, sizeof(rel), "lib/modules/9.9.9-evm/%s", av.v[i].name + strlen(pre));
        char *slash = strrchr(rel, '/');
        *slash = '\0';
        mkdirs(root, rel);
        *slash = '/';
        char *p = tu_path(root, rel);
        tu_write(p, av.v[i].data, av.v[i].len);
        free(p);
    }
    view_free(&av);
    const char *cases[][2] = {
        {"net-pf-99", "kernel/x/mod-b.ko"}, /* an alias, as request_module asks */
        {"mod_b", "kernel/x/mod-b.ko"},     /* '_' finds mod-b.ko */
        {"fs-testfs", "kernel/x/mod_a.ko"},
        {"unix", "builtin unix"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(cmd, sizeof(cmd), "modprobe -d %s -S 9.9.9-evm --show-depends %s 2>&1", root,
                 cases[i][0]);
        int rc = run_cmd(cmd, out, sizeof(out));
        if (rc != 0 || !strstr(out, cases[i][1]))
            fail_msg("%s: exit %d, output '%s', expected '%s'", cmd, rc, out, cases[i][1]);
    }
    snprintf(cmd, sizeof(cmd), "modprobe -d %s -S 9.9.9-evm --show-depends net-pf-98 2>&1", root);
    assert_int_not_equal(run_cmd(cmd, out, sizeof(out)), 0);
    free(root);
    free(list);
    free(img);
    free(mods);
    tu_rmrf(dir);
    free(dir);
}

static void test_cli(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    /* The command line has no depmod option: the stand-in is found first in PATH. */
    mkdirs(f.dir, "bin");
    write_rel(f.dir, "bin/depmod", FAKE_DEPMOD);
    char *bin = tu_path(f.dir, "bin"), *dm = tu_path(bin, "depmod");
    assert_int_equal(chmod(dm, 0755), 0);
    const char *old_path = getenv("PATH");
    char *saved = strdup(old_path ? old_path : "/usr/bin:/bin");
    char newpath[8192];
    snprintf(newpath, sizeof(newpath), "%s:%s", bin, saved);
    assert_int_equal(tu_setenv("PATH", newpath), 0);
    char *help[] = {"base", "--help", NULL};
    assert_int_equal(cmd_initrd_base(2, help), EXIT_OK);
    char *no_out[] = {"base", "--list", f.list, NULL};
    assert_int_equal(cmd_initrd_base(3, no_out), EXIT_USAGE);
    char *bad_comp[] = {"base", "--list", f.list, "--compress", "lz4", "-o", f.out, NULL};
    assert_int_equal(cmd_initrd_base(7, bad_comp), EXIT_USAGE);
    char *no_mods[] = {"base",     "--list", f.list, "--init", f.init,
                       "--rootfs", f.rootfs, "-o",   f.out,    NULL};
    assert_int_equal(cmd_initrd_base(9, no_mods), EXIT_FAIL);
    char *ok[] = {"base",     "--list", f.list,       "--modules-dir", f.mods, "--init", f.init,
                  "--rootfs", f.rootfs, "--compress", "gzip",          "-o",   f.out,    NULL};
    assert_int_equal(cmd_initrd_base(13, ok), EXIT_OK);
    struct archive_view av;
    view_read(f.out, &av);
    assert_string_equal(av.filters, "gzip");
    assert_non_null(view_find(&av, "modules/load-order"));
    assert_non_null(view_find(&av, "modules/6.1.0-test/modules.dep.bin"));
    view_free(&av);
    assert_int_equal(tu_setenv("PATH", saved), 0);
    free(saved);
    free(bin);
    free(dm);
    fixture_free(&f);
}

int main(void)
{
    // clang-format off
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_modules_rootfs),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_bin_library_closure),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_load_classes),
        cmocka_unit_test(test_depmod_errors),
        cmocka_unit_test(test_real_depmod),
        cmocka_unit_test(test_cli),
    };
    // clang-format on
    return cmocka_run_group_tests(tests, NULL, NULL);
}
