/* test_elf_posix.c — the base initrd's ELF reader (initrd/elf.c) on real binaries of the
 * system (/bin/ls, a static /bin/busybox), checked against an independent <elf.h> reading;
 * on non-ELF and truncated files; on small ELF files crafted here, each with one defect
 * (wrong class or byte order, bad program header size, a string table outside every
 * PT_LOAD, a DT_NEEDED past the string table, too many DT_NEEDED, an empty PT_INTERP);
 * and the library search over directories. */
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

#include "initrd/elf.h"
#include "testutil.h"

#define LS "/bin/ls"
#define BUSYBOX "/bin/busybox"

/* ---- an independent reading with <elf.h> ------------------------------------------------ */

struct truth {
    int has_interp;
    char interp[256];
    size_t nneeded;
};

static int read_truth(const char *path, struct truth *t)
{
    memset(t, 0, sizeof(*t));
    size_t len;
    char *data = tu_read(path, &len);
    if (!data || len < sizeof(Elf64_Ehdr) || memcmp(data, ELFMAG, SELFMAG) != 0 ||
        data[EI_CLASS] != ELFCLASS64) {
        free(data);
        return -1;
    }
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)(const void *)data;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(const void *)(data + eh->e_phoff);
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_INTERP) {
            t->has_interp = 1;
            snprintf(t->interp, sizeof(t->interp), "%s", data + ph[i].p_offset);
        } else if (ph[i].p_type == PT_DYNAMIC) {
            const Elf64_Dyn *d = (const Elf64_Dyn *)(const void *)(data + ph[i].p_offset);
            for (size_t j = 0; j < ph[i].p_filesz / sizeof(*d) && d[j].d_tag != DT_NULL; j++)
                if (d[j].d_tag == DT_NEEDED)
                    t->nneeded++;
        }
    }
    free(data);
    return 0;
}

/* ---- crafted ELF files ----------------------------------------------------------------- */

#define VADDR 0x400000u
#define OFF_INTERP 384u
#define OFF_INTERP2 448u
#define OFF_STRTAB 512u
#define OFF_DYN 1024u

struct craft {
    unsigned char class, data; /* ELFCLASS64, ELFDATA2LSB unless set */
    unsigned phentsize;        /* sizeof(Elf64_Phdr) unless set */
    const char *interp;        /* PT_INTERP contents; NULL: none */
    int empty_interp;          /* PT_INTERP with p_filesz 0 */
    int two_interps;           /* a second PT_INTERP, "/lib/ld-second.so.1" */
    const char *needed[4];
    size_t nneeded;
    size_t repeat_needed; /* DT_NEEDED entries of needed[0], when set */
    int runpath;
    int no_strtab;
    int strtab_outside; /* DT_STRTAB at an address no PT_LOAD holds */
    int needed_past;    /* one DT_NEEDED offset == DT_STRSZ */
};

static void put_dyn(unsigned char *buf, size_t *o, int64_t tag, uint64_t val)
{
    Elf64_Dyn d = {.d_tag = tag, .d_un.d_val = val};
    memcpy(buf + *o, &d, sizeof(d));
    *o += sizeof(d);
}

