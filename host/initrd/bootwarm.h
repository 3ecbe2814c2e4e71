/* bootwarm.h — the warm boot: when the previous boot initrd was built from the same base
 * and daemon binary (the same file identities, fileid.h) with the same options, and the
 * output is still exactly the file that build left (its identity too), only the boot member
 * changes: the output is cut at the boot member and the new one is written there, in place.
 * The record beside the output (<out>.record, bootrecord.h) holds what that takes; it is
 * removed before the output is touched and written again after, so a crash in between
 * leaves no record and the next build is a full one. The bytes are those a full build
 * writes for the same inputs. Nothing here is flushed (docs/boot-initrd.md, "What is
 * flushed"). */
#ifndef EVM_BOOTWARM_H
#define EVM_BOOTWARM_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "fileid.h"
#include "initrd/bootinitrd.h"

/* An input whose modification or change time is less than this old when it is identified
 * is not recorded: a later change within the same tick of a coarse file-system clock (2 s
 * on FAT) would leave its identity unchanged. The next build is then a full one. */
#define BOOTWARM_SETTLE_NS (2 * 1000000000LL)

struct bootwarm {
    unsigned member_format; /* the binary member's format version, set by the caller */
    char *record;           /* <out>.record */
    bool inputs_known;      /* base and binary identified before the build read them: */
    struct file_id base, binary;
    int64_t seen_ns; /* when */
};

/* Identifies the inputs, then updates the output in place when the record allows it (and
 * o->full is not set).
 * 1: done, res filled as a full build fills it (plus in_place); 0: a full build is needed
 * (why is logged at debug); negative: the update failed after the output was cut — the
 * output is invalid and has no record, so the next build is a full one. */
int bootwarm_try(struct bootwarm *w, const struct bootinitrd_opts *o, struct bootinitrd_result *res,
                 struct evm_err *err);

/* After a full build was committed: replaces the record with one for the new output, when
 * the files the build read (base_fd, bin_fd) are still those bootwarm_try identified and
 * they had settled. Never fails the build: a record that cannot be written is logged, and
 * the next build is a full one. */
void bootwarm_record_full(struct bootwarm *w, const struct bootinitrd_opts *o,
                          const struct bootinitrd_result *res, int base_fd, int bin_fd);

void bootwarm_free(struct bootwarm *w);

#endif
