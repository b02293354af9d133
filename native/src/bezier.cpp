// The per-segment fit of mattetrack.shapes.bezier.fit_segment, for every segment of a shape in
// one call: the Python loop over segments was most of the time spent fitting shapes.
#include "bezier.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mattetrack {
namespace {

struct Vec {
    double x = 0, y = 0;
};
Vec operator+(Vec a, Vec b) { return {a.x + b.x, a.y + b.y}; }
Vec operator-(Vec a, Vec b) { return {a.x - b.x, a.y - b.y}; }
Vec operator*(double s, Vec a) { return {s * a.x, s * a.y}; }
double dot(Vec a, Vec b) { return a.x * b.x + a.y * b.y; }

struct Cubic {
    Vec p[4];
    Vec at(double u) const {
        const double v = 1.0 - u;
        return (v * v * v) * p[0] + (3 * v * v * u) * p[1] + (3 * v * u * u) * p[2] +
               (u * u * u) * p[3];
    }
};

// The two handle lengths from the 2 x 2 normal equations of the least squares; handles
// backwards or absurdly long fall back to a third of the chord (a well-formed shape).
Cubic solve(const std::vector<Vec>& pts, const std::vector<double>& u, Vec t0, Vec t3,
            double chord) {
    const Vec p0 = pts.front(), p3 = pts.back();
    double c11 = 0, c22 = 0, b12 = 0, x1 = 0, x2 = 0;
    for (size_t j = 0; j < pts.size(); ++j) {
        const double s = u[j], v = 1.0 - s;
        const double b0 = v * v * v, b1 = 3 * v * v * s, b2 = 3 * v * s * s, b3 = s * s * s;
        const Vec rhs = pts[j] - (b0 + b1) * p0 - (b2 + b3) * p3;
        c11 += b1 * b1;
        c22 += b2 * b2;
        b12 += b1 * b2;
        x1 += b1 * dot(rhs, t0);
        x2 -= b2 * dot(rhs, t3);
    }
    const double c12 = -b12 * dot(t0, t3);
    const double det = c11 * c22 - c12 * c12;
    double alpha = 0, beta = 0;
    if (std::abs(det) > 1e-12 * std::max(c11 * c22, 1e-300)) {
        alpha = (x1 * c22 - x2 * c12) / det;
        beta = (c11 * x2 - c12 * x1) / det;
    }
    const bool ok = 1e-6 * chord < alpha && alpha < 3 * chord && 1e-6 * chord < beta &&
                    beta < 3 * chord;
    if (!ok) alpha = beta = chord / 3;
    return {{p0, p0 + alpha * t0, p3 - beta * t3, p3}};
}

// One Newton step per point towards the curve parameter nearest to it; ends pinned, order kept.
void reparameterise(const Cubic& c, const std::vector<Vec>& pts, std::vector<double>& u) {
    const Vec d1[3] = {3.0 * (c.p[1] - c.p[0]), 3.0 * (c.p[2] - c.p[1]), 3.0 * (c.p[3] - c.p[2])};
    const Vec d2[2] = {2.0 * (d1[1] - d1[0]), 2.0 * (d1[2] - d1[1])};
    const size_t m = pts.size();
    double last = 0.0;
    for (size_t j = 0; j < m; ++j) {
        const double s = u[j], v = 1.0 - s;
        const Vec e = c.at(s) - pts[j];
        const Vec e1 = (v * v) * d1[0] + (2 * v * s) * d1[1] + (s * s) * d1[2];
        const Vec e2 = v * d2[0] + s * d2[1];
        const double num = dot(e, e1), den = dot(e1, e1) + dot(e, e2);
        const double step = std::abs(den) > 1e-12 ? num / den : 0.0;
        double next = std::clamp(s - step, 0.0, 1.0);
        if (j == 0) next = 0.0;
        if (j == m - 1) next = 1.0;
        last = std::max(last, next);
        u[j] = last;
    }
}

}  // namespace

void fit_bezier_segments(const BezierFitInput& in, double* rows, double* dist) {
    const int64_t n = in.n, k = in.k;
    auto point = [&](int64_t i) { return Vec{in.poly[2 * i], in.poly[2 * i + 1]}; };
    std::fill(dist, dist + n, 0.0);
    std::vector<Vec> pts;
    std::vector<double> u;
    for (int64_t i = 0; i < k; ++i) {
        const int64_t a = in.knots[i], b = in.knots[(i + 1) % k];
        const int64_t m = k == 1 ? n + 1 : ((b - a) % n + n) % n + 1;
        pts.resize(m);
        for (int64_t j = 0; j < m; ++j) pts[j] = point((a + j) % n);
        const Vec t0{in.leave[2 * i], in.leave[2 * i + 1]};
        const int64_t next = (i + 1) % k;
        const Vec t3{in.arrive[2 * next], in.arrive[2 * next + 1]};
        const Vec p0 = pts.front(), p3 = pts.back();
        const double chord = std::sqrt(dot(p3 - p0, p3 - p0));
        u.assign(m, 0.0);
        double total = 0.0;
        for (int64_t j = 1; j < m; ++j) {
            const Vec d = pts[j] - pts[j - 1];
            total += std::hypot(d.x, d.y);
            u[j] = total;
        }
        Cubic c;
        const bool plain = m < 3 || total < 1e-9;
        if (plain) {
            c = {{p0, p0 + (chord / 3) * t0, p3 - (chord / 3) * t3, p3}};
        } else {
            for (double& s : u) s /= total;
            c = solve(pts, u, t0, t3, chord);
            for (int r = 0; r < in.newton; ++r) {
                reparameterise(c, pts, u);
                c = solve(pts, u, t0, t3, chord);
            }
            for (int64_t j = 0; j < m; ++j) {
                const Vec e = c.at(u[j]) - pts[j];
                double& d = dist[(a + j) % n];
                d = std::max(d, std::hypot(e.x, e.y));
            }
        }
        rows[6 * i + 0] = p0.x;
        rows[6 * i + 1] = p0.y;
        rows[6 * i + 4] = c.p[1].x;
        rows[6 * i + 5] = c.p[1].y;
        rows[6 * next + 2] = c.p[2].x;
        rows[6 * next + 3] = c.p[2].y;
    }
}

}  // namespace mattetrack
