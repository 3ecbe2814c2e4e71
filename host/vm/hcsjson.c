/* hcsjson.c — decoding HCS/HCN result documents with cJSON (see hcsjson.h). */
#include "vm/hcsjson.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "log.h"
#include "strutil.h"
#include "vm/hresult.h"

#define EXCERPT_CHARS 80
#define PART_MAX 1024 /* one message, folded, before it is joined to the line */
#define MAC_LEN 17    /* "00-15-5D-12-34-56" */

static const char *str_member(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

static void excerpt_of(const char *s, char *out, size_t size)
{
    str_excerpt(out, size, s, strlen(s), EXCERPT_CHARS);
}

/* An HRESULT written as uint32 or as int32 (negative). */
static bool hresult_from_number(double d, uint32_t *out)
{
    if (!(d >= -2147483648.0 && d <= 4294967295.0) || (double)(long long)d != d)
        return false;
    long long v = (long long)d;
    *out = (uint32_t)(v < 0 ? v + 4294967296LL : v);
    return true;
}

/* Parses a document that must be a JSON object; what names it in errors. */
static int parse_object(const char *json, const char *what, cJSON **out, struct evm_err *err)
{
    *out = NULL;
    if (!json || !*json)
        return evm_errf(err, EPROTO, "%s: empty document", what);
    cJSON *root = cJSON_Parse(json);
    if (!cJSON_IsObject(root)) {
        char ex[EXCERPT_CHARS + 4];
        excerpt_of(json, ex, sizeof(ex));
        cJSON_Delete(root);
        return evm_errf(err, EPROTO, "%s: not a JSON object: %s", what, ex);
    }
    *out = root;
    return 0;
}

/* ---- ResultError as one line ---------------------------------------------------------- */

/* The line being built in the caller's buffer; full once something did not fit. */
struct line {
    char *buf;
    size_t n, len;
    bool full;
};

static bool is_blank(unsigned char c)
{
    return c <= 0x20 || c == 0x7F;
}

/* The length of out[0..len) without a UTF-8 sequence cut at its end. */
static size_t utf8_whole(const char *out, size_t len)
{
    size_t i = len;
    while (i > 0 && ((unsigned char)out[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0 || (unsigned char)out[i - 1] < 0xC0)
        return len; /* ends in ASCII (or is not UTF-8 at all): nothing to cut */
    size_t need = (unsigned char)out[i - 1] >= 0xF0 ? 4 : (unsigned char)out[i - 1] >= 0xE0 ? 3 : 2;
    return len - (i - 1) >= need ? len : i - 1;
}

/* Copies s to out with blanks and control characters folded to single spaces and none at
 * either end; returns false when it had to be cut. */
static bool fold(const char *s, char *out, size_t size)
{
    size_t o = 0;
    bool pending = false;
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        if (is_blank(*u)) {
            pending = o > 0;
            continue;
        }
        if (o + (pending ? 2 : 1) >= size) {
            out[utf8_whole(out, o)] = '\0';
            return false;
        }
        if (pending)
            out[o++] = ' ';
        out[o++] = (char)*u;
        pending = false;
    }
    out[o] = '\0';
    return true;
}

static void line_append(struct line *l, const char *text)
{
    size_t len = strlen(text);
    if (l->full)
        return;
    if (l->len + len >= l->n) {
        len = l->n - 1 - l->len;
        l->full = true;
    }
    memcpy(l->buf + l->len, text, len);
    l->len += len;
    l->buf[l->len] = '\0';
}

/* Adds one message unless it is empty or already in the line. */
static void line_add_part(struct line *l, const char *message)
{
    char part[PART_MAX];
    bool whole = fold(message, part, sizeof(part));
    if (!part[0] || strstr(l->buf, part))
        return;
    if (l->len > 0)
        line_append(l, "; ");
    line_append(l, part);
    if (!whole)
        l->full = true;
}

/* Ends a cut line with "...", never splitting a UTF-8 sequence. */
static void line_finish(struct line *l)
{
    if (!l->full || l->n < 4)
        return;
    size_t len = utf8_whole(l->buf, l->len < l->n - 4 ? l->len : l->n - 4);
    memcpy(l->buf + len, "...", 4);
    l->len = len + 3;
}

static void describe_object(const cJSON *root, struct line *l)
{
    const char *message = str_member(root, "ErrorMessage");
    if (message)
        line_add_part(l, message);
    const cJSON *event;
    cJSON_ArrayForEach(event, cJSON_GetObjectItemCaseSensitive(root, "ErrorEvents"))
    {
        const char *m = str_member(event, "Message");
        if (m)
            line_add_part(l, m);
    }
    const cJSON *hr = cJSON_GetObjectItemCaseSensitive(root, "Error");
    uint32_t code;
    if (l->len == 0 && cJSON_IsNumber(hr) && hresult_from_number(hr->valuedouble, &code)) {
        char text[64];
        hresult_format(code, text, sizeof(text));
        line_add_part(l, text);
    }
}

void hcsjson_describe_result(const char *result_json, char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    struct line l = {.buf = buf, .n = n};
    buf[0] = '\0';
    if (!result_json || !*result_json)
        return;
    cJSON *root = cJSON_Parse(result_json);
    if (cJSON_IsObject(root)) {
        describe_object(root, &l);
    } else {
        char ex[EXCERPT_CHARS + 4];
        excerpt_of(result_json, ex, sizeof(ex));
        line_append(&l, "unreadable result: ");
        line_append(&l, ex);
    }
    cJSON_Delete(root);
    line_finish(&l);
}

/* ---- SystemExitStatus ---------------------------------------------------------------- */

int hcsjson_parse_exit(const char *json, struct hcs_exit *out, struct evm_err *err)
{
    memset(out, 0, sizeof(*out));
    cJSON *root;
    int r = parse_object(json, "HCS exit status", &root, err);
    if (r < 0)
        return r;
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "Status");
    if (status && !cJSON_IsNull(status) &&
        !(cJSON_IsNumber(status) && hresult_from_number(status->valuedouble, &out->status))) {
        cJSON_Delete(root);
        return evm_errf(err, EPROTO, "HCS exit status: Status is not an HRESULT");
    }
    const char *type = str_member(root, "ExitType");
    snprintf(out->exit_type, sizeof(out->exit_type), "%s", type ? type : "");
    cJSON_Delete(root);
    return 0;
}

enum vm_exit_kind hcsjson_exit_kind(const struct hcs_exit *e)
{
    if (strcmp(e->exit_type, "GracefulExit") == 0)
        return VM_EXIT_POWEROFF;
    if (strcmp(e->exit_type, "ForcedExit") == 0)
        return VM_EXIT_FORCED;
    return VM_EXIT_UNEXPECTED;
}

/* ---- enumeration ----------------------------------------------------------------------- */

/* Copies the system's id when it is owner's; counts the ones with no room left. */
static void take_system(const cJSON *sys, const char *owner, char ids[][HCSJSON_ID_MAX],
                        unsigned max, unsigned *n, unsigned *left_out)
{
    const char *sys_owner = str_member(sys, "Owner");
    const char *id = str_member(sys, "Id");
    if (!sys_owner || strcmp(sys_owner, owner) != 0 || !id || !*id)
        return;
    if (strlen(id) >= HCSJSON_ID_MAX) {
        log_warn("HCS: ignoring a system of %s with an id of %zu characters", owner, strlen(id));
        return;
    }
    if (*n == max) {
        (*left_out)++;
        return;
    }
    memcpy(ids[*n], id, strlen(id) + 1);
    (*n)++;
}

int hcsjson_systems_of_owner(const char *json, const char *owner, char ids[][HCSJSON_ID_MAX],
                             unsigned max, unsigned *n, struct evm_err *err)
{
    *n = 0;
    if (!owner)
        return evm_errf(err, EINVAL, "HCS enumeration: no owner to look for");
    if (!json || !*json)
        return 0;
    cJSON *root = cJSON_Parse(json);
    if (!cJSON_IsArray(root) && !cJSON_IsNull(root)) {
        char ex[EXCERPT_CHARS + 4];
        excerpt_of(json, ex, sizeof(ex));
        cJSON_Delete(root);
        return evm_errf(err, EPROTO, "HCS enumeration: not a JSON array: %s", ex);
    }
    unsigned left_out = 0;
    const cJSON *sys;
    cJSON_ArrayForEach(sys, root)
    {
        take_system(sys, owner, ids, max, n, &left_out);
    }
    cJSON_Delete(root);
    if (left_out)
        log_warn("HCS: %u more systems of %s left out (room for %u)", left_out, owner, max);
    return 0;
}

/* ---- endpoint MAC ---------------------------------------------------------------------- */

/* "00-15-5d-12-34-56" or "00:15:5D:12:34:56" -> "00-15-5D-12-34-56" in out (>= 18 bytes). */
static bool normalise_mac(const char *s, char *out)
{
    if (strlen(s) != MAC_LEN)
        return false;
    for (size_t i = 0; i < MAC_LEN; i++) {
        bool sep = i % 3 == 2;
        if (sep ? (s[i] != '-' && s[i] != ':') : hex_digit_value(s[i]) < 0)
            return false;
        out[i] = sep ? '-' : "0123456789ABCDEF"[hex_digit_value(s[i])];
    }
    out[MAC_LEN] = '\0';
    return true;
}

int hcsjson_endpoint_mac(const char *json, char *mac, size_t n, struct evm_err *err)
{
    if (n < MAC_LEN + 1)
        return evm_errf(err, ENOSPC, "HCN endpoint: a MAC address needs %d bytes, not %zu",
                        MAC_LEN + 1, n);
    mac[0] = '\0';
    cJSON *root;
    int r = parse_object(json, "HCN endpoint properties", &root, err);
    if (r < 0)
        return r;
    const char *text = str_member(root, "MacAddress");
    char norm[MAC_LEN + 1], ex[EXCERPT_CHARS + 4] = "";
    bool ok = text && normalise_mac(text, norm);
    if (ok)
        memcpy(mac, norm, sizeof(norm));
    else if (text)
        excerpt_of(text, ex, sizeof(ex));
    cJSON_Delete(root);
    if (!text)
        return evm_errf(err, EPROTO, "HCN endpoint properties: no MacAddress");
    if (!ok)
        return evm_errf(err, EPROTO, "HCN endpoint properties: MacAddress \"%s\" is malformed", ex);
    return 0;
}
