// Int8 × int16 dot products for the quantised scan of EngramKernels.
//
// Why hand-written: BLAS has no integer GEMV, and the quantised scan exists to read a quarter of
// the bytes of the float rows (the full scan is memory-bound: it streams every row once per query). Swift cannot select
// CPU features per function, so the kernel lives in C with `target` attributes and a runtime
// dispatch: AVX-512BW where present, else AVX2, else portable C. All paths compute the same exact
// int32 sums, so results do not depend on the CPU.

#include "engram_int8.h"
#include "cpu_level.h"
#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>

// Rows are read once, front to back, for up to ENGRAM_I8_MAX_QUERIES queries at a time: a single
// sequential stream keeps the hardware prefetcher ahead (measured 2× faster than interleaving
// rows), and queries that share a pass share its memory traffic (the scan is memory-bound).
// Each row chunk is sign-extended once and multiplied with every query (queries stay in L1).
// `NQ` is a compile-time constant in each instantiation, so the accumulators stay in registers.

#define SCORE_ROWS_512(NQ)                                                                              \
    for (long i = 0; i < n; i++) {                                                                   \
        const int8_t *r = rows + i * stride;                                                         \
        __m512i acc[NQ];                                                                             \
        for (int q = 0; q < NQ; q++) acc[q] = _mm512_setzero_si512();                                \
        for (long j = 0; j < stride; j += 64) {                                                      \
            __m512i x0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(r + j)));         \
            __m512i x1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(r + j + 32)));    \
            for (int q = 0; q < NQ; q++) {                                                           \
                const int16_t *qv = queries + q * stride + j;                                        \
                acc[q] = _mm512_add_epi32(acc[q], _mm512_madd_epi16(_mm512_loadu_si512((const void *)qv), x0)); \
                acc[q] = _mm512_add_epi32(acc[q], _mm512_madd_epi16(_mm512_loadu_si512((const void *)(qv + 32)), x1)); \
            }                                                                                        \
        }                                                                                            \
        for (int q = 0; q < NQ; q++)                                                                 \
            out[q * n + i] = query_scales[q] * row_scales[i] * (float)_mm512_reduce_add_epi32(acc[q]); \
    }

__attribute__((target("avx512f,avx512bw")))
static void scores_avx512(const int8_t *rows, const float *row_scales, long n, long stride,
                          const int16_t *queries, const float *query_scales, int nq, float *out) {
    switch (nq) {
    case 1: SCORE_ROWS_512(1) break;
    case 2: SCORE_ROWS_512(2) break;
    case 3: SCORE_ROWS_512(3) break;
    case 4: SCORE_ROWS_512(4) break;
    case 5: SCORE_ROWS_512(5) break;
    case 6: SCORE_ROWS_512(6) break;
    case 7: SCORE_ROWS_512(7) break;
    default: SCORE_ROWS_512(8) break;
    }
}

__attribute__((target("avx2")))
static inline int32_t hsum256(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

#define SCORE_ROWS_256(NQ)                                                                              \
    for (long i = 0; i < n; i++) {                                                                   \
        const int8_t *r = rows + i * stride;                                                         \
        __m256i acc[NQ];                                                                             \
        for (int q = 0; q < NQ; q++) acc[q] = _mm256_setzero_si256();                                \
        for (long j = 0; j < stride; j += 32) {                                                      \
            __m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(r + j)));            \
            __m256i x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(r + j + 16)));       \
            for (int q = 0; q < NQ; q++) {                                                           \
                const int16_t *qv = queries + q * stride + j;                                        \
                acc[q] = _mm256_add_epi32(acc[q], _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)qv), x0)); \
                acc[q] = _mm256_add_epi32(acc[q], _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(qv + 16)), x1)); \
            }                                                                                        \
        }                                                                                            \
        for (int q = 0; q < NQ; q++) out[q * n + i] = query_scales[q] * row_scales[i] * (float)hsum256(acc[q]); \
    }

