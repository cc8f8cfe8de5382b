/* Test-only: wine 8 has no bcryptprimitives.dll, whose ProcessPrng Rust's
 * std calls for random bytes. This shim answers it with RtlGenRandom
 * (advapi32!SystemFunction036), which wine has. It is copied into the
 * tests' wine prefix only; it must never ship. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
