/* strvec.c — see strvec.h. */
#include "initrd/strvec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int strvec_push_owned(struct strvec *sv, char *s, struct evm_err *err)
{
    char **nv = realloc(sv->v, (sv->n + 1) * sizeof(*nv));
    if (!nv) {
        int r = evm_errf(err, ENOMEM, "out of memory adding '%s' to a list", s);
        free(s);
        return r;
    }
    sv->v = nv;
    nv[sv->n++] = s;
    return 0;
}

int strvec_push(struct strvec *sv, const char *s, struct evm_err *err)
{
    char *copy = strdup(s);
    if (!copy)
        return evm_errf(err, ENOMEM, "out of memory copying '%s'", s);
    return strvec_push_owned(sv, copy, err);
}

bool strvec_has(const struct strvec *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (strcmp(sv->v[i], s) == 0)
            return true;
    return false;
}

void strvec_free(struct strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}
