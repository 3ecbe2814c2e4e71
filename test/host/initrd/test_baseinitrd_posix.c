/* test_baseinitrd_posix.c — the base initrd builder on a fake kernel modules tree (a
 * dependency chain, a built-in module, a compressed module), a fake init, a rootfs blob and
 * the host's real /sbin/mkfs.ext4: the output read back with libarchive holds every
 * directory before its contents, /init and its power-command symlinks, /modules with
 * load-order in dependency order, the rootfs with equal bytes, and the complete shared-
 * library closure (checked with <elf.h>, independently of the builder's own ELF reader);
 * two builds are byte-identical; unknown modules, cycles and conflicts are errors. */
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
    char *dir, *mods, *init, *rootfs, *list, *out;
};

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
                                  "kernel/y/cy2.ko: kernel/y/cy1.ko\n";

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
}

static int build(struct fixture *f, const char *out, enum compress c, struct baseinitrd_result *res,
                 struct evm_err *err)
{
    struct baseinitrd_opts o = {.list = f->list,
                                .modules_dir = f->mods,
                                .init = f->init,
                                .rootfs = f->rootfs,
                                .compress = c,
                                .out = out ? out : f->out};
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
     * independent modules in parallel); the compressed module kept as it is; the built-in
     * module and the modules nobody asked for absent. */
    assert_entry(&av, "modules/load-order", AE_IFREG, 0644);
    assert_string_equal(view_find(&av, "modules/load-order")->data,
                        "mod_c.ko.xz:\nmod-b.ko: mod_c.ko.xz\nmod_a.ko: mod-b.ko mod_c.ko.xz\n"
                        "mod_d.ko:\n");
    char *p = tu_path(f.mods, "kernel/c/mod_c.ko.xz");
    assert_file_bytes(&av, "modules/mod_c.ko.xz", p);
    free(p);
    p = tu_path(f.mods, "kernel/b/mod-b.ko");
    assert_file_bytes(&av, "modules/mod-b.ko", p);
    free(p);
    assert_entry(&av, "modules/mod_a.ko", AE_IFREG, 0644);
    assert_entry(&av, "modules/mod_d.ko", AE_IFREG, 0644);
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
                                .out = f.out};
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
    expect_failure("module mod_a extra\n", NULL, EINVAL, "module NAME");
}

static void test_cli(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
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
    view_free(&av);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_modules_rootfs),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_bin_library_closure),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
