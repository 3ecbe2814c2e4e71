/* hcsdoc.c — the HCS VM document: choosing its schema version, checking the parameters and
 * building the JSON with cJSON (see hcsdoc.h). */
#include "vm/hcsdoc.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "strutil.h"

/* The SCSI controller's key. A GUID is used as the channel instance id as is (any other
 * name is hashed); the one hcsshim uses for its Linux utility VMs. */
#define SCSI_CONTROLLER_ID "df6d0690-79e5-55b6-a5ec-c1e2f77f580a"
#define PIPE_PREFIX "\\\\.\\pipe\\"
#define EXCERPT_CHARS 80

static const struct hcs_schema schema_min = {HCSDOC_SCHEMA_MIN_MAJOR, HCSDOC_SCHEMA_MIN_MINOR};
static const struct hcs_schema schema_max = {HCSDOC_SCHEMA_MAX_MAJOR, HCSDOC_SCHEMA_MAX_MINOR};

/* ---- the schema version ------------------------------------------------------------- */

static int schema_cmp(struct hcs_schema a, struct hcs_schema b)
{
    if (a.major != b.major)
        return a.major < b.major ? -1 : 1;
    if (a.minor != b.minor)
        return a.minor < b.minor ? -1 : 1;
    return 0;
}

/* A small non-negative integer member (a version part). */
static bool small_uint_member(const cJSON *obj, const char *name, unsigned *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 65535 ||
        (double)(unsigned)v->valuedouble != v->valuedouble)
        return false;
    *out = (unsigned)v->valuedouble;
    return true;
}

/* SupportedSchemaVersions at the top level or in the first Properties entry that has it. */
static const cJSON *versions_array(const cJSON *root)
{
    const char *key = "SupportedSchemaVersions";
    const cJSON *top = cJSON_GetObjectItemCaseSensitive(root, key);
    if (cJSON_IsArray(top))
        return top;
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(root, "Properties");
    const cJSON *p;
    cJSON_ArrayForEach(p, props)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);
        if (cJSON_IsArray(v))
            return v;
    }
    return NULL;
}

/* The highest well-formed {Major, Minor} of the array; false when there is none. */
static bool highest_version(const cJSON *versions, struct hcs_schema *out)
{
    bool found = false;
    const cJSON *v;
    cJSON_ArrayForEach(v, versions)
    {
        struct hcs_schema s;
        if (!small_uint_member(v, "Major", &s.major) || !small_uint_member(v, "Minor", &s.minor))
            continue;
        if (!found || schema_cmp(s, *out) > 0)
            *out = s;
        found = true;
    }
    return found;
}

int hcsdoc_choose_schema(const char *json, struct hcs_schema *out, struct evm_err *err)
{
    if (!json || !*json)
        return evm_errf(err, EPROTO, "HCS service properties: empty document");
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        char ex[EXCERPT_CHARS + 4];
        str_excerpt(ex, sizeof(ex), json, strlen(json), EXCERPT_CHARS);
        return evm_errf(err, EPROTO, "HCS service properties: not JSON: %s", ex);
    }
    struct hcs_schema best = {0, 0};
    bool found = highest_version(versions_array(root), &best);
    cJSON_Delete(root);
    if (!found)
        return evm_errf(err, EPROTO,
                        "HCS service properties: no SupportedSchemaVersions with Major/Minor");
    if (schema_cmp(best, schema_min) < 0)
        return evm_errf(err, ENOTSUP,
                        "Hyper-V's compute service supports schema versions up to %u.%u; booting "
                        "a Linux kernel directly (LinuxKernelDirect) needs %u.%u: Windows 10 "
                        "version 1903 or later, or Windows Server 2022 or later",
                        best.major, best.minor, schema_min.major, schema_min.minor);
    *out = schema_cmp(best, schema_max) > 0 ? schema_max : best;
    return 0;
}

/* ---- checking the parameters -------------------------------------------------------- */

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t len = 0;
    if (c < 0x80)
        len = 1;
    else if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return len;
}

/* A present, non-empty string of valid UTF-8 without control characters. */
static int check_text(const char *what, const char *s, struct evm_err *err)
{
    if (!s || !*s)
        return evm_errf(err, EINVAL, "HCS document: %s is missing", what);
    for (const unsigned char *u = (const unsigned char *)s; *u;) {
        size_t len = utf8_seq_len(u);
        if (len == 0)
            return evm_errf(err, EINVAL, "HCS document: %s is not valid UTF-8", what);
        if (*u < 0x20 || *u == 0x7F)
            return evm_errf(err, EINVAL, "HCS document: %s contains a control character", what);
        u += len;
    }
    return 0;
}

static bool is_hex_run(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (hex_digit_value(s[i]) < 0)
            return false;
    return true;
}

