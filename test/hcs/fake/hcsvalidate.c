/* hcsvalidate.c — the fake computecore's document check (hcsvalidate.h). One table per
 * schema object the backend uses, each field with its type and the schema version it
 * appeared in (SchemaReference.md, MicrosoftDocs/Virtualization-Documentation). A field a
 * newer schema added is unknown to a host claiming an older one. TEST ONLY. */
#include "hcsvalidate.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakeproto.h"

enum ftype {
    T_STR,      /* string */
    T_BOOL,     /* true/false */
    T_UINT,     /* non-negative integer */
    T_OBJ,      /* object described by sub */
    T_MAP_UINT, /* object keyed by decimal uint32 ("0"), values described by sub */
    T_MAP_STR,  /* object keyed by any name, values described by sub */
    T_ENUM,     /* one of the strings in note ("A|B|C") */
    T_NOTSIM,   /* valid HCS schema that the fake does not simulate: refused, E_NOTIMPL */
};

#define REQ 1u

struct vctx;
struct objdef;

struct field {
    const char *name;
    enum ftype type;
    unsigned since; /* appeared in schema 2.<since> */
    unsigned flags;
    const struct objdef *sub;
    const char *note;
};

struct objdef {
    const char *name;
    const struct field *fields;
    HRESULT (*check)(const cJSON *obj, struct vctx *v, const char *path);
};

struct vctx {
    const struct hcsv_host *host;
    char *msg;
    size_t n;
};

static HRESULT fail(struct vctx *v, HRESULT hr, const char *fmt, ...) EVM_PRINTF(3, 4);

static HRESULT fail(struct vctx *v, HRESULT hr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->msg, v->n, fmt, ap);
    va_end(ap);
    return hr;
}

/* ---- the extra rules of some objects ------------------------------------------------------- */

static bool uint_value(const cJSON *item, double *out)
{
    if (!cJSON_IsNumber(item))
        return false;
    double d = item->valuedouble;
    if (!(d >= 0) || d > 18446744073709551615.0 || floor(d) != d)
        return false;
    *out = d;
    return true;
}

static double member_uint(const cJSON *obj, const char *name)
{
    double d = 0;
    return uint_value(cJSON_GetObjectItemCaseSensitive(obj, name), &d) ? d : -1;
}

static HRESULT check_memory(const cJSON *obj, struct vctx *v, const char *path)
{
    double mb = member_uint(obj, "SizeInMB");
    if (mb <= 0)
        return fail(v, HCS_E_INVALID_JSON, "%s.SizeInMB must be a positive number of MiB", path);
    if (fmod(mb, 2.0) != 0)
        return fail(v, HCS_E_INVALID_JSON,
                    "%s.SizeInMB=%.0f is odd: memory is assigned in 2 MiB units", path, mb);
    return S_OK;
}

static HRESULT check_processor(const cJSON *obj, struct vctx *v, const char *path)
{
    double n = member_uint(obj, "Count");
    if (n < 1 || n > v->host->cpus)
        return fail(v, HCS_E_INVALID_JSON,
                    "%s.Count=%.0f: the host has %u logical processors (1..%u allowed)", path, n,
                    v->host->cpus, v->host->cpus);
    return S_OK;
}

static HRESULT check_kernel_direct(const cJSON *obj, struct vctx *v, const char *path)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(obj, "KernelFilePath");
    if (!k->valuestring[0])
        return fail(v, HCS_E_INVALID_JSON, "%s.KernelFilePath is empty", path);
    return S_OK;
}

static HRESULT check_com_port(const cJSON *obj, struct vctx *v, const char *path)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, "NamedPipe");
    if (cJSON_IsString(p) && p->valuestring[0] &&
        _strnicmp(p->valuestring, "\\\\.\\pipe\\", 9) != 0)
        return fail(v, HCS_E_INVALID_JSON, "%s.NamedPipe '%s' is not a \\\\.\\pipe\\ name", path,
                    p->valuestring);
    return S_OK;
}

