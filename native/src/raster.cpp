#include "raster.hpp"

#include <algorithm>
#include <cmath>

#include "common.hpp"

namespace mattetrack {

namespace {

struct Segment {
    double x0, y0, x1, y1;  // y0 < y1 (horizontal segments are dropped: they cover no height)
    double weight;          // +1 or -1: the coverage change a point right of the segment sees
};

// H(x) = integral from -inf to x of F, where F(t) is the fraction of a row's sub-segment lying
// left of t; it runs linearly from xl to xr. Second differences of H give each cell's area.
inline double ramp_integral(double x, double xl, double xr) {
    if (x <= xl) return 0.0;
    const double span = xr - xl;
    if (span < 1e-12) return x - xl;  // vertical: F is a step
    if (x >= xr) return 0.5 * span + (x - xr);
    const double t = x - xl;
    return 0.5 * t * t / span;
}

// Adds one sub-segment (inside a single row) to that row's accumulation cells: cell i receives
// dy * (H(i+1) - 2 H(i) + H(i-1)), so the prefix sum over cells is each pixel's covered area.
// Cells left of the image fold into cell 0 (their prefix reaches every pixel); cells right of it
// change nothing inside the image.
void accumulate(float* cells, int width, double xa, double xb, double dy) {
    const double xl = std::min(xa, xb), xr = std::max(xa, xb);
    const int first = static_cast<int>(std::floor(xl));
    const int last = static_cast<int>(std::floor(xr)) + 1;
    if (first >= width) return;
    double fold = 0.0;
    for (int i = first; i <= last && i < width; ++i) {
        const double a = ramp_integral(i + 1.0, xl, xr) - 2.0 * ramp_integral(i, xl, xr) +
                         ramp_integral(i - 1.0, xl, xr);
        if (i < 0) fold += a;
        else cells[i] += static_cast<float>(dy * (i == 0 ? a + fold : a));
    }
    if (last < 0) cells[0] += static_cast<float>(dy * fold);
}

// The feather kernel for pixel samples: a tent of half-width `half` px (integral 1) seen
// through linear interpolation between the samples, i.e. tap j = (tent * hat)(j), so a feather
// narrower than a pixel still softens by a fraction of one (0 gives exactly the identity).
std::vector<double> tent_taps(double half) {
    const int radius = static_cast<int>(std::ceil(half)) + 1;
    std::vector<double> taps(2 * radius + 1, 0.0);
    constexpr int kSteps = 256;  // midpoint rule per pixel of the tent's support
    const int steps = std::max(1, static_cast<int>(std::ceil(2 * half * kSteps)));
    const double dx = 2 * half / steps;
    double total = 0.0;
    for (int s = 0; s < steps; ++s) {
        const double x = -half + (s + 0.5) * dx;
        const double tent = half > 0 ? (half - std::abs(x)) / (half * half) : 1.0;
        for (int j = -radius; j <= radius; ++j) {
            const double w = tent * std::max(0.0, 1.0 - std::abs(j - x)) * dx;
            taps[j + radius] += w;
            total += w;
        }
    }
    for (double& t : taps) t /= total;
    return taps;
}

// Convolves an axis of `n` samples, `stride` floats apart, for `lanes` neighbouring (contiguous)
// lanes at once, with the symmetric `taps`; the signal is extended with its end values (a matte
// touching the frame edge stays solid there). The extension is materialised as a margin so that
// the inner loop has no branches.
void convolve_axis(float* data, int n, int64_t stride, int lanes, const std::vector<double>& taps,
                   std::vector<float>& ext, std::vector<double>& acc) {
    const int radius = static_cast<int>(taps.size() / 2);
    const int m = n + 2 * radius;
    ext.resize(static_cast<size_t>(m) * lanes);
    for (int j = 0; j < m; ++j) {
        const float* v = data + std::clamp(j - radius, 0, n - 1) * stride;
        std::copy_n(v, lanes, ext.data() + static_cast<size_t>(j) * lanes);
    }
    acc.resize(lanes);
    for (int i = 0; i < n; ++i) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (size_t t = 0; t < taps.size(); ++t) {
            const float* v = ext.data() + static_cast<size_t>(i + t) * lanes;
            const double w = taps[t];
            for (int l = 0; l < lanes; ++l) acc[l] += w * v[l];
        }
        float* out = data + i * stride;
        for (int l = 0; l < lanes; ++l) out[l] = static_cast<float>(acc[l]);
    }
}

}  // namespace

