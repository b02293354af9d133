// Scene-linear plate pixels to 8-bit display code values (as floats k / 255), for a colour
// conversion that is an affine matrix followed by a monotonic per-channel curve (the sRGB
// texture encoding of a linear plate). The curve is given as its 255 code thresholds per
// channel, found in Python against OCIO's own processor (mattetrack.colorencode).
#pragma once

#include <cstdint>

namespace mattetrack {

// pixels: n RGB triples, float32 (`half` false) or IEEE half bits (`half` true);
// matrix: 12 floats, rows of [m0 m1 m2 offset]; thresholds: 3 x 255 ascending floats, the
// smallest value of each channel's curve input that reaches code 1..255. NaN and -inf read as
// 0, +inf as 65504 (the half maximum). out: n RGB triples, float32 code / 255.
void encode_codes(const void* pixels, bool half, int64_t n, const float* matrix,
                  const float* thresholds, float* out);

}  // namespace mattetrack
