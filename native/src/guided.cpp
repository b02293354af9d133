#include "guided.hpp"

namespace mattetrack {

void guided_products(const float* guide, const float* src, int64_t n, float* gp, float* lo,
                     float* hi) {
    for (int64_t i = 0; i < n; ++i) {
        const float r = guide[3 * i], g = guide[3 * i + 1], b = guide[3 * i + 2];
        const float p = src[i];
        gp[3 * i] = r * p;
        gp[3 * i + 1] = g * p;
        gp[3 * i + 2] = b * p;
        lo[3 * i] = r * r;
        lo[3 * i + 1] = r * g;
        lo[3 * i + 2] = r * b;
        hi[3 * i] = g * g;
        hi[3 * i + 1] = g * b;
        hi[3 * i + 2] = b * b;
    }
}

void guided_solve(const float* mean_i, const float* mean_p, const float* mean_gp,
                  const float* mean_lo, const float* mean_hi, int64_t n, float eps, float* a,
                  float* b) {
    for (int64_t i = 0; i < n; ++i) {
        const float m0 = mean_i[3 * i], m1 = mean_i[3 * i + 1], m2 = mean_i[3 * i + 2];
        const float mp = mean_p[i];
        // Covariance of guide and source, and of the guide with itself.
        const float c0 = mean_gp[3 * i] - m0 * mp;
        const float c1 = mean_gp[3 * i + 1] - m1 * mp;
        const float c2 = mean_gp[3 * i + 2] - m2 * mp;
        const float rr = (mean_lo[3 * i] - m0 * m0) + eps;
        const float rg = mean_lo[3 * i + 1] - m0 * m1;
        const float rb = mean_lo[3 * i + 2] - m0 * m2;
        const float gg = (mean_hi[3 * i] - m1 * m1) + eps;
        const float gb = mean_hi[3 * i + 1] - m1 * m2;
        const float bb = (mean_hi[3 * i + 2] - m2 * m2) + eps;
        // Its inverse by cofactors (the determinant divides at the end).
        const float i_rr = gg * bb - gb * gb;
        const float i_rg = gb * rb - rg * bb;
        const float i_rb = rg * gb - gg * rb;
        const float i_gg = rr * bb - rb * rb;
        const float i_gb = rb * rg - rr * gb;
        const float i_bb = rr * gg - rg * rg;
        const float det = (rr * i_rr + rg * i_rg) + rb * i_rb;
        const float a0 = ((i_rr * c0 + i_rg * c1) + i_rb * c2) / det;
        const float a1 = ((i_rg * c0 + i_gg * c1) + i_gb * c2) / det;
        const float a2 = ((i_rb * c0 + i_gb * c1) + i_bb * c2) / det;
        a[3 * i] = a0;
        a[3 * i + 1] = a1;
        a[3 * i + 2] = a2;
        b[i] = mp - ((a0 * m0 + a1 * m1) + a2 * m2);
    }
}

}  // namespace mattetrack
