/* test_hcsdoc.c — the HCS VM document. The schema version chosen from the service's
 * properties (2.1-only hosts refused naming the Windows release, 2.2 kept, newer capped at
 * 2.3, malformed documents refused); the document compared byte for byte with golden files
 * for several configurations (with/without disk and NIC, odd memory rounded up, processors
 * capped, Windows paths with backslashes, quotes and non-ASCII characters), then read back
 * with cJSON (schema version, no Plan9/HvSocket anywhere); every malformed parameter refused
 * by name; the kernel arguments for COM1.
 *
 * Golden files: test/host/vm/golden/hcsdoc-<name>.json, relative to the repository root
 * where the tests run (natively and under wine), or in $EVM_GOLDEN_DIR. Each holds the
 * builder's output plus one newline. EVM_UPDATE_GOLDEN=1 rewrites them instead of
 * comparing: review the diff before keeping it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>

#include "testutil.h"
#include "vm/hcsdoc.h"

#define GOLDEN_DIR "test/host/vm/golden"
#define ENDPOINT "8e1c2f4a-5b6d-4e7f-8091-a2b3c4d5e6f7"
#define SCSI_ID "df6d0690-79e5-55b6-a5ec-c1e2f77f580a"

/* ---- schema version ------------------------------------------------------------------- */

static void assert_schema(const char *props, unsigned major, unsigned minor)
{
    struct hcs_schema s = {0, 0};
    struct evm_err err = {0};
    int r = hcsdoc_choose_schema(props, &s, &err);
    if (r != 0)
        fail_msg("%s: %s", props, err.msg);
    assert_int_equal(s.major, major);
    assert_int_equal(s.minor, minor);
}

