// Single-precision GEMM against a weight matrix packed once, for the in-process BERT encoder
// (EngramEmbedding). See sgemm_packed.c for why this is hand-written and for the packed layout.
#ifndef ENGRAM_SGEMM_H
#define ENGRAM_SGEMM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Floats needed to hold a packed K×N weight matrix (including any padding):
/// K · 16 · ⌈N / 16⌉, or 0 when K or N < 1.
size_t engram_sgemm_packed_count(int k, int n);

/// Packs row-major B (K×N, leading dimension ldb ≥ N) into `packed`, which holds
/// `engram_sgemm_packed_count(k, n)` floats and should be 64-byte aligned (any alignment is
/// correct; 64 bytes makes every packed row one cache line). The layout is the same on every CPU.
void engram_sgemm_pack(int k, int n, const float *b, int ldb, float *packed);

/// C (M×N, leading dimension ldc ≥ N) = A (M×K, row-major, lda ≥ K) · B + beta · C, with B given
/// as `engram_sgemm_pack` produced it for the same K and N. beta = 0 never reads C (it may hold
/// NaN); any other beta scales C. Single-threaded; thread-safe (no shared mutable state besides
/// a one-time CPU check). Does nothing when M or N < 1; K < 1 gives C = beta · C.
void engram_sgemm_packed(int m, int n, int k, const float *a, int lda, const float *packed,
                         float beta, float *c, int ldc);

/// `engram_sgemm_packed` on a given path (2, 1 or 0; a path this CPU lacks falls back to a lower
/// one), so tests can compare every path on one machine.
void engram_sgemm_packed_isa(int isa, int m, int n, int k, const float *a, int lda, const float *packed,
                             float beta, float *c, int ldc);

/// Which code path `engram_sgemm_packed` runs on this CPU: 2 = AVX-512 (F, BW), 1 = AVX2+FMA,
/// 0 = portable C, capped by `engram_sgemm_cap_isa`.
int engram_sgemm_isa(void);

/// Caps the path `engram_sgemm_packed` takes (0, 1 or 2), for tests and diagnosis; call it before
/// the first product (a model loaded before keeps the packing it chose).
void engram_sgemm_cap_isa(int cap);

#ifdef __cplusplus
}
#endif

#endif