void rasterise_polygons(const std::vector<Polygon>& polygons, int width, int height,
                        double feather, float* out) {
    std::vector<Segment> segments;
    for (const Polygon& poly : polygons) {
        if (poly.count < 3) continue;
        double area2 = 0.0;  // twice the shoelace area, for the orientation
        for (int64_t k = 0; k < poly.count; ++k) {
            const double* p = poly.xy + 2 * k;
            const double* q = poly.xy + 2 * ((k + 1) % poly.count);
            area2 += p[0] * q[1] - q[0] * p[1];
        }
        if (area2 == 0.0) continue;
        // A segment going down (y grows) on a negative-area polygon is a left edge: coverage
        // grows to its right. Flip as needed so pieces add and holes subtract.
        const double sign = (area2 < 0 ? 1.0 : -1.0) * (poly.hole ? -1.0 : 1.0);
        for (int64_t k = 0; k < poly.count; ++k) {
            const double* p = poly.xy + 2 * k;
            const double* q = poly.xy + 2 * ((k + 1) % poly.count);
            if (p[1] == q[1]) continue;
            if (p[1] < q[1]) segments.push_back({p[0], p[1], q[0], q[1], sign});
            else segments.push_back({q[0], q[1], p[0], p[1], -sign});
        }
    }
    std::fill(out, out + static_cast<int64_t>(width) * height, 0.0f);
    if (segments.empty()) return;
    // Work only inside the polygons' bounding box (everything else is 0): columns from the
    // leftmost edge (cells left of the raster fold into column 0) to one past the rightmost.
    double x_min = segments[0].x0, x_max = x_min, y_min = segments[0].y0, y_max = segments[0].y1;
    for (const Segment& s : segments) {
        x_min = std::min({x_min, s.x0, s.x1});
        x_max = std::max({x_max, s.x0, s.x1});
        y_min = std::min(y_min, s.y0);
        y_max = std::max(y_max, s.y1);
    }
    const int row0 = static_cast<int>(std::clamp(std::floor(y_min), 0.0, double(height)));
    const int row1 = static_cast<int>(std::clamp(std::ceil(y_max), 0.0, double(height)));
    const int col0 = static_cast<int>(std::clamp(std::floor(x_min), 0.0, double(width)));
    const int col1 = static_cast<int>(std::clamp(std::floor(x_max) + 2.0, 0.0, double(width)));
    if (row0 >= row1 || col0 >= col1) return;
    parallel_rows(row1 - row0, [&](int begin, int end) {
        std::vector<float> cells(width);
        for (int row = row0 + begin; row < row0 + end; ++row) {
            std::fill(cells.begin() + col0, cells.begin() + col1, 0.0f);
            const double top = row, bottom = row + 1.0;
            for (const Segment& s : segments) {
                if (s.y1 <= top || s.y0 >= bottom) continue;
                const double ya = std::max(s.y0, top), yb = std::min(s.y1, bottom);
                const double slope = (s.x1 - s.x0) / (s.y1 - s.y0);
                const double xa = s.x0 + (ya - s.y0) * slope, xb = s.x0 + (yb - s.y0) * slope;
                accumulate(cells.data(), width, xa, xb, s.weight * (yb - ya));
            }
            float* dst = out + static_cast<int64_t>(row) * width;
            double sum = 0.0;
            for (int i = col0; i < col1; ++i) {
                sum += cells[i];
                dst[i] = static_cast<float>(std::clamp(sum, 0.0, 1.0));
            }
        }
    });
    if (!(feather > 0.0)) return;
    // Coverage is the exact edge already box-filtered by the pixel; the tent (two boxes of half
    // the feather) widens a straight edge's ramp by `feather` px, centred on the outline. Only
    // the bounding box grown by the kernel's reach can change; where that rectangle stops short
    // of the raster's edge its border is 0, so extending it by its end values adds nothing.
    const std::vector<double> taps = tent_taps(feather / 2.0);
    const int reach = static_cast<int>(taps.size() / 2) + 1;
    const int r0 = std::max(0, row0 - reach), r1 = std::min(height, row1 + reach);
    const int c0 = std::max(0, col0 - reach), c1 = std::min(width, col1 + reach);
    parallel_rows(r1 - r0, [&](int begin, int end) {
        std::vector<float> ext;
        std::vector<double> acc;
        for (int row = r0 + begin; row < r0 + end; ++row) {
            convolve_axis(out + static_cast<int64_t>(row) * width + c0, c1 - c0, 1, 1, taps, ext,
                          acc);
        }
    });
    // Columns in bands of neighbouring lanes, so the vertical pass reads whole cache lines.
    constexpr int kBand = 64;
    const int bands = (c1 - c0 + kBand - 1) / kBand;
    parallel_rows(bands, [&](int begin, int end) {
        std::vector<float> ext;
        std::vector<double> acc;
        for (int band = begin; band < end; ++band) {
            const int col = c0 + band * kBand;
            convolve_axis(out + static_cast<int64_t>(r0) * width + col, r1 - r0, width,
                          std::min(kBand, c1 - col), taps, ext, acc);
        }
    });
}

}  // namespace mattetrack
