// Anti-aliased rasterising of closed polygons (flattened roto shapes) to coverage: each pixel gets
// the exact area of it that the polygons cover, by signed-area accumulation along scanlines, then
// an optional feather (a separable tent filter). No GIL needed; rows run in parallel.
#pragma once

#include <cstdint>
#include <vector>

namespace mattetrack {

struct Polygon {
    const double* xy = nullptr;  // (count, 2) x, y in pixels: pixel (i, j) covers [j, j+1] x [i, i+1]
    int64_t count = 0;
    bool hole = false;  // cuts coverage instead of adding it
};

// out: (height, width) float32, written in full. Pieces add their area and holes take theirs
// away, whatever the polygons' orientation; the sum is clamped to [0, 1]. feather: the width in
// pixels over which a straight edge ramps from 0 to 1 (centred on the edge); 0 for none.
void rasterise_polygons(const std::vector<Polygon>& polygons, int width, int height,
                        double feather, float* out);

}  // namespace mattetrack
