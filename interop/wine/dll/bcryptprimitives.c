/*
 * bcryptprimitives.dll for Wine 8.0, which lacks it: Go 1.22 and later get
 * their random bytes from ProcessPrng and abort at start without it. This
 * ProcessPrng fills the buffer with advapi32's RtlGenRandom
 * (SystemFunction036), which takes at most 4 GiB - 1 bytes per call.
 * Built by setup.sh with mingw-w64; used only to run the Windows test
 * binaries under Wine.
 */
#include <windows.h>

typedef BOOLEAN(WINAPI *rtlgenrandom_fn)(PVOID, ULONG);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    static rtlgenrandom_fn gen;
    if (gen == NULL) {
        HMODULE advapi = LoadLibraryA("advapi32.dll");
        if (advapi == NULL)
            return FALSE;
        gen = (rtlgenrandom_fn)GetProcAddress(advapi, "SystemFunction036");
        if (gen == NULL)
            return FALSE;
    }
    while (len > 0) {
        ULONG chunk = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
        if (!gen(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
