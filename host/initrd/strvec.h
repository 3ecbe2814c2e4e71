/* strvec.h — a growable list of owned strings, for the base initrd files: the ELF work
 * list, the DT_NEEDED names and interpreters already in the initrd, the built-in module
 * names. */
#ifndef EVM_STRVEC_H
#define EVM_STRVEC_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct strvec {
    char **v;
    size_t n;
};

/* Appends a copy of s. */
int strvec_push(struct strvec *sv, const char *s, struct evm_err *err);
/* Appends s itself (malloc'd); s is freed when this fails. */
int strvec_push_owned(struct strvec *sv, char *s, struct evm_err *err);
bool strvec_has(const struct strvec *sv, const char *s);
void strvec_free(struct strvec *sv);

#endif