static void assert_schema_error(const char *props, int code, const char *needle)
{
    struct hcs_schema s = {7, 7};
    struct evm_err err = {0};
    assert_int_equal(hcsdoc_choose_schema(props, &s, &err), -code);
    if (!strstr(err.msg, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
    assert_int_equal(s.major, 7); /* untouched */
}

static void test_schema_2_1_refused(void **state)
{
    (void)state;
    const char *props = "{\"Properties\":[{\"SupportedSchemaVersions\":[{\"Major\":2,\"Minor\":0},"
                        "{\"Major\":2,\"Minor\":1}]}]}";
    assert_schema_error(props, ENOTSUP, "2.1");
    assert_schema_error(props, ENOTSUP, "Windows 10 version 1903");
    assert_schema_error(props, ENOTSUP, "Windows Server 2022");
    assert_schema_error("{\"SupportedSchemaVersions\":[{\"Major\":1,\"Minor\":9}]}", ENOTSUP,
                        "1903");
}

static void test_schema_chosen(void **state)
{
    (void)state;
    /* the real shape: Properties[0] for the query {"PropertyTypes":["Basic"]} */
    assert_schema("{\"Properties\":[{\"SupportedSchemaVersions\":[{\"Major\":2,\"Minor\":0},"
                  "{\"Major\":2,\"Minor\":1},{\"Major\":2,\"Minor\":2}]}]}",
                  2, 2);
    /* the bare object; order does not matter */
    assert_schema("{\"SupportedSchemaVersions\":[{\"Major\":2,\"Minor\":2},"
                  "{\"Major\":2,\"Minor\":3},{\"Major\":2,\"Minor\":0}]}",
                  2, 3);
    /* newer than the document is written for: capped */
    assert_schema("{\"SupportedSchemaVersions\":[{\"Major\":2,\"Minor\":5}]}", 2, 3);
    assert_schema("{\"SupportedSchemaVersions\":[{\"Major\":2,\"Minor\":14}]}", 2, 3);
    assert_schema("{\"SupportedSchemaVersions\":[{\"Major\":3,\"Minor\":0}]}", 2, 3);
    /* malformed entries are skipped when a good one remains */
    assert_schema("{\"SupportedSchemaVersions\":[{\"Major\":\"9\",\"Minor\":9},{\"Major\":2},"
                  "{\"Major\":-3,\"Minor\":0},{\"Major\":2.5,\"Minor\":0},"
                  "{\"Major\":2,\"Minor\":2}]}",
                  2, 2);
}

static void test_schema_malformed(void **state)
{
    (void)state;
    assert_schema_error(NULL, EPROTO, "empty");
    assert_schema_error("", EPROTO, "empty");
    assert_schema_error("SupportedSchemaVersions: 2.2", EPROTO, "not JSON");
    assert_schema_error("{\"SupportedSchemaVersions\":[{\"Major\":2,\"Minor\":2}", EPROTO,
                        "not JSON");
    assert_schema_error("{}", EPROTO, "SupportedSchemaVersions");
    assert_schema_error("{\"Properties\":[]}", EPROTO, "SupportedSchemaVersions");
    assert_schema_error("{\"SupportedSchemaVersions\":[]}", EPROTO, "SupportedSchemaVersions");
    assert_schema_error("{\"SupportedSchemaVersions\":{\"Major\":2,\"Minor\":2}}", EPROTO,
                        "SupportedSchemaVersions");
    assert_schema_error("[{\"Major\":2,\"Minor\":2}]", EPROTO, "SupportedSchemaVersions");
    assert_schema_error("{\"SupportedSchemaVersions\":[{\"Major\":2,\"Minor\":\"2\"}]}", EPROTO,
                        "SupportedSchemaVersions");
}

/* ---- the document against golden files ------------------------------------------------ */

static struct hcs_doc_params full_params(void)
{
    return (struct hcs_doc_params){
        .schema = {2, 3},
        .owner = "ephemerd",
        .kernel = "C:\\ProgramData\\ephemerd\\vm\\vmlinuz",
        .initrd = "C:\\ProgramData\\ephemerd\\vm\\boot.initrd",
        .cmdline = "rdinit=/init ephemerd.root_disk=/dev/sda console=ttyS0,115200 "
                   "8250_core.nr_uarts=1 8250_core.skip_txen_test=1 panic=-1 pci=off "
                   "brd.rd_nr=0 pmtmr=0 nr_cpus=4",
        .memory_mb = 4096,
        .cpus = 4,
        .host_processors = 8,
        .disk = "C:\\ProgramData\\ephemerd\\vm\\root.vhdx",
        .com1_pipe = "\\\\.\\pipe\\ephemerd-vm-0123abcd-com1",
        .endpoint_id = ENDPOINT,
        .mac = "00-15-5D-12-34-56",
    };
}

static char *golden_path(const char *name)
{
    const char *dir = getenv("EVM_GOLDEN_DIR");
    char file[128];
    snprintf(file, sizeof(file), "hcsdoc-%s.json", name);
    return tu_path(dir && *dir ? dir : GOLDEN_DIR, file);
}

/* One line of text starting at s, for the message. */
static void print_line(const char *label, const char *s)
{
    const char *end = strchr(s, '\n');
    int len = end ? (int)(end - s) : (int)strlen(s);
    fprintf(stderr, "  %s %.*s\n", label, len, s);
}

/* Fails with the first differing line of each side and the whole document produced. */
static void report_difference(const char *path, const char *want, const char *got)
{
    size_t i = 0, line = 1, bol = 0;
    while (want[i] && want[i] == got[i]) {
        if (want[i] == '\n') {
            line++;
            bol = i + 1;
        }
        i++;
    }
    fprintf(stderr, "%s differs at line %zu, column %zu:\n", path, line, i - bol + 1);
    print_line("expected:", want + bol);
    print_line("actual:  ", got + bol);
    fprintf(stderr, "---- actual document ----\n%s---- end (EVM_UPDATE_GOLDEN=1 rewrites) ----\n",
            got);
    fail_msg("%s: the document differs from the golden file", path);
}

static void compare_golden(const char *name, const char *doc)
{
    char *path = golden_path(name);
    size_t len = strlen(doc);
    char *got = malloc(len + 2);
    assert_non_null(got);
    memcpy(got, doc, len);
    memcpy(got + len, "\n", 2);
    const char *update = getenv("EVM_UPDATE_GOLDEN");
    if (update && strcmp(update, "1") == 0)
        tu_write(path, got, len + 1);
    size_t want_len = 0;
    char *want = tu_read(path, &want_len);
    if (!want)
        fail_msg("cannot read golden file %s (run from the repository root, or set "
                 "EVM_GOLDEN_DIR)",
                 path);
    if (want_len != len + 1 || memcmp(want, got, len + 1) != 0)
        report_difference(path, want, got);
    free(want);
    free(got);
    free(path);
}

static bool has_key(const cJSON *node, const char *key)
{
    const cJSON *child;
    cJSON_ArrayForEach(child, node)
    {
        if ((child->string && strcmp(child->string, key) == 0) || has_key(child, key))
            return true;
    }
    return false;
}

static const cJSON *at(const cJSON *node, const char *const *path)
{
    for (; *path && node; path++)
        node = cJSON_GetObjectItemCaseSensitive(node, *path);
    return node;
}

static double number_at(const cJSON *root, const char *const *path)
{
    const cJSON *v = at(root, path);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

/* What every document must say, read back with cJSON. */
static void check_structure(const char *doc, const struct hcs_doc_params *p)
{
    cJSON *root = cJSON_Parse(doc);
    assert_non_null(root);
    assert_false(has_key(root, "Plan9"));
    assert_false(has_key(root, "HvSocket"));
    static const char *const major[] = {"SchemaVersion", "Major", NULL};
    static const char *const minor[] = {"SchemaVersion", "Minor", NULL};
    assert_int_equal((unsigned)number_at(root, major), p->schema.major);
    assert_int_equal((unsigned)number_at(root, minor), p->schema.minor);
    static const char *const mem[] = {"VirtualMachine", "ComputeTopology", "Memory", "SizeInMB",
                                      NULL};
    static const char *const cpus[] = {"VirtualMachine", "ComputeTopology", "Processor", "Count",
                                       NULL};
    unsigned mb = (unsigned)number_at(root, mem);
    assert_int_equal(mb % 2, 0);
    assert_true(mb >= p->memory_mb && mb <= p->memory_mb + 1);
    unsigned n = (unsigned)number_at(root, cpus);
    assert_true(n >= 1 && (p->host_processors == 0 || n <= p->host_processors));
    static const char *const cmd[] = {"VirtualMachine", "Chipset", "LinuxKernelDirect",
                                      "KernelCmdLine", NULL};
    assert_string_equal(cJSON_GetStringValue(at(root, cmd)), p->cmdline);
    static const char *const scsi[] = {"VirtualMachine", "Devices", "Scsi", NULL};
    static const char *const nics[] = {"VirtualMachine", "Devices", "NetworkAdapters", NULL};
    assert_int_equal(at(root, scsi) != NULL, p->disk != NULL);
    assert_int_equal(at(root, nics) != NULL, p->endpoint_id != NULL);
    cJSON_Delete(root);
}

static void build_and_compare(const struct hcs_doc_params *p, const char *name)
{
    char *doc = NULL;
    struct evm_err err = {0};
    if (hcsdoc_build(p, &doc, &err) != 0)
        fail_msg("%s: %s", name, err.msg);
    compare_golden(name, doc);
    check_structure(doc, p);
    free(doc);
}

static void test_golden_full(void **state)
{
    (void)state;
    struct hcs_doc_params p = full_params();
    build_and_compare(&p, "full");
}

static void test_golden_no_disk(void **state)
{
    (void)state;
    struct hcs_doc_params p = full_params();
    p.schema = (struct hcs_schema){2, 2};
    p.disk = NULL;
    build_and_compare(&p, "nodisk");
}

static void test_golden_no_nic(void **state)
{
    (void)state;
    struct hcs_doc_params p = full_params();
    p.endpoint_id = NULL;
    p.mac = NULL;
    build_and_compare(&p, "nonic");
}

/* Neither disk nor NIC; 1025 MiB becomes 1026, 16 processors on a 4-processor host 4. */
static void test_golden_bare_rounded(void **state)
{
    (void)state;
    struct hcs_doc_params p = full_params();
    p.disk = NULL;
    p.endpoint_id = NULL;
    p.mac = NULL;
    p.memory_mb = 1025;
    p.cpus = 16;
    p.host_processors = 4;
    build_and_compare(&p, "bare");
}

/* Backslashes doubled, quotes escaped, non-ASCII kept as UTF-8 (valid JSON either way). */
static void test_golden_paths(void **state)
{
    (void)state;
    struct hcs_doc_params p = full_params();
    p.kernel = "C:\\Users\\Zo\xc3\xab\\\xe3\x83\x87\xe3\x83\xbc\xe3\x82\xbf\\vmlinuz";
    p.initrd = "\\\\?\\D:\\VMs\\na\xc3\xafve \xe2\x80\x94 \xf0\x9f\x90\xa7\\boot.initrd";
    p.disk = "D:\\VMs\\\"odd\" name\\root.vhdx";
    p.cmdline = "rdinit=/init ephemerd.label=\"a b\\c\" nr_cpus=2";
    p.owner = "ephemerd-\xc3\xa9t\xc3\xa9";
    p.com1_pipe = "\\\\.\\pipe\\ephemerd-vm-\xc3\xa9-com1";
    build_and_compare(&p, "paths");
}

/* The escaped paths read back to exactly what was given. */
static void test_paths_round_trip(void **state)
{
    (void)state;
    struct hcs_doc_params p = full_params();
    p.kernel = "C:\\Users\\Zo\xc3\xab\\vmlinuz";
    p.disk = "D:\\a\\\"b\"\\root.vhdx";
    char *doc = NULL;
    struct evm_err err = {0};
    assert_int_equal(hcsdoc_build(&p, &doc, &err), 0);
    cJSON *root = cJSON_Parse(doc);
    static const char *const kernel[] = {"VirtualMachine", "Chipset", "LinuxKernelDirect",
                                         "KernelFilePath", NULL};
    static const char *const disk[] = {"VirtualMachine", "Devices", "Scsi", SCSI_ID,
                                       "Attachments",    "0",       "Path", NULL};
    static const char *const pipe[] = {"VirtualMachine", "Devices", "ComPorts", "0",
                                       "NamedPipe",      NULL};
    static const char *const mac[] = {"VirtualMachine", "Devices",    "NetworkAdapters",
                                      ENDPOINT,         "MacAddress", NULL};
    assert_string_equal(cJSON_GetStringValue(at(root, kernel)), p.kernel);
    assert_string_equal(cJSON_GetStringValue(at(root, disk)), p.disk);
    assert_string_equal(cJSON_GetStringValue(at(root, pipe)), p.com1_pipe);
    assert_string_equal(cJSON_GetStringValue(at(root, mac)), p.mac);
    cJSON_Delete(root);
    free(doc);
}

/* ---- refused parameters ----------------------------------------------------------------- */

static void assert_refused(const struct hcs_doc_params *p, const char *needle)
{
    char *doc = (char *)"untouched";
    struct evm_err err = {0};
    assert_int_equal(hcsdoc_build(p, &doc, &err), -EINVAL);
    assert_null(doc);
    if (!strstr(err.msg, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
}

static void test_refuses_missing(void **state)
{
    (void)state;
    struct hcs_doc_params p = full_params();
    p.kernel = NULL;
    assert_refused(&p, "kernel path is missing");
    p = full_params();
    p.initrd = "";
    assert_refused(&p, "initrd path is missing");
    p = full_params();
    p.owner = NULL;
    assert_refused(&p, "owner");
    p = full_params();
    p.cmdline = NULL;
    assert_refused(&p, "kernel command line");
    p = full_params();
    p.com1_pipe = NULL;
    assert_refused(&p, "COM1 pipe");
    p = full_params();
    p.disk = ""; /* NULL means no disk; "" is a mistake */
    assert_refused(&p, "disk path is missing");
}

static void test_refuses_bad_text(void **state)
{
    (void)state;
    struct hcs_doc_params p = full_params();
    p.initrd = "C:\\vm\\\xc3(bad";
    assert_refused(&p, "initrd path is not valid UTF-8");
    p = full_params();
    p.kernel = "C:\\vm\\\xc0\xafoverlong";
    assert_refused(&p, "kernel path is not valid UTF-8");
    p = full_params();
    p.disk = "C:\\vm\\\xed\xa0\x80surrogate";
    assert_refused(&p, "disk path is not valid UTF-8");
    p = full_params();
    p.cmdline = "rdinit=/init\nsecond=line";
    assert_refused(&p, "kernel command line contains a control character");
    p = full_params();
    p.com1_pipe = "C:\\not-a-pipe";
    assert_refused(&p, "\\\\.\\pipe\\");
}

static void test_refuses_bad_nic(void **state)
{
    (void)state;
    struct hcs_doc_params p = full_params();
    p.endpoint_id = "default";
    assert_refused(&p, "not a GUID");
    p.endpoint_id = "{" ENDPOINT "}";
    assert_refused(&p, "not a GUID");
    p.endpoint_id = ENDPOINT "0";
    assert_refused(&p, "not a GUID");
    p = full_params();
    p.mac = NULL;
    assert_refused(&p, "MAC address");
    p.mac = "00:15:5D:12:34:56";
    assert_refused(&p, "MAC address");
    p.mac = "00-15-5D-12-34";
    assert_refused(&p, "MAC address");
}

static void test_refuses_bad_numbers(void **state)
{
    (void)state;
    struct hcs_doc_params p = full_params();
    p.schema = (struct hcs_schema){2, 1};
    assert_refused(&p, "schema 2.1");
    p = full_params();
    p.memory_mb = 0;
    assert_refused(&p, "memory");
    p = full_params();
    p.cpus = 0;
    assert_refused(&p, "processor count");
}

static void test_rounding_helpers(void **state)
{
    (void)state;
    assert_int_equal(hcsdoc_memory_mb(1), 2);
    assert_int_equal(hcsdoc_memory_mb(2), 2);
    assert_int_equal(hcsdoc_memory_mb(4095), 4096);
    assert_int_equal(hcsdoc_cpu_count(8, 4), 4);
    assert_int_equal(hcsdoc_cpu_count(2, 4), 2);
    assert_int_equal(hcsdoc_cpu_count(8, 0), 8); /* host count unknown: no cap */
}

/* ---- kernel arguments ------------------------------------------------------------------- */

#define KARGS                                                                                      \
    "console=ttyS0,115200 8250_core.nr_uarts=1 8250_core.skip_txen_test=1 panic=-1 pci=off "       \
    "brd.rd_nr=0 pmtmr=0 nr_cpus="

static void test_kernel_args(void **state)
{
    (void)state;
    char buf[256];
    struct evm_err err = {0};
    assert_int_equal(hcsdoc_kernel_args(4, buf, sizeof(buf), &err), 0);
    assert_string_equal(buf, KARGS "4");
    assert_int_equal(hcsdoc_kernel_args(64, buf, sizeof(KARGS "64"), &err), 0); /* exact fit */
    assert_string_equal(buf, KARGS "64");
    assert_int_equal(hcsdoc_kernel_args(64, buf, sizeof(KARGS "64") - 1, &err), -ENOSPC);
    assert_int_equal(hcsdoc_kernel_args(0, buf, sizeof(buf), &err), -EINVAL);
    assert_non_null(strstr(err.msg, "processor count"));
}

static void test_cmdline_appends_only_missing_words(void **state)
{
    (void)state;
    char *line = NULL;
    struct evm_err err = {0};
    assert_int_equal(hcsdoc_cmdline("rdinit=/init ephemerd.root_disk=/dev/sda panic=-1 "
                                    "console=ttyS0,115200",
                                    4, &line, &err),
                     0);
    assert_string_equal(line, "rdinit=/init ephemerd.root_disk=/dev/sda panic=-1 "
                              "console=ttyS0,115200 8250_core.nr_uarts=1 "
                              "8250_core.skip_txen_test=1 pci=off brd.rd_nr=0 pmtmr=0 nr_cpus=4");
    free(line);
    /* a different value is not the same word: both stay, the kernel takes the last */
    assert_int_equal(hcsdoc_cmdline("console=tty0", 1, &line, &err), 0);
    assert_non_null(strstr(line, "console=tty0 console=ttyS0,115200 "));
    free(line);
    assert_int_equal(hcsdoc_cmdline("x", 0, &line, &err), -EINVAL);
    assert_null(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmdline_appends_only_missing_words),
        cmocka_unit_test(test_schema_2_1_refused),
        cmocka_unit_test(test_schema_chosen),
        cmocka_unit_test(test_schema_malformed),
        cmocka_unit_test(test_golden_full),
        cmocka_unit_test(test_golden_no_disk),
        cmocka_unit_test(test_golden_no_nic),
        cmocka_unit_test(test_golden_bare_rounded),
        cmocka_unit_test(test_golden_paths),
        cmocka_unit_test(test_paths_round_trip),
        cmocka_unit_test(test_refuses_missing),
        cmocka_unit_test(test_refuses_bad_text),
        cmocka_unit_test(test_refuses_bad_nic),
        cmocka_unit_test(test_refuses_bad_numbers),
        cmocka_unit_test(test_rounding_helpers),
        cmocka_unit_test(test_kernel_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