static HRESULT check_attachment(const cJSON *obj, struct vctx *v, const char *path)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "Type");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, "Path");
    if (strcmp(t->valuestring, "VirtualDisk") != 0)
        return fail(v, E_NOTIMPL, "%s.Type '%s' is valid HCS but not simulated by the fake", path,
                    t->valuestring);
    if (!cJSON_IsString(p) || !p->valuestring[0])
        return fail(v, HCS_E_INVALID_JSON, "%s.Path is required for a VirtualDisk", path);
    return S_OK;
}

static bool mac_valid(const char *s)
{
    for (int i = 0; i < 17; i++) {
        char ch = s[i];
        bool hex = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
        if (i % 3 == 2 ? ch != '-' : !hex)
            return false;
    }
    return s[17] == '\0';
}

static HRESULT check_adapter(const cJSON *obj, struct vctx *v, const char *path)
{
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(obj, "EndpointId");
    const cJSON *mac = cJSON_GetObjectItemCaseSensitive(obj, "MacAddress");
    GUID g;
    if (!cJSON_IsString(ep) || !fake_guid_parse(ep->valuestring, &g))
        return fail(v, HCS_E_INVALID_JSON, "%s.EndpointId must be an endpoint GUID", path);
    if (cJSON_IsString(mac) && !mac_valid(mac->valuestring))
        return fail(v, HCS_E_INVALID_JSON, "%s.MacAddress '%s' is not XX-XX-XX-XX-XX-XX", path,
                    mac->valuestring);
    return S_OK;
}

static HRESULT check_version(const cJSON *obj, struct vctx *v, const char *path)
{
    double major = member_uint(obj, "Major"), minor = member_uint(obj, "Minor");
    if (major != 2)
        return fail(v, HCS_E_INVALID_JSON,
                    "%s %.0f.%.0f: the fake simulates the version 2 schema only", path, major,
                    minor);
    if (minor > v->host->max_minor)
        return fail(v, HCS_E_INVALID_JSON,
                    "%s 2.%.0f is above what this host supports (SupportedSchemaVersions up to "
                    "2.%u)",
                    path, minor, v->host->max_minor);
    return S_OK;
}

/* ---- the tables -------------------------------------------------------------------------- */

