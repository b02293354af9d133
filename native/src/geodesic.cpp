#include "geodesic.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace mattetrack {
namespace {

// One sweep over the rows of d (h, w) in place: top to bottom, or bottom to top (reverse).
void sweep_rows(float* d, const float* c, int h, int w, bool reverse) {
    const float diagonal = std::sqrt(2.0f) * 0.5f;
    const int step = reverse ? -1 : 1;
    for (int y = reverse ? h - 2 : 1; reverse ? y >= 0 : y < h; y += step) {
        float* cur = d + static_cast<std::ptrdiff_t>(y) * w;
        const float* prev = d + static_cast<std::ptrdiff_t>(y - step) * w;
        const float* cc = c + static_cast<std::ptrdiff_t>(y) * w;
        const float* cp = c + static_cast<std::ptrdiff_t>(y - step) * w;
        for (int x = 0; x < w; ++x) {
            float best = prev[x] + 0.5f * (cc[x] + cp[x]);
            if (x > 0) best = std::min(best, prev[x - 1] + diagonal * (cc[x] + cp[x - 1]));
            if (x + 1 < w) best = std::min(best, prev[x + 1] + diagonal * (cc[x] + cp[x + 1]));
            cur[x] = std::min(cur[x], best);
        }
        for (int x = 1; x < w; ++x) {
            cur[x] = std::min(cur[x], cur[x - 1] + 0.5f * (cc[x] + cc[x - 1]));
        }
        for (int x = w - 2; x >= 0; --x) {
            cur[x] = std::min(cur[x], cur[x + 1] + 0.5f * (cc[x] + cc[x + 1]));
        }
    }
}

void transpose(const float* in, float* out, int h, int w) {
    // Tiled, so that both sides stay in cache.
    constexpr int kTile = 32;
    for (int y0 = 0; y0 < h; y0 += kTile) {
        for (int x0 = 0; x0 < w; x0 += kTile) {
            const int y1 = std::min(y0 + kTile, h), x1 = std::min(x0 + kTile, w);
            for (int y = y0; y < y1; ++y) {
                for (int x = x0; x < x1; ++x) {
                    out[static_cast<std::ptrdiff_t>(x) * h + y] =
                        in[static_cast<std::ptrdiff_t>(y) * w + x];
                }
            }
        }
    }
}

}  // namespace

void geodesic_distance(const float* cost, float* dist, int height, int width, int passes) {
    const std::size_t n = static_cast<std::size_t>(height) * static_cast<std::size_t>(width);
    std::vector<float> cost_t(n), dist_t(n);
    transpose(cost, cost_t.data(), height, width);
    for (int pass = 0; pass < passes; ++pass) {
        sweep_rows(dist, cost, height, width, false);
        sweep_rows(dist, cost, height, width, true);
        transpose(dist, dist_t.data(), height, width);
        sweep_rows(dist_t.data(), cost_t.data(), width, height, false);
        sweep_rows(dist_t.data(), cost_t.data(), width, height, true);
        transpose(dist_t.data(), dist, width, height);
    }
}

}  // namespace mattetrack
