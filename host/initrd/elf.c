/* elf.c — the ELF64 reader of the base initrd's `bin` closure (see elf.h). The file is read
 * in named steps: the ELF header, the program header table, the segments it names
 * (PT_INTERP read, PT_DYNAMIC located), the dynamic section (DT_NEEDED, DT_STRTAB,
 * DT_STRSZ, DT_RUNPATH/DT_RPATH) and, when there are DT_NEEDED entries, the string table,
 * found through the PT_LOAD segment holding its address. Little-endian fields are decoded by
 * hand; every count and size is bounded before anything is allocated. */
#include "initrd/elf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileutil.h"
#include "initrd/hostpath.h"

#define EHDR_SIZE 64
#define PHDR_SIZE 56
#define DYN_SIZE 16
#define MAX_PHNUM 512
#define MAX_DYNAMIC (1024u * 1024u)
#define MAX_STRTAB (16u * 1024u * 1024u)
#define MAX_INTERP 4096

#define PT_LOAD_ 1
#define PT_DYNAMIC_ 2
#define PT_INTERP_ 3
#define DT_NULL_ 0
#define DT_NEEDED_ 1
#define DT_STRTAB_ 5
#define DT_STRSZ_ 10
#define DT_RPATH_ 15
#define DT_RUNPATH_ 29

/* The file being read and what the steps found so far. */
struct elf_file {
    const char *path;
    int fd;
    uint64_t size;
    unsigned char eh[EHDR_SIZE];
    unsigned char *ph; /* phnum program headers */
    unsigned phnum;
    bool has_dyn;
    uint64_t dyn_off, dyn_size;
    unsigned char *dyn; /* dyn_size bytes of PT_DYNAMIC */
    bool has_strtab;
    uint64_t strtab_vaddr, strsz;
};

static uint64_t le(const unsigned char *b, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = (v << 8) | b[i];
    return v;
}

/* Program header fields. */
static uint32_t ph_type(const unsigned char *h)
{
    return (uint32_t)le(h, 4);
}

static uint64_t ph_offset(const unsigned char *h)
{
    return le(h + 8, 8);
}

static uint64_t ph_vaddr(const unsigned char *h)
{
    return le(h + 16, 8);
}

static uint64_t ph_filesz(const unsigned char *h)
{
    return le(h + 32, 8);
}

static const unsigned char *ph_at(const struct elf_file *f, unsigned i)
{
    return f->ph + (size_t)i * PHDR_SIZE;
}

/* Exactly len bytes at off, which must lie inside the file. */
static int read_at(const struct elf_file *f, uint64_t off, void *buf, size_t len,
                   struct evm_err *err)
{
    if (off > f->size || len > f->size - off)
        return evm_errf(err, EINVAL, "%s: malformed ELF: data at %llu+%zu is past the end", f->path,
                        (unsigned long long)off, len);
    if (lseek(f->fd, (off_t)off, SEEK_SET) < 0)
        return evm_errf(err, errno, "%s: seek: %s", f->path, strerror(errno));
    size_t got;
    int r = read_full(f->fd, buf, len, &got, err, f->path);
    if (r < 0)
        return r;
    if (got != len)
        return evm_errf(err, ENODATA, "%s: short read", f->path);
    return 0;
}

/* A malloc'd buffer of len bytes (at least 1) read at off. */
static int read_alloc(const struct elf_file *f, uint64_t off, size_t len, unsigned char **out,
                      struct evm_err *err)
{
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf)
        return evm_errf(err, ENOMEM, "out of memory reading %s", f->path);
    int r = read_at(f, off, buf, len, err);
    if (r < 0) {
        free(buf);
        return r;
    }
    *out = buf;
    return 0;
}

/* The ELF header: the magic, its full size, ELFCLASS64 + ELFDATA2LSB, and a program header
 * table of 56-byte entries, at most MAX_PHNUM of them. */
