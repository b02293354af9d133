// The removal fill's light matching for Python (mattetrack.removal.fill._matched): the arrays
// are checked with the GIL held, then the work runs without it (the fill gathers both ways in two
// threads).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "common.hpp"
#include "light.hpp"

namespace {

namespace py = pybind11;
using namespace mattetrack;

using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;
using Flags = py::array_t<bool, py::array::c_style | py::array::forcecast>;

std::pair<py::array_t<float>, py::array_t<float>> match_light_py(
    const Floats& target, const Floats& warped, const Flags& ring, const Flags& valid,
    const std::optional<Flags>& light, int factor, double cell_sigma, float floor,
    std::pair<float, float> gain_range, float colour_range) {
    if (target.ndim() != 3 || warped.ndim() != 3) {
        value_error("match_light: target and warped must be (h, w, c) float32");
    }
    const int64_t h = target.shape(0), w = target.shape(1), c = target.shape(2);
    if (warped.shape(0) != h || warped.shape(1) != w || warped.shape(2) != c) {
        value_error("match_light: warped must have target's shape");
    }
    auto check_mask = [&](const Flags& m, const char* what) {
        if (m.ndim() != 2 || m.shape(0) != h || m.shape(1) != w) {
            value_error(std::string("match_light: ") + what + " must be (h, w) bool");
        }
    };
    check_mask(ring, "ring");
    check_mask(valid, "valid");
    if (light) check_mask(*light, "light");
    if (h < 1 || w < 1 || h > kMaxSide || w > kMaxSide) {
        value_error("match_light: the box's sides must be 1 to 2^20 px");
    }
    if (c < 1 || c > 32) value_error("match_light: 1 to 32 channels");
    if (factor < 1 || factor > 1024) value_error("match_light: factor must be 1 to 1024");
    if (!(cell_sigma > 0.0) || cell_sigma > 1e4) {
        value_error("match_light: cell_sigma must be > 0 and at most 1e4");
    }
    if (!std::isfinite(floor) || floor < 0.0f) value_error("match_light: floor must be >= 0");
    if (!(gain_range.first > 0.0f) || !(gain_range.second >= gain_range.first) ||
        !std::isfinite(gain_range.second)) {
        value_error("match_light: gain_range must be 0 < low <= high");
    }
    if (!(colour_range >= 1.0f) || !std::isfinite(colour_range)) {
        value_error("match_light: colour_range must be >= 1");
    }
    LightParams params;
    params.factor = factor;
    params.cell_sigma = cell_sigma;
    params.floor = floor;
    params.gain_low = gain_range.first;
    params.gain_high = gain_range.second;
    params.colour_range = colour_range;
    py::array_t<float> matched({h, w, c});
    py::array_t<float> misfit({h, w});
    const auto* l = light ? reinterpret_cast<const uint8_t*>(light->data()) : nullptr;
    float* mo = matched.mutable_data();
    float* fo = misfit.mutable_data();
    {
        py::gil_scoped_release release;
        match_light(target.data(), warped.data(), reinterpret_cast<const uint8_t*>(ring.data()),
                    reinterpret_cast<const uint8_t*>(valid.data()), l, h, w, int(c), params, mo,
                    fo);
    }
    return {matched, misfit};
}

}  // namespace

void bind_light(py::module_& m) {
    m.def("match_light", &match_light_py, py::arg("target"), py::arg("warped"), py::arg("ring"),
          py::arg("valid"), py::arg("light"), py::arg("factor"), py::arg("cell_sigma"),
          py::arg("floor"), py::arg("gain_range"), py::arg("colour_range"),
          "warped (h, w, c) float32 given target's light: the two images' values on the rim "
          "(ring & valid, (h, w) bool; light & valid where that has any px) spread over the box "
          "(rim_spread: cells of factor px, a Gaussian of cell_sigma cells), their ratio (floor "
          "added to both) a brightness within gain_range times a colour per channel within "
          "colour_range of 1, brought to the box (INTER_LINEAR). Returns (matched (h, w, c), "
          "misfit (h, w)): the mean over the channels of |target - matched| on the rim spread "
          "over the box the same way; (warped, +inf) where no rim px is valid.");
}
