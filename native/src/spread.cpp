// Pull-push and the rim spread (spread.hpp). Row-major, channels last, float32 arithmetic (the
// rim's sums into cells in double, as NumPy's bincount; the order of OpenCV's SIMD sums is not
// reproduced, so the results agree with OpenCV's to float rounding, not bit for bit).
#include "spread.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mattetrack {

namespace {

// One output index's taps on the input: (input index, weight).
struct Tap {
    int64_t index;
    float weight;
};
using Taps = std::vector<std::vector<Tap>>;

// OpenCV's INTER_AREA taps for shrinking n inputs to m outputs (m <= n): each output averages
// the inputs its interval [i * n / m, (i + 1) * n / m) covers, partly covered ones by the part.
Taps area_taps(int64_t n, int64_t m) {
    const double scale = double(n) / double(m);
    Taps taps(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) {
        const double f1 = double(i) * scale, f2 = f1 + scale;
        const double cell = std::min(scale, double(n) - f1);
        const int64_t s1 = int64_t(std::ceil(f1)), s2 = int64_t(std::floor(f2));
        auto& t = taps[size_t(i)];
        if (s1 - f1 > 1e-3 && s1 - 1 >= 0) t.push_back({s1 - 1, float((s1 - f1) / cell)});
        for (int64_t s = s1; s < s2 && s < n; ++s) t.push_back({s, float(1.0 / cell)});
        if (f2 - s2 > 1e-3 && s2 < n) t.push_back({s2, float(std::min(f2 - s2, 1.0) / cell)});
    }
    return taps;
}

// OpenCV's INTER_LINEAR taps for resizing n inputs to m outputs (half-pixel centres, clamped).
Taps linear_taps(int64_t n, int64_t m) {
    const LinearCoefficients linear = linear_coefficients(n, m);
    Taps taps(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) {
        const float f = linear.weight[size_t(i)];
        auto& t = taps[size_t(i)];
        t.push_back({linear.index[size_t(i)], 1.0f - f});
        if (f > 0.0f) t.push_back({linear.index[size_t(i)] + 1, f});
    }
    return taps;
}

// (h, w, c) resampled separably to (rows.size(), cols.size(), c) by the taps.
std::vector<float> resampled(const std::vector<float>& x, int64_t w, int c, const Taps& rows,
                             const Taps& cols) {
    const int64_t oh = int64_t(rows.size()), ow = int64_t(cols.size());
    std::vector<float> out(size_t(oh * ow * c));
    std::vector<float> line(size_t(w * c));
    for (int64_t i = 0; i < oh; ++i) {
        std::fill(line.begin(), line.end(), 0.0f);
        for (const Tap& r : rows[size_t(i)]) {
            const float* src = x.data() + r.index * w * c;
            for (int64_t k = 0; k < w * c; ++k) line[size_t(k)] += r.weight * src[k];
        }
        float* dst = out.data() + i * ow * c;
        for (int64_t j = 0; j < ow; ++j) {
            for (int ch = 0; ch < c; ++ch) {
                float sum = 0.0f;
                for (const Tap& t : cols[size_t(j)]) {
                    sum += t.weight * line[size_t(t.index * c + ch)];
                }
                dst[j * c + ch] = sum;
            }
        }
    }
    return out;
}

// OpenCV's GaussianBlur of a float image, (h, w, c) in place: kernel size round(8 sigma + 1)
// made odd, weights exp(-x^2 / 2 sigma^2) normalised, reflect-101 borders. Each pass runs over
// contiguous floats (a padded row across, whole rows down), which the compiler vectorises.
void gaussian_blur(std::vector<float>& x, int64_t h, int64_t w, int c, double sigma) {
    const int size = int(std::lround(sigma * 8.0 + 1.0)) | 1, radius = size / 2;
    std::vector<float> kernel(static_cast<size_t>(size));
    {
        std::vector<double> exact(static_cast<size_t>(size));
        double total = 0.0;
        for (int i = 0; i < size; ++i) {
            const double d = i - radius;
            exact[size_t(i)] = std::exp(-0.5 * d * d / (sigma * sigma));
            total += exact[size_t(i)];
        }
        for (int i = 0; i < size; ++i) kernel[size_t(i)] = float(exact[size_t(i)] / total);
    }
    const int64_t row = w * c;
    std::vector<float> padded(size_t((w + 2 * radius) * c));
    std::vector<float> across(x.size());
    for (int64_t i = 0; i < h; ++i) {
        const float* src = x.data() + i * row;
        for (int64_t j = -radius; j < w + radius; ++j) {
            const float* from = src + reflect101(j, w) * c;
            std::copy(from, from + c, padded.data() + (j + radius) * c);
        }
        float* dst = across.data() + i * row;
        std::fill(dst, dst + row, 0.0f);
        for (int k = 0; k < size; ++k) {
            const float weight = kernel[size_t(k)];
            const float* from = padded.data() + k * c;
            for (int64_t q = 0; q < row; ++q) dst[q] += weight * from[q];
        }
    }
    for (int64_t i = 0; i < h; ++i) {
        float* dst = x.data() + i * row;
        std::fill(dst, dst + row, 0.0f);
        for (int k = 0; k < size; ++k) {
            const float weight = kernel[size_t(k)];
            const float* from = across.data() + reflect101(i + k - radius, h) * row;
            for (int64_t q = 0; q < row; ++q) dst[q] += weight * from[q];
        }
    }
}

}  // namespace

