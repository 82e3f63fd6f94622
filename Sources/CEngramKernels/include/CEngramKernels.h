// SIMD kernels BLAS does not offer, with runtime CPU dispatch (umbrella header of the module).
#include "engram_int8.h"
#include "engram_sgemm.h"
#include "engram_thread.h"
#include "engram_checksum.h"