static int read_header(struct elf_file *f, struct evm_err *err)
{
    size_t n = f->size < EHDR_SIZE ? (size_t)f->size : EHDR_SIZE;
    int r = read_at(f, 0, f->eh, n, err);
    if (r < 0)
        return r;
    if (memcmp(f->eh,
               "\x7f"
               "ELF",
               4) != 0)
        return evm_errf(err, ENOEXEC, "%s: not an ELF file (use `file` for other files)", f->path);
    if (n < EHDR_SIZE)
        return evm_errf(err, ENOEXEC, "%s: truncated ELF header", f->path);
    if (f->eh[4] != 2 || f->eh[5] != 1)
        return evm_errf(err, ENOEXEC, "%s: not a 64-bit little-endian ELF file", f->path);
    unsigned phentsize = (unsigned)le(f->eh + 0x36, 2);
    f->phnum = (unsigned)le(f->eh + 0x38, 2);
    if (phentsize != PHDR_SIZE || f->phnum > MAX_PHNUM)
        return evm_errf(err, ENOEXEC, "%s: malformed ELF program header table", f->path);
    return 0;
}

static int read_program_headers(struct elf_file *f, struct evm_err *err)
{
    if (f->phnum == 0)
        return 0;
    return read_alloc(f, le(f->eh + 0x20, 8), (size_t)f->phnum * PHDR_SIZE, &f->ph, err);
}

static int read_interp(struct elf_file *f, const unsigned char *h, struct elf_deps *ed,
                       struct evm_err *err)
{
    uint64_t filesz = ph_filesz(h);
    if (filesz == 0 || filesz > MAX_INTERP)
        return evm_errf(err, ENOEXEC, "%s: malformed PT_INTERP", f->path);
    free(ed->interp); /* a second PT_INTERP replaces the first */
    ed->interp = calloc(1, (size_t)filesz + 1);
    if (!ed->interp)
        return evm_errf(err, ENOMEM, "out of memory reading %s", f->path);
    return read_at(f, ph_offset(h), ed->interp, (size_t)filesz, err);
}

/* PT_INTERP is read; the (last) PT_DYNAMIC is remembered. */
static int scan_segments(struct elf_file *f, struct elf_deps *ed, struct evm_err *err)
{
    for (unsigned i = 0; i < f->phnum; i++) {
        const unsigned char *h = ph_at(f, i);
        uint32_t type = ph_type(h);
        if (type == PT_INTERP_) {
            int r = read_interp(f, h, ed, err);
            if (r < 0)
                return r;
        } else if (type == PT_DYNAMIC_) {
            f->has_dyn = true;
            f->dyn_off = ph_offset(h);
            f->dyn_size = ph_filesz(h);
        }
    }
    return 0;
}

static int read_dynamic(struct elf_file *f, struct evm_err *err)
{
    if (!f->has_dyn)
        return 0;
    if (f->dyn_size > MAX_DYNAMIC)
        return evm_errf(err, ENOEXEC, "%s: PT_DYNAMIC too large", f->path);
    return read_alloc(f, f->dyn_off, (size_t)f->dyn_size, &f->dyn, err);
}

/* Walks the dynamic entries up to DT_NULL. */
static int scan_dynamic(struct elf_file *f, struct elf_deps *ed, struct evm_err *err)
{
    for (uint64_t o = 0; f->has_dyn && o + DYN_SIZE <= f->dyn_size; o += DYN_SIZE) {
        uint64_t tag = le(f->dyn + o, 8), val = le(f->dyn + o + 8, 8);
        if (tag == DT_NULL_)
            break;
        if (tag == DT_NEEDED_) {
            if (ed->nneeded == ELF_MAX_NEEDED)
                return evm_errf(err, E2BIG, "%s: more than %d DT_NEEDED entries", f->path,
                                ELF_MAX_NEEDED);
            ed->needed[ed->nneeded++] = val;
        } else if (tag == DT_STRTAB_) {
            f->strtab_vaddr = val;
            f->has_strtab = true;
        } else if (tag == DT_STRSZ_) {
            f->strsz = val;
        } else if (tag == DT_RPATH_ || tag == DT_RUNPATH_) {
            ed->runpath = true;
        }
    }
    return 0;
}

