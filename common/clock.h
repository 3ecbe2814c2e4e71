/* clock.h — the monotonic clock in milliseconds, for deadlines and elapsed times (never
 * affected by changes of the wall clock). clock_posix.c, clock_win.c. */
#ifndef EVM_CLOCK_H
#define EVM_CLOCK_H

#include <stdint.h>

uint64_t clock_monotonic_ms(void);

#endif
