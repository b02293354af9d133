// EXR I/O through the OpenEXR C++ library: the matte writer and a safety net for damaged inputs.
//
// Both entry points follow the same shape: check every argument while holding the GIL (so errors
// are plain Python ValueErrors and nothing Python-owned is touched later), then release the GIL for
// the pixel loops and file I/O, catch every C++ exception inside that region, and turn it into a
// Python exception once the GIL is held again.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <Imath/ImathBox.h>
#include <Imath/half.h>
#include <OpenEXR/IexBaseExc.h>
#include <OpenEXR/ImfChannelList.h>
#include <OpenEXR/ImfCompression.h>
#include <OpenEXR/ImfFrameBuffer.h>
#include <OpenEXR/ImfHeader.h>
#include <OpenEXR/ImfInputPart.h>
#include <OpenEXR/ImfMultiPartInputFile.h>
#include <OpenEXR/ImfOutputFile.h>
#include <OpenEXR/ImfPartType.h>
#include <OpenEXR/ImfStringAttribute.h>
#include <OpenEXR/ImfTiledInputPart.h>
#include <OpenEXR/ImfVersion.h>
#include <OpenEXR/OpenEXRConfig.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

// ---------------------------------------------------------------------------------------------
// Errors crossing the GIL boundary
// ---------------------------------------------------------------------------------------------

// Python exceptions may only be raised with the GIL held, so code running without it records the
// failure here and the caller raises it after re-acquiring the GIL.
struct Failure {
    enum class Kind { none, value, os, memory, runtime };
    Kind kind = Kind::none;
    std::string message;
    explicit operator bool() const { return kind != Kind::none; }
};

// Library messages can span lines (Iex appends context); the project rule is one-line errors.
std::string one_line(const std::string& text) {
    std::istringstream words(text);
    std::string word, out;
    while (words >> word) {
        if (!out.empty()) out += ' ';
        out += word;
    }
    return out.empty() ? std::string("unknown error") : out;
}

