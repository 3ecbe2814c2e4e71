/* fuzz_toml.c — libFuzzer target for the TOML layer: arbitrary bytes through hostcfg_parse
 * (inih + the reader + the parser + the key rules + value decoding), through toml_read with
 * no wanted keys, and through toml_decode_value directly. Never crashes; every decoded
 * string is valid UTF-8 without NUL; every accepted setting is within its documented
 * range; a document refused as TOML is refused whatever keys are wanted. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/hostcfg.h"
#include "config/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An independent strict UTF-8 check (not the decoder's own). */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c == 0)
                return false;
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0)
            k = 2, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0)
            k = 3, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0)
            k = 4, cp = c & 0x07;
        else
            return false;
        if (i + k > n)
            return false;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k;
    }
    return true;
}

static void check_value(const struct toml_value *v, int depth)
{
    if (depth > TOML_MAX_DEPTH + 1)
        abort();
    switch (v->type) {
    case TOML_STRING:
        if (!v->u.str.ptr || strlen(v->u.str.ptr) != v->u.str.len ||
            !valid_utf8((const unsigned char *)v->u.str.ptr, v->u.str.len))
            abort();
        break;
    case TOML_INTEGER:
    case TOML_BOOLEAN:
    case TOML_FLOAT:
        break;
    case TOML_DATETIME:
        if (!v->u.str.ptr || v->u.str.len == 0 || strlen(v->u.str.ptr) != v->u.str.len)
            abort();
        break;
    case TOML_ARRAY:
        for (size_t i = 0; i < v->u.array.len; i++)
            check_value(&v->u.array.items[i], depth + 1);
        break;
    case TOML_TABLE:
        for (size_t i = 0; i < v->u.table.len; i++) {
            const struct toml_kv *kv = &v->u.table.items[i];
            if (!kv->key ||
                (!kv->opaque && (kv->key[0] == '\0' ||
                                 !valid_utf8((const unsigned char *)kv->key, strlen(kv->key)))))
                abort();
            check_value(&kv->value, depth + 1);
        }
        break;
    default:
        abort(); /* a successful decode never leaves TOML_NONE */
    }
}

static bool one_of(const char *s, const char *const *set)
{
    for (size_t i = 0; set[i]; i++)
        if (strcmp(s, set[i]) == 0)
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const levels[] = {"", "error", "warn", "info", "debug", "trace", NULL};
    static const char *const formats[] = {"", "text", "json", NULL};
    struct hostcfg_settings s;
    struct evm_err err = {0};
    int r = hostcfg_parse("fuzz.toml", (const char *)data, size, &s, &err);
    if (r == 0) {
        if (s.cpus > 1024 || (s.memory_mb && s.memory_mb < 64) || s.memory_mb > 16777216 ||
            s.disk_size_gb > 65536)
            abort();
        if (strnlen(s.log_level, sizeof(s.log_level)) == sizeof(s.log_level) ||
            strnlen(s.log_format, sizeof(s.log_format)) == sizeof(s.log_format))
            abort();
        if (!one_of(s.log_level, levels) || !one_of(s.log_format, formats))
            abort();
    } else {
        /* (an internal line-tracking error would be -EIO) */
        if (r != -EINVAL && r != -EFBIG && r != -ENOMEM)
            abort();
        if (err.msg[0] == '\0')
            abort();
        if (r == -EINVAL && strncmp(err.msg, "fuzz.toml:", 10) != 0)
            abort();
    }

    /* The same document with no wanted keys: refused as TOML means refused for hostcfg. */
    struct evm_err nerr = {0};
    int nr = toml_read("fuzz.toml", (const char *)data, size, NULL, 0, &nerr);
    if ((nr < 0 && r == 0) || (nr < 0 && nr != -EINVAL && nr != -EFBIG && nr != -ENOMEM))
        abort();

    /* The value decoder on its own. */
    size_t n = size < 4096 ? size : 4096;
    struct toml_value v;
    struct evm_err derr = {0};
    r = toml_decode_value((const char *)data, n, &v, &derr);
    if (r == 0) {
        check_value(&v, 0);
        toml_value_free(&v);
    } else if (v.type != TOML_NONE || derr.msg[0] == '\0' || r != -derr.code ||
               (r != -EINVAL && r != -ENOMEM)) {
        abort();
    }
    return 0;
}
