/* modindex.c — the portable part of the module index (see modindex.h): the names of the
 * files shipped, the cut-down modules.order, and the result's bookkeeping. */
#include "initrd/modindex.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fileutil.h"
#include "initrd/hostpath.h"
#include "initrd/moddeps.h"
#include "initrd/strvec.h"
#include "strutil.h"

#define ORDER_MAX_BYTES (16u * 1024u * 1024u)

const char *const modindex_outputs[] = {
    "modules.dep.bin",
    "modules.alias.bin",
    "modules.dep",
    "modules.alias",
    "modules.symbols",
    "modules.symbols.bin",
    "modules.softdep",
    "modules.devname",
    "modules.builtin.bin",
    "modules.builtin.alias.bin",
    NULL,
};

int modindex_add(struct modindex *ix, const char *name, char *data, size_t len, struct evm_err *err)
{
    struct modindex_file *nv = realloc(ix->v, (ix->n + 1) * sizeof(*nv));
    if (!nv) {
        free(data);
        return evm_errf(err, ENOMEM, "out of memory");
    }
    ix->v = nv;
    char *n = strdup(name);
    if (!n) {
        free(data);
        return evm_errf(err, ENOMEM, "out of memory");
    }
    ix->v[ix->n++] = (struct modindex_file){.name = n, .data = data, .len = len};
    return 0;
}

void modindex_free(struct modindex *ix)
{
    for (size_t i = 0; i < ix->n; i++) {
        free(ix->v[i].name);
        free(ix->v[i].data);
    }
    free(ix->v);
    memset(ix, 0, sizeof(*ix));
}

/* ---- modules.order ------------------------------------------------------------------------ */

struct order_buf {
    char *s;
    size_t len, cap;
};

static int buf_line(struct order_buf *b, const char *line, size_t n, struct evm_err *err)
{
    if (b->len + n + 2 > b->cap) {
        size_t nc = (b->cap + n + 2) * 2;
        char *ns = realloc(b->s, nc);
        if (!ns)
            return evm_errf(err, ENOMEM, "out of memory");
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, line, n);
    b->len += n;
    b->s[b->len++] = '\n';
    b->s[b->len] = '\0';
    return 0;
}

/* The normalized names of rels, in order. */
static int rel_names(const char *const *rels, size_t n, struct strvec *names, struct evm_err *err)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < n; i++) {
        char *name;
        r = moddeps_name(rels[i], &name, err);
        if (r == 0)
            r = strvec_push_owned(names, name, err);
    }
    return r;
}

/* Index of name in names, or -1. */
static long name_index(const struct strvec *names, const char *name)
{
    for (size_t i = 0; i < names->n; i++)
        if (strcmp(names->v[i], name) == 0)
            return (long)i;
    return -1;
}

/* The kernel's modules.order lines naming a shipped module; marks them in used. */
static int order_from_kernel(const char *modules_dir, const struct strvec *names, bool *used,
                             struct order_buf *b, struct evm_err *err)
{
    char *path, *text;
    size_t len;
    int r = hostpath_join(modules_dir, "modules.order", &path, err);
    if (r < 0)
        return r;
    struct evm_err rerr = {0};
    r = read_regular_file(path, ORDER_MAX_BYTES, &text, &len, &rerr);
    free(path);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return evm_errf(err, -r, "%s", rerr.msg);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); r == 0 && line;
         line = strtok_r(NULL, "\n", &save)) {
        line = str_trim(line);
        char *name;
        if (!*line || (r = moddeps_name(line, &name, err)) < 0)
            continue;
        long i = name_index(names, name);
        free(name);
        if (i >= 0 && !used[i]) {
            used[i] = true;
            r = buf_line(b, line, strlen(line), err);
        }
    }
    free(text);
    return r;
}

int modindex_order(const char *modules_dir, const char *const *rels, size_t nrels, char **text,
                   size_t *len, struct evm_err *err)
{
    struct strvec names = {0};
    struct order_buf b = {0};
    bool *used = calloc(nrels ? nrels : 1, sizeof(*used));
    int r = used ? rel_names(rels, nrels, &names, err) : evm_errf(err, ENOMEM, "out of memory");
    if (r == 0)
        r = order_from_kernel(modules_dir, &names, used, &b, err);
    for (size_t i = 0; r == 0 && i < nrels; i++)
        if (!used[i])
            r = buf_line(&b, rels[i], strlen(rels[i]), err);
    free(used);
    strvec_free(&names);
    if (r < 0) {
        free(b.s);
        return r;
    }
    if (!b.s && !(b.s = strdup("")))
        return evm_errf(err, ENOMEM, "out of memory");
    *text = b.s;
    *len = b.len;
    return 0;
}
