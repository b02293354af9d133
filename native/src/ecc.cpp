#include "ecc.hpp"

#include "spread.hpp"  // reflect101

#include <algorithm>
#include <cmath>
#include <vector>

namespace mattetrack {

namespace {

// OpenCV's GaussianBlur at ksize 3, sigma 0 (its fixed kernel 1/4, 1/2, 1/4), rows then columns.
void blur3(const float* src, int64_t h, int64_t w, std::vector<float>& rows, float* dst) {
    rows.resize(size_t(h * w));
    for (int64_t y = 0; y < h; ++y) {
        const float* s = src + y * w;
        float* r = rows.data() + y * w;
        r[0] = s[0] * 0.5f + (s[reflect101(-1, w)] + s[reflect101(1, w)]) * 0.25f;
        for (int64_t x = 1; x < w - 1; ++x) r[x] = s[x] * 0.5f + (s[x - 1] + s[x + 1]) * 0.25f;
        if (w > 1) r[w - 1] = s[w - 1] * 0.5f + (s[w - 2] + s[reflect101(w, w)]) * 0.25f;
    }
    for (int64_t y = 0; y < h; ++y) {
        const float* up = rows.data() + reflect101(y - 1, h) * w;
        const float* mid = rows.data() + y * w;
        const float* down = rows.data() + reflect101(y + 1, h) * w;
        float* d = dst + y * w;
        for (int64_t x = 0; x < w; ++x) d[x] = mid[x] * 0.5f + (up[x] + down[x]) * 0.25f;
    }
}

// OpenCV's threshold, 3x3 GaussianBlur, x 0.5 / 0.95 and rounding to 8 bits: 1 only where the
// whole 3x3 neighbourhood (reflect-101) is set (one px missing leaves 15/16 < 0.95).
std::vector<uint8_t> eroded(const uint8_t* mask, int64_t h, int64_t w) {
    std::vector<uint8_t> rows(size_t(h * w)), out(size_t(h * w));
    for (int64_t y = 0; y < h; ++y) {
        const uint8_t* m = mask + y * w;
        uint8_t* r = rows.data() + y * w;
        for (int64_t x = 0; x < w; ++x) {
            r[x] = (m[reflect101(x - 1, w)] != 0) & (m[x] != 0) & (m[reflect101(x + 1, w)] != 0);
        }
    }
    for (int64_t y = 0; y < h; ++y) {
        const uint8_t* up = rows.data() + reflect101(y - 1, h) * w;
        const uint8_t* mid = rows.data() + y * w;
        const uint8_t* down = rows.data() + reflect101(y + 1, h) * w;
        uint8_t* o = out.data() + y * w;
        for (int64_t x = 0; x < w; ++x) o[x] = up[x] & mid[x] & down[x];
    }
    return out;
}

// Bilinear sample of `img` (h, w) at (sx, sy), zero outside (OpenCV's BORDER_CONSTANT).
inline float bilinear(const float* img, int64_t h, int64_t w, int64_t ix, int64_t iy, float a,
                      float b) {
    auto at = [&](int64_t x, int64_t y) -> float {
        return (x < 0 || y < 0 || x >= w || y >= h) ? 0.0f : img[y * w + x];
    };
    if (ix >= 0 && iy >= 0 && ix + 1 < w && iy + 1 < h) {
        const float* p = img + iy * w + ix;
        return (p[0] * (1.0f - a) + p[1] * a) * (1.0f - b) + (p[w] * (1.0f - a) + p[w + 1] * a) * b;
    }
    return (at(ix, iy) * (1.0f - a) + at(ix + 1, iy) * a) * (1.0f - b) +
           (at(ix, iy + 1) * (1.0f - a) + at(ix + 1, iy + 1) * a) * b;
}

}  // namespace

EccStatus ecc_translation(const float* tmpl, const float* image, const uint8_t* tmpl_mask,
                          const uint8_t* image_mask, int64_t h, int64_t w, bool smooth,
                          int steps, double eps, double& dx, double& dy) {
    const size_t n = size_t(h * w);
    std::vector<float> rows, blurred_t, blurred_i, gx(n), gy(n);
    const float* smooth_t = tmpl;
    const float* smooth_i = image;
    if (smooth) {
        blurred_t.resize(n);
        blurred_i.resize(n);
        blur3(tmpl, h, w, rows, blurred_t.data());
        blur3(image, h, w, rows, blurred_i.data());
        smooth_t = blurred_t.data();
        smooth_i = blurred_i.data();
    }
    // Central differences (OpenCV's filter2D with -0.5, 0, 0.5; reflect-101: 0 at the edges).
    for (int64_t y = 0; y < h; ++y) {
        const float* up = smooth_i + reflect101(y - 1, h) * w;
        const float* down = smooth_i + reflect101(y + 1, h) * w;
        const float* s = smooth_i + y * w;
        for (int64_t x = 0; x < w; ++x) {
            gx[size_t(y * w + x)] = s[reflect101(x + 1, w)] * 0.5f - s[reflect101(x - 1, w)] * 0.5f;
            gy[size_t(y * w + x)] = down[x] * 0.5f - up[x] * 0.5f;
        }
    }
    // Unsmoothed, OpenCV's masks stay as given (a 1 x 1 blur), only their non-zero test.
    const std::vector<uint8_t> usable_t =
        smooth ? eroded(tmpl_mask, h, w) : std::vector<uint8_t>(tmpl_mask, tmpl_mask + n);
    const std::vector<uint8_t> usable_i =
        smooth ? eroded(image_mask, h, w) : std::vector<uint8_t>(image_mask, image_mask + n);
    // The template's usable px: the only ones any iteration looks at.
    struct Px {
        int64_t x, y;
    };
    std::vector<Px> px;
    for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
            if (usable_t[size_t(y * w + x)]) px.push_back({x, y});
        }
    }
    if (px.empty()) return EccStatus::too_few;

    std::vector<float> iw(px.size()), tw(px.size()), gxw(px.size()), gyw(px.size());
    double rho = -1.0, last_rho = -eps;
    for (int it = 1; it <= steps && std::fabs(rho - last_rho) >= eps; ++it) {
        // The mask's nearest px: floor(x + d + 1/2), as OpenCV's INTER_NEAREST warp.
        const int64_t mx = int64_t(std::floor(dx + 0.5)), my = int64_t(std::floor(dy + 0.5));
        const int64_t ix = int64_t(std::floor(dx)), iy = int64_t(std::floor(dy));
        const float a = float(dx - double(ix)), b = float(dy - double(iy));
        size_t count = 0;
        double sum_i = 0.0, sum_t = 0.0, sq_i = 0.0, sq_t = 0.0;
        for (const Px& p : px) {
            const int64_t x = p.x, y = p.y, i = y * w + x;
            const int64_t nx = x + mx, ny = y + my;
            if (nx < 0 || ny < 0 || nx >= w || ny >= h || !usable_i[size_t(ny * w + nx)]) continue;
            const float v = bilinear(smooth_i, h, w, x + ix, y + iy, a, b);
            const float t = smooth_t[i];
            iw[count] = v;
            tw[count] = t;
            gxw[count] = bilinear(gx.data(), h, w, x + ix, y + iy, a, b);
            gyw[count] = bilinear(gy.data(), h, w, x + ix, y + iy, a, b);
            sum_i += v;
            sum_t += t;
            sq_i += double(v) * v;
            sq_t += double(t) * t;
            ++count;
        }
        if (count == 0) return EccStatus::too_few;
        const double k = double(count);
        const double mean_i = sum_i / k, mean_t = sum_t / k;
        // meanStdDev's population variance, as N x variance for the norms.
        const double norm_i = std::sqrt(k * std::max(0.0, sq_i / k - mean_i * mean_i));
        const double norm_t = std::sqrt(k * std::max(0.0, sq_t / k - mean_t * mean_t));
        double hxx = 0.0, hxy = 0.0, hyy = 0.0, corr = 0.0;
        double ipx = 0.0, ipy = 0.0, tpx = 0.0, tpy = 0.0;
        for (size_t j = 0; j < count; ++j) {
            const double zi = double(iw[j]) - mean_i, zt = double(tw[j]) - mean_t;
            const double u = gxw[j], v = gyw[j];
            hxx += u * u;
            hxy += u * v;
            hyy += v * v;
            corr += zt * zi;
            ipx += u * zi;
            ipy += v * zi;
            tpx += u * zt;
            tpy += v * zt;
        }
        // The Hessian's inverse (OpenCV's inv() of a singular matrix is all zeros).
        const double det = hxx * hyy - hxy * hxy;
        double i00 = 0.0, i01 = 0.0, i11 = 0.0;
        if (det != 0.0 && std::isfinite(det)) {
            i00 = hyy / det;
            i01 = -hxy / det;
            i11 = hxx / det;
        }
        last_rho = rho;
        rho = corr / (norm_i * norm_t);
        if (std::isnan(rho)) return EccStatus::no_convergence;
        const double hx = i00 * ipx + i01 * ipy, hy = i01 * ipx + i11 * ipy;
        const double lambda_n = norm_i * norm_i - (ipx * hx + ipy * hy);
        const double lambda_d = corr - (tpx * hx + tpy * hy);
        if (!(lambda_d > 0.0)) return EccStatus::no_convergence;
        const double lambda = lambda_n / lambda_d;
        // The error lambda x template - image projected on the gradients.
        const double ex = lambda * tpx - ipx, ey = lambda * tpy - ipy;
        dx += i00 * ex + i01 * ey;
        dy += i01 * ex + i11 * ey;
    }
    return EccStatus::ok;
}

}  // namespace mattetrack
