// CPU path selection shared by the kernels of this target (private header, not exported).
#ifndef ENGRAM_CPU_LEVEL_H
#define ENGRAM_CPU_LEVEL_H

/// The best path this CPU runs: 2 = AVX-512 (F and BW), 1 = AVX2 with FMA, 0 = portable C,
/// capped at `limit` (0, 1 or 2; the executable sets it from its configuration, so one machine can
/// compare every path). `cache` holds the answer (start it at -1; a new cap resets it).
static inline int engram_cpu_level(int limit, int *cache) {
    int level = __atomic_load_n(cache, __ATOMIC_RELAXED);
    if (level >= 0) return level;
    level = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (limit >= 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) level = 2;
    else if (limit >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) level = 1;
#endif
    (void)limit;
    __atomic_store_n(cache, level, __ATOMIC_RELAXED);
    return level;
}

#endif