static const struct field version_fields[] = {
    {"Major", T_UINT, 0, REQ, NULL, NULL},
    {"Minor", T_UINT, 0, REQ, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
static const struct objdef version_def = {"Version", version_fields, check_version};

static const struct field kernel_direct_fields[] = {
    {"KernelFilePath", T_STR, 2, REQ, NULL, NULL},
    {"InitRdPath", T_STR, 2, 0, NULL, NULL},
    {"KernelCmdLine", T_STR, 2, 0, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
static const struct objdef kernel_direct_def = {"LinuxKernelDirect", kernel_direct_fields,
                                                check_kernel_direct};

static const struct field chipset_fields[] = {
    {"Uefi", T_NOTSIM, 0, 0, NULL, "the fake boots LinuxKernelDirect only"},
    {"IsNumLockDisabled", T_BOOL, 0, 0, NULL, NULL},
    {"BaseBoardSerialNumber", T_STR, 0, 0, NULL, NULL},
    {"ChassisSerialNumber", T_STR, 0, 0, NULL, NULL},
    {"ChassisAssetTag", T_STR, 0, 0, NULL, NULL},
    {"EnableHibernation", T_BOOL, 5, 0, NULL, NULL},
    {"UseUtc", T_BOOL, 1, 0, NULL, NULL},
    {"LinuxKernelDirect", T_OBJ, 2, REQ, &kernel_direct_def, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
static const struct objdef chipset_def = {"Chipset", chipset_fields, NULL};

static const struct field memory_fields[] = {
    {"SizeInMB", T_UINT, 1, REQ, NULL, NULL},
    {"AllowOvercommit", T_BOOL, 1, 0, NULL, NULL},
    {"BackingPageSize", T_ENUM, 2, 0, NULL, "Small|Large"},
    {"FaultClusterSizeShift", T_UINT, 4, 0, NULL, NULL},
    {"DirectMapFaultClusterSizeShift", T_UINT, 4, 0, NULL, NULL},
    {"PinBackingPages", T_BOOL, 2, 0, NULL, NULL},
    {"ForbidSmallBackingPages", T_BOOL, 2, 0, NULL, NULL},
    {"EnableHotHint", T_BOOL, 0, 0, NULL, NULL},
    {"EnableColdHint", T_BOOL, 0, 0, NULL, NULL},
    {"EnableColdDiscardHint", T_BOOL, 2, 0, NULL, NULL},
    {"EnableDeferredCommit", T_BOOL, 1, 0, NULL, NULL},
    {"LowMmioGapInMB", T_UINT, 3, 0, NULL, NULL},
    {"HighMmioBaseInMB", T_UINT, 3, 0, NULL, NULL},
    {"HighMmioGapInMB", T_UINT, 3, 0, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
static const struct objdef memory_def = {"VirtualMachine_Memory", memory_fields, check_memory};

static const struct field processor_fields[] = {
    {"Count", T_UINT, 0, REQ, NULL, NULL},
    {"Limit", T_UINT, 1, 0, NULL, NULL},
    {"Weight", T_UINT, 1, 0, NULL, NULL},
    {"Reservation", T_UINT, 4, 0, NULL, NULL},
    {"MaximumFrequencyMHz", T_UINT, 4, 0, NULL, NULL},
    {"ExposeVirtualizationExtensions", T_BOOL, 0, 0, NULL, NULL},
    {"EnablePerfmonPmu", T_BOOL, 2, 0, NULL, NULL},
    {"EnablePerfmonArchPmu", T_BOOL, 5, 0, NULL, NULL},
    {"EnablePerfmonPebs", T_BOOL, 2, 0, NULL, NULL},
    {"EnablePerfmonLbr", T_BOOL, 2, 0, NULL, NULL},
    {"EnablePerfmonIpt", T_BOOL, 2, 0, NULL, NULL},
    {"EnablePageShattering", T_BOOL, 5, 0, NULL, NULL},
    {"DisableSpeculationControls", T_BOOL, 5, 0, NULL, NULL},
    {"ProcessorFeatureSet", T_NOTSIM, 5, 0, NULL, "processor feature sets"},
    {"CpuGroup", T_NOTSIM, 5, 0, NULL, "CPU groups"},
    {NULL, 0, 0, 0, NULL, NULL},
};
static const struct objdef processor_def = {"VirtualMachine_Processor", processor_fields,
                                            check_processor};

static const struct field topology_fields[] = {
    {"Memory", T_OBJ, 0, REQ, &memory_def, NULL},
    {"Processor", T_OBJ, 0, REQ, &processor_def, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
static const struct objdef topology_def = {"Topology", topology_fields, NULL};

static const struct field com_port_fields[] = {
    {"NamedPipe", T_STR, 1, 0, NULL, NULL},
    {"OptimizeForDebugger", T_BOOL, 1, 0, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
static const struct objdef com_port_def = {"ComPort", com_port_fields, check_com_port};

static const struct field attachment_fields[] = {
    {"Type", T_ENUM, 0, REQ, NULL, "VirtualDisk|Iso|PassThru"},
    {"Path", T_STR, 0, 0, NULL, NULL},
    {"CachingMode", T_ENUM, 1, 0, NULL, "Uncached|Cached|ReadOnlyCached"},
    {"ReadOnly", T_BOOL, 0, 0, NULL, NULL},
    {"SupportCompressedVolumes", T_BOOL, 3, 0, NULL, NULL},
    {"AlwaysAllowSparseFiles", T_BOOL, 6, 0, NULL, NULL},
    {"SupportEncryptedFiles", T_BOOL, 6, 0, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
static const struct objdef attachment_def = {"Attachment", attachment_fields, check_attachment};

static const struct field scsi_fields[] = {
    {"Attachments", T_MAP_UINT, 0, 0, &attachment_def, NULL},
    {"DisableInterruptBatching", T_BOOL, 4, 0, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
static const struct objdef scsi_def = {"Scsi", scsi_fields, NULL};

static const struct field adapter_fields[] = {
    {"EndpointId", T_STR, 0, 0, NULL, NULL},
    {"MacAddress", T_STR, 0, 0, NULL, NULL},
    {"InstanceId", T_STR, 4, 0, NULL, NULL},
    {"DisableInterruptBatching", T_BOOL, 4, 0, NULL, NULL},
    {"IovSettings", T_NOTSIM, 4, 0, NULL, "SR-IOV offload"},
    {"ConnectionState", T_NOTSIM, 4, 0, NULL, "adapter connection states"},
    {NULL, 0, 0, 0, NULL, NULL},
};
static const struct objdef adapter_def = {"NetworkAdapter", adapter_fields, check_adapter};

static const struct field devices_fields[] = {
    {"ComPorts", T_MAP_UINT, 1, 0, &com_port_def, NULL},
    {"VirtioSerial", T_NOTSIM, 2, 0, NULL, "virtio serial"},
    {"Scsi", T_MAP_STR, 0, 0, &scsi_def, NULL},
    {"VirtualPMem", T_NOTSIM, 0, 0, NULL, "virtual PMEM"},
    {"NetworkAdapters", T_MAP_STR, 0, 0, &adapter_def, NULL},
    {"VideoMonitor", T_NOTSIM, 0, 0, NULL, "a video monitor"},
    {"Keyboard", T_NOTSIM, 0, 0, NULL, "a keyboard"},
    {"Mouse", T_NOTSIM, 0, 0, NULL, "a mouse"},
    {"HvSocket", T_NOTSIM, 1, 0, NULL, "hvsocket (the backend uses none)"},
    {"EnhancedModeVideo", T_NOTSIM, 1, 0, NULL, "enhanced-mode video"},
    {"GuestCrashReporting", T_NOTSIM, 0, 0, NULL, "guest crash dumps"},
    {"VirtualSmb", T_NOTSIM, 0, 0, NULL, "virtual SMB shares"},
    {"Plan9", T_NOTSIM, 0, 0, NULL,
     "Plan9 shares ([E]'s Plan9 share made the start fail with 0xC0370110, and mainline Linux "
     "cannot mount HCS Plan9)"},
    {"Battery", T_NOTSIM, 0, 0, NULL, "a battery"},
    {"FlexibleIov", T_NOTSIM, 1, 0, NULL, "flexible IoV devices"},
    {"SharedMemory", T_NOTSIM, 1, 0, NULL, "shared memory regions"},
    {"VirtualPci", T_NOTSIM, 3, 0, NULL, "virtual PCI devices"},
    {NULL, 0, 0, 0, NULL, NULL},
};
static const struct objdef devices_def = {"Devices", devices_fields, NULL};

static const struct field vm_fields[] = {
    {"Version", T_NOTSIM, 5, 0, NULL, "virtual machine versions"},
    {"StopOnReset", T_BOOL, 0, 0, NULL, NULL},
    {"Chipset", T_OBJ, 0, REQ, &chipset_def, NULL},
    {"ComputeTopology", T_OBJ, 0, REQ, &topology_def, NULL},
    {"Devices", T_OBJ, 0, 0, &devices_def, NULL},
    {"Services", T_NOTSIM, 5, 0, NULL, "guest services"},
    {"GuestState", T_NOTSIM, 1, 0, NULL, "guest state files"},
    {"RestoreState", T_NOTSIM, 0, 0, NULL, "restoring saved state"},
    {"RegistryChanges", T_NOTSIM, 0, 0, NULL, "Windows guest registry changes"},
    {"StorageQoS", T_NOTSIM, 1, 0, NULL, "storage QoS"},
    {"GuestConnection", T_NOTSIM, 1, 0, NULL,
     "a guest connection (the guest has no GCS; start would wait for it forever)"},
    {NULL, 0, 0, 0, NULL, NULL},
};
static const struct objdef vm_def = {"VirtualMachine", vm_fields, NULL};

static const struct field system_fields[] = {
    {"Owner", T_STR, 0, 0, NULL, NULL},
    {"SchemaVersion", T_OBJ, 0, REQ, &version_def, NULL},
    {"HostingSystemId", T_NOTSIM, 0, 0, NULL, "hosted systems"},
    {"HostedSystem", T_NOTSIM, 0, 0, NULL, "hosted systems"},
    {"Container", T_NOTSIM, 0, 0, NULL, "containers"},
    {"VirtualMachine", T_OBJ, 0, REQ, &vm_def, NULL},
    {"ShouldTerminateOnLastHandleClosed", T_BOOL, 0, 0, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
static const struct objdef system_def = {"ComputeSystem", system_fields, NULL};

/* ---- the walk ------------------------------------------------------------------------------ */

static HRESULT check_object(const cJSON *obj, const struct objdef *def, struct vctx *v,
                            const char *path);

static const struct field *find_field(const struct objdef *def, const char *name)
{
    for (const struct field *f = def->fields; f->name; f++)
        if (!strcmp(f->name, name))
            return f;
    return NULL;
}

static HRESULT unknown_field(const struct objdef *def, struct vctx *v, const char *path,
                             const char *name)
{
    for (const struct field *f = def->fields; f->name; f++)
        if (!_stricmp(f->name, name))
            return fail(v, HCS_E_INVALID_JSON,
                        "unknown field %s.%s in %s (misspelled: the schema's name is %s)", path,
                        name, def->name, f->name);
    return fail(v, HCS_E_INVALID_JSON, "unknown field %s.%s: %s has no such member", path, name,
                def->name);
}

static bool enum_has(const char *list, const char *value)
{
    size_t n = strlen(value);
    for (const char *p = list; p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, value, n))
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

static bool uint32_key(const char *k)
{
    if (!k[0] || strlen(k) > 10 || (k[0] == '0' && k[1]))
        return false;
    for (const char *p = k; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return strtoull(k, NULL, 10) <= 0xFFFFFFFFull;
}

static HRESULT check_map_key(const struct field *f, struct vctx *v, const char *path,
                             const char *key)
{
    if (f->type == T_MAP_UINT && !uint32_key(key))
        return fail(v, HCS_E_INVALID_JSON, "%s key '%s' must be a decimal uint32", path, key);
    if (!strcmp(f->name, "ComPorts") && strcmp(key, "0") && strcmp(key, "1"))
        return fail(v, HCS_E_INVALID_JSON, "%s key '%s': a VM has COM1 (\"0\") and COM2 (\"1\")",
                    path, key);
    if (!strcmp(f->name, "Attachments") && strtoul(key, NULL, 10) > 63)
        return fail(v, HCS_E_INVALID_JSON, "%s key '%s': a SCSI LUN is 0..63", path, key);
    if (!key[0])
        return fail(v, HCS_E_INVALID_JSON, "%s has an empty key", path);
    return S_OK;
}

static HRESULT check_map(const cJSON *item, const struct field *f, struct vctx *v, const char *path)
{
    if (!cJSON_IsObject(item))
        return fail(v, HCS_E_INVALID_JSON, "%s must be an object (a map)", path);
    for (const cJSON *e = item->child; e; e = e->next) {
        char sub[512];
        snprintf(sub, sizeof(sub), "%s.%s", path, e->string);
        HRESULT hr = check_map_key(f, v, path, e->string);
        if (hr == S_OK)
            hr = check_object(e, f->sub, v, sub);
        if (hr != S_OK)
            return hr;
    }
    return S_OK;
}

static HRESULT check_value(const cJSON *item, const struct field *f, struct vctx *v,
                           const char *path)
{
    double d;
    switch (f->type) {
    case T_STR:
        return cJSON_IsString(item) ? S_OK
                                    : fail(v, HCS_E_INVALID_JSON, "%s must be a string", path);
    case T_BOOL:
        return cJSON_IsBool(item) ? S_OK
                                  : fail(v, HCS_E_INVALID_JSON, "%s must be true or false", path);
    case T_UINT:
        return uint_value(item, &d)
                   ? S_OK
                   : fail(v, HCS_E_INVALID_JSON, "%s must be a non-negative integer", path);
    case T_ENUM:
        if (cJSON_IsString(item) && enum_has(f->note, item->valuestring))
            return S_OK;
        return fail(v, HCS_E_INVALID_JSON, "%s must be one of %s", path, f->note);
    case T_OBJ:
        return check_object(item, f->sub, v, path);
    case T_MAP_UINT:
    case T_MAP_STR:
        return check_map(item, f, v, path);
    case T_NOTSIM:
        return fail(v, E_NOTIMPL,
                    "%s is valid HCS schema 2.%u but not simulated by the fake HCS (%s); the "
                    "backend must not need it",
                    path, f->since, f->note);
    }
    return fail(v, E_UNEXPECTED, "%s: internal error", path);
}

static HRESULT check_duplicates(const cJSON *obj, struct vctx *v, const char *path)
{
    for (const cJSON *a = obj->child; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (!strcmp(a->string, b->string))
                return fail(v, HCS_E_INVALID_JSON, "%s has the member %s twice", path, a->string);
    return S_OK;
}

static HRESULT check_members(const cJSON *obj, const struct objdef *def, struct vctx *v,
                             const char *path)
{
    for (const cJSON *e = obj->child; e; e = e->next) {
        const struct field *f = find_field(def, e->string);
        char sub[512];
        snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", e->string);
        if (!f)
            return unknown_field(def, v, path[0] ? path : "(document)", e->string);
        if (f->since > v->host->max_minor)
            return fail(v, HCS_E_INVALID_JSON,
                        "unknown field %s: it appeared in schema 2.%u and this host supports up "
                        "to 2.%u",
                        sub, f->since, v->host->max_minor);
        HRESULT hr = check_value(e, f, v, sub);
        if (hr != S_OK)
            return hr;
    }
    return S_OK;
}

static HRESULT check_required(const cJSON *obj, const struct objdef *def, struct vctx *v,
                              const char *path)
{
    for (const struct field *f = def->fields; f->name; f++)
        if ((f->flags & REQ) && !cJSON_GetObjectItemCaseSensitive(obj, f->name))
            return fail(v, HCS_E_INVALID_JSON, "missing required field %s%s%s", path,
                        path[0] ? "." : "", f->name);
    return S_OK;
}

static HRESULT check_object(const cJSON *obj, const struct objdef *def, struct vctx *v,
                            const char *path)
{
    if (!cJSON_IsObject(obj))
        return fail(v, HCS_E_INVALID_JSON, "%s must be an object (%s)",
                    path[0] ? path : "the document", def->name);
    HRESULT hr = check_duplicates(obj, v, path[0] ? path : "the document");
    if (hr == S_OK)
        hr = check_members(obj, def, v, path);
    if (hr == S_OK)
        hr = check_required(obj, def, v, path);
    if (hr == S_OK && def->check)
        hr = def->check(obj, v, path[0] ? path : "the document");
    return hr;
}

HRESULT hcsv_document(const char *json, const struct hcsv_host *host, cJSON **doc, char *msg,
                      size_t n)
{
    struct vctx v = {.host = host, .msg = msg, .n = n};
    *doc = NULL;
    msg[0] = '\0';
    const char *end = NULL;
    cJSON *d = cJSON_ParseWithOpts(json, &end, 1);
    if (!d) {
        size_t at = end ? (size_t)(end - json) : 0;
        return fail(&v, HCS_E_INVALID_JSON, "the document is not valid JSON (at byte %zu)", at);
    }
    HRESULT hr = check_object(d, &system_def, &v, "");
    if (hr != S_OK) {
        cJSON_Delete(d);
        return hr;
    }
    *doc = d;
    return S_OK;
}

HRESULT hcsv_keys(const cJSON *obj, const char *what, const char *const *allowed, char *msg,
                  size_t n)
{
    struct vctx v = {.msg = msg, .n = n};
    if (!cJSON_IsObject(obj))
        return fail(&v, HCS_E_INVALID_JSON, "%s must be a JSON object", what);
    for (const cJSON *e = obj->child; e; e = e->next) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = !strcmp(*a, e->string);
        if (!ok)
            return fail(&v, HCS_E_INVALID_JSON, "unknown field %s in %s", e->string, what);
    }
    return S_OK;
}

const char *hcsv_string(const cJSON *doc, const char *dotted_path)
{
    char name[128];
    const cJSON *cur = doc;
    for (const char *p = dotted_path; cur && *p;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len >= sizeof(name))
            return NULL;
        memcpy(name, p, len);
        name[len] = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, name);
        p = dot ? dot + 1 : p + len;
    }
    return cJSON_IsString(cur) ? cur->valuestring : NULL;
}
