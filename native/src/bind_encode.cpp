// Bindings of the display encoding (encode.hpp): arrays checked with the GIL held, the loop
// run without it on the worker threads.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "common.hpp"
#include "encode.hpp"

namespace {

namespace py = pybind11;
using namespace mattetrack;

using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;

py::array_t<float> encode_codes_py(const py::array& pixels, const Floats& matrix,
                                   const Floats& thresholds) {
    const bool half = pixels.dtype().is(py::dtype("float16"));
    if (!half && !pixels.dtype().is(py::dtype::of<float>())) {
        value_error("encode_codes: pixels must be float16 or float32");
    }
    if (pixels.ndim() != 3 || pixels.shape(2) != 3 || !(pixels.flags() & py::array::c_style)) {
        value_error("encode_codes: pixels must be a C-contiguous (h, w, 3) array");
    }
    if (matrix.ndim() != 2 || matrix.shape(0) != 3 || matrix.shape(1) != 4) {
        value_error("encode_codes: matrix must be (3, 4) float32");
    }
    if (thresholds.ndim() != 2 || thresholds.shape(0) != 3 || thresholds.shape(1) != 255) {
        value_error("encode_codes: thresholds must be (3, 255) float32");
    }
    const int64_t h = pixels.shape(0), w = pixels.shape(1);
    py::array_t<float> out({h, w, int64_t(3)});
    const void* src = pixels.data();
    const float *m = matrix.data(), *t = thresholds.data();
    float* dst = out.mutable_data();
    {
        py::gil_scoped_release release;
        encode_codes(src, half, h * w, m, t, dst);
    }
    return out;
}

}  // namespace

void bind_encode(py::module_& m) {
    m.def("clear_upper_state", &clear_upper_state,
          "vzeroupper on this thread (x86 with AVX; elsewhere nothing): a library that leaves "
          "the upper halves of the vector registers in use (OpenImageIO's EXR decoding does) "
          "makes every later non-VEX SSE instruction on the thread pay for it (OCIO's apply "
          "2x slower after an EXR read, measured on an AMD EPYC).");
    m.def("encode_codes", &encode_codes_py, py::arg("pixels"), py::arg("matrix"),
          py::arg("thresholds"),
          "8-bit display codes (as float32 k / 255, (h, w, 3)) of (h, w, 3) float16 or float32 "
          "scene-linear pixels: the (3, 4) affine `matrix`, then per channel the count of its "
          "255 ascending `thresholds` ((3, 255) float32) reached. NaN and -inf read as 0, +inf "
          "as 65504.");
}
