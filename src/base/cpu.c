/* cpu.c: CPUID/XGETBV feature detection and the physical core count. */
#include "base/cpu.h"
#include "smol.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static smol_cpu g_cpu;            /* written once under g_cpu_once, read-only after */
static pthread_once_t g_cpu_once = PTHREAD_ONCE_INIT;
static char g_cpu_names[256];

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
static unsigned long long xgetbv0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static void detect(smol_cpu *c) {
    unsigned a, b, cx, d;
    if (!__get_cpuid(1, &a, &b, &cx, &d)) return;
    c->sse2 = (d >> 26) & 1;
    int osxsave = (cx >> 27) & 1;
    int fma = (cx >> 12) & 1, f16c = (cx >> 29) & 1, avx = (cx >> 28) & 1;
    unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
    int os_avx = (xcr0 & 0x6) == 0x6;
    int os_avx512 = (xcr0 & 0xe6) == 0xe6;
    int os_amx = (xcr0 & 0x60000) == 0x60000;
    if (__get_cpuid_max(0, NULL) < 7) return;
    __cpuid_count(7, 0, a, b, cx, d);
    if (avx && os_avx) {
        c->avx2 = (b >> 5) & 1;
        c->fma = fma;
        c->f16c = f16c;
    }
    if (os_avx512) {
        c->avx512f = (b >> 16) & 1;
        c->avx512dq = (b >> 17) & 1;
        c->avx512bw = (b >> 30) & 1;
        c->avx512vl = (b >> 31) & 1;
        c->avx512vnni = (cx >> 11) & 1;
    }
    if (os_amx) {
        c->amx_bf16 = (d >> 22) & 1;
        c->amx_tile = (d >> 24) & 1;
        c->amx_int8 = (d >> 25) & 1;
    }
    unsigned a1, b1, c1, d1;
    __cpuid_count(7, 1, a1, b1, c1, d1);
    if (os_avx512) c->avx512bf16 = (a1 >> 5) & 1;
    if (os_avx) c->avxvnni = (a1 >> 4) & 1;
}
#else
static void detect(smol_cpu *c) { (void)c; }
#endif

static void cap_level(smol_cpu *c) {
    const char *cap = getenv("SMOL_CPU");
    if (!cap || !*cap) return;
    if (strcmp(cap, "scalar") == 0) {
        memset(c, 0, sizeof *c);
    } else if (strcmp(cap, "avx2") == 0) {
        smol_cpu keep = { .avx2 = c->avx2, .fma = c->fma, .f16c = c->f16c, .avxvnni = c->avxvnni, .sse2 = c->sse2 };
        *c = keep;
    }
}

static void init_once(void) {
    detect(&g_cpu);
    cap_level(&g_cpu);
    const smol_cpu *c = &g_cpu;
    struct { int on; const char *name; } f[] = {
        {c->avx2, "avx2"}, {c->fma, "fma"}, {c->f16c, "f16c"}, {c->avx512f, "avx512f"},
        {c->avx512bw, "avx512bw"}, {c->avx512vl, "avx512vl"}, {c->avx512dq, "avx512dq"},
        {c->avx512vnni, "avx512vnni"}, {c->avx512bf16, "avx512bf16"}, {c->avxvnni, "avxvnni"},
        {c->amx_tile, "amx-tile"}, {c->amx_int8, "amx-int8"}, {c->amx_bf16, "amx-bf16"},
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].on) n += (size_t)snprintf(g_cpu_names + n, sizeof g_cpu_names - n, "%s%s", n ? " " : "", f[i].name);
    if (n == 0) snprintf(g_cpu_names, sizeof g_cpu_names, "scalar");
}

const smol_cpu *smol_cpu_get(void) {
    pthread_once(&g_cpu_once, init_once);
    return &g_cpu;
}

int smol_cpu_has_sse2(void) { return smol_cpu_get()->sse2; }

int smol_cpu_has_avx2(void) {
    const smol_cpu *c = smol_cpu_get();
    return c->avx2 && c->fma && c->f16c;
}

int smol_cpu_has_avx512(void) {
    const smol_cpu *c = smol_cpu_get();
    return smol_cpu_has_avx2() && c->avx512f && c->avx512bw && c->avx512vl && c->avx512dq;
}

const char *smol_cpu_features(void) {
    smol_cpu_get();
    return g_cpu_names;
}

/* Counts distinct (physical package, core) pairs in sysfs; falls back to online CPUs. */
int smol_physical_cores(void) {
    char seen[1024][24];
    int n_seen = 0;
    long n_cpu = sysconf(_SC_NPROCESSORS_ONLN);
    for (long i = 0; i < n_cpu && n_seen < 1024; i++) {
        char path[128], pkg[16] = "", core[16] = "";
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%ld/topology/physical_package_id", i);
        FILE *fp = fopen(path, "r");
        if (!fp) break;
        if (!fgets(pkg, sizeof pkg, fp)) pkg[0] = 0;
        fclose(fp);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%ld/topology/core_id", i);
        fp = fopen(path, "r");
        if (!fp) break;
        if (!fgets(core, sizeof core, fp)) core[0] = 0;
        fclose(fp);
        char key[24];
        snprintf(key, sizeof key, "%.10s/%.10s", pkg, core);
        int dup = 0;
        for (int j = 0; j < n_seen && !dup; j++) dup = strcmp(seen[j], key) == 0;
        if (!dup) memcpy(seen[n_seen++], key, sizeof key);
    }
    if (n_seen > 0) return n_seen;
    return n_cpu > 0 ? (int)n_cpu : 1;
}

const char *smol_version(void) { return SMOL_VERSION; }
const char *smol_build_flags(void) { return SMOL_BUILD_FLAGS; }
