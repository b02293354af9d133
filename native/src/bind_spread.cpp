// The removal fill's smooth fields for Python (mattetrack.removal.fill): the arrays are checked
// with the GIL held, then the work runs without it (the fill gathers both ways in two threads).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <string>

#include "common.hpp"
#include "spread.hpp"

namespace {

namespace py = pybind11;
using namespace mattetrack;

using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;
using Flags = py::array_t<bool, py::array::c_style | py::array::forcecast>;
using Indices = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

constexpr int kMaxChannels = 64;

void check_side(int64_t n, const char* what) {
    if (n < 1 || n > kMaxSide) value_error(std::string("spread: ") + what + " out of range");
}

py::array_t<float> pull_push_py(const Floats& values, const Flags& todo, float sharpness) {
    if (values.ndim() != 3 || todo.ndim() != 2 || todo.shape(0) != values.shape(0) ||
        todo.shape(1) != values.shape(1)) {
        value_error("pull_push: values must be (h, w, c) float32 and todo (h, w) bool");
    }
    const int64_t h = values.shape(0), w = values.shape(1), c = values.shape(2);
    check_side(h, "height");
    check_side(w, "width");
    if (c < 1 || c > kMaxChannels) value_error("pull_push: 1 to 64 channels");
    if (!(sharpness > 0.0f)) value_error("pull_push: sharpness must be > 0");
    py::array_t<float> out({h, w, c});
    const float* v = values.data();
    const auto* t = reinterpret_cast<const uint8_t*>(todo.data());
    float* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        pull_push(v, t, h, w, int(c), sharpness, o);
    }
    return out;
}

py::array_t<float> rim_spread_py(const Indices& ys, const Indices& xs, const Floats& values,
                                 int64_t height, int64_t width, int factor, double sigma) {
    if (ys.ndim() != 1 || xs.ndim() != 1 || values.ndim() != 2 ||
        xs.shape(0) != ys.shape(0) || values.shape(0) != ys.shape(0)) {
        value_error("rim_spread: ys and xs must be (n,) and values (n, c)");
    }
    check_side(height, "height");
    check_side(width, "width");
    const int64_t n = ys.shape(0), c = values.shape(1);
    if (c < 1 || c > kMaxChannels) value_error("rim_spread: 1 to 64 channels");
    if (factor < 1 || factor > kMaxSide) value_error("rim_spread: factor must be 1 to 2^20");
    if (!(sigma > 0.0) || sigma > 1e4) {
        value_error("rim_spread: sigma must be > 0 and at most 1e4");
    }
    const int64_t* y = ys.data();
    const int64_t* x = xs.data();
    for (int64_t i = 0; i < n; ++i) {
        if (y[i] < 0 || y[i] >= height || x[i] < 0 || x[i] >= width) {
            value_error("rim_spread: a sample lies outside the (height, width) box");
        }
    }
    const int64_t hs = std::max<int64_t>(1, height / factor);
    const int64_t ws = std::max<int64_t>(1, width / factor);
    py::array_t<float> out({hs, ws, c});
    const float* v = values.data();
    float* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        rim_spread(y, x, v, n, int(c), height, width, factor, sigma, o);
    }
    return out;
}

}  // namespace

void bind_spread(py::module_& m) {
    m.def("pull_push", &pull_push_py, py::arg("values"), py::arg("todo"), py::arg("sharpness"),
          "values (h, w, c) float32 with the pixels where todo (h, w) bool is set filled by "
          "pull-push: known pixels averaged down an area pyramid until every cell holds some, "
          "then pushed back up, each level keeping its own value by clamp(weight * sharpness, "
          "0, 1). Returns (h, w, c) float32.");
    m.def("rim_spread", &rim_spread_py, py::arg("ys"), py::arg("xs"), py::arg("values"),
          py::arg("height"), py::arg("width"), py::arg("factor"), py::arg("sigma"),
          "The values (n, c) float32 at the px (ys, xs) (n,) int64 of a (height, width) box "
          "spread over it: summed into cells of factor x factor px, blurred by a Gaussian of "
          "sigma cells normalised by the samples' own blurred count, cells it leaves empty "
          "filled by pull-push. Returns (height // factor, width // factor, c) float32 (at "
          "least 1 x 1).");
}
