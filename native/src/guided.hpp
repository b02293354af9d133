// The per-pixel arithmetic of the colour guided filter (He, Sun & Tang, 2010) between its box
// filters (which stay in OpenCV): the guide's products before averaging, and the 3 x 3 solve for
// the coefficients after. Each operation is one float32 operation in the order the NumPy
// formulation evaluates it (no fused multiply-add: this file is built with -ffp-contract=off),
// so the results are those of that formulation bit for bit. No GIL needed.
#pragma once

#include <cstdint>

namespace mattetrack {

// guide: n pixels x 3 float32; src: n float32. gp: n x 3, guide * src per channel; lo: n x 3 the
// products r*r, r*g, r*b; hi: n x 3 the products g*g, g*b, b*b (three channels each, so that
// OpenCV's box filter takes them whole).
void guided_products(const float* guide, const float* src, int64_t n, float* gp, float* lo,
                     float* hi);

// The box means (n pixels): mean_i n x 3, mean_p n, mean_gp n x 3, mean_lo / mean_hi n x 3 (as
// guided_products' outputs). a: n x 3 and b: n, the coefficients with the guide's covariance
// regularised by eps on its diagonal, before their own averaging.
void guided_solve(const float* mean_i, const float* mean_p, const float* mean_gp,
                  const float* mean_lo, const float* mean_hi, int64_t n, float eps, float* a,
                  float* b);

}  // namespace mattetrack
