// Geodesic distance for Python (mattetrack.engines.classic.geodesic): the arrays are checked with
// the GIL held, then the sweeps run without it.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <limits>
#include <string>

#include "common.hpp"
#include "geodesic.hpp"

namespace {

namespace py = pybind11;
using namespace mattetrack;

using Costs = py::array_t<float, py::array::c_style | py::array::forcecast>;
using Seeds = py::array_t<bool, py::array::c_style | py::array::forcecast>;

py::array_t<float> geodesic_distance_py(const Costs& cost, const Seeds& seeds, int passes) {
    if (cost.ndim() != 2 || seeds.ndim() != 2 || cost.shape(0) != seeds.shape(0) ||
        cost.shape(1) != seeds.shape(1)) {
        value_error("geodesic_distance: cost and seeds must be two (h, w) arrays of one shape");
    }
    const int64_t h = cost.shape(0), w = cost.shape(1);
    if (h < 1 || w < 1 || h > kMaxSide || w > kMaxSide) {
        value_error("geodesic_distance: bad size " + std::to_string(w) + "x" + std::to_string(h));
    }
    if (passes < 1 || passes > 64) {
        value_error("geodesic_distance: passes must be 1 to 64, not " + std::to_string(passes));
    }
    const float* c = cost.data();
    const bool* s = seeds.data();
    py::array_t<float> out({h, w});
    float* d = out.mutable_data();
    const float inf = std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < h * w; ++i) {
        // A step's cost must be a finite positive number, or distances mean nothing.
        if (!(std::isfinite(c[i]) && c[i] > 0.0f)) {
            value_error("geodesic_distance: cost must be finite and > 0 everywhere");
        }
        d[i] = s[i] ? 0.0f : inf;
    }
    Failure failure = [&] {
        py::gil_scoped_release release;
        return capture("geodesic_distance", [&] {
            geodesic_distance(c, d, static_cast<int>(h), static_cast<int>(w), passes);
        });
    }();
    if (failure) raise(failure);
    return out;
}

}  // namespace

void bind_geodesic(py::module_& m) {
    m.def("geodesic_distance", &geodesic_distance_py, py::arg("cost"), py::arg("seeds"),
          py::arg("passes") = 2,
          "Geodesic distance (h, w) float32 from the True pixels of `seeds` (h, w) bool over "
          "`cost` (h, w) float32 > 0 (a step costs the mean of its pixels' costs times its "
          "length); inf where no seed reaches. `passes` raster-scan passes of four sweeps.");
}