/* DT_STRTAB is an address: the file offset is found through the PT_LOAD segment whose file
 * bytes hold the whole table. */
static int strtab_file_offset(const struct elf_file *f, uint64_t *off, struct evm_err *err)
{
    uint64_t addr = f->strtab_vaddr;
    for (unsigned i = 0; i < f->phnum; i++) {
        const unsigned char *h = ph_at(f, i);
        uint64_t vaddr = ph_vaddr(h), filesz = ph_filesz(h);
        if (ph_type(h) == PT_LOAD_ && addr >= vaddr && addr - vaddr < filesz &&
            f->strsz <= filesz - (addr - vaddr)) {
            *off = ph_offset(h) + (addr - vaddr);
            return 0;
        }
    }
    return evm_errf(err, ENOEXEC, "%s: DT_STRTAB is outside every PT_LOAD segment", f->path);
}

/* The string table, needed only when there are DT_NEEDED names; each must point into it. */
static int read_strtab(struct elf_file *f, struct elf_deps *ed, struct evm_err *err)
{
    if (ed->nneeded == 0)
        return 0;
    if (!f->has_strtab || f->strsz == 0 || f->strsz > MAX_STRTAB)
        return evm_errf(err, ENOEXEC, "%s: DT_NEEDED without a usable DT_STRTAB", f->path);
    uint64_t off = 0;
    int r = strtab_file_offset(f, &off, err);
    if (r < 0)
        return r;
    ed->strtab = malloc((size_t)f->strsz + 1);
    if (!ed->strtab)
        return evm_errf(err, ENOMEM, "out of memory reading %s", f->path);
    r = read_at(f, off, ed->strtab, (size_t)f->strsz, err);
    if (r < 0)
        return r;
    ed->strtab[f->strsz] = '\0';
    ed->strsz = f->strsz;
    for (size_t i = 0; i < ed->nneeded; i++)
        if (ed->needed[i] >= f->strsz)
            return evm_errf(err, ENOEXEC, "%s: DT_NEEDED outside the string table", f->path);
    return 0;
}

static int parse(struct elf_file *f, struct elf_deps *ed, struct evm_err *err)
{
    int r = read_header(f, err);
    if (r < 0)
        return r;
    r = read_program_headers(f, err);
    if (r < 0)
        return r;
    r = scan_segments(f, ed, err);
    if (r < 0)
        return r;
    r = read_dynamic(f, err);
    if (r < 0)
        return r;
    r = scan_dynamic(f, ed, err);
    if (r < 0)
        return r;
    return read_strtab(f, ed, err);
}

int elf_read_deps(const char *path, struct elf_deps *ed, struct evm_err *err)
{
    memset(ed, 0, sizeof(*ed));
    struct elf_file f;
    memset(&f, 0, sizeof(f));
    f.path = path;
    int r = open_regular_file(path, &f.fd, &f.size, err);
    if (r < 0)
        return r;
    r = parse(&f, ed, err);
    free(f.ph);
    free(f.dyn);
    close(f.fd);
    if (r < 0)
        elf_deps_free(ed);
    return r;
}

const char *elf_needed(const struct elf_deps *ed, size_t i)
{
    return ed->strtab + ed->needed[i];
}

void elf_deps_free(struct elf_deps *ed)
{
    free(ed->interp);
    free(ed->strtab);
    ed->interp = NULL;
    ed->strtab = NULL;
}

int elf_find_library(const char *const *dirs, const char *soname, char **found, struct evm_err *err)
{
    for (const char *const *d = dirs; *d; d++) {
        char *cand;
        int r = hostpath_join(*d, soname, &cand, err);
        if (r < 0)
            return r;
        int fd;
        uint64_t size;
        if (open_regular_file(cand, &fd, &size, NULL) == 0) {
            close(fd);
            *found = cand;
            return 0;
        }
        free(cand);
    }
    return evm_errf(err, ENOENT, "%s: found in none of the library directories", soname);
}
