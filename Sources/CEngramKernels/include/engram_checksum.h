// Checksums of segment files (EngramStore/Embedded/Segments), at memory speed.
#ifndef ENGRAM_CHECKSUM_H
#define ENGRAM_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A CRC-32C (Castagnoli) checksum of `length` bytes, striped over four lanes so the CPU's `crc32`
/// instruction runs four chains at once: 8-byte word `i` of the buffer feeds lane `i mod 4`, the
/// bytes after the last whole group of 32 feed lane 0, and the result is the CRC-32C of the four
/// lane values (little-endian) and the length, seeded with `seed`. Not a plain CRC-32C of the
/// buffer, but the same value on every path. `portable` forces the table-driven path (tests compare
/// the two); otherwise SSE 4.2 is used when the CPU has it.
uint32_t engram_checksum(const void *bytes, size_t length, uint32_t seed, int portable);

#ifdef __cplusplus
}
#endif

#endif
