/* baseinitrd.c — the base initrd builder: turns the list's directives (parsed by
 * baselist.c) into a plan of entries keyed by archive path — implicit parent directories,
 * modules in dependency order (moddeps.c) per load class (eager, later, demand; eager first,
 * so a dependency both need is loaded eagerly) with their module index (modindex.h), the
 * shared-library closure of each `bin` (its ELF headers read by elf.c) — then writes the
 * entries sorted by path (so a directory always precedes its contents) as one deterministic
 * newc cpio member through cpiowriter.c, streaming file contents. */
#include "initrd/baseinitrd.h"

#include <archive_entry.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"
#include "fileutil.h"
#include "initrd/baselist.h"
#include "initrd/cpiowriter.h"
#include "initrd/elf.h"
#include "initrd/hostpath.h"
#include "initrd/moddeps.h"
#include "initrd/modindex.h"
#include "initrd/strvec.h"
#include "log.h"

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
    char *src;     /* E_FILE: host path; E_LINK: link target */
    bool explicit; /* E_DIR: from a `dir` directive (else an implied parent, 0755) */
    char *data;    /* E_MEM: the bytes (owned) */
    size_t len;
};

/* A `module` directive, kept until the list is read: modules are added per load class. */
struct modreq {
    char *name;
    char *where;
    enum baselist_when when;
    bool optional;
};

