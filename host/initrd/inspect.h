/* inspect.h — walks an initrd the way the kernel does (members back to back, zero padding
 * skipped, each member raw/gzip/zstd newc cpio), reports each member's entries, and checks
 * the tail's manifest against what the file really holds. */
#ifndef EVM_INSPECT_H
#define EVM_INSPECT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

/* Prints the report to out. Returns 0 when the file is well formed and the manifest (if
 * any) matches; -EBADMSG when the manifest does not match its contents (report still
 * printed); other negative errnos for unreadable/malformed files (a file without a member,
 * empty or only zero bytes, is malformed: -EINVAL). *manifest_ok is set when
 * a manifest was found and matched (may be NULL). */
int inspect_initrd(const char *path, FILE *out, bool *manifest_ok, struct evm_err *err);

#endif
