// Int8 × int16 dot products for the quantised scan of EngramKernels.
//
// Why hand-written: BLAS has no integer GEMV, and the quantised scan exists to read a quarter of
// the bytes of the float rows (the full scan is memory-bound; DESIGN.md §8). Swift cannot select
// CPU features per function, so the kernel lives in C with `target` attributes and a runtime
// dispatch: AVX-512BW where present, else AVX2, else portable C. All paths compute the same exact
// int32 sums, so results do not depend on the CPU.

#include "engram_int8.h"
#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>

// One row at a time, front to back: a single sequential stream keeps the hardware prefetcher
// ahead (measured 2× faster than interleaving four rows, which re-reads the query less but
// splits the stream).
__attribute__((target("avx512f,avx512bw")))
static void scores_avx512(const int8_t *rows, const float *row_scales, long n, long stride,
                          const int16_t *query, float query_scale, float *out) {
    for (long i = 0; i < n; i++) {
        const int8_t *r = rows + i * stride;
        __m512i a = _mm512_setzero_si512(), b = _mm512_setzero_si512();
        for (long j = 0; j < stride; j += 64) {
            a = _mm512_add_epi32(a, _mm512_madd_epi16(_mm512_loadu_si512((const void *)(query + j)),
                                                      _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(r + j)))));
            b = _mm512_add_epi32(b, _mm512_madd_epi16(_mm512_loadu_si512((const void *)(query + j + 32)),
                                                      _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(r + j + 32)))));
        }
        out[i] = query_scale * row_scales[i] * (float)_mm512_reduce_add_epi32(_mm512_add_epi32(a, b));
    }
}

__attribute__((target("avx2")))
static inline int32_t hsum256(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2")))
static void scores_avx2(const int8_t *rows, const float *row_scales, long n, long stride,
                        const int16_t *query, float query_scale, float *out) {
    for (long i = 0; i < n; i++) {
        const int8_t *r = rows + i * stride;
        __m256i a = _mm256_setzero_si256(), b = _mm256_setzero_si256();
        for (long j = 0; j < stride; j += 32) {
            a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(query + j)),
                                                      _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(r + j)))));
            b = _mm256_add_epi32(b, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(query + j + 16)),
                                                      _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(r + j + 16)))));
        }
        out[i] = query_scale * row_scales[i] * (float)hsum256(_mm256_add_epi32(a, b));
    }
}
#endif

static void scores_portable(const int8_t *rows, const float *row_scales, long n, long stride,
                            const int16_t *query, float query_scale, float *out) {
    for (long i = 0; i < n; i++) {
        const int8_t *r = rows + i * stride;
        int32_t acc = 0;
        for (long j = 0; j < stride; j++) acc += (int32_t)query[j] * (int32_t)r[j];
        out[i] = query_scale * row_scales[i] * (float)acc;
    }
}

static int detected_isa(void) {
    // ENGRAM_INT8_ISA=0/1 forces a lower path (tests compare every path on one machine).
    int limit = 2;
    const char *forced = getenv("ENGRAM_INT8_ISA");
    if (forced && forced[0] >= '0' && forced[0] <= '2') limit = forced[0] - '0';
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (limit >= 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) return 2;
    if (limit >= 1 && __builtin_cpu_supports("avx2")) return 1;
#endif
    return 0;
}

static int cached_isa = -1;

int engram_i8_isa(void) {
    int isa = __atomic_load_n(&cached_isa, __ATOMIC_RELAXED);
    if (isa < 0) {
        isa = detected_isa();
        __atomic_store_n(&cached_isa, isa, __ATOMIC_RELAXED);
    }
    return isa;
}

void engram_i8_scores_isa(int isa, const int8_t *rows, const float *row_scales, long n, long stride,
                          const int16_t *query, float query_scale, float *out) {
    int available = engram_i8_isa();
    switch (isa < available ? isa : available) {
#if defined(__x86_64__)
    case 2: scores_avx512(rows, row_scales, n, stride, query, query_scale, out); return;
    case 1: scores_avx2(rows, row_scales, n, stride, query, query_scale, out); return;
#endif
    default: scores_portable(rows, row_scales, n, stride, query, query_scale, out); return;
    }
}

void engram_i8_scores(const int8_t *rows, const float *row_scales, long n, long stride,
                      const int16_t *query, float query_scale, float *out) {
    engram_i8_scores_isa(2, rows, row_scales, n, stride, query, query_scale, out);
}
