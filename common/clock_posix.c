/* clock_posix.c — clock.h on POSIX: CLOCK_MONOTONIC. */
#include "clock.h"

#include <time.h>

uint64_t clock_monotonic_ms(void)
{
    struct timespec ts;
    /* Cannot fail with a valid clock id and pointer. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
