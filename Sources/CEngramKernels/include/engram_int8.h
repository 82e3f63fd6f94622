// Int8 similarity scan for EngramKernels' quantised search (see VectorMatrix+Quantized.swift).
#ifndef ENGRAM_INT8_H
#define ENGRAM_INT8_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Approximate similarities of `n` int8 rows against an int16 query:
/// `out[i] = query_scale * row_scales[i] * Σ_j query[j] · rows[i·stride + j]`, the integer sum
/// computed exactly in int32 over `stride` components (rows and query zero-padded to `stride`,
/// a multiple of 64). The caller keeps |query[j]| ≤ (2³¹−1) / (127 · stride) so the sum cannot overflow.
void engram_i8_scores(const int8_t *rows, const float *row_scales, long n, long stride,
                      const int16_t *query, float query_scale, float *out);

/// `engram_i8_scores` on a given path (2, 1 or 0; a path this CPU lacks falls back to a lower one),
/// so tests can compare every path on one machine.
void engram_i8_scores_isa(int isa, const int8_t *rows, const float *row_scales, long n, long stride,
                          const int16_t *query, float query_scale, float *out);

/// Which code path `engram_i8_scores` runs on this CPU: 2 = AVX-512BW, 1 = AVX2, 0 = portable C.
int engram_i8_isa(void);

#ifdef __cplusplus
}
#endif

#endif