__attribute__((target("avx2")))
static void scores_avx2(const int8_t *rows, const float *row_scales, long n, long stride,
                        const int16_t *queries, const float *query_scales, int nq, float *out) {
    switch (nq) {
    case 1: SCORE_ROWS_256(1) break;
    case 2: SCORE_ROWS_256(2) break;
    case 3: SCORE_ROWS_256(3) break;
    case 4: SCORE_ROWS_256(4) break;
    default: {
        // Past four queries AVX2 runs out of registers: two passes of at most four.
        int first = nq / 2;
        scores_avx2(rows, row_scales, n, stride, queries, query_scales, first, out);
        scores_avx2(rows, row_scales, n, stride, queries + first * stride, query_scales + first, nq - first, out + first * n);
    }
    }
}
#endif

static void scores_portable(const int8_t *rows, const float *row_scales, long n, long stride,
                            const int16_t *queries, const float *query_scales, int nq, float *out) {
    for (long i = 0; i < n; i++) {
        const int8_t *r = rows + i * stride;
        for (int q = 0; q < nq; q++) {
            const int16_t *qv = queries + q * stride;
            int32_t acc = 0;
            for (long j = 0; j < stride; j++) acc += (int32_t)qv[j] * (int32_t)r[j];
            out[q * n + i] = query_scales[q] * row_scales[i] * (float)acc;
        }
    }
}

static int cached_isa = -1;
static int isa_cap = 2;

int engram_i8_isa(void) { return engram_cpu_level(__atomic_load_n(&isa_cap, __ATOMIC_RELAXED), &cached_isa); }

void engram_i8_cap_isa(int cap) {
    __atomic_store_n(&isa_cap, cap < 0 ? 0 : (cap > 2 ? 2 : cap), __ATOMIC_RELAXED);
    __atomic_store_n(&cached_isa, -1, __ATOMIC_RELAXED);
}

void engram_i8_scores_isa(int isa, const int8_t *rows, const float *row_scales, long n, long stride,
                          const int16_t *queries, const float *query_scales, int nq, float *out) {
    int available = engram_i8_isa();
    for (int done = 0; done < nq; done += ENGRAM_I8_MAX_QUERIES) {
        int count = nq - done < ENGRAM_I8_MAX_QUERIES ? nq - done : ENGRAM_I8_MAX_QUERIES;
        const int16_t *q = queries + (long)done * stride;
        float *o = out + (long)done * n;
        switch (isa < available ? isa : available) {
#if defined(__x86_64__)
        case 2: scores_avx512(rows, row_scales, n, stride, q, query_scales + done, count, o); break;
        case 1: scores_avx2(rows, row_scales, n, stride, q, query_scales + done, count, o); break;
#endif
        default: scores_portable(rows, row_scales, n, stride, q, query_scales + done, count, o); break;
        }
    }
}

void engram_i8_scores(const int8_t *rows, const float *row_scales, long n, long stride,
                      const int16_t *queries, const float *query_scales, int nq, float *out) {
    engram_i8_scores_isa(2, rows, row_scales, n, stride, queries, query_scales, nq, out);
}

// Row quantisation for the int8 copy (runs for every row when a store opens, so it is
// vectorised per CPU through target clones; the result is the same on every path up to the
// float summation order of the two norms, which the caller's bounds allow for).
#if defined(__x86_64__) && defined(__clang__) && defined(__linux__) // target clones need ifunc (ELF)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void engram_i8_quantize(const float *x, long d, long stride, int8_t *dst,
                        float *scale_out, float *residual_sq_out, float *norm_sq_out) {
    float peak = 0;
    for (long j = 0; j < d; j++) {
        float a = x[j] < 0 ? -x[j] : x[j];
        peak = a > peak ? a : peak;
    }
    float scale = peak > 0 ? peak / 127.0f : 0.0f;
    float inv = scale > 0 ? 1.0f / scale : 0.0f;
    float residual = 0, norm = 0;
    for (long j = 0; j < d; j++) {
        float s = x[j] * inv;
        float q = (float)(int32_t)(s + (s < 0 ? -0.5f : 0.5f)); // round half away from zero
        q = q > 127.0f ? 127.0f : (q < -127.0f ? -127.0f : q);
        dst[j] = (int8_t)q;
        float r = x[j] - scale * q;
        residual += r * r;
        norm += x[j] * x[j];
    }
    for (long j = d; j < stride; j++) dst[j] = 0;
    *scale_out = scale;
    *residual_sq_out = residual;
    *norm_sq_out = norm;
}
