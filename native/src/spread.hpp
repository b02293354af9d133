// The removal fill's smooth fields (mattetrack.removal.fill): pull-push filling of unknown pixels
// and the normalised Gaussian spread of a hole's rim values into it. Both ran as dozens of small
// NumPy and OpenCV calls per candidate frame, three times a candidate, and the interpreter's
// overhead was most of the fill's light matching; here each is one call. The resampling follows
// OpenCV's (INTER_AREA down, INTER_LINEAR up, half-pixel centres) and the blur OpenCV's
// GaussianBlur (its kernel size for float images, reflect-101 borders), so the fields are those of
// the NumPy formulation to float rounding. No GIL needed.
#pragma once

#include <cstdint>
#include <vector>

namespace mattetrack {

// Reflect-101 (OpenCV's default border): -1 -> 1, n -> n - 2, and on for further px.
inline int64_t reflect101(int64_t i, int64_t n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

// Pull-push (Gortler et al. 1996): `values` (h, w, c) float32 with the pixels where todo != 0
// unknown; known pixels are averaged down an area pyramid (each level half the size, rounded
// down) until every cell holds some or a side is 2 or less, then the estimate is pushed back up,
// each level keeping its own value by clamp(weight * sharpness, 0, 1). out: (h, w, c), every
// pixel (the known ones as they were, to float rounding). c >= 1.
void pull_push(const float* values, const uint8_t* todo, int64_t h, int64_t w, int c,
               float sharpness, float* out);

// The rim values spread over a box of (h, w) px: n samples at (ys, xs) with `values` (n, c) are
// summed into cells of factor x factor px ((h / factor, w / factor) of them, at least 1 each
// way; the last row and column take the remainder), divided by factor^2, blurred by a Gaussian
// of `sigma` cells with a count channel alongside, normalised by it where it exceeds 1e-3, and
// the cells where it does not are filled by pull_push (sharpness 8). out: (h / factor, w /
// factor, c) float32.
void rim_spread(const int64_t* ys, const int64_t* xs, const float* values, int64_t n, int c,
                int64_t h, int64_t w, int factor, double sigma, float* out);

// OpenCV's INTER_LINEAR coefficients taking n samples to m (half-px centres): output i is input
// index[i] times 1 - weight[i] plus input index[i] + 1 times weight[i] (0 at the clamped ends).
struct LinearCoefficients {
    std::vector<int64_t> index;
    std::vector<float> weight;
};
LinearCoefficients linear_coefficients(int64_t n, int64_t m);

}  // namespace mattetrack
