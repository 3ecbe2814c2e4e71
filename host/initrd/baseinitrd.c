/* baseinitrd.c — the base initrd builder: parses the list (initrd/README.md), plans every
 * entry (implicit parent directories, modules in dependency order from modules.dep, the
 * shared-library closure of each `bin` from its ELF headers), then writes the entries
 * sorted by path (so a directory always precedes its contents) as one deterministic newc
 * cpio member through cpiowriter.c, streaming file contents.
 *
 * Portable C: the ELF64 fields needed (program headers, PT_INTERP, PT_DYNAMIC, DT_NEEDED,
 * DT_STRTAB/DT_STRSZ) are read by hand, little-endian, so this compiles on Windows too;
 * there the default library directories simply do not exist. */
#include "initrd/baseinitrd.h"

#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"
#include "initrd/cpiowriter.h"
#include "log.h"
#include "fileutil.h"

#define LIST_MAX_BYTES (1024u * 1024u)
#define MODULES_DEP_MAX_BYTES (64u * 1024u * 1024u)
#define MAX_DEP_DEPTH 64
#define ELF_MAX_PHNUM 512
#define ELF_MAX_DYNAMIC (1024u * 1024u)
#define ELF_MAX_STRTAB (16u * 1024u * 1024u)
#define ELF_MAX_NEEDED 256
#define ELF_MAX_INTERP 4096

const char *const baseinitrd_default_lib_dirs[] = {
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    NULL,
};

/* ---- the plan: entries keyed by archive path ----------------------------------------- */

enum ekind { E_DIR, E_FILE, E_LINK, E_MEM };

struct ent {
    char *path; /* archive name, no leading '/' */
    enum ekind kind;
    unsigned mode;
    char *src;    /* E_FILE: host path; E_LINK: link target */
    int explicit; /* E_DIR: from a `dir` directive (else an implied parent, 0755) */
};

struct kmod {
    char *rel;   /* path relative to modules_dir (points into dep_text) */
    char *name;  /* normalized module name ('-' → '_'), malloc'd */
    char **deps; /* relative paths (into dep_text) */
    size_t ndeps;
    int state; /* 0 unvisited, 1 in progress, 2 emitted */
};

struct plan {
    const struct baseinitrd_opts *o;
    const char *const *lib_dirs;
    char *list_dir; /* directory of the list file, for relative sources */
    struct ent *v;
    size_t n, cap;
    /* modules */
    int mods_loaded;
    char *dep_text;
    struct kmod *mods;
    size_t nmods;
    char **builtin;
    size_t nbuiltin;
    char *builtin_text;
    char *load_order;
    size_t lo_len, lo_cap;
    int has_modules;
    /* ELF closure */
    char **sonames; /* DT_NEEDED names already resolved */
    size_t nsonames;
    char **interps; /* basenames of the ELF interpreters included */
    size_t ninterps;
    struct baseinitrd_result *res;
};

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static char *path_join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    while (na > 1 && a[na - 1] == '/')
        na--;
    char *p = malloc(na + 1 + nb + 1);
    if (!p)
        return NULL;
    memcpy(p, a, na);
    p[na] = '/';
    memcpy(p + na + 1, b, nb + 1);
    return p;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
#ifdef _WIN32
    const char *b = strrchr(p, '\\');
    if (b && (!s || b > s))
        s = b;
#endif
    return s ? s + 1 : p;
}

static int push_str(char ***v, size_t *n, const char *s)
{
    char **nv = realloc(*v, (*n + 1) * sizeof(**v));
    if (!nv)
        return -ENOMEM;
    *v = nv;
    nv[*n] = xstrdup(s);
    if (!nv[*n])
        return -ENOMEM;
    (*n)++;
    return 0;
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int has_str(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

static struct ent *find_ent(struct plan *p, const char *path)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].path, path) == 0)
            return &p->v[i];
    return NULL;
}