struct plan {
    const struct baseinitrd_opts *o;
    const char *const *lib_dirs;
    struct ent *v;
    size_t n, cap;
    struct moddeps mods;
    struct modreq *reqs;
    size_t nreqs;
    char *version;         /* the modules directory's name: the kernel's `uname -r` */
    char *prefix;          /* "VERSION/": load-list paths are relative to /modules */
    struct strvec rels;    /* the shipped modules, as modules.dep names them */
    struct strvec sonames; /* DT_NEEDED names already resolved */
    struct strvec interps; /* basenames of the ELF interpreters included */
    struct baseinitrd_result *res;
};

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

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* A path already planned: fine when it is the same thing again (a library two binaries
 * need), or a directory (an explicit mode wins over an implied parent's). */
static int merge_ent(struct ent *e, enum ekind kind, unsigned mode, const char *src, bool explicit,
                     const char *where, struct evm_err *err)
{
    if (e->kind == E_DIR && kind == E_DIR) {
        if (!explicit)
            return 0;
        if (e->explicit && e->mode != mode)
            return evm_errf(err, EINVAL, "%s: /%s: directory given twice with modes %04o and %04o",
                            where, e->path, e->mode, mode);
        e->explicit = true;
        e->mode = mode;
        return 0;
    }
    if (e->kind == kind && e->mode == mode && same_str(e->src, src))
        return 0;
    return evm_errf(err, EEXIST, "%s: /%s: already in the initrd as a %s%s%s", where, e->path,
                    kind_name(e->kind), e->src ? " from " : "", e->src ? e->src : "");
}

static int add_raw(struct plan *p, const char *path, enum ekind kind, unsigned mode,
                   const char *src, bool explicit, const char *where, struct evm_err *err)
{
    struct ent *e = find_ent(p, path);
    if (e)
        return merge_ent(e, kind, mode, src, explicit, where, err);
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
    e->path = strdup(path);
    e->src = src ? strdup(src) : NULL;
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

/* Every parent directory of path not yet present (0755); each must be a directory. */
static int add_parents(struct plan *p, const char *path, const char *where, struct evm_err *err)
{
    char *tmp = strdup(path);
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
            r = add_raw(p, tmp, E_DIR, 0755, NULL, false, where, err);
        *s = '/';
    }
    free(tmp);
    return r;
}

/* Adds path and, before it, its parents. */
static int add_entry(struct plan *p, const char *path, enum ekind kind, unsigned mode,
                     const char *src, bool explicit, const char *where, struct evm_err *err)
{
    int r = add_parents(p, path, where, err);
    return r < 0 ? r : add_raw(p, path, kind, mode, src, explicit, where, err);
}

/* A generated file (data taken over, freed on failure too). */
static int add_mem(struct plan *p, const char *path, char *data, size_t len, const char *where,
                   struct evm_err *err)
{
    int r = find_ent(p, path) ? evm_errf(err, EEXIST, "%s: /%s: already in the initrd", where, path)
                              : add_entry(p, path, E_MEM, 0644, NULL, false, where, err);
    if (r < 0) {
        free(data);
        return r;
    }
    struct ent *e = find_ent(p, path);
    e->data = data;
    e->len = len;
    return 0;
}

/* ---- modules -------------------------------------------------------------------------- */

/* The class being added, for the counts. */
struct emit_ctx {
    struct plan *p;
    enum baselist_when when;
};

/* moddeps' emitter: the module file as /modules/VERSION/<its modules.dep path>. */
static int emit_module(void *ctx, const char *name, const char *rel, const char *src,
                       const char *where, struct evm_err *err)
{
    struct emit_ctx *ec = ctx;
    struct plan *p = ec->p;
    char *dest;
    int r = hostpath_join(BASEINITRD_MODULES, p->prefix, &dest, err);
    if (r == 0) {
        size_t n = strlen(dest) + strlen(rel) + 1;
        char *full = malloc(n);
        if (!full)
            r = evm_errf(err, ENOMEM, "out of memory");
        else
            snprintf(full, n, "%s%s", dest, rel);
        free(dest);
        dest = full;
    }
    if (r < 0)
        return r;
    r = add_entry(p, dest, E_FILE, 0644, src, false, where, err);
    if (r == 0)
        r = strvec_push(&p->rels, rel, err);
    if (r == 0)
        log_debug("module %s: /%s", name, dest);
    free(dest);
    if (r < 0)
        return r;
    p->res->modules++;
    p->res->later += ec->when == BASELIST_LATER;
    p->res->demand += ec->when == BASELIST_DEMAND;
    return 0;
}

/* The modules directory's name (the kernel version) and the load lists' prefix. */
static int modules_version(struct plan *p, const char *where, struct evm_err *err)
{
    if (p->version)
        return 0;
    const char *d = p->o->modules_dir;
    size_t n = strlen(d);
    while (n > 1 && (d[n - 1] == '/' || d[n - 1] == '\\'))
        n--;
    size_t b = n;
    while (b > 0 && d[b - 1] != '/' && d[b - 1] != '\\')
        b--;
    if (n == b || (n - b == 1 && d[b] == '.') || (n - b == 2 && d[b] == '.' && d[b + 1] == '.'))
        return evm_errf(err, EINVAL,
                        "%s: modules directory %s: its name must be the kernel version "
                        "(lib/modules/VERSION)",
                        where, d);
    p->version = malloc(n - b + 1);
    p->prefix = malloc(n - b + 2);
    if (!p->version || !p->prefix)
        return evm_errf(err, ENOMEM, "out of memory");
    memcpy(p->version, d + b, n - b);
    p->version[n - b] = '\0';
    snprintf(p->prefix, n - b + 2, "%s/", p->version);
    moddeps_set_prefix(&p->mods, p->prefix);
    return 0;
}

/* One `module` line: its module and dependencies (moddeps), a built-in one skipped, an
 * absent optional one skipped with a note. */
static int add_module(struct plan *p, const struct modreq *q, struct evm_err *err)
{
    int r = moddeps_load(&p->mods, err);
    if (r < 0)
        return r;
    if (q->optional && moddeps_lookup(&p->mods, q->name) == MODDEPS_UNKNOWN) {
        log_info("%s: optional module %s: not in this kernel (%s): skipped", q->where, q->name,
                 p->version);
        p->res->absent++;
        return 0;
    }
    struct emit_ctx ec = {.p = p, .when = q->when};
    bool builtin;
    r = moddeps_add(&p->mods, q->name, q->where, emit_module, &ec, &builtin, err);
    if (r == 0 && builtin)
        p->res->builtin++;
    return r;
}

static int keep_module(struct plan *p, const struct baselist_directive *d, const char *where,
                       struct evm_err *err)
{
    if (!p->o->modules_dir)
        return evm_errf(err, EINVAL, "%s: the list has modules but no modules directory was given",
                        where);
    int r = modules_version(p, where, err);
    if (r < 0)
        return r;
    struct modreq *nv = realloc(p->reqs, (p->nreqs + 1) * sizeof(*nv));
    if (!nv)
        return evm_errf(err, ENOMEM, "out of memory");
    p->reqs = nv;
    struct modreq *q = &p->reqs[p->nreqs];
    q->name = strdup(d->arg);
    q->where = strdup(where);
    q->when = d->when;
    q->optional = d->optional;
    if (!q->name || !q->where) {
        free(q->name);
        free(q->where);
        return evm_errf(err, ENOMEM, "out of memory");
    }
    p->nreqs++;
    return 0;
}

/* The modules of one load class, then its load list (the eager one always, the others
 * when they have modules). */
static int add_class(struct plan *p, enum baselist_when when, const char *list, struct evm_err *err)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < p->nreqs; i++)
        if (p->reqs[i].when == when)
            r = add_module(p, &p->reqs[i], err);
    if (r < 0)
        return r;
    size_t len;
    char *text = moddeps_take_load_order(&p->mods, &len);
    if (!text && when != BASELIST_EAGER)
        return 0;
    if (!text && !(text = strdup("")))
        return evm_errf(err, ENOMEM, "out of memory");
    return add_mem(p, list, text, len, p->o->list, err);
}

