// Shared by the bind_<area> files: errors across the GIL boundary, argument checks, and a small
// parallel loop for pixel work.
//
// Every entry point has the same shape: check every argument while holding the GIL (so errors are
// plain Python ValueErrors and nothing Python-owned is touched later), then release the GIL for
// the pixel loops and file I/O, catch every C++ exception inside that region, and turn it into a
// Python exception once the GIL is held again.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <Imath/ImathBox.h>
#include <OpenEXR/ImfCompression.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace mattetrack {

namespace py = pybind11;

// Python exceptions may only be raised with the GIL held, so code running without it records the
// failure here and the caller raises it after re-acquiring the GIL.
struct Failure {
    enum class Kind { none, value, os, memory, runtime };
    Kind kind = Kind::none;
    std::string message;
    explicit operator bool() const { return kind != Kind::none; }
};

// Thrown by our own checks inside the GIL-free region; always becomes a ValueError.
struct Rejected : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Library messages can span lines (Iex appends context); the project rule is one-line errors.
std::string one_line(const std::string& text);

[[noreturn]] void raise(const Failure& failure);

[[noreturn]] void value_error(const std::string& message);

// Runs `work` (no GIL needed) and classifies whatever it throws; messages start with `path`.
Failure capture_call(const std::string& path, const std::function<void()>& work);

template <class Work>
Failure capture(const std::string& path, Work&& work) {
    return capture_call(path, std::function<void()>(std::forward<Work>(work)));
}

// ---------------------------------------------------------------------------------------------
// Limits and argument checks (GIL held)
// ---------------------------------------------------------------------------------------------

// OpenEXR does its window arithmetic in int; staying within +-2^30 keeps xmax + 1, widths and
// offsets far from overflow. A real plate is nowhere near this.
constexpr int64_t kMaxCoordinate = int64_t(1) << 30;

// Largest data window side, written or read: 64x a 16K plate, far below int overflow. Installed
// as OpenEXR's own limit (Header::setMaxImageSize) so that the library refuses larger windows while
// parsing a header, before it sizes offset tables and line buffers from them.
constexpr int64_t kMaxSide = int64_t(1) << 20;

// Largest tile side accepted on input (typical tiles are 32 to 256); bounds tile buffers.
constexpr int kMaxTileSide = 8192;

// Imf::Name keeps at most 255 bytes and silently truncates longer names, which could merge two
// distinct channel names into one.
constexpr size_t kMaxNameLength = 255;

using WindowTuple = std::array<int64_t, 4>;

Imath::Box2i check_window(const WindowTuple& w, const char* what);
Imf::Compression check_compression(const std::string& name);
void check_name(const std::string& name, const char* what);
void check_channel_names(const std::vector<std::string>& channels);

// Raw pointers to C-contiguous float32 (height, width) planes over `data`; `keep` holds the arrays
// so the pointers stay valid after the GIL is released.
std::vector<const float*> check_planes(const py::sequence& planes,
                                       const std::vector<std::string>& channels,
                                       const Imath::Box2i& data, std::vector<py::array>& keep);

// Header attributes callers may not set (OpenEXR derives them from the layout).
void check_attributes(const std::map<std::string, std::string>& attributes);

// ---------------------------------------------------------------------------------------------
// Parallel pixel loops (no GIL)
// ---------------------------------------------------------------------------------------------

// Threads for pixel loops and OpenEXR's compression pool: the machine's cores, at most 16.
int worker_count();

// vzeroupper on this thread (x86 with AVX; elsewhere nothing). A library that leaves the upper
// halves of the vector registers in use (OpenImageIO's EXR decoding does) makes every later
// non-VEX SSE instruction on that thread pay a penalty: this module is built for plain x86-64,
// and OCIO's apply ran 2x and encode_codes 4x slower after an EXR read on an AMD EPYC.
void clear_upper_state();

// Calls body(begin, end) on disjoint row ranges covering [0, rows) from up to worker_count()
// threads; the first exception thrown by any range is rethrown here after all have finished.
void parallel_rows(int rows, const std::function<void(int, int)>& body);

}  // namespace mattetrack
