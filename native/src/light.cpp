#include "light.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "spread.hpp"

namespace mattetrack {

namespace {

// The (ys, xs) of the px where both masks are set, row by row (np.nonzero's order).
void both(const uint8_t* a, const uint8_t* b, int64_t h, int64_t w, std::vector<int64_t>& ys,
          std::vector<int64_t>& xs) {
    ys.clear();
    xs.clear();
    for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
            if (a[y * w + x] && b[y * w + x]) {
                ys.push_back(y);
                xs.push_back(x);
            }
        }
    }
}

// A (hs, ws, c) grid brought to (h, w, c) as cv2.resize(INTER_LINEAR) does (each grid row
// across first, then the two rows blended), a row at a time: row(y, line) is called with each
// output row y and its (w * c) values.
template <class Row>
void upsized_rows(const float* grid, int64_t hs, int64_t ws, int c, int64_t h, int64_t w,
                  Row&& row) {
    const LinearCoefficients across = linear_coefficients(ws, w);
    const LinearCoefficients down = linear_coefficients(hs, h);
    std::vector<float> a(size_t(w * c)), b(size_t(w * c)), line(size_t(w * c));
    int64_t have_a = -1, have_b = -1;
    auto widen = [&](int64_t r, std::vector<float>& out) {
        const float* src = grid + r * ws * c;
        for (int64_t x = 0; x < w; ++x) {
            const int64_t s = across.index[size_t(x)];
            const float f = across.weight[size_t(x)];
            const float* p = src + s * c;
            float* o = out.data() + x * c;
            if (f == 0.0f) {
                for (int ch = 0; ch < c; ++ch) o[ch] = p[ch] * 1.0f;
            } else {
                for (int ch = 0; ch < c; ++ch) o[ch] = p[ch] * (1.0f - f) + p[c + ch] * f;
            }
        }
    };
    for (int64_t y = 0; y < h; ++y) {
        const int64_t s = down.index[size_t(y)];
        const float f = down.weight[size_t(y)];
        const int64_t s2 = f == 0.0f ? s : s + 1;
        if (have_a != s) {
            if (have_b == s) {
                std::swap(a, b);
                std::swap(have_a, have_b);
            } else {
                widen(s, a);
                have_a = s;
            }
        }
        if (s2 != s && have_b != s2) {
            widen(s2, b);
            have_b = s2;
        }
        if (s2 == s) {
            row(y, a.data());
        } else {
            for (int64_t k = 0; k < w * c; ++k) {
                line[size_t(k)] = a[size_t(k)] * (1.0f - f) + b[size_t(k)] * f;
            }
            row(y, line.data());
        }
    }
}

}  // namespace

void match_light(const float* target, const float* warped, const uint8_t* ring,
                 const uint8_t* valid, const uint8_t* light, int64_t h, int64_t w, int c,
                 const LightParams& params, float* matched, float* misfit) {
    const int64_t n = h * w;
    std::vector<int64_t> ys, xs;
    both(ring, valid, h, w, ys, xs);
    if (ys.empty()) {
        std::copy(warped, warped + n * c, matched);
        std::fill(misfit, misfit + n, std::numeric_limits<float>::infinity());
        return;
    }
    std::vector<int64_t> lys, lxs;
    if (light != nullptr) both(light, valid, h, w, lys, lxs);
    if (lys.empty()) {
        lys = ys;
        lxs = xs;
    }
    // Both lights in one spread (the same rim px: one grid, one pull-push pyramid).
    const int64_t k = int64_t(lys.size());
    std::vector<float> values(size_t(k * 2 * c));
    for (int64_t i = 0; i < k; ++i) {
        const int64_t p = lys[size_t(i)] * w + lxs[size_t(i)];
        for (int ch = 0; ch < c; ++ch) {
            values[size_t(i * 2 * c + ch)] = target[p * c + ch];
            values[size_t(i * 2 * c + c + ch)] = warped[p * c + ch];
        }
    }
    const int f = params.factor;
    const int64_t hs = std::max<int64_t>(1, h / f), ws = std::max<int64_t>(1, w / f);
    std::vector<float> lights(size_t(hs * ws * 2 * c));
    rim_spread(lys.data(), lxs.data(), values.data(), k, 2 * c, h, w, f, params.cell_sigma,
               lights.data());
    // The gain on the grid: a brightness (the channels' sums' ratio) within its range times a
    // colour per channel within colour_range of 1.
    std::vector<float> gain(size_t(hs * ws * c));
    const float floor = params.floor;
    for (int64_t p = 0; p < hs * ws; ++p) {
        const float* lt = lights.data() + p * 2 * c;
        const float* lw = lt + c;
        float sum_t = 0.0f, sum_w = 0.0f;
        for (int ch = 0; ch < c; ++ch) {
            sum_t += lt[ch] + floor;
            sum_w += std::max(lw[ch] + floor, 1e-6f);
        }
        const float brightness = std::clamp(sum_t / sum_w, params.gain_low, params.gain_high);
        for (int ch = 0; ch < c; ++ch) {
            const float ratio = (lt[ch] + floor) / std::max(lw[ch] + floor, 1e-6f);
            const float colour =
                std::clamp(ratio / brightness, 1.0f / params.colour_range, params.colour_range);
            gain[size_t(p * c + ch)] = brightness * colour;
        }
    }
    upsized_rows(gain.data(), hs, ws, c, h, w, [&](int64_t y, const float* g) {
        const float* src = warped + y * w * c;
        float* dst = matched + y * w * c;
        for (int64_t i = 0; i < w * c; ++i) dst[i] = (src[i] + floor) * g[i] - floor;
    });
    // The misfit on the rim, spread over the box.
    const int64_t m = int64_t(ys.size());
    std::vector<float> rim_misfit(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) {
        const int64_t p = ys[size_t(i)] * w + xs[size_t(i)];
        float sum = 0.0f;
        for (int ch = 0; ch < c; ++ch) sum += std::fabs(target[p * c + ch] - matched[p * c + ch]);
        rim_misfit[size_t(i)] = sum / float(c);
    }
    std::vector<float> spread(size_t(hs * ws));
    rim_spread(ys.data(), xs.data(), rim_misfit.data(), m, 1, h, w, f, params.cell_sigma,
               spread.data());
    upsized_rows(spread.data(), hs, ws, 1, h, w, [&](int64_t y, const float* v) {
        std::copy(v, v + w, misfit + y * w);
    });
}

}  // namespace mattetrack
