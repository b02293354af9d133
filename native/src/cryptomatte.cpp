#include "cryptomatte.hpp"

#include <algorithm>
#include <cstring>

namespace mattetrack {

namespace {

inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

}  // namespace

uint32_t murmur3_32(const std::string& bytes) {
    // Austin Appleby's MurmurHash3_x86_32 (public domain), seed 0.
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    const size_t length = bytes.size();
    const size_t blocks = length / 4;
    constexpr uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
    uint32_t h = 0;
    for (size_t i = 0; i < blocks; ++i) {
        uint32_t k;
        std::memcpy(&k, data + 4 * i, 4);  // little-endian hosts only (x86-64, arm64)
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64;
    }
    const uint8_t* tail = data + 4 * blocks;
    uint32_t k = 0;
    switch (length & 3) {
        case 3: k ^= uint32_t(tail[2]) << 16; [[fallthrough]];
        case 2: k ^= uint32_t(tail[1]) << 8; [[fallthrough]];
        case 1:
            k ^= tail[0];
            k *= c1;
            k = rotl32(k, 15);
            k *= c2;
            h ^= k;
    }
    h ^= uint32_t(length);
    h ^= h >> 16;
    h *= 0x85ebca6b;
    h ^= h >> 13;
    h *= 0xc2b2ae35;
    h ^= h >> 16;
    return h;
}

uint32_t cryptomatte_bits(uint32_t hash) {
    const uint32_t exponent = (hash >> 23) & 255;
    return (exponent == 0 || exponent == 255) ? hash ^ (uint32_t(1) << 23) : hash;
}

void rank_coverage(const std::vector<const float*>& coverage, const std::vector<uint32_t>& id_bits,
                   size_t count, int ranks, const std::vector<float*>& layers) {
    const size_t objects = coverage.size();
    std::vector<float> ids(objects);
    for (size_t o = 0; o < objects; ++o) std::memcpy(&ids[o], &id_bits[o], 4);
    if (objects == 1) {
        // One object (the common shot): rank 0 is it wherever it has coverage, every other
        // rank is empty. Branch-free and vectorised, where the general loop below took most of
        // the Cryptomatte's cost for one object (docs/tuning.md, "Cryptomatte cost").
        for (int r = 1; r < ranks; ++r) {
            const size_t layer = size_t(r / 2) * 4 + size_t(r % 2) * 2;
            std::fill(layers[layer], layers[layer] + count, 0.0f);
            std::fill(layers[layer + 1], layers[layer + 1] + count, 0.0f);
        }
        const float* c = coverage[0];
        float* id = layers[0];
        float* cov = layers[1];
        const float own = ids[0];
        for (size_t i = 0; i < count; ++i) {
            const bool present = c[i] > 0.0f;  // false for NaN, as below
            id[i] = present ? own : 0.0f;
            cov[i] = present ? c[i] : 0.0f;
        }
        return;
    }
    // Small sorted top list per pixel: objects are few (tens at most), ranks 6.
    std::vector<float> top_cov(static_cast<size_t>(ranks));
    std::vector<float> top_id(static_cast<size_t>(ranks));
    for (size_t i = 0; i < count; ++i) {
        int filled = 0;
        for (size_t o = 0; o < objects; ++o) {
            const float c = coverage[o][i];
            if (!(c > 0.0f)) continue;  // absent (and NaN, which the caller excludes anyway)
            // Insert after every equal value: ties keep object order.
            int at = filled;
            while (at > 0 && top_cov[size_t(at - 1)] < c) --at;
            if (at >= ranks) continue;
            const int last = std::min(filled, ranks - 1);
            for (int j = last; j > at; --j) {
                top_cov[size_t(j)] = top_cov[size_t(j - 1)];
                top_id[size_t(j)] = top_id[size_t(j - 1)];
            }
            top_cov[size_t(at)] = c;
            top_id[size_t(at)] = ids[o];
            filled = std::min(filled + 1, ranks);
        }
        for (int r = 0; r < ranks; ++r) {
            const bool present = r < filled;
            const size_t layer = size_t(r / 2) * 4 + size_t(r % 2) * 2;
            layers[layer][i] = present ? top_id[size_t(r)] : 0.0f;
            layers[layer + 1][i] = present ? top_cov[size_t(r)] : 0.0f;
        }
    }
}

}  // namespace mattetrack