static const char *kind_name(enum ekind k)
{
    switch (k) {
    case E_DIR:
        return "directory";
    case E_FILE:
        return "file";
    case E_LINK:
        return "symlink";
    case E_MEM:
        return "generated file";
    }
    return "?";
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int add_raw(struct plan *p, const char *path, enum ekind kind, unsigned mode,
                   const char *src, int explicit, const char *where, struct evm_err *err)
{
    struct ent *e = find_ent(p, path);
    if (e) {
        if (e->kind == E_DIR && kind == E_DIR) {
            if (!explicit)
                return 0;
            if (e->explicit && e->mode != mode)
                return evm_errf(err, EINVAL,
                                "%s: /%s: directory given twice with modes %04o and %04o", where,
                                path, e->mode, mode);
            e->explicit = 1;
            e->mode = mode;
            return 0;
        }
        if (e->kind == kind && e->mode == mode && same_str(e->src, src))
            return 0; /* the same thing twice (a library two binaries need) */
        return evm_errf(err, EEXIST, "%s: /%s: already in the initrd as a %s%s%s", where, path,
                        kind_name(e->kind), e->src ? " from " : "", e->src ? e->src : "");
    }
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 64;
        struct ent *nv = realloc(p->v, nc * sizeof(*nv));
        if (!nv)
            return evm_errf(err, ENOMEM, "out of memory");
        p->v = nv;
        p->cap = nc;
    }
    e = &p->v[p->n];
    memset(e, 0, sizeof(*e));
    e->path = xstrdup(path);
    e->src = src ? xstrdup(src) : NULL;
    if (!e->path || (src && !e->src)) {
        free(e->path);
        free(e->src);
        return evm_errf(err, ENOMEM, "out of memory");
    }
    e->kind = kind;
    e->mode = mode;
    e->explicit = explicit;
    p->n++;
    return 0;
}

/* Adds path and, before it, every parent directory not yet present (0755). */
static int add_entry(struct plan *p, const char *path, enum ekind kind, unsigned mode,
                     const char *src, int explicit, const char *where, struct evm_err *err)
{
    char *tmp = xstrdup(path);
    if (!tmp)
        return evm_errf(err, ENOMEM, "out of memory");
    int r = 0;
    for (char *s = strchr(tmp, '/'); s && r == 0; s = strchr(s + 1, '/')) {
        *s = '\0';
        struct ent *e = find_ent(p, tmp);
        if (e && e->kind != E_DIR)
            r = evm_errf(err, ENOTDIR, "%s: /%s needs /%s to be a directory, but it is a %s", where,
                         path, tmp, kind_name(e->kind));
        else if (!e)
            r = add_raw(p, tmp, E_DIR, 0755, NULL, 0, where, err);
        *s = '/';
    }
    free(tmp);
    return r < 0 ? r : add_raw(p, path, kind, mode, src, explicit, where, err);
}

/* "/a/b" → "a/b"; refuses relative paths, empty, "." and ".." components, "//" and a
 * trailing '/'. */
static int dest_path(const char *s, const char **out, const char *where, struct evm_err *err)
{
    if (s[0] != '/' || s[1] == '\0')
        return evm_errf(err, EINVAL, "%s: '%s': destination must be an absolute path below /",
                        where, s);
    const char *c = s + 1;
    for (;;) {
        const char *end = strchr(c, '/');
        size_t len = end ? (size_t)(end - c) : strlen(c);
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return evm_errf(err, EINVAL, "%s: '%s': empty, '.' or '..' component in a destination",
                            where, s);
        if (!end)
            break;
        c = end + 1;
    }
    *out = s + 1;
    return 0;
}

static int parse_mode(const char *s, unsigned *mode, const char *where, struct evm_err *err)
{
    unsigned v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 4)
        return evm_errf(err, EINVAL, "%s: mode '%s': expected 1 to 4 octal digits", where, s);
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '7')
            return evm_errf(err, EINVAL, "%s: mode '%s': expected octal digits", where, s);
        v = v * 8 + (unsigned)(*c - '0');
    }
    *mode = v;
    return 0;
}

/* Relative sources are taken from the list file's directory. */
static char *source_path(struct plan *p, const char *src)
{
    int absolute = src[0] == '/';
#ifdef _WIN32
    absolute = absolute || src[0] == '\\' || (src[0] && src[1] == ':');
#endif
    return absolute ? xstrdup(src) : path_join(p->list_dir, src);
}

/* ---- modules ---------------------------------------------------------------------------- */

