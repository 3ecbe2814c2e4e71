/* clock_win.c — clock.h on Windows: GetTickCount64 (monotonic, millisecond resolution). */
#include "clock.h"

#include <windows.h>

uint64_t clock_monotonic_ms(void)
{
    return (uint64_t)GetTickCount64();
}
