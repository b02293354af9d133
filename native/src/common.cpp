#include "common.hpp"

#include <OpenEXR/IexBaseExc.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <new>
#include <set>
#include <sstream>
#include <thread>

namespace mattetrack {

std::string one_line(const std::string& text) {
    std::istringstream words(text);
    std::string word, out;
    while (words >> word) {
        if (!out.empty()) out += ' ';
        out += word;
    }
    return out.empty() ? std::string("unknown error") : out;
}

void raise(const Failure& failure) {
    PyObject* type = PyExc_RuntimeError;
    switch (failure.kind) {
        case Failure::Kind::value: type = PyExc_ValueError; break;
        case Failure::Kind::os: type = PyExc_OSError; break;
        case Failure::Kind::memory: type = PyExc_MemoryError; break;
        default: break;
    }
    PyErr_SetString(type, failure.message.c_str());
    throw py::error_already_set();
}

void value_error(const std::string& message) { throw py::value_error(one_line(message)); }

// I/O failures from OpenEXR arrive as Iex::ErrnoExc (open/write with errno set) or Iex::IoExc
// (stream failure without errno).
Failure capture_call(const std::string& path, const std::function<void()>& work) {
    auto fail = [&](Failure::Kind kind, const char* what) {
        return Failure{kind, one_line(path + ": " + what)};
    };
    try {
        work();
        return {};
    } catch (const Rejected& e) {
        return fail(Failure::Kind::value, e.what());
    } catch (const Iex::ErrnoExc& e) {
        return fail(Failure::Kind::os, e.what());
    } catch (const Iex::IoExc& e) {
        return fail(Failure::Kind::os, e.what());
    } catch (const Iex::ArgExc& e) {
        return fail(Failure::Kind::value, e.what());
    } catch (const std::bad_alloc&) {
        return fail(Failure::Kind::memory, "out of memory");
    } catch (const std::exception& e) {
        return fail(Failure::Kind::runtime, e.what());
    } catch (...) {
        return fail(Failure::Kind::runtime, "unknown C++ exception");
    }
}

Imath::Box2i check_window(const WindowTuple& w, const char* what) {
    for (int64_t v : w) {
        if (v < -kMaxCoordinate || v > kMaxCoordinate) {
            value_error(std::string(what) + " coordinate " + std::to_string(v) +
                        " is outside +-2^30");
        }
    }
    if (w[2] < w[0] || w[3] < w[1]) {
        value_error(std::string(what) + " (" + std::to_string(w[0]) + ", " + std::to_string(w[1]) +
                    ", " + std::to_string(w[2]) + ", " + std::to_string(w[3]) +
                    ") is empty; expected inclusive (xmin, ymin, xmax, ymax)");
    }
    return Imath::Box2i(Imath::V2i(int(w[0]), int(w[1])), Imath::V2i(int(w[2]), int(w[3])));
}

Imf::Compression check_compression(const std::string& name) {
    // Only lossless codecs: mattes are data, and DWA/B44 would also damage Cryptomatte IDs.
    static const std::map<std::string, Imf::Compression> known = {
        {"none", Imf::NO_COMPRESSION}, {"rle", Imf::RLE_COMPRESSION},
        {"zips", Imf::ZIPS_COMPRESSION}, {"zip", Imf::ZIP_COMPRESSION},
        {"piz", Imf::PIZ_COMPRESSION},
    };
    auto it = known.find(name);
    if (it == known.end()) {
        value_error("unsupported compression '" + name + "'; expected one of zip, zips, piz, rle, none");
    }
    return it->second;
}

void check_name(const std::string& name, const char* what) {
    if (name.empty()) value_error(std::string(what) + " name is empty");
    if (name.size() > kMaxNameLength || name.find('\0') != std::string::npos) {
        value_error(std::string(what) + " name '" + name.substr(0, 40) +
                    "' is longer than 255 bytes or contains NUL");
    }
}

void check_channel_names(const std::vector<std::string>& channels) {
    if (channels.empty()) value_error("no channels given");
    std::set<std::string> seen;
    for (const auto& name : channels) {
        check_name(name, "channel");
        if (!seen.insert(name).second) value_error("duplicate channel name '" + name + "'");
    }
}

std::vector<const float*> check_planes(const py::sequence& planes,
                                       const std::vector<std::string>& channels,
                                       const Imath::Box2i& data, std::vector<py::array>& keep) {
    if (size_t(py::len(planes)) != channels.size()) {
        value_error("got " + std::to_string(channels.size()) + " channel names but " +
                    std::to_string(py::len(planes)) + " planes");
    }
    const py::ssize_t height = py::ssize_t(data.max.y) - data.min.y + 1;
    const py::ssize_t width = py::ssize_t(data.max.x) - data.min.x + 1;
    if (width > kMaxSide || height > kMaxSide) {
        value_error("data window " + std::to_string(width) + "x" + std::to_string(height) +
                    " is larger than 2^20 pixels on a side");
    }
    const auto float32 = py::dtype::of<float>();
    std::vector<const float*> pointers;
    for (size_t i = 0; i < channels.size(); ++i) {
        const std::string where = "plane for channel '" + channels[i] + "'";
        py::object item = planes[i];
        // No implicit conversion: a silent copy from float64 (or a wrong-endian view) hides bugs.
        if (!py::isinstance<py::array>(item)) value_error(where + " is not a numpy array");
        auto array = py::reinterpret_borrow<py::array>(item);
        if (!array.dtype().equal(float32)) {
            value_error(where + " has dtype " + std::string(py::str(array.dtype())) +
                        "; expected native float32");
        }
        if (array.ndim() != 2) {
            value_error(where + " has " + std::to_string(array.ndim()) + " dimensions; expected 2");
        }
        if (array.shape(0) != height || array.shape(1) != width) {
            value_error(where + " has shape (" + std::to_string(array.shape(0)) + ", " +
                        std::to_string(array.shape(1)) + "); the data window needs (" +
                        std::to_string(height) + ", " + std::to_string(width) + ")");
        }
        const bool contiguous = (array.flags() & py::array::c_style) != 0;
        const auto address = reinterpret_cast<std::uintptr_t>(array.data());
        if (!contiguous || address % alignof(float) != 0) {
            value_error(where + " is not a C-contiguous, aligned array");
        }
        keep.push_back(array);
        pointers.push_back(static_cast<const float*>(array.data()));
    }
    return pointers;
}

void check_attributes(const std::map<std::string, std::string>& attributes) {
    static const std::set<std::string> reserved = {
        "channels", "compression", "dataWindow", "displayWindow", "lineOrder",
        "pixelAspectRatio", "screenWindowCenter", "screenWindowWidth", "tiles", "type",
        "name", "version", "chunkCount", "maxSamplesPerPixel", "view",
    };
    for (const auto& item : attributes) {
        const std::string& name = item.first;
        check_name(name, "attribute");
        if (reserved.count(name)) {
            value_error("attribute '" + name + "' is set by the writer and cannot be overridden");
        }
    }
}

int worker_count() {
    const unsigned cores = std::thread::hardware_concurrency();
    return int(std::clamp(cores, 1u, 16u));
}

void clear_upper_state() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("avx")) asm volatile("vzeroupper");
#endif
}

void parallel_rows(int rows, const std::function<void(int, int)>& body) {
    const int threads = std::min(worker_count(), std::max(rows, 1));
    if (threads <= 1) {
        clear_upper_state();
        body(0, rows);
        return;
    }
    std::exception_ptr first;
    std::mutex guard;
    auto run = [&](int begin, int end) {
        clear_upper_state();
        try {
            body(begin, end);
        } catch (...) {
            std::lock_guard<std::mutex> lock(guard);
            if (!first) first = std::current_exception();
        }
    };
    std::vector<std::thread> pool;
    const int step = (rows + threads - 1) / threads;
    for (int begin = step; begin < rows; begin += step) {
        pool.emplace_back(run, begin, std::min(rows, begin + step));
    }
    run(0, std::min(rows, step));  // this thread takes the first range
    for (auto& thread : pool) thread.join();
    if (first) std::rethrow_exception(first);
}

}  // namespace mattetrack
