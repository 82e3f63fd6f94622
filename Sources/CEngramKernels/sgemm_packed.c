// Single-precision GEMM against a pre-packed weight matrix, for the in-process BERT encoder.
//
// Why hand-written: every BERT layer multiplies the activations X (M×K, M = tokens) by fixed
// weights W (K×N). No BLAS accepts a matrix packed in advance through CBLAS, so OpenBLAS re-packs
// W on every call (sgemm_itcopy ≈ 1/3 of the time for a short query, where M is only 8–40), and
// on AMD Zen 4/5 it runs its AVX2 (Haswell) kernels. Here W is packed once at model load and a
// register-blocked AVX-512 (or AVX2+FMA) microkernel streams the packed panels; A is read in place
// (no copy, no buffer), C is written directly. Swift cannot select CPU features per function, so
// the kernels live in C with `target` attributes and a runtime dispatch, like int8_scan.c.
//
// Packed layout (identical on every path): N is cut into panels of 16 columns, the last one
// zero-padded; panel p holds its K rows one after another, 16 floats (one 64-byte line) each:
//     packed[(p·K + k)·16 + j] = B[k][16p + j]   (0 where 16p + j ≥ N).
//
// Microkernel: an mr × (np·16) tile of C, mr rows of A broadcast one element at a time, np panels
// loaded as vectors, mr·np accumulators in registers (AVX-512: 12 × 32, 8 × 48, 6 × 64, ...,
// 1 × 128; AVX2: 6 × 16, 3 × 32). np is chosen per tile height so that every tile has enough
// independent accumulators to hide the FMA latency, even for M = 1. Each k step also prefetches
// every panel PF rows ahead, and during the last PF rows the first rows of the next panel group:
// for a short query the weights stream from L3 or DRAM (the encoder's 42 MB do not fit in L3),
// and without this the hardware prefetcher stalls at every new panel (2.5× slower at M = 8).
//
// Blocking: M in blocks of at most MC rows (the A block stays in L2 while every panel group
// streams over it once). A block of up to 12 rows is a single tile, so each weight is read once;
// a taller one is cut into tiles of at most 8 rows and nearly equal height (M = 13 → 7 + 6, not
// 8 + 5 or 12 + 1). K is not blocked up to KC (all BERT shapes): a tile keeps its accumulators
// over the whole K and B streams in address order. Every element of C is the same sequence of
// FMAs whatever the tiling, and the AVX-512 and AVX2 paths give bit-identical results.
//
// Needs an optimised build (-O1 or more; SwiftPM's release builds use -O2): at -O0 (SwiftPM debug)
// the intrinsics and register arrays live in memory and the kernel is ~60× slower.

#include "engram_sgemm.h"
#include <stdint.h>
#include "cpu_level.h"
#include <stdlib.h>

#define PANEL 16 // columns per packed panel

// Tunables (-D for experiments; the tests also build with tiny blocks to exercise the loops).
#ifndef ENGRAM_KC
#define ENGRAM_KC 2048 // K block (rows of B per tile call)
#endif
#ifndef ENGRAM_MC
#define ENGRAM_MC 240 // rows of an M block at most
#endif
#ifndef ENGRAM_PF
#define ENGRAM_PF 1536 // prefetch distance along a panel, in floats (96 rows = 6 KiB); 0 = none
#endif
#define PF_ROWS (ENGRAM_PF / PANEL)
// Tiles of 1–2 rows (8 panels, a matrix-vector product) stream B so fast that the hardware
// prefetcher keeps up and software prefetches only take load slots: no prefetching there.
#define PF_ROWS_FOR(NP) ((NP) <= 6 ? PF_ROWS : 0)

size_t engram_sgemm_packed_count(int k, int n) {
    if (k < 1 || n < 1) return 0;
    return (size_t)k * PANEL * (size_t)((n + PANEL - 1) / PANEL);
}

