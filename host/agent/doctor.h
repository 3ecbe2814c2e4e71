/* doctor.h — `ephemerd-vmhost doctor`: can a boot work here? The backend's checks of the
 * host (vm.h's vm_host_checks: QEMU and KVM on Linux; the Hyper-V platform, rights and the
 * Default Switch on Windows) and, with a data directory, its own: the inputs present and
 * readable, the host config accepted, no access for other users (it holds secrets), room
 * on the disk. Each check prints one line, and a one-line fix when it fails. */
#ifndef EVM_DOCTOR_H
#define EVM_DOCTOR_H

#include <stdio.h>

/* Runs every check, printing to out. Returns the number of failed checks that stop a boot
 * or leak secrets (0: a boot can work). data_dir may be NULL (host checks only). */
unsigned doctor_run(const char *data_dir, FILE *out);

#endif
