// The removal fill's light matching (mattetrack.removal.fill._matched): a candidate frame brought
// onto the frame being filled is given that frame's light, a smooth gain spread into the hole
// from the ratio of the two images on the hole's rim, and its misfit on the rim once matched is
// spread into the hole too (the candidate's weight). As NumPy and OpenCV calls it was a dozen
// calls and as many box-sized temporaries a candidate, a fifth of the fill's time; here it is one
// call that brings the gain and the misfit to the box a row at a time. The arithmetic is the
// NumPy formulation's in float32, the spreads `rim_spread` (spread.hpp) and the resizes OpenCV's
// INTER_LINEAR, so the results agree with it to float rounding. No GIL needed.
#pragma once

#include <cstdint>

namespace mattetrack {

struct LightParams {
    int factor = 3;             // box px per cell of the spreads' grid
    double cell_sigma = 2.5;    // the spreads' Gaussian, in cells
    float floor = 0.02f;        // plate units added to both images before their ratio
    float gain_low = 0.5f;      // the brightness gain's range
    float gain_high = 2.0f;
    float colour_range = 1.1f;  // each channel's part within 1 / range .. range
};

// target, warped: (h, w, c) float32 boxes; ring, valid: (h, w) uint8 (the hole's rim; where the
// candidate is seen); light: (h, w) uint8 or null, the part of the rim the light is taken from
// where it has any seen px. matched: (h, w, c), the candidate with the gain applied; misfit:
// (h, w), the mean over the channels of |target - matched| on the rim, spread over the box. Where
// no rim px is seen, matched is warped and misfit +inf.
void match_light(const float* target, const float* warped, const uint8_t* ring,
                 const uint8_t* valid, const uint8_t* light, int64_t h, int64_t w, int c,
                 const LightParams& params, float* matched, float* misfit);

}  // namespace mattetrack
