// Int8 similarity scan for EngramKernels' quantised search (see VectorMatrix+Quantized.swift).
#ifndef ENGRAM_INT8_H
#define ENGRAM_INT8_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Queries scored per pass over the rows (more are done in several passes).
#define ENGRAM_I8_MAX_QUERIES 8

/// Approximate similarities of `n` int8 rows against `nq` int16 queries, reading the rows once
/// per ENGRAM_I8_MAX_QUERIES queries:
/// `out[q·n + i] = query_scales[q] · row_scales[i] · Σ_j queries[q·stride + j] · rows[i·stride + j]`,
/// the integer sum computed exactly in int32 over `stride` components (rows and queries
/// zero-padded to `stride`, a multiple of 64). The caller keeps |queries[·]| ≤ (2³¹−1) / (127 · stride)
/// so no sum can overflow.
void engram_i8_scores(const int8_t *rows, const float *row_scales, long n, long stride,
                      const int16_t *queries, const float *query_scales, int nq, float *out);

/// `engram_i8_scores` on a given path (2, 1 or 0; a path this CPU lacks falls back to a lower one),
/// so tests can compare every path on one machine.
void engram_i8_scores_isa(int isa, const int8_t *rows, const float *row_scales, long n, long stride,
                          const int16_t *queries, const float *query_scales, int nq, float *out);

/// Quantises one row of `d` floats into `stride` int8 values (zero-padded): scale
/// `max|x| / 127`, values rounded half away from zero. Returns the scale and the float sums of
/// squares of the residual `x − scale·q` and of `x` (callers round the bounds up for the float
/// summation error).
void engram_i8_quantize(const float *x, long d, long stride, int8_t *dst,
                        float *scale_out, float *residual_sq_out, float *norm_sq_out);

/// Which code path `engram_i8_scores` runs on this CPU: 2 = AVX-512 (F, BW), 1 = AVX2 (with FMA), 0 = portable C.
int engram_i8_isa(void);

/// Caps the path `engram_i8_scores` takes (0, 1 or 2), for tests and diagnosis; call it before the first scan.
void engram_i8_cap_isa(int cap);

#ifdef __cplusplus
}
#endif

#endif