/* 8-4-4-4-12 hex digits, no braces. */
static bool is_guid(const char *s)
{
    static const size_t groups[] = {8, 4, 4, 4, 12};
    for (size_t g = 0; g < 5; g++) {
        if (strlen(s) < groups[g] || !is_hex_run(s, groups[g]))
            return false;
        s += groups[g];
        if (g < 4 && *s++ != '-')
            return false;
    }
    return *s == '\0';
}

/* Six hex pairs joined by '-', as HCN writes them. */
static bool is_mac(const char *s)
{
    for (int i = 0; i < 6; i++) {
        if (!is_hex_run(s, 2))
            return false;
        s += 2;
        if (i < 5 && *s++ != '-')
            return false;
    }
    return *s == '\0';
}

static int check_nic(const struct hcs_doc_params *p, struct evm_err *err)
{
    if (!p->endpoint_id)
        return 0;
    if (!is_guid(p->endpoint_id))
        return evm_errf(err, EINVAL, "HCS document: endpoint id \"%.60s\" is not a GUID",
                        p->endpoint_id);
    if (!p->mac || !is_mac(p->mac))
        return evm_errf(err, EINVAL,
                        "HCS document: MAC address \"%.40s\" is not six hex pairs joined by '-'",
                        p->mac ? p->mac : "");
    return 0;
}

static int check_numbers(const struct hcs_doc_params *p, struct evm_err *err)
{
    if (schema_cmp(p->schema, schema_min) < 0)
        return evm_errf(err, EINVAL,
                        "HCS document: schema %u.%u is below %u.%u (LinuxKernelDirect)",
                        p->schema.major, p->schema.minor, schema_min.major, schema_min.minor);
    if (p->memory_mb == 0 || p->memory_mb == UINT_MAX)
        return evm_errf(err, EINVAL, "HCS document: memory size %u MiB is out of range",
                        p->memory_mb);
    if (p->cpus == 0)
        return evm_errf(err, EINVAL, "HCS document: processor count is 0");
    return 0;
}

static int check_params(const struct hcs_doc_params *p, struct evm_err *err)
{
    int r;
    if ((r = check_numbers(p, err)) < 0 || (r = check_text("owner", p->owner, err)) < 0 ||
        (r = check_text("kernel path", p->kernel, err)) < 0 ||
        (r = check_text("initrd path", p->initrd, err)) < 0 ||
        (r = check_text("kernel command line", p->cmdline, err)) < 0 ||
        (r = check_text("COM1 pipe name", p->com1_pipe, err)) < 0 ||
        (p->disk && (r = check_text("disk path", p->disk, err)) < 0) || (r = check_nic(p, err)) < 0)
        return r;
    if (strncmp(p->com1_pipe, PIPE_PREFIX, strlen(PIPE_PREFIX)) != 0)
        return evm_errf(err, EINVAL, "HCS document: COM1 pipe \"%.80s\" does not start with %s",
                        p->com1_pipe, PIPE_PREFIX);
    return 0;
}

/* ---- building ------------------------------------------------------------------------ */

unsigned hcsdoc_memory_mb(unsigned memory_mb)
{
    return memory_mb + (memory_mb & 1u);
}

unsigned hcsdoc_cpu_count(unsigned cpus, unsigned host_processors)
{
    return host_processors && cpus > host_processors ? host_processors : cpus;
}

/* Each add_* returns false when cJSON could not allocate; a NULL parent propagates. */
static bool add_chipset(cJSON *vm, const struct hcs_doc_params *p)
{
    cJSON *chipset = cJSON_AddObjectToObject(vm, "Chipset");
    if (!cJSON_AddBoolToObject(chipset, "UseUtc", true))
        return false;
    cJSON *direct = cJSON_AddObjectToObject(chipset, "LinuxKernelDirect");
    return cJSON_AddStringToObject(direct, "KernelFilePath", p->kernel) &&
           cJSON_AddStringToObject(direct, "InitRdPath", p->initrd) &&
           cJSON_AddStringToObject(direct, "KernelCmdLine", p->cmdline);
}

static bool add_topology(cJSON *vm, const struct hcs_doc_params *p)
{
    cJSON *topology = cJSON_AddObjectToObject(vm, "ComputeTopology");
    cJSON *memory = cJSON_AddObjectToObject(topology, "Memory");
    if (!cJSON_AddNumberToObject(memory, "SizeInMB", hcsdoc_memory_mb(p->memory_mb)) ||
        !cJSON_AddBoolToObject(memory, "AllowOvercommit", true) ||
        !cJSON_AddBoolToObject(memory, "EnableDeferredCommit", true))
        return false;
    cJSON *processor = cJSON_AddObjectToObject(topology, "Processor");
    return cJSON_AddNumberToObject(processor, "Count",
                                   hcsdoc_cpu_count(p->cpus, p->host_processors)) != NULL;
}

