#include "encode.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "common.hpp"

namespace mattetrack {

namespace {

float from_bits(uint32_t b) {
    float f;
    std::memcpy(&f, &b, sizeof f);
    return f;
}

float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0) {
        if (mantissa == 0) return from_bits(sign);
        int e = -1;  // subnormal: normalise
        do {
            ++e;
            mantissa <<= 1;
        } while ((mantissa & 0x400u) == 0);
        return from_bits(sign | (uint32_t(127 - 15 - e) << 23) | ((mantissa & 0x3ffu) << 13));
    }
    if (exponent == 31) return from_bits(sign | 0x7f800000u | (mantissa << 13));
    return from_bits(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

// A half's value: normal numbers by moving the bits, the rest (zero, subnormals, infinities,
// NaN) the long way.
inline float half_value(uint16_t h) {
    const uint32_t exponent = h & 0x7c00u;
    if (exponent != 0 && exponent != 0x7c00u) {
        return from_bits((uint32_t(h & 0x8000u) << 16) |
                         ((uint32_t(h & 0x7fffu) << 13) + (uint32_t(127 - 15) << 23)));
    }
    return half_to_float(h);
}

inline float sanitized(float v) {
    if (std::isnan(v)) return 0.0f;
    if (std::isinf(v)) return v > 0 ? 65504.0f : 0.0f;
    return v;
}

// Code 0..255: how many of the channel's 255 ascending thresholds x reaches (NaN: 0), by a
// branchless search (conditional adds).
int code_of(float x, const float* t) {
    int idx = 0;
    for (int step = 128; step > 0; step >>= 1) {
        idx += (t[idx + step - 1] <= x) ? step : 0;
    }
    return idx;
}

// Per channel, the code at the start of every bucket of 2^15 float32 bit patterns from +0 up to
// a power of two above the largest finite threshold (32k one-byte buckets for thresholds below
// 1: float bits are logarithmic, so the table stays in cache). A bucket spans 0.4% of its
// value, less than the gap between two codes of a display curve (0.9% at the top of sRGB's), so
// it holds at most two thresholds: a value's code is its bucket's plus two compares.
constexpr int kShift = 15;

struct Buckets {
    uint32_t limit_bits = 0;  // values at or above (and negatives, NaN) take the search
    uint32_t count = 0;
    std::vector<uint8_t> codes;  // 3 x count
    std::vector<float> padded;   // 3 x 256: the thresholds, then +inf
    bool exact = true;           // no bucket holds three thresholds
};

Buckets make_buckets(const float* thresholds) {
    Buckets out;
    out.padded.assign(3 * 256, std::numeric_limits<float>::infinity());
    float top = 0.0f;
    for (int c = 0; c < 3; ++c) {
        for (int k = 0; k < 255; ++k) {
            const float t = thresholds[255 * c + k];
            out.padded[256 * c + k] = t;
            if (std::isfinite(t)) top = std::max(top, t);
        }
    }
    float cap = 1.0f;
    while (cap <= top && cap < 65536.0f) cap *= 2.0f;
    std::memcpy(&out.limit_bits, &cap, sizeof cap);
    out.count = (out.limit_bits >> kShift) + 1;
    out.codes.resize(size_t(3) * out.count);
    for (int c = 0; c < 3; ++c) {
        const float* t = out.padded.data() + 256 * c;
        int k = 0;
        for (uint32_t b = 0; b < out.count; ++b) {
            const float first = from_bits(b << kShift);
            while (k < 255 && t[k] <= first) ++k;
            out.codes[size_t(c) * out.count + b] = uint8_t(k);
            const float next = from_bits((b + 1) << kShift);
            if (k < 253 && t[k + 2] < next) out.exact = false;
        }
    }
    return out;
}

}  // namespace

void encode_codes(const void* pixels, bool half, int64_t n, const float* matrix,
                  const float* thresholds, float* out) {
    const auto* hp = static_cast<const uint16_t*>(pixels);
    const auto* fp = static_cast<const float*>(pixels);
    constexpr int64_t kBlock = 4096;  // pixels per parallel task
    const int blocks = int((n + kBlock - 1) / kBlock);
    float codes[256];
    for (int k = 0; k < 256; ++k) codes[k] = float(k) * (1.0f / 255.0f);
    const Buckets buckets = make_buckets(thresholds);
    parallel_rows(blocks, [&](int b0, int b1) {
        const int64_t end = std::min<int64_t>(n, int64_t(b1) * kBlock);
        for (int64_t i = int64_t(b0) * kBlock; i < end; ++i) {
            float v[3];
            for (int c = 0; c < 3; ++c) {
                v[c] = sanitized(half ? half_value(hp[3 * i + c]) : fp[3 * i + c]);
            }
            for (int c = 0; c < 3; ++c) {
                const float* m = matrix + 4 * c;
                const float x = m[0] * v[0] + m[1] * v[1] + m[2] * v[2] + m[3];
                const float* t = buckets.padded.data() + 256 * c;
                uint32_t bits;
                std::memcpy(&bits, &x, sizeof bits);
                int code;
                if (buckets.exact && bits < buckets.limit_bits) {  // +0 <= x < the cap
                    const int k = buckets.codes[size_t(c) * buckets.count + (bits >> kShift)];
                    code = k + (t[k] <= x ? 1 : 0) + (k < 254 && t[k + 1] <= x ? 1 : 0);
                } else if (!(x >= t[0])) {  // below code 1 (negative, NaN)
                    code = 0;
                } else if (x >= t[254]) {  // highlights: the top code
                    code = 255;
                } else {
                    code = code_of(x, t);
                }
                out[3 * i + c] = codes[code];
            }
        }
    });
}

}  // namespace mattetrack
