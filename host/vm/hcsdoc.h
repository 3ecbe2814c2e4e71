/* hcsdoc.h — the Host Compute Service's VM document for our Linux guest, and what goes with
 * it: the schema version to write (from the compute service's own properties) and the
 * kernel arguments HCS's serial port needs. Portable (cJSON, no Windows API): the backend
 * (vm_hcs_win.c) converts the UTF-8 result to UTF-16 and hands it to HcsCreateComputeSystem.
 *
 * Field names and versions: hcsshim internal/hcs/schema2 and the HCS schema reference
 * (learn.microsoft.com/virtualization/api/hcs/SchemaReference). */
#ifndef EVM_HCSDOC_H
#define EVM_HCSDOC_H

#include <stddef.h>

#include "err.h"

struct hcs_schema {
    unsigned major, minor;
};

/* The oldest schema with Chipset.LinuxKernelDirect (Windows 10 1903 / Server 2022) and the
 * newest this document is written for (WSL's). */
#define HCSDOC_SCHEMA_MIN_MAJOR 2
#define HCSDOC_SCHEMA_MIN_MINOR 2
#define HCSDOC_SCHEMA_MAX_MAJOR 2
#define HCSDOC_SCHEMA_MAX_MINOR 3

/* Chooses the schema version from HcsGetServiceProperties' result for the query
 * {"PropertyTypes":["Basic"]}: {"Properties":[{"SupportedSchemaVersions":[{"Major":2,
 * "Minor":1},…]}]} (the bare {"SupportedSchemaVersions":[…]} is accepted too). The highest
 * version listed, capped at 2.3; below 2.2 -ENOTSUP with a message naming the Windows
 * release needed (Windows 10 1903 or Windows Server 2022); -EPROTO when the document is not
 * such JSON or lists no version. */
int hcsdoc_choose_schema(const char *service_properties_json, struct hcs_schema *out,
                         struct evm_err *err);

struct hcs_doc_params {
    struct hcs_schema schema;    /* >= 2.2 (hcsdoc_choose_schema) */
    const char *owner;           /* "ephemerd": the stale sweep finds our systems by it */
    const char *kernel, *initrd; /* Windows paths (UTF-8) */
    const char *cmdline;         /* the whole kernel command line, used as given */
    unsigned memory_mb;          /* rounded UP to an even MiB (hcsdoc_memory_mb) */
    unsigned cpus;               /* capped at host_processors (hcsdoc_cpu_count) */
    unsigned host_processors;    /* the host's logical processors; 0: unknown, no cap */
    const char *disk;            /* VHDX path, NULL: no disk */
    const char *com1_pipe;       /* \\.\pipe\ephemerd-vm-<id>-com1 */
    const char *endpoint_id;     /* HCN endpoint GUID (no braces), NULL: no NIC */
    const char *mac;             /* "00-15-5D-12-34-56", required with endpoint_id */
};

/* The memory size the document gets: HCS wants an even number of MiB (2 MiB granularity),
 * so an odd size is rounded up (memory_mb < UINT_MAX). */
unsigned hcsdoc_memory_mb(unsigned memory_mb);

/* The processor count the document gets: cpus, at most host_processors (when known). Use
 * the same count for hcsdoc_kernel_args. */
unsigned hcsdoc_cpu_count(unsigned cpus, unsigned host_processors);

/* Builds the document (malloc'd UTF-8 JSON from cJSON_Print; free() it): Owner,
 * SchemaVersion, ShouldTerminateOnLastHandleClosed, and a VirtualMachine with StopOnReset,
 * Chipset {UseUtc, LinuxKernelDirect}, ComputeTopology {Memory {SizeInMB, AllowOvercommit,
 * EnableDeferredCommit}, Processor {Count}} and Devices: one SCSI controller (keyed by a
 * fixed GUID) with the disk at LUN 0 when there is one, one network adapter keyed by the
 * endpoint GUID when there is one, and COM1 on the named pipe. No Plan9, no HvSocket.
 * -EINVAL names the parameter that is missing or malformed (not UTF-8, control characters,
 * not a GUID/MAC/pipe name, schema below 2.2); -ENOMEM. */
int hcsdoc_build(const struct hcs_doc_params *p, char **json, struct evm_err *err);

/* The kernel arguments COM1 and the VM need, to append to the contract's command line:
 * "console=ttyS0,115200 8250_core.nr_uarts=1 8250_core.skip_txen_test=1 panic=-1 pci=off
 * brd.rd_nr=0 pmtmr=0 nr_cpus=<cpus>". -EINVAL for cpus 0, -ENOSPC when n is too small. */
int hcsdoc_kernel_args(unsigned cpus, char *buf, size_t n, struct evm_err *err);

/* The contract's command line with the HCS console arguments above appended, each only when
 * the contract's line does not already carry that exact word (the contract already ends in
 * "panic=-1 console=ttyS0,115200"). *out is malloc'd. */
int hcsdoc_cmdline(const char *contract, unsigned cpus, char **out, struct evm_err *err);

#endif
