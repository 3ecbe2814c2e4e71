/* status.c — status.json writing and reading with cJSON. */
#include "agent/status.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomicfile.h"
#include "fileutil.h"

int status_write(const char *path, const struct vm_status *s, struct evm_err *err)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return evm_errf(err, ENOMEM, "out of memory");
    char since[32] = "";
    /* gmtime, not gmtime_r: portable to Windows, and the agent is single-threaded here. */
    const struct tm *tm = s->since ? gmtime(&s->since) : NULL;
    if (tm)
        strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", tm);
    int ok = cJSON_AddStringToObject(o, "state", s->state) &&
             cJSON_AddStringToObject(o, "boot_id", s->boot_id) &&
             cJSON_AddStringToObject(o, "since", since) &&
             cJSON_AddStringToObject(o, "last_error", s->last_error) &&
             cJSON_AddStringToObject(o, "last_fatal", s->last_fatal) &&
             cJSON_AddNumberToObject(o, "restarts", s->restarts) &&
             cJSON_AddStringToObject(o, "ip", s->ip) &&
             cJSON_AddStringToObject(o, "ports_host", s->ports_host) &&
             cJSON_AddNumberToObject(o, "containerd_port", s->containerd_port) &&
             cJSON_AddNumberToObject(o, "dispatch_port", s->dispatch_port) &&
             cJSON_AddNumberToObject(o, "ready_ms", (double)s->ready_ms);
    char *text = ok ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return evm_errf(err, ENOMEM, "out of memory");
    struct atomicfile af;
    int r = atomicfile_open(&af, path, err);
    if (r == 0)
        r = atomicfile_write(&af, text, strlen(text), err);
    if (r == 0)
        r = atomicfile_write(&af, "\n", 1, err);
    if (r == 0)
        r = atomicfile_commit(&af, err);
    else
        atomicfile_abort(&af);
    free(text);
    return r;
}

static void copy_str(const cJSON *o, const char *key, char *out, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    snprintf(out, len, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

int status_read(const char *path, struct vm_status *s, struct evm_err *err)
{
    char *text;
    size_t len;
    int r = read_regular_file(path, 64 * 1024, &text, &len, err);
    if (r < 0)
        return r;
    cJSON *o = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return evm_errf(err, EBADMSG, "%s: not a status document", path);
    }
    memset(s, 0, sizeof(*s));
    copy_str(o, "state", s->state, sizeof(s->state));
    copy_str(o, "boot_id", s->boot_id, sizeof(s->boot_id));
    copy_str(o, "last_error", s->last_error, sizeof(s->last_error));
    copy_str(o, "last_fatal", s->last_fatal, sizeof(s->last_fatal));
    copy_str(o, "ip", s->ip, sizeof(s->ip));
    s->restarts = (unsigned)num(o, "restarts");
    copy_str(o, "ports_host", s->ports_host, sizeof(s->ports_host));
    s->containerd_port = (uint16_t)num(o, "containerd_port");
    s->dispatch_port = (uint16_t)num(o, "dispatch_port");
    s->ready_ms = (long long)num(o, "ready_ms");
    cJSON_Delete(o);
    return 0;
}
