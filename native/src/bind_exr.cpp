// Bindings of the EXR area: the matte spec, the matte writer (sidecar files), the merged plate
// copy and the safety net for damaged inputs. Each entry checks its arguments with the GIL held
// (make_job), releases the GIL for the work (mattes.cpp, exr_merge.cpp, exr_validate.cpp) and
// raises what it caught once the GIL is back (see common.hpp).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <OpenEXR/ImfHeader.h>
#include <OpenEXR/ImfThreading.h>
#include <OpenEXR/OpenEXRConfig.h>

#include <string>
#include <vector>

#include "common.hpp"
#include "exr_merge.hpp"
#include "exr_validate.hpp"
#include "mattes.hpp"

namespace mattetrack {

namespace {

void write_exr(const std::string& path, const MatteSpec& spec) {
    std::vector<py::array> keep;
    const MatteJob job = make_job(path, spec, keep);
    Failure failure;
    {
        py::gil_scoped_release release;
        failure = capture(path, [&] { write_matte_file(job); });
    }
    if (failure) raise(failure);
}

void merge_exr(const std::string& plate, const std::string& path, const MatteSpec& spec,
               const std::string& part_name, const std::string& view, int extend_part,
               bool part_named_cryptomatte, bool on_display) {
    if (plate.empty()) value_error("plate path is empty");
    if (plate == path) value_error("the merged copy would overwrite the plate");
    check_name(part_name, "part");
    std::vector<py::array> keep;
    const MatteJob job = make_job(path, spec, keep);
    Failure failure;
    {
        py::gil_scoped_release release;
        // Reading errors name the plate, writing errors the output; both messages say which.
        failure = capture(path, [&] {
            try {
                run_merge(plate, job, part_name, view, extend_part, part_named_cryptomatte,
                          on_display);
            } catch (const Rejected& e) {
                throw Rejected(std::string("plate ") + plate + ": " + e.what());
            }
        });
    }
    if (failure) raise(failure);
}

void validate_exr(const std::string& path) {
    Failure failure;
    {
        py::gil_scoped_release release;
        failure = capture(path, [&] { run_validate(path); });
    }
    // A safety net reports every failure the same way: the file is unusable as input.
    if (failure) raise(Failure{Failure::Kind::value, failure.message});
}

}  // namespace

}  // namespace mattetrack

void bind_exr(pybind11::module_& m) {
    using namespace mattetrack;
    // Process-wide, but this module is the only user of this OpenEXR build in the process
    // (OpenImageIO's wheel bundles its own), and no genuine plate or matte comes near the limits.
    Imf::Header::setMaxImageSize(int(kMaxSide), int(kMaxSide));
    Imf::Header::setMaxTileSize(kMaxTileSide, kMaxTileSide);
    // Compression threads for the writers (OpenEXR's global pool, likewise ours alone).
    Imf::setGlobalThreadCount(worker_count());

    m.def("openexr_version", []() { return std::string(OPENEXR_VERSION_STRING); },
          "Version of the OpenEXR library the module was built against.");

    py::class_<MatteSpec>(m, "MatteSpec",
                          "One part of matte channels to write (checked by the writers).")
        .def(py::init([](std::vector<std::string> channels, py::object planes,
                         WindowTuple data_window, WindowTuple display_window,
                         std::string compression, bool half,
                         std::optional<std::map<std::string, std::string>> attributes,
                         std::optional<CryptoArgs> cryptomatte) {
                 return MatteSpec{std::move(channels), py::list(planes), data_window,
                                  display_window, std::move(compression), half,
                                  std::move(attributes), std::move(cryptomatte)};
             }),
             py::arg("channels"), py::arg("planes"), py::arg("data_window"),
             py::arg("display_window"), py::arg("compression") = "zip", py::arg("half") = true,
             py::arg("attributes") = py::none(), py::arg("cryptomatte") = py::none())
        .def_readwrite("channels", &MatteSpec::channels)
        .def_readwrite("planes", &MatteSpec::planes)
        .def_readwrite("data_window", &MatteSpec::data_window)
        .def_readwrite("display_window", &MatteSpec::display_window)
        .def_readwrite("compression", &MatteSpec::compression)
        .def_readwrite("half", &MatteSpec::half)
        .def_readwrite("attributes", &MatteSpec::attributes)
        .def_readwrite("cryptomatte", &MatteSpec::cryptomatte);

    m.def("write_exr", &write_exr, py::arg("path"), py::arg("spec"),
          "Write one scanline EXR part of matte channels (and a Cryptomatte) to exactly `path`.");

    m.def("merge_exr", &merge_exr, py::arg("plate"), py::arg("path"), py::arg("spec"),
          py::arg("part_name") = "mattetrack", py::arg("view") = "", py::arg("extend_part") = -1,
          py::arg("part_named_cryptomatte") = false, py::arg("on_display") = false,
          "Copy `plate` to `path` with matte channels added, every original bit kept;\n"
          "part_named_cryptomatte: the Cryptomatte also typed '<part>.<type>' (Blender);\n"
          "on_display: parts whose data window is not the display window moved onto it.");

    m.def("validate_exr", &validate_exr, py::arg("path"),
          "Open `path` with OpenEXR, read every part's header and pixels; ValueError('<path>: ...')\n"
          "if the file is damaged, unreadable or holds deep data.");
}
