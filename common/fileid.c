/* fileid.c — the portable part of fileid.h: comparing identities. */
#include "fileid.h"

bool file_id_same_file(const struct file_id *a, const struct file_id *b)
{
    return a->dev == b->dev && a->ino_hi == b->ino_hi && a->ino == b->ino;
}

bool file_id_equal(const struct file_id *a, const struct file_id *b)
{
    return file_id_same_file(a, b) && a->size == b->size && a->mtime_ns == b->mtime_ns &&
           a->ctime_ns == b->ctime_ns;
}
