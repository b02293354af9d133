// EXR I/O through the OpenEXR C++ library: the matte writer (sidecar files), the merged plate copy
// and a safety net for damaged inputs. See common.hpp for how errors cross the GIL boundary.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <Imath/ImathBox.h>
#include <OpenEXR/ImfChannelList.h>
#include <OpenEXR/ImfFrameBuffer.h>
#include <OpenEXR/ImfHeader.h>
#include <OpenEXR/ImfInputPart.h>
#include <OpenEXR/ImfMultiPartInputFile.h>
#include <OpenEXR/ImfMultiPartOutputFile.h>
#include <OpenEXR/ImfOutputFile.h>
#include <OpenEXR/ImfOutputPart.h>
#include <OpenEXR/ImfPartType.h>
#include <OpenEXR/ImfStandardAttributes.h>
#include <OpenEXR/ImfStringAttribute.h>
#include <OpenEXR/ImfThreading.h>
#include <OpenEXR/ImfTiledInputPart.h>
#include <OpenEXR/ImfTiledOutputPart.h>
#include <OpenEXR/ImfVersion.h>
#include <OpenEXR/OpenEXRConfig.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common.hpp"
#include "mattes.hpp"

namespace mattetrack {

namespace {

// (layer prefix, source plane indices, MurmurHash3 hashes, ranks), as the Python wrapper passes it.
using CryptoArgs = std::tuple<std::string, std::vector<size_t>, std::vector<uint32_t>, int>;

// Checks everything a matte part needs (GIL held) and returns the job; `keep` holds the arrays.
MatteJob make_job(const std::string& path, const std::vector<std::string>& channels,
                  const py::sequence& planes, const WindowTuple& data_window,
                  const WindowTuple& display_window, const std::string& compression, bool half,
                  const std::optional<std::map<std::string, std::string>>& attributes,
                  const std::optional<CryptoArgs>& cryptomatte, std::vector<py::array>& keep) {
    if (path.empty()) value_error("path is empty");
    MatteJob job;
    job.path = path;
    job.data = check_window(data_window, "data window");
    job.display = check_window(display_window, "display window");
    job.compression = check_compression(compression);
    job.half = half;
    check_channel_names(channels);
    job.channels = channels;
    job.planes = check_planes(planes, channels, job.data, keep);
    if (attributes) {
        check_attributes(*attributes);
        job.attributes = *attributes;
    }
    if (cryptomatte) {
        const auto& [prefix, sources, hashes, ranks] = *cryptomatte;
        check_crypto(job, prefix, sources, hashes, ranks);
    }
    return job;
}

// ---------------------------------------------------------------------------------------------
// Sidecar files (no GIL)
// ---------------------------------------------------------------------------------------------

void write_exr(const std::string& path, const std::vector<std::string>& channels,
               const py::sequence& planes, const WindowTuple& data_window,
               const WindowTuple& display_window, const std::string& compression, bool half,
               const std::optional<std::map<std::string, std::string>>& attributes,
               const std::optional<CryptoArgs>& cryptomatte) {
    std::vector<py::array> keep;
    const MatteJob job = make_job(path, channels, planes, data_window, display_window, compression,
                                  half, attributes, cryptomatte, keep);
    Failure failure;
    {
        py::gil_scoped_release release;
        failure = capture(path, [&] {
            // OpenEXR's pool compresses the chunks of each block in parallel.
            Imf::OutputFile out(job.path.c_str(), matte_header(job), Imf::globalThreadCount());
            write_matte_pixels(out, job);
        });
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

// ---------------------------------------------------------------------------------------------
// Merged plate copies (no GIL)
// ---------------------------------------------------------------------------------------------

// Attributes that OpenEXR requires to be equal in every part of a multi-part file.
void copy_shared_attributes(const Imf::Header& from, Imf::Header& to) {
    for (const char* name : {"displayWindow", "pixelAspectRatio", "timeCode", "chromaticities"}) {
        if (from.find(name) != from.end()) to.insert(name, from[name]);
    }
}

// A part name not used by any of `headers`: `wanted`, else wanted_2, wanted_3, ...
std::string unique_part_name(const std::vector<Imf::Header>& headers, const std::string& wanted) {
    std::set<std::string> taken;
    for (const auto& h : headers) {
        if (h.hasName()) taken.insert(h.name());
    }
    std::string name = wanted;
    for (int n = 2; taken.count(name); ++n) name = wanted + "_" + std::to_string(n);
    return name;
}

void copy_part(Imf::MultiPartInputFile& in, Imf::MultiPartOutputFile& out, int part,
               const std::string& type) {
    // copyPixels moves the compressed chunks as they are: every bit of every channel and level is
    // kept whatever the codec (a lossy DWA or B44 plate is not re-encoded).
    // (check_part_header let only flat scanline and tiled parts through.)
    if (type == Imf::SCANLINEIMAGE) {
        Imf::InputPart src(in, part);
        Imf::OutputPart(out, part).copyPixels(src);
    } else {
        Imf::TiledInputPart src(in, part);
        Imf::TiledOutputPart(out, part).copyPixels(src);
    }
}

// Floor division: data windows may start at negative coordinates.
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Number of multiples of `step` in [lo, hi].
int64_t multiples(int64_t lo, int64_t hi, int64_t step) {
    return hi < lo ? 0 : floor_div(hi, step) - floor_div(lo - 1, step);
}

// Reads a plate part's own channels, block by block, in their own pixel types (HALF, FLOAT, UINT:
// no conversion, so every bit and NaN payload is kept), and hands the same slices to the writer.
class PlateRows {
  public:
    explicit PlateRows(Imf::InputPart& in) : in_(in) {}

    void operator()(Imf::FrameBuffer& out, int y0, int rows) {
        const Imath::Box2i dw = in_.header().dataWindow();
        const int y1 = y0 + rows - 1;
        Imf::FrameBuffer frame;
        size_t c = 0;
        for (auto it = in_.header().channels().begin(); it != in_.header().channels().end();
             ++it, ++c) {
            const Imf::Channel& ch = it.channel();
            const int64_t xs = ch.xSampling, ys = ch.ySampling;
            const size_t size = ch.type == Imf::HALF ? 2 : 4;
            // The data window's origin is a multiple of the sampling (OpenEXR checks it).
            const int64_t nx = multiples(dw.min.x, dw.max.x, xs);
            const int64_t ny = multiples(y0, y1, ys);
            const int64_t first_y = floor_div(y0 + ys - 1, ys);  // first sampled row / ys
            if (buffers_.size() <= c) buffers_.emplace_back();
            buffers_[c].resize(size_t(std::max<int64_t>(nx * std::max<int64_t>(ny, 1), 1)) * size);
            const size_t y_stride = size_t(nx) * size;
            const auto base = reinterpret_cast<std::intptr_t>(buffers_[c].data()) -
                              std::intptr_t(dw.min.x / xs) * std::intptr_t(size) -
                              std::intptr_t(first_y) * std::intptr_t(y_stride);
            const Imf::Slice slice(ch.type, reinterpret_cast<char*>(base), size, y_stride,
                                   int(xs), int(ys));
            frame.insert(it.name(), slice);
            out.insert(it.name(), slice);
        }
        in_.setFrameBuffer(frame);
        in_.readPixels(y0, y1);
    }

  private:
    Imf::InputPart& in_;
    std::vector<std::vector<char>> buffers_;
};

// Codecs whose decode/encode round trip gives back every bit, so a part in one of them can be
// rewritten with more channels (PXR24, B44 and DWA are lossy for some or all pixel types).
bool lossless(Imf::Compression compression) {
    return compression == Imf::NO_COMPRESSION || compression == Imf::RLE_COMPRESSION ||
           compression == Imf::ZIPS_COMPRESSION || compression == Imf::ZIP_COMPRESSION ||
           compression == Imf::PIZ_COMPRESSION;
}

void add_channels(const MatteJob& job, Imf::Header& header) {
    const Imf::Header mattes = matte_header(job);
    for (auto it = mattes.channels().begin(); it != mattes.channels().end(); ++it) {
        if (header.channels().findChannel(it.name())) {
            throw Rejected(std::string("the plate already has a channel '") + it.name() + "'");
        }
        header.channels().insert(it.name(), it.channel());
    }
}

void run_merge(const std::string& plate, const MatteJob& job, const std::string& part_name,
               const std::string& view, int extend_part) {
    const int64_t size = file_size(plate);
    check_magic(plate);
    Imf::MultiPartInputFile in(plate.c_str(), Imf::globalThreadCount());
    const int parts = in.parts();
    std::vector<Imf::Header> headers;
    std::vector<std::string> types;
    for (int part = 0; part < parts; ++part) {
        // Deep parts are refused as they are on input: nothing could have been tracked in them,
        // and their sample data cannot be checked like pixels.
        check_part_header(in, part, size);
        types.push_back(part_type(in.header(part), in.version()));
    }
    // The mattes join the plate's own part (the one they were made from) when that part can be
    // rewritten exactly: then every reader of that part sees them, and a Cryptomatte sits with
    // its manifest, which readers that only look at one part (cryptomatte-api) need. Otherwise
    // (tiled or mip-mapped parts, lossy codecs) they go to a part of their own.
    const bool extend = extend_part >= 0 && extend_part < parts &&
                        types[size_t(extend_part)] == Imf::SCANLINEIMAGE &&
                        lossless(in.header(extend_part).compression()) &&
                        in.header(extend_part).dataWindow() == job.data;
    {
        // Chunks copied as they are would carry damage into the copy unseen: decode every part
        // that is not decoded while writing (single-threaded, see run_validate) before writing.
        Imf::MultiPartInputFile check(plate.c_str(), 0);
        for (int part = 0; part < parts; ++part) {
            if (extend && part == extend_part) continue;
            if (types[size_t(part)] == Imf::TILEDIMAGE) {
                read_tiled_part(check, part);
            } else {
                read_scanline_part(check, part);
            }
        }
    }
    for (int part = 0; part < parts; ++part) {
        Imf::Header header = in.header(part);
        if (extend && part == extend_part) add_channels(job, header);
        if (parts > 1 || !extend) {
            // A multi-part file needs a name and a type on every part; a single-part plate gains
            // them and nothing else.
            if (!header.hasType()) header.setType(types[size_t(part)]);
            if (!header.hasName()) header.setName(parts == 1 && header.hasView() ? header.view() : "rgba");
        }
        // Cryptomatte readers look for the manifest in the header of the part they read: every
        // part gets the new Cryptomatte's attributes. Nothing the plate has is replaced.
        for (const auto& [name, value] : job.attributes) {
            if (name.rfind("cryptomatte/", 0) == 0 && header.find(name) == header.end()) {
                header.insert(name, Imf::StringAttribute(value));
            }
        }
        headers.push_back(header);
    }
    if (extend && parts == 1) {  // stays a single-part file
        Imf::OutputFile out(job.path.c_str(), headers.front(), Imf::globalThreadCount());
        Imf::InputPart src(in, 0);
        write_matte_pixels(out, job, PlateRows(src));
        return;
    }
    if (!extend) {
        Imf::Header mattes = matte_header(job);
        copy_shared_attributes(headers.front(), mattes);
        mattes.setName(unique_part_name(headers, part_name));
        mattes.setType(Imf::SCANLINEIMAGE);
        if (!view.empty()) mattes.setView(view);
        headers.push_back(mattes);
    }
    Imf::MultiPartOutputFile out(job.path.c_str(), headers.data(), int(headers.size()),
                                 /*overrideSharedAttributes=*/false, Imf::globalThreadCount());
    for (int part = 0; part < parts; ++part) {
        if (extend && part == extend_part) {
            Imf::InputPart src(in, part);
            Imf::OutputPart dst(out, part);
            write_matte_pixels(dst, job, PlateRows(src));
        } else {
            copy_part(in, out, part, types[size_t(part)]);
        }
    }
    if (!extend) {
        Imf::OutputPart added(out, parts);
        write_matte_pixels(added, job);
    }
}

void merge_exr(const std::string& plate, const std::string& path,
               const std::vector<std::string>& channels, const py::sequence& planes,
               const WindowTuple& data_window, const WindowTuple& display_window,
               const std::string& compression, bool half,
               const std::optional<std::map<std::string, std::string>>& attributes,
               const std::optional<CryptoArgs>& cryptomatte, const std::string& part_name,
               const std::string& view, int extend_part) {
    if (plate.empty()) value_error("plate path is empty");
    if (plate == path) value_error("the merged copy would overwrite the plate");
    check_name(part_name, "part");
    std::vector<py::array> keep;
    const MatteJob job = make_job(path, channels, planes, data_window, display_window, compression,
                                  half, attributes, cryptomatte, keep);
    Failure failure;
    {
        py::gil_scoped_release release;
        // Reading errors name the plate, writing errors the output; both messages say which.
        failure = capture(path, [&] {
            try {
                run_merge(plate, job, part_name, view, extend_part);
            } catch (const Rejected& e) {
                throw Rejected(std::string("plate ") + plate + ": " + e.what());
            }
        });
    }
    if (failure) raise(failure);
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

    m.def("write_exr", &write_exr, py::arg("path"), py::arg("channels"), py::arg("planes"),
          py::arg("data_window"), py::arg("display_window"), py::arg("compression") = "zip",
          py::arg("half") = true, py::arg("attributes") = py::none(),
          py::arg("cryptomatte") = py::none(),
          "Write one scanline EXR part of matte channels (and a Cryptomatte) to exactly `path`.");

    m.def("merge_exr", &merge_exr, py::arg("plate"), py::arg("path"), py::arg("channels"),
          py::arg("planes"), py::arg("data_window"), py::arg("display_window"),
          py::arg("compression") = "zip", py::arg("half") = true,
          py::arg("attributes") = py::none(), py::arg("cryptomatte") = py::none(),
          py::arg("part_name") = "mattetrack", py::arg("view") = "", py::arg("extend_part") = -1,
          "Copy `plate` to `path` with matte channels added, every original bit kept.");

    m.def("validate_exr", &validate_exr, py::arg("path"),
          "Open `path` with OpenEXR, read every part's header and pixels; ValueError('<path>: ...')\n"
          "if the file is damaged, unreadable or holds deep data.");
}