LinearCoefficients linear_coefficients(int64_t n, int64_t m) {
    LinearCoefficients out;
    out.index.resize(size_t(m));
    out.weight.resize(size_t(m));
    const double scale = double(n) / double(m);
    for (int64_t i = 0; i < m; ++i) {
        double f = (double(i) + 0.5) * scale - 0.5;
        int64_t s = int64_t(std::floor(f));
        f -= double(s);
        if (s < 0) {
            f = 0.0;
            s = 0;
        }
        if (s >= n - 1) {
            f = 0.0;
            s = n - 1;
        }
        out.index[size_t(i)] = s;
        out.weight[size_t(i)] = float(f);
    }
    return out;
}

void pull_push(const float* values, const uint8_t* todo, int64_t h, int64_t w, int c,
               float sharpness, float* out) {
    struct Level {
        int64_t h, w;
        std::vector<float> value, weight;  // value premultiplied by the weight
    };
    std::vector<Level> levels(1);
    Level& first = levels[0];
    first.h = h;
    first.w = w;
    first.value.resize(size_t(h * w * c));
    first.weight.resize(size_t(h * w));
    bool all_known = true;
    for (int64_t p = 0; p < h * w; ++p) {
        const float known = todo[p] ? 0.0f : 1.0f;
        all_known = all_known && known > 0.0f;
        first.weight[size_t(p)] = known;
        for (int ch = 0; ch < c; ++ch) first.value[size_t(p * c + ch)] = values[p * c + ch] * known;
    }
    auto covered = [](const Level& l) {
        return std::all_of(l.weight.begin(), l.weight.end(), [](float v) { return v > 0.0f; });
    };
    bool done = all_known;
    while (!done && std::min(levels.back().h, levels.back().w) > 2) {
        const Level& fine = levels.back();
        Level coarse;
        coarse.h = std::max<int64_t>(1, fine.h / 2);
        coarse.w = std::max<int64_t>(1, fine.w / 2);
        const Taps rows = area_taps(fine.h, coarse.h), cols = area_taps(fine.w, coarse.w);
        coarse.value = resampled(fine.value, fine.w, c, rows, cols);
        coarse.weight = resampled(fine.weight, fine.w, 1, rows, cols);
        levels.push_back(std::move(coarse));
        done = covered(levels.back());
    }
    const Level& last = levels.back();
    std::vector<float> estimate(size_t(last.h * last.w * c));
    for (int64_t p = 0; p < last.h * last.w; ++p) {
        const float weight = std::max(last.weight[size_t(p)], 1e-8f);
        for (int ch = 0; ch < c; ++ch) {
            estimate[size_t(p * c + ch)] = last.value[size_t(p * c + ch)] / weight;
        }
    }
    for (size_t k = levels.size() - 1; k-- > 0;) {
        const Level& fine = levels[k];
        const Level& coarse = levels[k + 1];
        const std::vector<float> up = resampled(estimate, coarse.w, c,
                                                linear_taps(coarse.h, fine.h),
                                                linear_taps(coarse.w, fine.w));
        estimate.assign(size_t(fine.h * fine.w * c), 0.0f);
        for (int64_t p = 0; p < fine.h * fine.w; ++p) {
            const float weight = fine.weight[size_t(p)];
            const float own = std::clamp(weight * sharpness, 0.0f, 1.0f);
            const float divisor = std::max(weight, 1e-8f);
            for (int ch = 0; ch < c; ++ch) {
                const size_t i = size_t(p * c + ch);
                estimate[i] = own * (fine.value[i] / divisor) + (1.0f - own) * up[i];
            }
        }
    }
    std::copy(estimate.begin(), estimate.end(), out);
}

void rim_spread(const int64_t* ys, const int64_t* xs, const float* values, int64_t n, int c,
                int64_t h, int64_t w, int factor, double sigma, float* out) {
    const int64_t hs = std::max<int64_t>(1, h / factor), ws = std::max<int64_t>(1, w / factor);
    const int cc = c + 1;  // the values and their count
    std::vector<double> sums(size_t(hs * ws * cc), 0.0);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t cell =
            std::min(ys[i] / factor, hs - 1) * ws + std::min(xs[i] / factor, ws - 1);
        double* s = sums.data() + cell * cc;
        for (int ch = 0; ch < c; ++ch) s[ch] += values[i * c + ch];
        s[c] += 1.0;
    }
    const double area = double(factor) * double(factor);
    std::vector<float> field(sums.size());
    for (size_t k = 0; k < sums.size(); ++k) field[k] = float(sums[k] / area);
    gaussian_blur(field, hs, ws, cc, sigma);
    std::vector<float> spread(size_t(hs * ws * c));
    std::vector<uint8_t> far(size_t(hs * ws));
    bool any_far = false;
    for (int64_t p = 0; p < hs * ws; ++p) {
        const float weight = field[size_t(p * cc + c)];
        const bool near = weight > 1e-3f;
        far[size_t(p)] = near ? 0 : 1;
        any_far = any_far || !near;
        for (int ch = 0; ch < c; ++ch) {
            spread[size_t(p * c + ch)] = field[size_t(p * cc + ch)] / (near ? weight : 1.0f);
        }
    }
    if (any_far) {
        pull_push(spread.data(), far.data(), hs, ws, c, 8.0f, out);
    } else {
        std::copy(spread.begin(), spread.end(), out);
    }
}

}  // namespace mattetrack