/* Writes the crafted file to dir/name; returns its path (malloc'd). */
static char *craft_write(const char *dir, const char *name, const struct craft *c)
{
    size_t ndyn = (c->repeat_needed ? c->repeat_needed : c->nneeded) + 5;
    size_t size = OFF_DYN + ndyn * sizeof(Elf64_Dyn);
    unsigned char *buf = calloc(1, size);
    assert_non_null(buf);

    /* the string table: "\0name\0name\0..." */
    size_t strsz = 1, offs[4];
    for (size_t i = 0; i < c->nneeded; i++) {
        offs[i] = strsz;
        memcpy(buf + OFF_STRTAB + strsz, c->needed[i], strlen(c->needed[i]) + 1);
        strsz += strlen(c->needed[i]) + 1;
    }
    size_t o = OFF_DYN;
    for (size_t i = 0; i < c->repeat_needed; i++)
        put_dyn(buf, &o, DT_NEEDED, offs[0]);
    for (size_t i = 0; !c->repeat_needed && i < c->nneeded; i++)
        put_dyn(buf, &o, DT_NEEDED, c->needed_past && i == 0 ? strsz : offs[i]);
    if (!c->no_strtab)
        put_dyn(buf, &o, DT_STRTAB, (c->strtab_outside ? 0x900000u : VADDR) + OFF_STRTAB);
    put_dyn(buf, &o, DT_STRSZ, strsz);
    if (c->runpath)
        put_dyn(buf, &o, DT_RUNPATH, 1);
    put_dyn(buf, &o, DT_NULL, 0);
    size_t dyn_size = o - OFF_DYN;

    Elf64_Phdr ph[4];
    unsigned n = 0;
    memset(ph, 0, sizeof(ph));
    ph[n++] = (Elf64_Phdr){.p_type = PT_LOAD, .p_offset = 0, .p_vaddr = VADDR, .p_filesz = size};
    if (c->interp || c->empty_interp) {
        size_t len = c->empty_interp ? 0 : strlen(c->interp) + 1;
        if (c->interp)
            memcpy(buf + OFF_INTERP, c->interp, strlen(c->interp) + 1);
        ph[n++] = (Elf64_Phdr){.p_type = PT_INTERP, .p_offset = OFF_INTERP, .p_filesz = len};
        if (c->two_interps) {
            static const char second[] = "/lib/ld-second.so.1";
            memcpy(buf + OFF_INTERP2, second, sizeof(second));
            ph[n++] = (Elf64_Phdr){
                .p_type = PT_INTERP, .p_offset = OFF_INTERP2, .p_filesz = sizeof(second)};
        }
    }
    ph[n++] = (Elf64_Phdr){.p_type = PT_DYNAMIC, .p_offset = OFF_DYN, .p_filesz = dyn_size};
    memcpy(buf + sizeof(Elf64_Ehdr), ph, n * sizeof(Elf64_Phdr));

    Elf64_Ehdr eh;
    memset(&eh, 0, sizeof(eh));
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = c->class ? c->class : ELFCLASS64;
    eh.e_ident[EI_DATA] = c->data ? c->data : ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_DYN;
    eh.e_machine = EM_X86_64;
    eh.e_phoff = sizeof(Elf64_Ehdr);
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    eh.e_phentsize = (Elf64_Half)(c->phentsize ? c->phentsize : sizeof(Elf64_Phdr));
    eh.e_phnum = (Elf64_Half)n;
    memcpy(buf, &eh, sizeof(eh));

    char *path = tu_path(dir, name);
    tu_write(path, buf, size);
    free(buf);
    return path;
}

/* Reading `path` fails with code and a message naming the path and containing needle. */
static void expect_read_error(const char *path, int code, const char *needle)
{
    struct elf_deps ed;
    struct evm_err err = {0};
    int r = elf_read_deps(path, &ed, &err);
    if (r != -code || !strstr(err.msg, needle) || !strstr(err.msg, path))
        fail_msg("%s: got %d '%s', expected %d with '%s'", path, r, err.msg, -code, needle);
    assert_null(ed.interp);
    assert_null(ed.strtab);
}