void engram_sgemm_pack(int k, int n, const float *b, int ldb, float *packed) {
    if (k < 1 || n < 1) return;
    const int panels = (n + PANEL - 1) / PANEL;
    for (int p = 0; p < panels; p++) {
        const int j0 = p * PANEL, w = n - j0 < PANEL ? n - j0 : PANEL;
        float *dst = packed + (size_t)p * (size_t)k * PANEL;
        for (int kk = 0; kk < k; kk++, dst += PANEL) {
            const float *src = b + (long)kk * ldb + j0;
            int j = 0;
            for (; j < w; j++) dst[j] = src[j];
            for (; j < PANEL; j++) dst[j] = 0.0f;
        }
    }
}

// C = beta · C, for K < 1 (C is not read when beta = 0).
static void scale_c(int m, int n, float beta, float *c, long ldc) {
    for (int i = 0; i < m; i++) {
        float *row = c + i * ldc;
        for (int j = 0; j < n; j++) row[j] = beta == 0.0f ? 0.0f : beta * row[j];
    }
}

// ---------------------------------------------------------------------------------------------
// Portable C: 4 × 16 tiles over the whole K; the 16-wide inner loops vectorise at -O2.

static void gemm_portable(int m, int n, int k, const float *a, long lda, const float *packed,
                          float beta, float *c, long ldc) {
    const int panels = (n + PANEL - 1) / PANEL;
    for (int i0 = 0; i0 < m; i0 += 4) {
        const int mr = m - i0 < 4 ? m - i0 : 4;
        for (int p = 0; p < panels; p++) {
            float acc[4][PANEL] = {{0}};
            const float *bp = packed + (size_t)p * (size_t)k * PANEL;
            for (int kk = 0; kk < k; kk++) {
                const float *brow = bp + (size_t)kk * PANEL;
                for (int r = 0; r < mr; r++) {
                    const float av = a[(i0 + r) * lda + kk];
                    for (int j = 0; j < PANEL; j++) acc[r][j] += av * brow[j];
                }
            }
            const int w = n - p * PANEL < PANEL ? n - p * PANEL : PANEL;
            for (int r = 0; r < mr; r++) {
                float *crow = c + (i0 + r) * ldc + p * PANEL;
                if (beta == 0.0f)
                    for (int j = 0; j < w; j++) crow[j] = acc[r][j];
                else
                    for (int j = 0; j < w; j++) crow[j] = beta * crow[j] + acc[r][j];
            }
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#if defined(__clang__)
#define UNROLL_FULL _Pragma("clang loop unroll(full)")
#else
#define UNROLL_FULL _Pragma("GCC unroll 16")
#endif

// ---------------------------------------------------------------------------------------------
// Blocked driver shared by the SIMD paths. `tile` computes C[0:mr, 0:ncols] = A[0:mr, 0:kc] · B +
// beta · C over np consecutive panels (panel stride bs floats); ncols ≤ np · 16, only the last
// panel may be partial (masked loads and stores: nothing past column N is touched).

typedef void (*tile_fn)(int mr, int np, long kc, const float *a, long lda, const float *b, long bs,
                        float *c, long ldc, float beta, int ncols);

typedef struct {
    int one_tile;              // an M block of up to this many rows runs as a single tile
    int mr;                    // otherwise tiles of at most this many rows
    const signed char *np_for; // panels per tile, indexed by the tallest tile's height
    tile_fn tile;
} path_desc;

static void gemm_blocked(int m, int n, int k, const float *a, long lda, const float *packed,
                         float beta, float *c, long ldc, const path_desc *d) {
    const int panels = (n + PANEL - 1) / PANEL;
    const long bs = (long)k * PANEL;
    const int mblocks = (m + ENGRAM_MC - 1) / ENGRAM_MC;
    for (int k0 = 0; k0 < k; k0 += ENGRAM_KC) {
        const long kc = k - k0 < ENGRAM_KC ? k - k0 : ENGRAM_KC;
        const float beta_k = k0 == 0 ? beta : 1.0f; // later K blocks accumulate
        for (int blk = 0, m0 = 0; blk < mblocks; blk++) {
            // M blocks of nearly equal height.
            const int left = mblocks - blk, mc = (m - m0 + left - 1) / left;
            // Tiles of height base + 1 (the first `tall` ones) or base.
            const int tiles = mc <= d->one_tile ? 1 : (mc + d->mr - 1) / d->mr;
            const int base = mc / tiles, tall = mc % tiles;
            const int np_main = d->np_for[base + (tall != 0)];
            for (int p0 = 0; p0 < panels;) {
                const int np = panels - p0 >= np_main ? np_main : 1; // the N tail panel by panel
                const int ncols = n - p0 * PANEL < np * PANEL ? n - p0 * PANEL : np * PANEL;
                const float *bp = packed + p0 * bs + k0 * PANEL;
                for (int t = 0, row = m0; t < tiles; t++) {
                    const int mr = base + (t < tall);
                    d->tile(mr, np, kc, a + row * lda + k0, lda, bp, bs, c + row * ldc + p0 * PANEL,
                            ldc, beta_k, ncols);
                    row += mr;
                }
                p0 += np;
            }
            m0 += mc;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AVX-512F: 32 zmm registers, up to 24 accumulators.

#define MR512 12
// Panels per tile for a tile height (index 1…12): mr · np ≤ 24.
static const signed char np512[MR512 + 1] = {0, 8, 8, 6, 6, 4, 4, 3, 3, 2, 2, 2, 2};

__attribute__((target("avx512f"), always_inline)) static inline void
k512(const int MR, const int NP, long kc, const float *a, long lda, const float *b, long bs,
     float *c, long ldc, float beta, int ncols) {
    __m512 acc[MR512][8];
    UNROLL_FULL for (int i = 0; i < MR; i++) UNROLL_FULL for (int p = 0; p < NP; p++)
        acc[i][p] = _mm512_setzero_ps();
    // One k step: NP loads of B, MR broadcasts of A, MR·NP FMAs, NP prefetches at PFOFF floats
    // from the row being read.
#define K512_STEP(PFOFF)                                                                           \
    {                                                                                              \
        __m512 bv[8];                                                                              \
        UNROLL_FULL for (int p = 0; p < NP; p++) bv[p] = _mm512_loadu_ps(b + p * bs + kk * PANEL); \
        if (PF_ROWS_FOR(NP))                                                                       \
            UNROLL_FULL for (int p = 0; p < NP; p++)                                               \
                _mm_prefetch((const char *)(b + p * bs + kk * PANEL + (PFOFF)), _MM_HINT_T0);      \
        UNROLL_FULL for (int i = 0; i < MR; i++) {                                                 \
            const __m512 av = _mm512_set1_ps(a[i * lda + kk]);                                     \
            UNROLL_FULL for (int p = 0; p < NP; p++)                                               \
                acc[i][p] = _mm512_fmadd_ps(av, bv[p], acc[i][p]);                                 \
        }                                                                                          \
    }
    long kk = 0;
    // While the prefetch target is in the same panel: a constant displacement.
    for (; kk < kc - PF_ROWS_FOR(NP); kk++) K512_STEP(PF_ROWS * PANEL)
    // The last PF_ROWS rows prefetch the first rows of the same panel of the next group, which
    // the next tile call streams first (past the last group this touches nothing: prefetches
    // never fault).
    const long next = NP * bs - kc * PANEL + PF_ROWS * PANEL;
    for (; kk < kc; kk++) K512_STEP(next)
#undef K512_STEP

    __mmask16 mask[8];
    UNROLL_FULL for (int p = 0; p < NP; p++) {
        const int rem = ncols - p * PANEL; // ≥ 1 for every panel of the group
        mask[p] = rem >= PANEL ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1u);
    }
    if (beta == 0.0f) {
        UNROLL_FULL for (int i = 0; i < MR; i++) UNROLL_FULL for (int p = 0; p < NP; p++)
            _mm512_mask_storeu_ps(c + i * ldc + p * PANEL, mask[p], acc[i][p]);
    } else {
        const __m512 bv = _mm512_set1_ps(beta);
        UNROLL_FULL for (int i = 0; i < MR; i++) UNROLL_FULL for (int p = 0; p < NP; p++) {
            float *cp = c + i * ldc + p * PANEL;
            const __m512 old = _mm512_maskz_loadu_ps(mask[p], cp);
            _mm512_mask_storeu_ps(cp, mask[p], _mm512_fmadd_ps(bv, old, acc[i][p]));
        }
    }
}

#define T512(MR, NP)                                                                               \
    case (MR) * 16 + (NP): k512(MR, NP, kc, a, lda, b, bs, c, ldc, beta, ncols); return;

__attribute__((target("avx512f"))) static void tile512(int mr, int np, long kc, const float *a,
                                                       long lda, const float *b, long bs, float *c,
                                                       long ldc, float beta, int ncols) {
    switch (mr * 16 + np) {
        // (h, np512[h]) and (h − 1, np512[h]) for every tallest-tile height h, and single panels.
        T512(1, 8) T512(2, 8) T512(2, 6) T512(3, 6) T512(4, 6) T512(4, 4) T512(5, 4) T512(6, 4)
        T512(6, 3) T512(7, 3) T512(8, 3) T512(8, 2) T512(9, 2) T512(10, 2) T512(11, 2) T512(12, 2)
        T512(1, 1) T512(2, 1) T512(3, 1) T512(4, 1) T512(5, 1) T512(6, 1) T512(7, 1) T512(8, 1)
        T512(9, 1) T512(10, 1) T512(11, 1) T512(12, 1)
    default: // not reached with the tables above; stays correct if they change
#ifdef ENGRAM_SGEMM_STRICT
        abort(); // tests: prove the fallback unreachable
#endif
        for (int p = 0; p < np; p++) {
            const int w = ncols - p * PANEL < PANEL ? ncols - p * PANEL : PANEL;
            tile512(mr, 1, kc, a, lda, b + p * bs, bs, c + p * PANEL, ldc, beta, w);
        }
    }
}

static const path_desc path512 = {MR512, 8, np512, tile512};

// ---------------------------------------------------------------------------------------------
// AVX2 + FMA: 16 ymm registers, up to 12 accumulators.

#define MR256 6
static const signed char np256[MR256 + 1] = {0, 2, 2, 2, 1, 1, 1};

__attribute__((target("avx2,fma"), always_inline)) static inline void
k256(const int MR, const int NP, long kc, const float *a, long lda, const float *b, long bs,
     float *c, long ldc, float beta, int ncols) {
    __m256 acc[MR256][4];
    UNROLL_FULL for (int i = 0; i < MR; i++) UNROLL_FULL for (int h = 0; h < 2 * NP; h++)
        acc[i][h] = _mm256_setzero_ps();
#define K256_STEP(PFOFF)                                                                           \
    {                                                                                              \
        __m256 bv[4];                                                                              \
        UNROLL_FULL for (int h = 0; h < 2 * NP; h++)                                               \
            bv[h] = _mm256_loadu_ps(b + (h >> 1) * bs + kk * PANEL + (h & 1) * 8);                 \
        if (PF_ROWS_FOR(NP))                                                                       \
            UNROLL_FULL for (int p = 0; p < NP; p++)                                               \
                _mm_prefetch((const char *)(b + p * bs + kk * PANEL + (PFOFF)), _MM_HINT_T0);      \
        UNROLL_FULL for (int i = 0; i < MR; i++) {                                                 \
            const __m256 av = _mm256_broadcast_ss(a + i * lda + kk);                               \
            UNROLL_FULL for (int h = 0; h < 2 * NP; h++)                                           \
                acc[i][h] = _mm256_fmadd_ps(av, bv[h], acc[i][h]);                                 \
        }                                                                                          \
    }
    long kk = 0;
    for (; kk < kc - PF_ROWS_FOR(NP); kk++) K256_STEP(PF_ROWS * PANEL)
    const long next = NP * bs - kc * PANEL + PF_ROWS * PANEL;
    for (; kk < kc; kk++) K256_STEP(next)
#undef K256_STEP

    static const int32_t ones_then_zeros[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    const __m256 bvec = _mm256_set1_ps(beta);
    UNROLL_FULL for (int h = 0; h < 2 * NP; h++) {
        const int rem = ncols - h * 8;
        if (rem >= 8) {
            UNROLL_FULL for (int i = 0; i < MR; i++) {
                float *cp = c + i * ldc + h * 8;
                __m256 r = acc[i][h];
                if (beta != 0.0f) r = _mm256_fmadd_ps(bvec, _mm256_loadu_ps(cp), r);
                _mm256_storeu_ps(cp, r);
            }
        } else if (rem > 0) {
            const __m256i mk = _mm256_loadu_si256((const __m256i *)(ones_then_zeros + 8 - rem));
            UNROLL_FULL for (int i = 0; i < MR; i++) {
                float *cp = c + i * ldc + h * 8;
                __m256 r = acc[i][h];
                if (beta != 0.0f) r = _mm256_fmadd_ps(bvec, _mm256_maskload_ps(cp, mk), r);
                _mm256_maskstore_ps(cp, mk, r);
            }
        }
    }
}

#define T256(MR, NP)                                                                               \
    case (MR) * 16 + (NP): k256(MR, NP, kc, a, lda, b, bs, c, ldc, beta, ncols); return;

__attribute__((target("avx2,fma"))) static void tile256(int mr, int np, long kc, const float *a,
                                                        long lda, const float *b, long bs, float *c,
                                                        long ldc, float beta, int ncols) {
    switch (mr * 16 + np) {
        T256(1, 2) T256(2, 2) T256(3, 2)
        T256(1, 1) T256(2, 1) T256(3, 1) T256(4, 1) T256(5, 1) T256(6, 1)
    default: // not reached with the table above
#ifdef ENGRAM_SGEMM_STRICT
        abort();
#endif
        for (int p = 0; p < np; p++) {
            const int w = ncols - p * PANEL < PANEL ? ncols - p * PANEL : PANEL;
            tile256(mr, 1, kc, a, lda, b + p * bs, bs, c + p * PANEL, ldc, beta, w);
        }
    }
}

static const path_desc path256 = {MR256, MR256, np256, tile256};
#endif // __x86_64__

// ---------------------------------------------------------------------------------------------
// Dispatch.

static int cached_isa = -1;
static int isa_cap = 2;

int engram_sgemm_isa(void) { return engram_cpu_level(__atomic_load_n(&isa_cap, __ATOMIC_RELAXED), &cached_isa); }

void engram_sgemm_cap_isa(int cap) {
    __atomic_store_n(&isa_cap, cap < 0 ? 0 : (cap > 2 ? 2 : cap), __ATOMIC_RELAXED);
    __atomic_store_n(&cached_isa, -1, __ATOMIC_RELAXED);
}

void engram_sgemm_packed_isa(int isa, int m, int n, int k, const float *a, int lda, const float *packed,
                             float beta, float *c, int ldc) {
    if (m < 1 || n < 1) return;
    if (k < 1) {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    int available = engram_sgemm_isa();
    switch (isa < available ? isa : available) {
#if defined(__x86_64__)
    case 2: gemm_blocked(m, n, k, a, lda, packed, beta, c, ldc, &path512); return;
    case 1: gemm_blocked(m, n, k, a, lda, packed, beta, c, ldc, &path256); return;
#endif
    default: gemm_portable(m, n, k, a, lda, packed, beta, c, ldc); return;
    }
}

void engram_sgemm_packed(int m, int n, int k, const float *a, int lda, const float *packed,
                         float beta, float *c, int ldc) {
    engram_sgemm_packed_isa(2, m, n, k, a, lda, packed, beta, c, ldc);
}