/* The module index for the shipped modules in /modules/VERSION; none (with a warning) where
 * depmod cannot run. */
static int add_index(struct plan *p, struct evm_err *err)
{
    struct modindex ix;
    struct modindex_in in = {.modules_dir = p->o->modules_dir,
                             .version = p->version,
                             .rels = (const char *const *)p->rels.v,
                             .nrels = p->rels.n,
                             .depmod = p->o->depmod};
    int r = modindex_build(&in, &ix, err);
    if (r == -ENOSYS) {
        log_warn("%s: no module index: modules after switch_root will not load on demand",
                 err->msg);
        evm_err_clear(err);
        return 0;
    }
    if (r < 0)
        return r;
    for (size_t i = 0; r == 0 && i < ix.n; i++) {
        char *dest;
        r = hostpath_join(BASEINITRD_MODULES, p->version, &dest, err);
        char *full = NULL;
        if (r == 0)
            r = hostpath_join(dest, ix.v[i].name, &full, err);
        free(dest);
        if (r == 0) {
            r = add_mem(p, full, ix.v[i].data, ix.v[i].len, p->o->list, err);
            ix.v[i].data = NULL;
        }
        free(full);
        if (r == 0)
            p->res->index++;
    }
    modindex_free(&ix);
    return r;
}

/* Every module directive's modules, eager first; the load lists; the index. */
static int add_modules(struct plan *p, struct evm_err *err)
{
    if (p->nreqs == 0)
        return 0;
    int r = add_class(p, BASELIST_EAGER, BASEINITRD_LOAD_ORDER, err);
    if (r == 0)
        r = add_class(p, BASELIST_LATER, BASEINITRD_LOAD_LATER, err);
    if (r == 0)
        r = add_class(p, BASELIST_DEMAND, BASEINITRD_LOAD_DEMAND, err);
    if (r == 0 && p->rels.n > 0)
        r = add_index(p, err);
    return r;
}

/* ---- the shared-library closure of a `bin` ---------------------------------------------- */

/* The ELF interpreter, at its own path, mode 0755 (the kernel execs it), once. */
static int add_interp(struct plan *p, struct strvec *work, const char *interp, const char *where,
                      struct evm_err *err)
{
    const char *dest;
    int r = baselist_dest(interp, &dest, where, err);
    if (r < 0 || find_ent(p, dest))
        return r;
    r = add_entry(p, dest, E_FILE, 0755, interp, false, where, err);
    if (r == 0)
        r = strvec_push(&p->interps, hostpath_base(interp), err);
    if (r == 0)
        r = strvec_push(work, interp, err);
    if (r < 0)
        return r;
    p->res->libraries++;
    return 0;
}

/* One DT_NEEDED name of elf: the first library directory holding it, at that directory's
 * path, mode 0644, once; the loader satisfies a DT_NEEDED on itself without a lookup. */