/* Scsi: {<controller>: {Attachments: {"0": {Type, Path, ReadOnly}}}}, LUN 0 = /dev/sda. */
static bool add_scsi(cJSON *devices, const char *disk)
{
    cJSON *scsi = cJSON_AddObjectToObject(devices, "Scsi");
    cJSON *controller = cJSON_AddObjectToObject(scsi, SCSI_CONTROLLER_ID);
    cJSON *attachments = cJSON_AddObjectToObject(controller, "Attachments");
    cJSON *lun0 = cJSON_AddObjectToObject(attachments, "0");
    return cJSON_AddStringToObject(lun0, "Type", "VirtualDisk") &&
           cJSON_AddStringToObject(lun0, "Path", disk) &&
           cJSON_AddBoolToObject(lun0, "ReadOnly", false);
}

/* NetworkAdapters: {<endpoint GUID>: {EndpointId, MacAddress}}. */
static bool add_nic(cJSON *devices, const char *endpoint_id, const char *mac)
{
    cJSON *adapters = cJSON_AddObjectToObject(devices, "NetworkAdapters");
    cJSON *nic = cJSON_AddObjectToObject(adapters, endpoint_id);
    return cJSON_AddStringToObject(nic, "EndpointId", endpoint_id) &&
           cJSON_AddStringToObject(nic, "MacAddress", mac);
}

/* ComPorts: {"0": {NamedPipe}} — port 0 is COM1, the guest's ttyS0. */
static bool add_com1(cJSON *devices, const char *pipe)
{
    cJSON *ports = cJSON_AddObjectToObject(devices, "ComPorts");
    cJSON *com1 = cJSON_AddObjectToObject(ports, "0");
    return cJSON_AddStringToObject(com1, "NamedPipe", pipe) != NULL;
}

static bool add_devices(cJSON *vm, const struct hcs_doc_params *p)
{
    cJSON *devices = cJSON_AddObjectToObject(vm, "Devices");
    if (!devices)
        return false;
    if (p->disk && !add_scsi(devices, p->disk))
        return false;
    if (p->endpoint_id && !add_nic(devices, p->endpoint_id, p->mac))
        return false;
    return add_com1(devices, p->com1_pipe);
}

static bool add_system(cJSON *root, const struct hcs_doc_params *p)
{
    if (!cJSON_AddStringToObject(root, "Owner", p->owner))
        return false;
    cJSON *version = cJSON_AddObjectToObject(root, "SchemaVersion");
    if (!cJSON_AddNumberToObject(version, "Major", p->schema.major) ||
        !cJSON_AddNumberToObject(version, "Minor", p->schema.minor) ||
        !cJSON_AddBoolToObject(root, "ShouldTerminateOnLastHandleClosed", true))
        return false;
    cJSON *vm = cJSON_AddObjectToObject(root, "VirtualMachine");
    return cJSON_AddBoolToObject(vm, "StopOnReset", true) && add_chipset(vm, p) &&
           add_topology(vm, p) && add_devices(vm, p);
}

int hcsdoc_build(const struct hcs_doc_params *p, char **json, struct evm_err *err)
{
    *json = NULL;
    int r = check_params(p, err);
    if (r < 0)
        return r;
    cJSON *root = cJSON_CreateObject();
    char *text = root && add_system(root, p) ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return evm_errf(err, ENOMEM, "HCS document: out of memory");
    *json = text;
    return 0;
}

int hcsdoc_kernel_args(unsigned cpus, char *buf, size_t n, struct evm_err *err)
{
    if (cpus == 0)
        return evm_errf(err, EINVAL, "HCS kernel arguments: processor count is 0");
    int len = snprintf(buf, n,
                       "console=ttyS0,115200 8250_core.nr_uarts=1 8250_core.skip_txen_test=1 "
                       "panic=-1 pci=off brd.rd_nr=0 pmtmr=0 nr_cpus=%u",
                       cpus);
    if (len < 0 || (size_t)len >= n)
        return evm_errf(err, ENOSPC, "HCS kernel arguments: do not fit in %zu bytes", n);
    return 0;
}

/* True when the whitespace-separated word w (n bytes) is one of line's words. */
static bool has_word(const char *line, const char *w, size_t n)
{
    const char *p = line;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t k = strcspn(p, " ");
        if (k == n && k > 0 && memcmp(p, w, n) == 0)
            return true;
        p += k;
    }
    return false;
}

int hcsdoc_cmdline(const char *contract, unsigned cpus, char **out, struct evm_err *err)
{
    *out = NULL;
    char args[256];
    int r = hcsdoc_kernel_args(cpus, args, sizeof(args), err);
    if (r < 0)
        return r;
    size_t cap = strlen(contract) + 1 + strlen(args) + 1;
    char *line = malloc(cap);
    if (!line)
        return evm_errf(err, ENOMEM, "HCS kernel command line: out of memory");
    size_t len = (size_t)snprintf(line, cap, "%s", contract);
    for (const char *p = args; *p;) {
        size_t k = strcspn(p, " ");
        if (!has_word(contract, p, k)) {
            line[len++] = ' ';
            memcpy(line + len, p, k);
            len += k;
            line[len] = '\0';
        }
        p += k;
        while (*p == ' ')
            p++;
    }
    *out = line;
    return 0;
}
