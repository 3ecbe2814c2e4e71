/* conparse.c — the console protocol: parsing EPHEMERD_* markers, the stop request. */
#include "conparse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootid.h"
#include "markers.h"

static void take_boot_id(const char *p, struct con_msg *m)
{
    const char *b = strstr(p, " boot_id=");
    if (!b)
        return;
    b += strlen(" boot_id=");
    size_t n = strspn(b, "0123456789abcdef");
    if (n == BOOT_ID_HEX_LEN) {
        memcpy(m->boot_id, b, BOOT_ID_HEX_LEN);
        m->boot_id[BOOT_ID_HEX_LEN] = '\0';
    }
}

static int word(const char *p, const char *key, char *out, size_t len)
{
    const char *s = strstr(p, key);
    if (!s)
        return -1;
    s += strlen(key);
    size_t n = strcspn(s, " ");
    if (n == 0 || n >= len)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

static enum con_kind parse_ip(const char *p, struct con_msg *m)
{
    p += strlen(MARKER_IP);
    size_t n = strspn(p, "0123456789.");
    unsigned a, b, c, d;
    char tail;
    if (n == 0 || n >= sizeof(m->ip))
        return CON_NONE;
    memcpy(m->ip, p, n);
    m->ip[n] = '\0';
    if (sscanf(m->ip, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 ||
        c > 255 || d > 255)
        return CON_NONE;
    take_boot_id(p + n, m);
    return m->kind = CON_IP;
}

static enum con_kind parse_stage(const char *p, struct con_msg *m)
{
    char ms[24];
    if (word(p, " stage=", m->stage, sizeof(m->stage)) < 0 || word(p, " ms=", ms, sizeof(ms)) < 0)
        return CON_NONE;
    char *end;
    m->ms = strtoull(ms, &end, 10);
    if (*end)
        return CON_NONE;
    take_boot_id(p, m);
    return m->kind = CON_STAGE;
}

static enum con_kind parse_fatal(const char *p, struct con_msg *m)
{
    if (word(p, " stage=", m->stage, sizeof(m->stage)) < 0)
        return CON_NONE;
    const char *r = strstr(p, " reason=\"");
    if (!r)
        return CON_NONE;
    r += strlen(" reason=\"");
    size_t o = 0;
    for (; *r && *r != '"' && o + 1 < sizeof(m->reason); r++) {
        if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
            r++;
        m->reason[o++] = *r;
    }
    m->reason[o] = '\0';
    if (*r != '"')
        return CON_NONE;
    take_boot_id(r, m);
    return m->kind = CON_FATAL;
}

static enum con_kind parse_exit(const char *p, struct con_msg *m)
{
    char st[16];
    if (word(p, " status=", st, sizeof(st)) < 0)
        return CON_NONE;
    char *end;
    long v = strtol(st, &end, 10);
    if (*end || v < -1 || v > 100000)
        return CON_NONE;
    m->status = (int)v;
    take_boot_id(p, m);
    return m->kind = CON_EXIT;
}

enum con_kind conparse_line(const char *line, struct con_msg *m)
{
    memset(m, 0, sizeof(*m));
    const char *p;
    if ((p = strstr(line, MARKER_IP)))
        return parse_ip(p, m);
    if ((p = strstr(line, MARKER_STAGE " ")))
        return parse_stage(p, m);
    if ((p = strstr(line, MARKER_FATAL " ")))
        return parse_fatal(p, m);
    if ((p = strstr(line, MARKER_EXIT " ")))
        return parse_exit(p, m);
    return CON_NONE;
}

int conparse_format_stop(char *buf, size_t size, const char *boot_id, struct evm_err *err)
{
    if (!boot_id_valid(boot_id))
        return evm_errf(err, EINVAL, "stop request: the boot id is not %d lowercase hex digits",
                        BOOT_ID_HEX_LEN);
    int n = snprintf(buf, size, MARKER_STOP " boot_id=%s\n", boot_id);
    if (n < 0 || (size_t)n >= size)
        return evm_errf(err, ENOSPC, "stop request: buffer of %zu bytes too small", size);
    return 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool conparse_stop_request(const char *line, char boot_id[BOOT_ID_HEX_LEN + 1])
{
    boot_id[0] = '\0';
    while (is_blank(*line))
        line++;
    size_t n = strlen(line);
    while (n > 0 && is_blank(line[n - 1]))
        n--;
    size_t k = strlen(MARKER_STOP);
    if (n < k || memcmp(line, MARKER_STOP, k) != 0)
        return false;
    if (n == k)
        return true;
    if (!is_blank(line[k]))
        return false; /* EPHEMERD_STOPX… is another word */
    const char *arg = line + k + 1;
    size_t alen = n - k - 1;
    const char *key = "boot_id=";
    size_t klen = strlen(key);
    if (alen == klen + BOOT_ID_HEX_LEN && memcmp(arg, key, klen) == 0) {
        char id[BOOT_ID_HEX_LEN + 1];
        memcpy(id, arg + klen, BOOT_ID_HEX_LEN);
        id[BOOT_ID_HEX_LEN] = '\0';
        if (boot_id_valid(id))
            memcpy(boot_id, id, sizeof(id));
    }
    return true;
}