static int add_needed(struct plan *p, struct strvec *work, const char *elf, const char *so,
                      const char *where, struct evm_err *err)
{
    if (!*so || strchr(so, '/'))
        return evm_errf(err, ENOEXEC, "%s: %s: unsupported DT_NEEDED '%s'", where, elf, so);
    if (strvec_has(&p->sonames, so) || strvec_has(&p->interps, so))
        return 0;
    char *found = NULL;
    int r = elf_find_library(p->lib_dirs, so, &found, err);
    if (r == -ENOENT)
        return evm_errf(err, ENOENT, "%s: %s needs %s, found in none of the library directories",
                        where, elf, so);
    if (r < 0)
        return evm_err_wrap(err, "%s: %s", where, elf);
    r = add_entry(p, found + 1, E_FILE, 0644, found, false, where, err);
    if (r == 0)
        r = strvec_push(&p->sonames, so, err);
    if (r == 0)
        r = strvec_push(work, found, err);
    if (r == 0) {
        p->res->libraries++;
        log_debug("%s: %s needs %s: %s", where, hostpath_base(elf), so, found);
    }
    free(found);
    return r;
}

/* What one ELF file of the work list needs; new files join the work list. */
static int add_elf_deps(struct plan *p, struct strvec *work, const char *elf, const char *where,
                        struct evm_err *err)
{
    struct elf_deps ed;
    int r = elf_read_deps(elf, &ed, err);
    if (r < 0) {
        evm_err_wrap(err, "%s", where);
        return r;
    }
    if (ed.runpath)
        log_warn("%s: has DT_RUNPATH/DT_RPATH, ignored: libraries are searched in the "
                 "library directories only",
                 elf);
    if (ed.interp)
        r = add_interp(p, work, ed.interp, where, err);
    for (size_t i = 0; r == 0 && i < ed.nneeded; i++)
        r = add_needed(p, work, elf, elf_needed(&ed, i), where, err);
    elf_deps_free(&ed);
    return r;
}

/* Adds the ELF interpreter and the libraries `elf` needs, recursively (breadth-first
 * through a work list of host paths). Libraries land at the path of the library directory
 * they were found in (e.g. /lib/x86_64-linux-gnu/libc.so.6), which is where the guest's
 * dynamic loader looks by default; symlinks are followed, so each is a regular file under
 * its DT_NEEDED name. */
static int add_elf_closure(struct plan *p, const char *elf, const char *where, struct evm_err *err)
{
    struct strvec work = {0};
    int r = strvec_push(&work, elf, err);
    /* work.v[w] stays valid while work grows: only the pointer array moves. */
    for (size_t w = 0; r == 0 && w < work.n; w++)
        r = add_elf_deps(p, &work, work.v[w], where, err);
    strvec_free(&work);
    return r;
}

/* ---- the list's directives -------------------------------------------------------------- */

/* `init` and `rootfs`: a file given on the command line. */
static int add_given_file(struct plan *p, const struct baselist_directive *d, const char *src,
                          unsigned mode, const char *where, struct evm_err *err)
{
    if (!src)
        return evm_errf(err, EINVAL, "%s: the list has `%s` but no %s was given", where,
                        d->kind == BASELIST_INIT ? "init" : "rootfs",
                        d->kind == BASELIST_INIT ? "init binary" : "rootfs tarball");
    return add_entry(p, d->dest, E_FILE, mode, src, false, where, err);
}

static int on_directive(void *ctx, const struct baselist_directive *d, const char *where,
                        struct evm_err *err)
{
    struct plan *p = ctx;
    int r;
    switch (d->kind) {
    case BASELIST_DIR:
        return add_entry(p, d->dest, E_DIR, d->mode, NULL, true, where, err);
    case BASELIST_INIT:
        return add_given_file(p, d, p->o->init, 0755, where, err);
    case BASELIST_ROOTFS:
        return add_given_file(p, d, p->o->rootfs, 0644, where, err);
    case BASELIST_LINK:
        return add_entry(p, d->dest, E_LINK, 0777, d->arg, false, where, err);
    case BASELIST_MODULE:
        return keep_module(p, d, where, err);
    case BASELIST_FILE:
        return add_entry(p, d->dest, E_FILE, d->mode, d->arg, false, where, err);
    case BASELIST_BIN:
        r = add_entry(p, d->dest, E_FILE, 0755, d->arg, false, where, err);
        return r < 0 ? r : add_elf_closure(p, d->arg, where, err);
    }
    return evm_errf(err, EINVAL, "%s: unknown directive", where);
}

