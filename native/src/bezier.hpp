// Closed piecewise cubic Beziers fitted to a closed polyline between given knots (roto shapes,
// mattetrack.shapes.bezier): each segment's two handle lengths by least squares with chord-length
// parameters refined by Newton steps (Schneider 1990). No GIL needed.
#pragma once

#include <cstdint>

namespace mattetrack {

struct BezierFitInput {
    const double* poly = nullptr;     // (n, 2) closed polyline, x, y pixels
    int64_t n = 0;
    const int64_t* knots = nullptr;   // (k,) polyline indices in cyclic order
    int64_t k = 0;
    const double* leave = nullptr;    // (k, 2) unit direction leaving knot i
    const double* arrive = nullptr;   // (k, 2) unit direction arriving at knot i
    int newton = 2;                   // reparameterisation rounds
};

// rows: (k, 6) x, y, left handle x, y, right handle x, y (absolute), written in full;
// dist: (n,) each point's distance from its segment at its parameter, px (the larger where two
// segments share a knot), written in full.
void fit_bezier_segments(const BezierFitInput& in, double* rows, double* dist);

}  // namespace mattetrack