[[noreturn]] void raise(const Failure& failure) {
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

// Thrown by our own checks inside the GIL-free region; always becomes a ValueError.
struct Rejected : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Runs `work` (no GIL needed) and classifies whatever it throws. I/O failures from OpenEXR arrive
// as Iex::ErrnoExc (open/write with errno set) or Iex::IoExc (stream failure without errno).
template <class Work>
Failure capture(const std::string& path, Work&& work) {
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

[[noreturn]] void value_error(const std::string& message) { throw py::value_error(one_line(message)); }

// ---------------------------------------------------------------------------------------------
// Argument checks (GIL held)
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

// Returns raw pointers to the planes' pixels; `keep` holds the arrays so that the pointers stay
// valid after the GIL is released (numpy cannot resize an array that has other references).
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

// Attributes OpenEXR derives from the other arguments (or from the file layout); letting callers
// set them would produce an inconsistent header.
void check_attributes(const std::map<std::string, std::string>& attributes) {
    static const std::set<std::string> reserved = {
        "channels", "compression", "dataWindow", "displayWindow", "lineOrder",
        "pixelAspectRatio", "screenWindowCenter", "screenWindowWidth", "tiles", "type",
        "name", "version", "chunkCount", "maxSamplesPerPixel",
    };
    for (const auto& item : attributes) {
        const std::string& name = item.first;
        check_name(name, "attribute");
        if (reserved.count(name)) {
            value_error("attribute '" + name + "' is set by the writer and cannot be overridden");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writing (no GIL)
// ---------------------------------------------------------------------------------------------

struct WriteJob {
    std::string path;
    std::vector<std::string> channels;
    std::vector<const float*> planes;  // each (height, width), row-major over the data window
    Imath::Box2i data;
    Imath::Box2i display;
    Imf::Compression compression;
    bool half;
    std::map<std::string, std::string> attributes;

    int width() const { return data.max.x - data.min.x + 1; }
    int height() const { return data.max.y - data.min.y + 1; }
};

Imf::Header make_header(const WriteJob& job) {
    Imf::Header header(job.display, job.data);
    header.compression() = job.compression;
    header.lineOrder() = Imf::INCREASING_Y;
    const Imf::PixelType type = job.half ? Imf::HALF : Imf::FLOAT;
    for (const auto& name : job.channels) header.channels().insert(name, Imf::Channel(type));
    for (const auto& [name, value] : job.attributes) {
        header.insert(name, Imf::StringAttribute(value));
    }
    return header;
}

// A slice whose pixel (x, y) of the data window lives at rows[(y - y0) * width + (x - xmin)].
// The base pointer is computed in integers because OpenEXR addresses pixels as
// base + x * xStride + y * yStride with absolute coordinates.
Imf::Slice slice_for_rows(Imf::PixelType type, const void* rows, size_t pixel_size, int width,
                          int xmin, int y0) {
    const size_t y_stride = pixel_size * size_t(width);
    const auto base = reinterpret_cast<std::intptr_t>(rows) -
                      std::intptr_t(xmin) * std::intptr_t(pixel_size) -
                      std::intptr_t(y0) * std::intptr_t(y_stride);
    return Imf::Slice(type, reinterpret_cast<char*>(base), pixel_size, y_stride);
}

// FLOAT output: OpenEXR reads straight from the numpy buffers, no copy.
void write_float(Imf::OutputFile& out, const WriteJob& job) {
    Imf::FrameBuffer frame;
    for (size_t c = 0; c < job.channels.size(); ++c) {
        frame.insert(job.channels[c], slice_for_rows(Imf::FLOAT, job.planes[c], sizeof(float),
                                                     job.width(), job.data.min.x, job.data.min.y));
    }
    out.setFrameBuffer(frame);
    out.writePixels(job.height());
}

// HALF output: converted block by block so the extra memory is a few scanlines per channel rather
// than a second copy of the image. 64 rows is a multiple of every codec's chunk height (ZIP 16,
// PIZ 32), so no chunk straddles two blocks.
void write_half(Imf::OutputFile& out, const WriteJob& job) {
    constexpr int kBlockRows = 64;
    const size_t width = size_t(job.width());
    const size_t block_pixels = width * kBlockRows;
    std::vector<std::vector<Imath::half>> scratch(job.channels.size(),
                                                  std::vector<Imath::half>(block_pixels));
    for (int row = 0; row < job.height(); row += kBlockRows) {
        const int rows = std::min(kBlockRows, job.height() - row);
        const size_t count = width * size_t(rows);
        Imf::FrameBuffer frame;
        for (size_t c = 0; c < job.channels.size(); ++c) {
            const float* src = job.planes[c] + width * size_t(row);
            Imath::half* dst = scratch[c].data();
            for (size_t i = 0; i < count; ++i) dst[i] = Imath::half(src[i]);
            frame.insert(job.channels[c],
                         slice_for_rows(Imf::HALF, dst, sizeof(Imath::half), job.width(),
                                        job.data.min.x, job.data.min.y + row));
        }
        out.setFrameBuffer(frame);
        out.writePixels(rows);
    }
}

void run_write(const WriteJob& job) {
    // Single-threaded on purpose: callers parallelise over frames, and OpenEXR's global pool is
    // process-wide state we do not want to own.
    Imf::OutputFile out(job.path.c_str(), make_header(job), 0);
    if (job.half) {
        write_half(out, job);
    } else {
        write_float(out, job);
    }
}

void write_exr(const std::string& path, const std::vector<std::string>& channels,
               const py::sequence& planes, const WindowTuple& data_window,
               const WindowTuple& display_window, const std::string& compression, bool half,
               const std::optional<std::map<std::string, std::string>>& attributes) {
    if (path.empty()) value_error("path is empty");
    WriteJob job;
    job.path = path;
    job.data = check_window(data_window, "data window");
    job.display = check_window(display_window, "display window");
    job.compression = check_compression(compression);
    job.half = half;
    check_channel_names(channels);
    job.channels = channels;
    std::vector<py::array> keep;
    job.planes = check_planes(planes, channels, job.data, keep);
    if (attributes) {
        check_attributes(*attributes);
        job.attributes = *attributes;
    }

    Failure failure;
    {
        py::gil_scoped_release release;
        failure = capture(path, [&] { run_write(job); });
    }
    if (failure) raise(failure);
}

// ---------------------------------------------------------------------------------------------
// Validation (no GIL)
// ---------------------------------------------------------------------------------------------

// Below this much pixel data a part cannot hurt, whatever its size on disk.
constexpr int64_t kSmallPartBytes = int64_t(1) << 20;

int64_t file_size(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw Rejected("cannot open file");
    return int64_t(in.tellg());
}

void check_magic(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    if (!in.read(magic, 4) || !Imf::isImfMagic(magic)) throw Rejected("not an OpenEXR file");
}

std::string part_label(int part) { return "part " + std::to_string(part) + ": "; }

// Scanlines per chunk, from the OpenEXR file layout specification.
int64_t lines_per_chunk(Imf::Compression compression) {
    switch (compression) {
        case Imf::NO_COMPRESSION:
        case Imf::RLE_COMPRESSION:
        case Imf::ZIPS_COMPRESSION: return 1;
        case Imf::ZIP_COMPRESSION:
        case Imf::PXR24_COMPRESSION: return 16;
        case Imf::DWAB_COMPRESSION: return 256;
        default: return 32;  // PIZ, B44, B44A, DWAA
    }
}

// Upper bound on (pixel bytes) / (bytes on disk) for each codec, with margin: raw data is stored
// as is, RLE spends 2 bytes per run of at most 128, deflate tops out near 1032:1 (PIZ's Huffman
// run codes and B44 stay below that), and DWA can stack RLE, Huffman and deflate.
int64_t max_compression_ratio(Imf::Compression compression) {
    switch (compression) {
        case Imf::NO_COMPRESSION: return 1;
        case Imf::RLE_COMPRESSION: return 128;
        case Imf::DWAA_COMPRESSION:
        case Imf::DWAB_COMPRESSION: return int64_t(1) << 17;
        default: return 2048;
    }
}

std::string part_type(const Imf::Header& header, int version) {
    if (header.hasType()) return header.type();
    // Single-part files may omit `type`; the version flags say what they hold.
    if (Imf::isNonImage(version)) return Imf::DEEPSCANLINE;
    return Imf::isTiled(version) ? Imf::TILEDIMAGE : Imf::SCANLINEIMAGE;
}

// Header sanity checks, run on every part before any pixel is decoded. Each one rejects a header
// that no genuine, complete file of this size can have, so the library never allocates or loops
// for what a damaged header claims. All bounds are in int64 so that hostile values cannot wrap.
void check_part_header(const Imf::MultiPartInputFile& file, int part, int64_t size) {
    const Imf::Header& header = file.header(part);
    const std::string type = part_type(header, file.version());
    if (Imf::isDeepData(type)) throw Rejected(part_label(part) + "deep data is not supported");
    if (type != Imf::SCANLINEIMAGE && type != Imf::TILEDIMAGE) {
        throw Rejected(part_label(part) + "unknown part type '" + type + "'");
    }

    const Imath::Box2i dw = header.dataWindow();
    const int64_t width = int64_t(dw.max.x) - dw.min.x + 1;
    const int64_t height = int64_t(dw.max.y) - dw.min.y + 1;
    // OpenEXR enforces kMaxSide already (setMaxImageSize); repeated here so this function alone
    // guarantees the bounds the arithmetic below relies on.
    if (width < 1 || height < 1 || width > kMaxSide || height > kMaxSide) {
        throw Rejected(part_label(part) + "implausible data window " + std::to_string(width) + "x" +
                       std::to_string(height));
    }

    int64_t pixel_bytes = 0;
    for (auto it = header.channels().begin(); it != header.channels().end(); ++it) {
        const Imf::Channel& channel = it.channel();
        if (channel.xSampling < 1 || channel.ySampling < 1) {
            throw Rejected(part_label(part) + "channel '" + it.name() + "' has bad sampling");
        }
        const int64_t bytes = channel.type == Imf::HALF ? 2 : 4;
        pixel_bytes += bytes * (width / channel.xSampling + 1) * (height / channel.ySampling + 1);
    }
    if (pixel_bytes == 0) throw Rejected(part_label(part) + "no channels");

    // Every chunk costs an 8-byte offset-table entry plus at least an 8-byte chunk header.
    int64_t chunks = 0;
    if (type == Imf::TILEDIMAGE) {
        const Imf::TileDescription& tiles = header.tileDescription();
        if (tiles.xSize < 1 || tiles.ySize < 1) throw Rejected(part_label(part) + "bad tile size");
        chunks = ((width + tiles.xSize - 1) / tiles.xSize) * ((height + tiles.ySize - 1) / tiles.ySize);
    } else {
        const int64_t lines = lines_per_chunk(header.compression());
        chunks = (height + lines - 1) / lines;
    }
    if (chunks > size / 16) {
        throw Rejected(part_label(part) + std::to_string(chunks) +
                       " chunks cannot fit in a file of " + std::to_string(size) + " bytes");
    }

    // The pixels must be decodable from the bytes the file has: this catches headers that claim
    // gigabytes of pixels in a few hundred bytes (memory exhaustion while decoding).
    if (pixel_bytes > kSmallPartBytes &&
        pixel_bytes / max_compression_ratio(header.compression()) > size) {
        throw Rejected(part_label(part) + std::to_string(pixel_bytes) +
                       " bytes of pixels cannot be stored in a file of " + std::to_string(size) +
                       " bytes");
    }

    // A chunk-offset entry of zero means the writer never finished the file.
    if (!file.partComplete(part)) {
        throw Rejected(part_label(part) + "incomplete file (missing chunks)");
    }
}

Imf::FrameBuffer scratch_frame(const Imf::ChannelList& channels, std::vector<float>& scratch,
                               int64_t row_pixels, int xmin, bool tile_coords) {
    size_t count = 0;
    for (auto it = channels.begin(); it != channels.end(); ++it) ++count;
    scratch.assign(count * size_t(row_pixels), 0.0f);
    Imf::FrameBuffer frame;
    size_t c = 0;
    for (auto it = channels.begin(); it != channels.end(); ++it, ++c) {
        const Imf::Channel& channel = it.channel();  // sampling checked in check_part_header
        // yStride 0: every scanline (or tile row) lands on the same scratch row. We only want the
        // decoder to run, not the pixels, and memory stays one row per channel.
        const std::intptr_t origin = tile_coords ? 0 : xmin / channel.xSampling;
        const auto base = reinterpret_cast<std::intptr_t>(scratch.data() + c * size_t(row_pixels)) -
                          origin * std::intptr_t(sizeof(float));
        frame.insert(it.name(), Imf::Slice(Imf::FLOAT, reinterpret_cast<char*>(base), sizeof(float),
                                           0, channel.xSampling, channel.ySampling, 0.0,
                                           tile_coords, tile_coords));
    }
    return frame;
}

void read_scanline_part(Imf::MultiPartInputFile& file, int part) {
    Imf::InputPart in(file, part);
    const Imath::Box2i dw = in.header().dataWindow();
    std::vector<float> scratch;
    in.setFrameBuffer(scratch_frame(in.header().channels(), scratch,
                                    int64_t(dw.max.x) - dw.min.x + 1, dw.min.x, false));
    in.readPixels(dw.min.y, dw.max.y);
}

void read_tiled_part(Imf::MultiPartInputFile& file, int part) {
    Imf::TiledInputPart in(file, part);
    const Imath::Box2i dw = in.header().dataWindow();
    // Tile-relative coordinates: scratch needs one tile row, clamped to the image width.
    const int64_t row = std::min<int64_t>(in.tileXSize(), int64_t(dw.max.x) - dw.min.x + 1);
    std::vector<float> scratch;
    in.setFrameBuffer(scratch_frame(in.header().channels(), scratch, row, 0, true));
    auto read_level = [&](int lx, int ly) {
        in.readTiles(0, in.numXTiles(lx) - 1, 0, in.numYTiles(ly) - 1, lx, ly);
    };
    switch (in.levelMode()) {
        case Imf::ONE_LEVEL: read_level(0, 0); break;
        case Imf::MIPMAP_LEVELS:
            for (int l = 0; l < in.numLevels(); ++l) read_level(l, l);
            break;
        case Imf::RIPMAP_LEVELS:
            for (int ly = 0; ly < in.numYLevels(); ++ly)
                for (int lx = 0; lx < in.numXLevels(); ++lx) read_level(lx, ly);
            break;
        default: throw Rejected(part_label(part) + "unknown tile level mode");
    }
}

void run_validate(const std::string& path) {
    const int64_t size = file_size(path);
    check_magic(path);
    // No worker threads: scratch rows are shared by all lines, and a damaged file should fail in
    // this thread where the exception can be caught.
    Imf::MultiPartInputFile file(path.c_str(), 0);
    for (int part = 0; part < file.parts(); ++part) check_part_header(file, part, size);
    for (int part = 0; part < file.parts(); ++part) {
        // check_part_header let only flat scanline and tiled parts through.
        if (part_type(file.header(part), file.version()) == Imf::TILEDIMAGE) {
            read_tiled_part(file, part);
        } else {
            read_scanline_part(file, part);
        }
    }
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

void bind_exr(py::module_& m) {
    // Process-wide, but this module is the only user of this OpenEXR build in the process
    // (OpenImageIO's wheel bundles its own), and no genuine plate or matte comes near the limits.
    Imf::Header::setMaxImageSize(int(kMaxSide), int(kMaxSide));
    Imf::Header::setMaxTileSize(kMaxTileSide, kMaxTileSide);

    m.def("openexr_version", []() { return std::string(OPENEXR_VERSION_STRING); },
          "Version of the OpenEXR library the module was built against.");

    m.def("write_exr", &write_exr, py::arg("path"), py::arg("channels"), py::arg("planes"),
          py::arg("data_window"), py::arg("display_window"), py::arg("compression") = "zip",
          py::arg("half") = true, py::arg("attributes") = py::none(),
          "Write one scanline EXR part to exactly `path`.\n\n"
          "planes[i] is a C-contiguous float32 array of shape (data height, data width) holding\n"
          "channel channels[i] over the data window. Windows are inclusive (xmin, ymin, xmax, ymax).\n"
          "Raises ValueError for bad arguments, OSError/RuntimeError (naming the path) on failure.");

    m.def("validate_exr", &validate_exr, py::arg("path"),
          "Open `path` with OpenEXR, read every part's header and pixels; ValueError('<path>: ...')\n"
          "if the file is damaged, unreadable or holds deep data.");
}