/* ---- writing ---------------------------------------------------------------------------- */

static int cmp_ent(const void *a, const void *b)
{
    /* A path sorts before every path it prefixes: parents precede their contents. */
    return strcmp(((const struct ent *)a)->path, ((const struct ent *)b)->path);
}

static int write_file(struct cpio_member *m, const struct ent *e, int64_t ino, struct evm_err *err)
{
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

static int write_entry(struct plan *p, struct cpio_member *m, const struct ent *e, int64_t ino,
                       struct evm_err *err)
{
    (void)p;
    switch (e->kind) {
    case E_DIR:
        return cpio_member_header(m, e->path, AE_IFDIR, e->mode, ino, 0, err);
    case E_LINK:
        return cpio_member_symlink(m, e->path, e->src, ino, err);
    case E_MEM:
        return cpio_member_file_mem(m, e->path, e->mode, ino, e->data, e->len, err);
    case E_FILE:
        return write_file(m, e, ino, err);
    }
    return evm_errf(err, EINVAL, "/%s: unknown entry kind", e->path);
}

static int write_entries(struct plan *p, struct atomicfile *out, struct evm_err *err)
{
    struct cpio_member m;
    int r = cpio_member_open(&m, p->o->compress, p->o->mtime, err);
    if (r == 0) {
        m.sink.files[0] = out;
        m.sink.nfiles = 1;
    }
    for (size_t i = 0; r == 0 && i < p->n; i++)
        r = write_entry(p, &m, &p->v[i], (int64_t)(BASEINITRD_INO_FIRST + i), err);
    int rc = cpio_member_close(&m, r < 0 ? NULL : err);
    return r < 0 ? r : rc;
}

static int write_plan(struct plan *p, struct evm_err *err)
{
    qsort(p->v, p->n, sizeof(*p->v), cmp_ent);
    struct atomicfile out;
    int r = atomicfile_open(&out, p->o->out, err);
    if (r < 0)
        return r;
    r = write_entries(p, &out, err);
    if (r < 0) {
        atomicfile_abort(&out);
        return r;
    }
    p->res->out_size = out.written;
    p->res->entries = p->n;
    return atomicfile_commit(&out, err);
}

/* ---- the build -------------------------------------------------------------------------- */

static void plan_free(struct plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].path);
        free(p->v[i].src);
        free(p->v[i].data);
    }
    free(p->v);
    for (size_t i = 0; i < p->nreqs; i++) {
        free(p->reqs[i].name);
        free(p->reqs[i].where);
    }
    free(p->reqs);
    free(p->version);
    free(p->prefix);
    strvec_free(&p->rels);
    moddeps_free(&p->mods);
    strvec_free(&p->sonames);
    strvec_free(&p->interps);
}

static int plan_build(struct plan *p, struct evm_err *err)
{
    int r = baselist_parse(p->o->list, on_directive, p, err);
    if (r == 0)
        r = add_modules(p, err);
    return r < 0 ? r : write_plan(p, err);
}

int baseinitrd_build(const struct baseinitrd_opts *o, struct baseinitrd_result *res,
                     struct evm_err *err)
{
    memset(res, 0, sizeof(*res));
    if (!o->list || !o->out)
        return evm_errf(err, EINVAL, "base initrd: a list and an output path are required");
    int r = cpio_check_mtime(o->mtime, err);
    if (r < 0)
        return r;
    struct plan p;
    memset(&p, 0, sizeof(p));
    p.o = o;
    p.res = res;
    p.lib_dirs = o->lib_dirs ? o->lib_dirs : baseinitrd_default_lib_dirs;
    moddeps_init(&p.mods, o->modules_dir);
    r = plan_build(&p, err);
    plan_free(&p);
    return r;
}
