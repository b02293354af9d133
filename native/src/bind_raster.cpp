// Roto shapes to coverage for Python (mattetrack.shapes.roto): polygons are checked with the GIL
// held, then rasterised without it.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <string>
#include <vector>

#include "common.hpp"
#include "raster.hpp"

namespace {

namespace py = pybind11;
using namespace mattetrack;

using Points = py::array_t<double, py::array::c_style | py::array::forcecast>;

py::array_t<float> rasterise_shapes(const std::vector<Points>& polygons,
                                    const std::vector<bool>& holes, int64_t width,
                                    int64_t height, double feather) {
    if (polygons.size() != holes.size()) {
        value_error("rasterise_shapes: " + std::to_string(polygons.size()) + " polygons but " +
                    std::to_string(holes.size()) + " hole flags");
    }
    if (width < 1 || height < 1 || width > kMaxSide || height > kMaxSide) {
        value_error("rasterise_shapes: bad size " + std::to_string(width) + "x" +
                    std::to_string(height));
    }
    if (!std::isfinite(feather) || feather < 0 || feather > double(kMaxSide)) {
        value_error("rasterise_shapes: feather must be a finite number >= 0");
    }
    std::vector<Polygon> polys;
    for (size_t i = 0; i < polygons.size(); ++i) {
        const Points& p = polygons[i];
        if (p.ndim() != 2 || p.shape(1) != 2) {
            value_error("rasterise_shapes: polygon " + std::to_string(i) + " is not (n, 2)");
        }
        const double* xy = p.data();
        for (py::ssize_t k = 0; k < 2 * p.shape(0); ++k) {
            // Far outside the raster is harmless, but non-finite or absurd values are bugs.
            if (!std::isfinite(xy[k]) || std::abs(xy[k]) > double(kMaxCoordinate)) {
                value_error("rasterise_shapes: polygon " + std::to_string(i) +
                            " has a non-finite or out-of-range coordinate");
            }
        }
        polys.push_back({xy, static_cast<int64_t>(p.shape(0)), holes[i]});
    }
    py::array_t<float> out({height, width});
    float* pixels = out.mutable_data();
    Failure failure = [&] {
        py::gil_scoped_release release;
        return capture("rasterise_shapes", [&] {
            rasterise_polygons(polys, static_cast<int>(width), static_cast<int>(height), feather,
                               pixels);
        });
    }();
    if (failure) raise(failure);
    return out;
}

}  // namespace

void bind_raster(py::module_& m) {
    m.def("rasterise_shapes", &rasterise_shapes, py::arg("polygons"), py::arg("holes"),
          py::arg("width"), py::arg("height"), py::arg("feather") = 0.0,
          "Coverage (height, width) float32 of closed polygons ((n, 2) float64 x, y pixels, pixel "
          "(i, j) covering [j, j+1] x [i, i+1]): exact covered area per pixel, holes subtracting, "
          "clamped to [0, 1]; `feather` px: width of a straight edge's ramp (tent filter).");
}