static void copy_head(const char *from, const char *to, size_t n)
{
    size_t len;
    char *data = tu_read(from, &len);
    assert_non_null(data);
    assert_true(len >= n);
    tu_write(to, data, n);
    free(data);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_dynamic_binary(void **state)
{
    (void)state;
    struct truth t;
    if (read_truth(LS, &t) < 0 || !t.has_interp)
        skip();
    struct elf_deps ed;
    struct evm_err err = {0};
    int r = elf_read_deps(LS, &ed, &err);
    if (r < 0)
        fail_msg("%s: %s", LS, err.msg);
    assert_non_null(ed.interp);
    assert_string_equal(ed.interp, t.interp);
    assert_int_equal(ed.nneeded, t.nneeded);
    assert_true(ed.nneeded > 0);
    int libc = 0;
    for (size_t i = 0; i < ed.nneeded; i++) {
        assert_true(ed.needed[i] < ed.strsz);
        if (strcmp(elf_needed(&ed, i), "libc.so.6") == 0)
            libc = 1;
    }
    assert_true(libc);
    assert_false(ed.runpath);
    elf_deps_free(&ed);
}

static void test_static_binary(void **state)
{
    (void)state;
    struct truth t;
    if (read_truth(BUSYBOX, &t) < 0 || t.has_interp || t.nneeded)
        skip(); /* busybox-static is in scripts/setup.sh; a dynamic busybox proves nothing */
    struct elf_deps ed;
    struct evm_err err = {0};
    int r = elf_read_deps(BUSYBOX, &ed, &err);
    if (r < 0)
        fail_msg("%s: %s", BUSYBOX, err.msg);
    assert_null(ed.interp);
    assert_int_equal(ed.nneeded, 0);
    assert_null(ed.strtab);
    elf_deps_free(&ed);
}

static void test_not_elf(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *text = tu_path(dir, "script.sh"), *empty = tu_path(dir, "empty");
    char *tiny = tu_path(dir, "tiny"), *missing = tu_path(dir, "missing");
    tu_write(text, "#!/bin/sh\necho hello\n", 21);
    tu_write(empty, "", 0);
    tu_write(tiny,
             "\x7f"
             "EL",
             3);
    expect_read_error(text, ENOEXEC, "not an ELF file");
    expect_read_error(empty, ENOEXEC, "not an ELF file");
    expect_read_error(tiny, ENOEXEC, "not an ELF file");
    expect_read_error(missing, ENOENT, "");
    expect_read_error(dir, EINVAL, "not a regular file");
    free(text);
    free(empty);
    free(tiny);
    free(missing);
    tu_rmrf(dir);
    free(dir);
}

static void test_truncated(void **state)
{
    (void)state;
    struct truth t;
    if (read_truth(LS, &t) < 0)
        skip();
    char *dir = tu_tmpdir();
    char *p40 = tu_path(dir, "ls-40"), *p200 = tu_path(dir, "ls-200");
    copy_head(LS, p40, 40);   /* inside the ELF header */
    copy_head(LS, p200, 200); /* the header, not the program header table */
    expect_read_error(p40, ENOEXEC, "truncated ELF header");
    expect_read_error(p200, EINVAL, "past the end");
    free(p40);
    free(p200);
    tu_rmrf(dir);
    free(dir);
}

static void test_crafted(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    const struct craft good = {
        .interp = "/lib/ld-test.so.1", .needed = {"libone.so.1", "libtwo.so.2"}, .nneeded = 2};
    char *p = craft_write(dir, "good", &good);
    struct elf_deps ed;
    struct evm_err err = {0};
    if (elf_read_deps(p, &ed, &err) < 0)
        fail_msg("%s", err.msg);
    assert_string_equal(ed.interp, "/lib/ld-test.so.1");
    assert_int_equal(ed.nneeded, 2);
    assert_string_equal(elf_needed(&ed, 0), "libone.so.1");
    assert_string_equal(elf_needed(&ed, 1), "libtwo.so.2");
    assert_false(ed.runpath);
    elf_deps_free(&ed);
    free(p);

    /* Two PT_INTERP: the last one counts (and the first is not leaked); DT_RUNPATH seen. */
    struct craft c = good;
    c.two_interps = 1;
    c.runpath = 1;
    p = craft_write(dir, "two-interps", &c);
    assert_int_equal(elf_read_deps(p, &ed, &err), 0);
    assert_string_equal(ed.interp, "/lib/ld-second.so.1");
    assert_true(ed.runpath);
    elf_deps_free(&ed);
    free(p);

    struct {
        const char *name;
        struct craft c;
        int code;
        const char *needle;
    } bad[] = {
        {"class32", {.class = ELFCLASS32}, ENOEXEC, "not a 64-bit little-endian"},
        {"bigendian", {.data = ELFDATA2MSB}, ENOEXEC, "not a 64-bit little-endian"},
        {"phentsize", {.phentsize = 32}, ENOEXEC, "malformed ELF program header table"},
        {"empty-interp", {.empty_interp = 1}, ENOEXEC, "malformed PT_INTERP"},
        {"no-strtab",
         {.needed = {"liba.so"}, .nneeded = 1, .no_strtab = 1},
         ENOEXEC,
         "without a usable DT_STRTAB"},
        {"strtab-outside",
         {.needed = {"liba.so"}, .nneeded = 1, .strtab_outside = 1},
         ENOEXEC,
         "outside every PT_LOAD"},
        {"needed-past",
         {.needed = {"liba.so"}, .nneeded = 1, .needed_past = 1},
         ENOEXEC,
         "DT_NEEDED outside the string table"},
        {"too-many",
         {.needed = {"liba.so"}, .nneeded = 1, .repeat_needed = ELF_MAX_NEEDED + 1},
         E2BIG,
         "DT_NEEDED entries"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = craft_write(dir, bad[i].name, &bad[i].c);
        expect_read_error(p, bad[i].code, bad[i].needle);
        free(p);
    }
    /* Exactly ELF_MAX_NEEDED is fine. */
    c = (struct craft){.needed = {"liba.so"}, .nneeded = 1, .repeat_needed = ELF_MAX_NEEDED};
    p = craft_write(dir, "max-needed", &c);
    assert_int_equal(elf_read_deps(p, &ed, &err), 0);
    assert_int_equal(ed.nneeded, ELF_MAX_NEEDED);
    assert_null(ed.interp);
    elf_deps_free(&ed);
    free(p);
    tu_rmrf(dir);
    free(dir);
}

static void test_find_library(void **state)
{
    (void)state;
    char *root = tu_tmpdir();
    char *d1 = tu_path(root, "d1"), *d2 = tu_path(root, "d2"), *d3 = tu_path(root, "d3/");
    assert_int_equal(mkdir(d1, 0755), 0);
    assert_int_equal(mkdir(d2, 0755), 0);
    assert_int_equal(mkdir(d3, 0755), 0);
    char *p = tu_path(d2, "libx.so.1");
    tu_write(p, "x", 1);
    free(p);
    p = tu_path(d3, "libx.so.1"); /* "d3//libx.so.1" */
    tu_write(p, "x", 1);
    free(p);
    p = tu_path(d1, "libdir.so"); /* a directory is not a library */
    assert_int_equal(mkdir(p, 0755), 0);
    free(p);
    p = tu_path(d2, "libdir.so");
    tu_write(p, "x", 1);
    free(p);

    const char *dirs[] = {d1, d2, d3, NULL};
    char *found = NULL;
    struct evm_err err = {0};
    assert_int_equal(elf_find_library(dirs, "libx.so.1", &found, &err), 0);
    char *want = tu_path(d2, "libx.so.1");
    assert_string_equal(found, want);
    free(want);
    free(found);
    assert_int_equal(elf_find_library(dirs, "libdir.so", &found, &err), 0);
    want = tu_path(d2, "libdir.so");
    assert_string_equal(found, want);
    free(want);
    free(found);
    /* The first hit wins; a trailing '/' on a directory is dropped. */
    const char *dirs3[] = {d3, d2, NULL};
    assert_int_equal(elf_find_library(dirs3, "libx.so.1", &found, &err), 0);
    want = tu_path(root, "d3/libx.so.1");
    assert_string_equal(found, want);
    free(want);
    free(found);
    found = NULL;
    assert_int_equal(elf_find_library(dirs, "libnone.so.9", &found, &err), -ENOENT);
    assert_null(found);
    assert_non_null(strstr(err.msg, "libnone.so.9"));
    assert_non_null(strstr(err.msg, "none of the library directories"));
    free(d1);
    free(d2);
    free(d3);
    tu_rmrf(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dynamic_binary), cmocka_unit_test(test_static_binary),
        cmocka_unit_test(test_not_elf),        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_crafted),        cmocka_unit_test(test_find_library),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