static char *module_name_of(const char *rel)
{
    const char *b = base_name(rel);
    const char *ko = strstr(b, ".ko");
    size_t n = ko ? (size_t)(ko - b) : strlen(b);
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        s[i] = b[i] == '-' ? '_' : b[i];
    s[n] = '\0';
    return s;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

static int parse_modules_dep(struct plan *p, const char *path, struct evm_err *err)
{
    size_t len;
    int r = read_regular_file(path, MODULES_DEP_MAX_BYTES, &p->dep_text, &len, err);
    if (r < 0)
        return evm_err_wrap(err, "kernel modules (run depmod first?)");
    size_t cap = 0;
    unsigned lineno = 0;
    for (char *save = NULL, *line = strtok_r(p->dep_text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        line = trim(line);
        if (!*line || *line == '#')
            continue;
        char *colon = strchr(line, ':');
        if (!colon)
            return evm_errf(err, EINVAL, "%s:%u: expected 'module.ko: deps...'", path, lineno);
        *colon = '\0';
        if (p->nmods == cap) {
            cap = cap ? cap * 2 : 1024;
            struct kmod *nv = realloc(p->mods, cap * sizeof(*nv));
            if (!nv)
                return evm_errf(err, ENOMEM, "out of memory");
            p->mods = nv;
        }
        struct kmod *m = &p->mods[p->nmods];
        memset(m, 0, sizeof(*m));
        m->rel = trim(line);
        m->name = module_name_of(m->rel);
        if (!m->name)
            return evm_errf(err, ENOMEM, "out of memory");
        p->nmods++;
        char *save2 = NULL;
        for (char *d = strtok_r(colon + 1, " \t\r", &save2); d;
             d = strtok_r(NULL, " \t\r", &save2)) {
            char **nd = realloc(m->deps, (m->ndeps + 1) * sizeof(*nd));
            if (!nd)
                return evm_errf(err, ENOMEM, "out of memory");
            m->deps = nd;
            nd[m->ndeps++] = d;
        }
    }
    return 0;
}

static int parse_modules_builtin(struct plan *p, const char *path, struct evm_err *err)
{
    size_t len;
    struct evm_err rerr = {0};
    int r = read_regular_file(path, MODULES_DEP_MAX_BYTES, &p->builtin_text, &len, &rerr);
    if (r == -ENOENT) {
        log_warn("%s: missing; no module is known to be built in", path);
        return 0;
    }
    if (r < 0)
        return evm_errf(err, -r, "%s", rerr.msg);
    for (char *save = NULL, *line = strtok_r(p->builtin_text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        line = trim(line);
        if (!*line || *line == '#')
            continue;
        char *name = module_name_of(line);
        if (!name)
            return evm_errf(err, ENOMEM, "out of memory");
        char **nv = realloc(p->builtin, (p->nbuiltin + 1) * sizeof(*nv));
        if (!nv) {
            free(name);
            return evm_errf(err, ENOMEM, "out of memory");
        }
        p->builtin = nv;
        nv[p->nbuiltin++] = name;
    }
    return 0;
}

static int load_module_db(struct plan *p, const char *where, struct evm_err *err)
{
    if (p->mods_loaded)
        return 0;
    if (!p->o->modules_dir)
        return evm_errf(err, EINVAL, "%s: the list has modules but no modules directory was given",
                        where);
    char *dep = path_join(p->o->modules_dir, "modules.dep");
    char *bi = path_join(p->o->modules_dir, "modules.builtin");
    int r = dep && bi ? 0 : evm_errf(err, ENOMEM, "out of memory");
    if (r == 0)
        r = parse_modules_dep(p, dep, err);
    if (r == 0)
        r = parse_modules_builtin(p, bi, err);
    free(dep);
    free(bi);
    if (r == 0)
        p->mods_loaded = 1;
    return r;
}

static struct kmod *mod_by_name(struct plan *p, const char *name)
{
    for (size_t i = 0; i < p->nmods; i++)
        if (strcmp(p->mods[i].name, name) == 0)
            return &p->mods[i];
    return NULL;
}

static struct kmod *mod_by_rel(struct plan *p, const char *rel)
{
    for (size_t i = 0; i < p->nmods; i++)
        if (strcmp(p->mods[i].rel, rel) == 0)
            return &p->mods[i];
    return NULL;
}

static int load_order_add(struct plan *p, const char *file, struct evm_err *err)
{
    size_t n = strlen(file);
    if (p->lo_len + n + 2 > p->lo_cap) {
        size_t nc = (p->lo_cap + n + 2) * 2;
        char *nb = realloc(p->load_order, nc);
        if (!nb)
            return evm_errf(err, ENOMEM, "out of memory");
        p->load_order = nb;
        p->lo_cap = nc;
    }
    memcpy(p->load_order + p->lo_len, file, n);
    p->load_order[p->lo_len + n] = '\n';
    p->lo_len += n + 1;
    p->load_order[p->lo_len] = '\0';
    return 0;
}

/* "<file>: <dep file> <dep file>..." — the init loads modules whose dependencies are all in
 * parallel (modules.dep lists every dependency, transitively). */
static int load_order_line(struct plan *p, const struct kmod *m, const char *file,
                           struct evm_err *err)
{
    size_t cap = strlen(file) + 2;
    for (size_t i = 0; i < m->ndeps; i++)
        cap += strlen(base_name(m->deps[i])) + 1;
    char *line = malloc(cap + 1);
    if (!line)
        return evm_errf(err, ENOMEM, "out of memory");
    size_t o = (size_t)snprintf(line, cap + 1, "%s:", file);
    for (size_t i = 0; i < m->ndeps; i++)
        o += (size_t)snprintf(line + o, cap + 1 - o, " %s", base_name(m->deps[i]));
    int r = load_order_add(p, line, err);
    free(line);
    return r;
}

/* Depth-first: a module's dependencies (modules.dep lists them all, transitively; they are
 * visited last-first as modprobe loads them) are emitted before it, each once. */
static int visit_module(struct plan *p, struct kmod *m, int depth, const char *where,
                        struct evm_err *err)
{
    if (m->state == 2)
        return 0;
    if (m->state == 1 || depth > MAX_DEP_DEPTH)
        return evm_errf(err, ELOOP, "%s: module %s: dependency cycle in modules.dep", where,
                        m->name);
    m->state = 1;
    for (size_t i = m->ndeps; i-- > 0;) {
        struct kmod *d = mod_by_rel(p, m->deps[i]);
        if (!d)
            return evm_errf(err, ENOENT,
                            "%s: module %s depends on %s, which has no line in modules.dep", where,
                            m->name, m->deps[i]);
        int r = visit_module(p, d, depth + 1, where, err);
        if (r < 0)
            return r;
    }
    const char *file = base_name(m->rel);
    char *dest = path_join(BASEINITRD_MODULES, file);
    char *src = path_join(p->o->modules_dir, m->rel);
    int r = dest && src ? 0 : evm_errf(err, ENOMEM, "out of memory");
    if (r == 0 && find_ent(p, dest))
        r = evm_errf(err, EEXIST,
                     "%s: module %s: a different module file named %s is already "
                     "in /" BASEINITRD_MODULES,
                     where, m->name, file);
    if (r == 0)
        r = add_entry(p, dest, E_FILE, 0644, src, 0, where, err);
    if (r == 0)
        r = load_order_line(p, m, file, err);
    free(dest);
    free(src);
    if (r < 0)
        return r;
    m->state = 2;
    p->res->modules++;
    log_debug("module %s: /%s/%s", m->name, BASEINITRD_MODULES, file);
    return 0;
}

static int add_module(struct plan *p, const char *name, const char *where, struct evm_err *err)
{
    int r = load_module_db(p, where, err);
    if (r < 0)
        return r;
    char *norm = module_name_of(name);
    if (!norm)
        return evm_errf(err, ENOMEM, "out of memory");
    p->has_modules = 1;
    struct kmod *m = mod_by_name(p, norm);
    if (m) {
        r = visit_module(p, m, 0, where, err);
    } else if (has_str(p->builtin, p->nbuiltin, norm)) {
        log_info("module %s is built into the kernel: skipped", name);
        p->res->builtin++;
    } else {
        r = evm_errf(err, ENOENT, "%s: module %s: neither in %s/modules.dep nor in modules.builtin",
                     where, name, p->o->modules_dir);
    }
    free(norm);
    return r;
}

/* ---- ELF: the few ELF64 little-endian fields the closure needs ----------------------- */

#define PT_LOAD_ 1
#define PT_DYNAMIC_ 2
#define PT_INTERP_ 3
#define DT_NULL_ 0
#define DT_NEEDED_ 1
#define DT_STRTAB_ 5
#define DT_STRSZ_ 10
#define DT_RPATH_ 15
#define DT_RUNPATH_ 29

static uint64_t le(const unsigned char *b, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = (v << 8) | b[i];
    return v;
}

struct elfinfo {
    char *interp; /* PT_INTERP, or NULL */
    char *strtab; /* the dynamic string table, or NULL */
    uint64_t strsz;
    uint64_t needed[ELF_MAX_NEEDED]; /* offsets into strtab */
    size_t nneeded;
    int runpath;
};

static void elfinfo_free(struct elfinfo *ei)
{
    free(ei->interp);
    free(ei->strtab);
}

static int read_at(int fd, uint64_t size, uint64_t off, void *buf, size_t len, const char *path,
                   struct evm_err *err)
{
    if (off > size || len > size - off)
        return evm_errf(err, EINVAL, "%s: malformed ELF: data at %llu+%zu is past the end", path,
                        (unsigned long long)off, len);
    if (lseek(fd, (off_t)off, SEEK_SET) < 0)
        return evm_errf(err, errno, "%s: seek: %s", path, strerror(errno));
    size_t got;
    int r = read_full(fd, buf, len, &got, err, path);
    if (r == 0 && got != len)
        r = evm_errf(err, ENODATA, "%s: short read", path);
    return r;
}

static int elf_read(const char *path, struct elfinfo *ei, struct evm_err *err)
{
    memset(ei, 0, sizeof(*ei));
    int fd;
    uint64_t size;
    int r = open_regular_file(path, &fd, &size, err);
    if (r < 0)
        return r;
    unsigned char eh[64];
    unsigned char *ph = NULL, *dyn = NULL;
    memset(eh, 0, sizeof(eh));
    r = read_at(fd, size, 0, eh, size < sizeof(eh) ? (size_t)size : sizeof(eh), path, err);
    if (r == 0 && memcmp(eh,
                         "\x7f"
                         "ELF",
                         4) != 0)
        r = evm_errf(err, ENOEXEC, "%s: not an ELF file (use `file` for other files)", path);
    if (r == 0 && size < sizeof(eh))
        r = evm_errf(err, ENOEXEC, "%s: truncated ELF header", path);
    if (r == 0 && (eh[4] != 2 || eh[5] != 1))
        r = evm_errf(err, ENOEXEC, "%s: not a 64-bit little-endian ELF file", path);
    uint64_t phoff = le(eh + 0x20, 8);
    unsigned phentsize = (unsigned)le(eh + 0x36, 2), phnum = (unsigned)le(eh + 0x38, 2);
    if (r == 0 && (phentsize != 56 || phnum > ELF_MAX_PHNUM))
        r = evm_errf(err, ENOEXEC, "%s: malformed ELF program header table", path);
    if (r == 0 && phnum > 0) {
        ph = malloc((size_t)phnum * 56);
        r = ph ? read_at(fd, size, phoff, ph, (size_t)phnum * 56, path, err)
               : evm_errf(err, ENOMEM, "out of memory");
    }
    uint64_t dyn_off = 0, dyn_size = 0;
    int has_dyn = 0;
    for (unsigned i = 0; r == 0 && i < phnum; i++) {
        const unsigned char *h = ph + (size_t)i * 56;
        uint32_t type = (uint32_t)le(h, 4);
        uint64_t off = le(h + 8, 8), filesz = le(h + 32, 8);
        if (type == PT_INTERP_) {
            if (filesz == 0 || filesz > ELF_MAX_INTERP) {
                r = evm_errf(err, ENOEXEC, "%s: malformed PT_INTERP", path);
                break;
            }
            ei->interp = calloc(1, (size_t)filesz + 1);
            r = ei->interp ? read_at(fd, size, off, ei->interp, (size_t)filesz, path, err)
                           : evm_errf(err, ENOMEM, "out of memory");
        } else if (type == PT_DYNAMIC_) {
            has_dyn = 1;
            dyn_off = off;
            dyn_size = filesz;
        }
    }
    if (r == 0 && has_dyn) {
        if (dyn_size > ELF_MAX_DYNAMIC)
            r = evm_errf(err, ENOEXEC, "%s: PT_DYNAMIC too large", path);
        dyn = r == 0 ? malloc(dyn_size ? (size_t)dyn_size : 1) : NULL;
        if (r == 0)
            r = dyn ? read_at(fd, size, dyn_off, dyn, (size_t)dyn_size, path, err)
                    : evm_errf(err, ENOMEM, "out of memory");
    }
    uint64_t strtab_vaddr = 0, strsz = 0;
    int has_strtab = 0;
    for (uint64_t o = 0; r == 0 && has_dyn && o + 16 <= dyn_size; o += 16) {
        uint64_t tag = le(dyn + o, 8), val = le(dyn + o + 8, 8);
        if (tag == DT_NULL_)
            break;
        if (tag == DT_NEEDED_) {
            if (ei->nneeded == ELF_MAX_NEEDED)
                r = evm_errf(err, E2BIG, "%s: more than %d DT_NEEDED entries", path,
                             ELF_MAX_NEEDED);
            else
                ei->needed[ei->nneeded++] = val;
        } else if (tag == DT_STRTAB_) {
            strtab_vaddr = val;
            has_strtab = 1;
        } else if (tag == DT_STRSZ_) {
            strsz = val;
        } else if (tag == DT_RPATH_ || tag == DT_RUNPATH_) {
            ei->runpath = 1;
        }
    }
    if (r == 0 && ei->nneeded > 0) {
        if (!has_strtab || strsz == 0 || strsz > ELF_MAX_STRTAB)
            r = evm_errf(err, ENOEXEC, "%s: DT_NEEDED without a usable DT_STRTAB", path);
        /* DT_STRTAB is an address: find the PT_LOAD segment holding it. */
        uint64_t file_off = 0;
        int mapped = 0;
        for (unsigned i = 0; r == 0 && i < phnum; i++) {
            const unsigned char *h = ph + (size_t)i * 56;
            uint64_t off = le(h + 8, 8), vaddr = le(h + 16, 8), filesz = le(h + 32, 8);
            if ((uint32_t)le(h, 4) == PT_LOAD_ && strtab_vaddr >= vaddr &&
                strtab_vaddr - vaddr < filesz && strsz <= filesz - (strtab_vaddr - vaddr)) {
                file_off = off + (strtab_vaddr - vaddr);
                mapped = 1;
                break;
            }
        }
        if (r == 0 && !mapped)
            r = evm_errf(err, ENOEXEC, "%s: DT_STRTAB is outside every PT_LOAD segment", path);
        if (r == 0) {
            ei->strtab = malloc((size_t)strsz + 1);
            r = ei->strtab ? read_at(fd, size, file_off, ei->strtab, (size_t)strsz, path, err)
                           : evm_errf(err, ENOMEM, "out of memory");
        }
        if (r == 0) {
            ei->strtab[strsz] = '\0';
            ei->strsz = strsz;
            for (size_t i = 0; r == 0 && i < ei->nneeded; i++)
                if (ei->needed[i] >= strsz)
                    r = evm_errf(err, ENOEXEC, "%s: DT_NEEDED outside the string table", path);
        }
    }
    free(ph);
    free(dyn);
    close(fd);
    if (r < 0)
        elfinfo_free(ei);
    return r;
}

static int find_library(struct plan *p, const char *soname, char **found)
{
    for (const char *const *d = p->lib_dirs; *d; d++) {
        char *cand = path_join(*d, soname);
        if (!cand)
            return -ENOMEM;
        int fd;
        uint64_t size;
        if (open_regular_file(cand, &fd, &size, NULL) == 0) {
            close(fd);
            *found = cand;
            return 0;
        }
        free(cand);
    }
    return -ENOENT;
}

/* Adds the ELF interpreter and the libraries `elf` needs, recursively (breadth-first
 * through a work list of host paths). Libraries land at the path of the library directory
 * they were found in (e.g. /lib/x86_64-linux-gnu/libc.so.6), which is where the guest's
 * dynamic loader looks by default; symlinks are followed, so each is a regular file under
 * its DT_NEEDED name. */
static int add_elf_closure(struct plan *p, const char *elf, const char *where, struct evm_err *err)
{
    char **work = NULL;
    size_t nwork = 0;
    int r = push_str(&work, &nwork, elf) < 0 ? evm_errf(err, ENOMEM, "out of memory") : 0;
    for (size_t w = 0; r == 0 && w < nwork; w++) {
        struct elfinfo ei;
        r = elf_read(work[w], &ei, err);
        if (r < 0) {
            evm_err_wrap(err, "%s", where);
            break;
        }
        if (ei.runpath)
            log_warn("%s: has DT_RUNPATH/DT_RPATH, ignored: libraries are searched in the "
                     "library directories only",
                     work[w]);
        if (ei.interp) {
            const char *dest;
            r = dest_path(ei.interp, &dest, where, err);
            if (r == 0 && !find_ent(p, dest)) {
                r = add_entry(p, dest, E_FILE, 0755, ei.interp, 0, where, err);
                if (r == 0 && push_str(&p->interps, &p->ninterps, base_name(ei.interp)) < 0)
                    r = evm_errf(err, ENOMEM, "out of memory");
                if (r == 0 && push_str(&work, &nwork, ei.interp) < 0)
                    r = evm_errf(err, ENOMEM, "out of memory");
                if (r == 0)
                    p->res->libraries++;
            }
        }
        for (size_t i = 0; r == 0 && i < ei.nneeded; i++) {
            const char *so = ei.strtab + ei.needed[i];
            if (!*so || strchr(so, '/')) {
                r = evm_errf(err, ENOEXEC, "%s: %s: unsupported DT_NEEDED '%s'", where, work[w],
                             so);
                break;
            }
            /* The loader satisfies a DT_NEEDED on itself without a lookup. */
            if (has_str(p->sonames, p->nsonames, so) || has_str(p->interps, p->ninterps, so))
                continue;
            char *found = NULL;
            int fr = find_library(p, so, &found);
            if (fr == -ENOENT) {
                r = evm_errf(err, ENOENT,
                             "%s: %s needs %s, found in none of the library "
                             "directories",
                             where, work[w], so);
                break;
            }
            if (fr < 0) {
                r = evm_errf(err, -fr, "out of memory");
                break;
            }
            r = add_entry(p, found + 1, E_FILE, 0644, found, 0, where, err);
            if (r == 0 &&
                (push_str(&p->sonames, &p->nsonames, so) < 0 || push_str(&work, &nwork, found) < 0))
                r = evm_errf(err, ENOMEM, "out of memory");
            if (r == 0) {
                p->res->libraries++;
                log_debug("%s: %s needs %s: %s", where, base_name(work[w]), so, found);
            }
            free(found);
        }
        elfinfo_free(&ei);
    }
    free_strs(work, nwork);
    return r;
}

/* ---- the list --------------------------------------------------------------------------- */

#define MAX_TOKENS 5

static int directive(struct plan *p, char **tok, int ntok, const char *where, struct evm_err *err)
{
    const char *cmd = tok[0], *dest = NULL;
    unsigned mode = 0;
    int r;
#define WANT(n, usage)                                                                             \
    do {                                                                                           \
        if (ntok != (n))                                                                           \
            return evm_errf(err, EINVAL, "%s: expected '%s'", where, usage);                       \
    } while (0)
    if (strcmp(cmd, "dir") == 0) {
        WANT(3, "dir PATH MODE");
        r = dest_path(tok[1], &dest, where, err);
        if (r == 0)
            r = parse_mode(tok[2], &mode, where, err);
        return r < 0 ? r : add_entry(p, dest, E_DIR, mode, NULL, 1, where, err);
    }
    if (strcmp(cmd, "init") == 0) {
        WANT(2, "init PATH");
        if (!p->o->init)
            return evm_errf(err, EINVAL, "%s: the list has `init` but no init binary was given",
                            where);
        r = dest_path(tok[1], &dest, where, err);
        return r < 0 ? r : add_entry(p, dest, E_FILE, 0755, p->o->init, 0, where, err);
    }
    if (strcmp(cmd, "rootfs") == 0) {
        WANT(2, "rootfs PATH");
        if (!p->o->rootfs)
            return evm_errf(err, EINVAL,
                            "%s: the list has `rootfs` but no rootfs tarball was given", where);
        r = dest_path(tok[1], &dest, where, err);
        return r < 0 ? r : add_entry(p, dest, E_FILE, 0644, p->o->rootfs, 0, where, err);
    }
    if (strcmp(cmd, "link") == 0) {
        WANT(3, "link PATH TARGET");
        r = dest_path(tok[1], &dest, where, err);
        return r < 0 ? r : add_entry(p, dest, E_LINK, 0777, tok[2], 0, where, err);
    }
    if (strcmp(cmd, "module") == 0) {
        WANT(2, "module NAME");
        if (strchr(tok[1], '/'))
            return evm_errf(err, EINVAL, "%s: '%s': a module name, not a path", where, tok[1]);
        return add_module(p, tok[1], where, err);
    }
    if (strcmp(cmd, "file") == 0 || strcmp(cmd, "bin") == 0) {
        int is_bin = cmd[0] == 'b';
        if (is_bin)
            WANT(3, "bin PATH SOURCE");
        else
            WANT(4, "file PATH SOURCE MODE");
        r = dest_path(tok[1], &dest, where, err);
        if (r == 0 && !is_bin)
            r = parse_mode(tok[3], &mode, where, err);
        if (r < 0)
            return r;
        char *src = source_path(p, tok[2]);
        if (!src)
            return evm_errf(err, ENOMEM, "out of memory");
        r = add_entry(p, dest, E_FILE, is_bin ? 0755 : mode, src, 0, where, err);
        if (r == 0 && is_bin)
            r = add_elf_closure(p, src, where, err);
        free(src);
        return r;
    }
#undef WANT
    return evm_errf(err, EINVAL,
                    "%s: unknown directive '%s' (dir, init, link, module, bin, file, rootfs)",
                    where, cmd);
}

static int parse_list(struct plan *p, struct evm_err *err)
{
    char *text;
    size_t len;
    int r = read_regular_file(p->o->list, LIST_MAX_BYTES, &text, &len, err);
    if (r < 0)
        return evm_err_wrap(err, "base initrd list");
    unsigned lineno = 0;
    char *line = text;
    while (r == 0 && line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        char where[512];
        snprintf(where, sizeof(where), "%s:%u", p->o->list, lineno);
        char *tok[MAX_TOKENS + 1];
        int ntok = 0;
        char *save = NULL;
        char *body = trim(line);
        if (*body == '#')
            body = NULL; /* a comment line */
        for (char *t = body ? strtok_r(body, " \t\r", &save) : NULL; t && ntok <= MAX_TOKENS;
             t = strtok_r(NULL, " \t\r", &save))
            tok[ntok++] = t;
        if (ntok > MAX_TOKENS)
            r = evm_errf(err, EINVAL, "%s: too many fields", where);
        else if (ntok > 0)
            r = directive(p, tok, ntok, where, err);
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    if (r == 0 && p->has_modules) {
        char where[512];
        snprintf(where, sizeof(where), "%s", p->o->list);
        r = add_entry(p, BASEINITRD_LOAD_ORDER, E_MEM, 0644, NULL, 0, where, err);
    }
    return r;
}

/* ---- writing ---------------------------------------------------------------------------- */

static int cmp_ent(const void *a, const void *b)
{
    /* A path sorts before every path it prefixes: parents precede their contents. */
    return strcmp(((const struct ent *)a)->path, ((const struct ent *)b)->path);
}

static int write_entry(struct plan *p, struct cpio_member *m, const struct ent *e, int64_t ino,
                       struct evm_err *err)
{
    switch (e->kind) {
    case E_DIR:
        return cpio_member_header(m, e->path, AE_IFDIR, e->mode, ino, 0, err);
    case E_LINK:
        return cpio_member_symlink(m, e->path, e->src, ino, err);
    case E_MEM:
        return cpio_member_file_mem(m, e->path, e->mode, ino, p->load_order ? p->load_order : "",
                                    p->lo_len, err);
    case E_FILE: {
        int fd;
        uint64_t size;
        int r = open_regular_file(e->src, &fd, &size, err);
        if (r < 0)
            return evm_err_wrap(err, "/%s", e->path);
        r = cpio_member_file_fd(m, e->path, e->mode, ino, fd, size, err);
        close(fd);
        if (r < 0)
            evm_err_wrap(err, "%s", e->src);
        return r;
    }
    }
    return evm_errf(err, EINVAL, "/%s: unknown entry kind", e->path);
}

static int write_plan(struct plan *p, struct evm_err *err)
{
    qsort(p->v, p->n, sizeof(*p->v), cmp_ent);
    struct atomicfile out;
    int r = atomicfile_open(&out, p->o->out, err);
    if (r < 0)
        return r;
    struct cpio_member m;
    r = cpio_member_open(&m, p->o->compress, p->o->mtime, err);
    if (r == 0) {
        m.sink.files[0] = &out;
        m.sink.nfiles = 1;
    }
    for (size_t i = 0; r == 0 && i < p->n; i++)
        r = write_entry(p, &m, &p->v[i], (int64_t)(BASEINITRD_INO_FIRST + i), err);
    int rc = cpio_member_close(&m, r < 0 ? NULL : err);
    if (r == 0)
        r = rc;
    if (r == 0) {
        p->res->out_size = out.written;
        p->res->entries = p->n;
        r = atomicfile_commit(&out, err);
    } else {
        atomicfile_abort(&out);
    }
    return r;
}

static void plan_free(struct plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].path);
        free(p->v[i].src);
    }
    free(p->v);
    for (size_t i = 0; i < p->nmods; i++) {
        free(p->mods[i].name);
        free(p->mods[i].deps);
    }
    free(p->mods);
    free(p->dep_text);
    free_strs(p->builtin, p->nbuiltin);
    free(p->builtin_text);
    free(p->load_order);
    free_strs(p->sonames, p->nsonames);
    free_strs(p->interps, p->ninterps);
    free(p->list_dir);
}

int baseinitrd_build(const struct baseinitrd_opts *o, struct baseinitrd_result *res,
                     struct evm_err *err)
{
    memset(res, 0, sizeof(*res));
    if (!o->list || !o->out)
        return evm_errf(err, EINVAL, "base initrd: a list and an output path are required");
    if (o->mtime > 0xffffffffu)
        return evm_errf(err, EINVAL, "mtime %llu does not fit the cpio header",
                        (unsigned long long)o->mtime);
    struct plan p;
    memset(&p, 0, sizeof(p));
    p.o = o;
    p.res = res;
    p.lib_dirs = o->lib_dirs ? o->lib_dirs : baseinitrd_default_lib_dirs;
    const char *b = base_name(o->list);
    size_t dlen = (size_t)(b - o->list);
    p.list_dir = malloc(dlen + 2);
    int r = p.list_dir ? 0 : evm_errf(err, ENOMEM, "out of memory");
    if (r == 0) {
        if (dlen == 0) {
            strcpy(p.list_dir, ".");
        } else {
            memcpy(p.list_dir, o->list, dlen);
            p.list_dir[dlen] = '\0';
        }
        r = parse_list(&p, err);
    }
    if (r == 0)
        r = write_plan(&p, err);
    plan_free(&p);
    return r;
}
