// CBLAS system library shim. `-lblas` resolves through Debian's alternatives
// to OpenBLAS when libopenblas0-pthread is installed, else to netlib's
// reference BLAS. `BLASRuntime` (EngramKernels) reports which one is active.
#ifndef ENGRAM_CBLAS_SHIM_H
#define ENGRAM_CBLAS_SHIM_H
#include <cblas.h>
#endif
