// Cryptomatte 1.2 ids and rank layers (docs/CONVENTIONS.md, "Cryptomatte").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mattetrack {

// MurmurHash3 x86_32 with seed 0 over `bytes` (the name's UTF-8 bytes).
uint32_t murmur3_32(const std::string& bytes);

// The hash as Cryptomatte stores it: bit 23 flipped when the exponent bits are all 0 or all 1, so
// that the bits, read as a float32, are a normal finite number.
uint32_t cryptomatte_bits(uint32_t hash);

// For `count` pixels: the `ranks` highest coverages among `coverage` (one pointer per object to
// its first pixel), highest first, ties to the lower object index; ranks with no object present
// get id 0 and coverage 0. `id_bits[o]` is object o's id (cryptomatte_bits). Output: ranks / 2
// layers of four float32 planes, layers[4 * l + c] for channel c of (R, G, B, A) = (id, coverage,
// id, coverage) of ranks 2l and 2l + 1, each pointing at its first pixel.
void rank_coverage(const std::vector<const float*>& coverage, const std::vector<uint32_t>& id_bits,
                   size_t count, int ranks, const std::vector<float*>& layers);

}  // namespace mattetrack
