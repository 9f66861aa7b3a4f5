/*
 * hwy_timer.c - test-only LD_PRELOAD shim that lets valgrind run vidx here.
 *
 * Debian's libavcodec links libjxl, which links libhwy; libhwy's load-time
 * initialiser calls hwy::platform::TimerResolution(), which executes RDTSCP.
 * On virtual machines whose CPUID does not advertise RDTSCP, valgrind refuses
 * the instruction (SIGILL) before main() runs, so nothing could be checked.
 * vidx never decodes JPEG XL and never uses highway's timers: answering the
 * call without timing anything changes nothing that vidx runs. The call
 * reaches this definition because libhwy makes it through its PLT.
 * Built for the memcheck test only; never installed, never linked into vidx.
 */
#include <stdint.h>

uint64_t _ZN3hwy8platform15TimerResolutionEv(void);

uint64_t _ZN3hwy8platform15TimerResolutionEv(void)
{
    return 1;
}
