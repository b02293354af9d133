// See exr_merge.hpp.
#include "exr_merge.hpp"

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

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common.hpp"
#include "cryptomatte.hpp"
#include "exr_validate.hpp"

namespace mattetrack {

namespace {

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

// A part's pixels on the display window: each channel's samples at its own type, zero where the
// data window does not reach, cropped where it goes past (`on_display` merges, for Blender).
class DisplayPixels {
  public:
    DisplayPixels(Imf::MultiPartInputFile& in, int part, const std::string& type) {
        const Imf::Header& h = in.header(part);
        display_ = h.displayWindow();
        const Imath::Box2i dw = h.dataWindow();
        const int64_t dw_w = int64_t(dw.max.x) - dw.min.x + 1;
        const int64_t dw_h = int64_t(dw.max.y) - dw.min.y + 1;
        Imf::FrameBuffer frame;
        size_t count = 0;
        for (auto it = h.channels().begin(); it != h.channels().end(); ++it) ++count;
        std::vector<std::vector<char>> read(count);
        size_t c = 0;
        for (auto it = h.channels().begin(); it != h.channels().end(); ++it, ++c) {
            const Imf::Channel& ch = it.channel();
            if (ch.xSampling != 1 || ch.ySampling != 1) {
                throw Rejected(std::string("channel '") + it.name() +
                               "' is subsampled; it cannot move onto the display window");
            }
            const size_t size = ch.type == Imf::HALF ? 2 : 4;
            read[c].assign(size_t(dw_w * dw_h) * size, 0);
            const auto base = reinterpret_cast<std::intptr_t>(read[c].data()) -
                              std::intptr_t(dw.min.x) * std::intptr_t(size) -
                              std::intptr_t(dw.min.y) * std::intptr_t(size_t(dw_w) * size);
            frame.insert(it.name(), Imf::Slice(ch.type, reinterpret_cast<char*>(base), size,
                                               size_t(dw_w) * size));
            names_.push_back(it.name());
            types_.push_back(ch.type);
        }
        if (type == Imf::SCANLINEIMAGE) {
            Imf::InputPart src(in, part);
            src.setFrameBuffer(frame);
            src.readPixels(dw.min.y, dw.max.y);
        } else {  // the full-resolution level of a tiled (or mip-mapped) part
            Imf::TiledInputPart src(in, part);
            src.setFrameBuffer(frame);
            src.readTiles(0, src.numXTiles(0) - 1, 0, src.numYTiles(0) - 1, 0, 0);
        }
        const int64_t w = width(), hgt = height();
        const Imath::Box2i both(Imath::V2i(std::max(dw.min.x, display_.min.x),
                                           std::max(dw.min.y, display_.min.y)),
                                Imath::V2i(std::min(dw.max.x, display_.max.x),
                                           std::min(dw.max.y, display_.max.y)));
        for (size_t k = 0; k < read.size(); ++k) {
            const size_t size = types_[k] == Imf::HALF ? 2 : 4;
            pixels_.emplace_back(size_t(w * hgt) * size, 0);
            if (both.min.x > both.max.x || both.min.y > both.max.y) continue;
            const size_t run = size_t(both.max.x - both.min.x + 1) * size;
            for (int y = both.min.y; y <= both.max.y; ++y) {
                const char* from = read[k].data() +
                                   (size_t(y - dw.min.y) * size_t(dw_w) +
                                    size_t(both.min.x - dw.min.x)) * size;
                char* to = pixels_[k].data() + (size_t(y - display_.min.y) * size_t(w) +
                                                size_t(both.min.x - display_.min.x)) * size;
                std::copy(from, from + run, to);
            }
        }
    }

    int64_t width() const { return int64_t(display_.max.x) - display_.min.x + 1; }
    int64_t height() const { return int64_t(display_.max.y) - display_.min.y + 1; }

    // Slices of every channel, addressed by absolute display-window coordinates.
    void insert(Imf::FrameBuffer& frame) const {
        for (size_t k = 0; k < pixels_.size(); ++k) {
            const size_t size = types_[k] == Imf::HALF ? 2 : 4;
            const size_t y_stride = size_t(width()) * size;
            const auto base = reinterpret_cast<std::intptr_t>(pixels_[k].data()) -
                              std::intptr_t(display_.min.x) * std::intptr_t(size) -
                              std::intptr_t(display_.min.y) * std::intptr_t(y_stride);
            frame.insert(names_[k], Imf::Slice(types_[k], reinterpret_cast<char*>(base), size,
                                               y_stride));
        }
    }

  private:
    Imath::Box2i display_;
    std::vector<std::string> names_;
    std::vector<Imf::PixelType> types_;
    std::vector<std::vector<char>> pixels_;
};

// The header of a part moved onto its display window: scanline, its level 0 only, and a lossless
// codec (a lossy one's own if it has one: it is already decoded, so re-encoding it would lose
// bits twice; ZIP then).
void move_header_onto_display(Imf::Header& header);

// Codecs whose decode/encode round trip gives back every bit, so a part in one of them can be
// rewritten with more channels (PXR24, B44 and DWA are lossy for some or all pixel types).
bool lossless(Imf::Compression compression) {
    return compression == Imf::NO_COMPRESSION || compression == Imf::RLE_COMPRESSION ||
           compression == Imf::ZIPS_COMPRESSION || compression == Imf::ZIP_COMPRESSION ||
           compression == Imf::PIZ_COMPRESSION;
}

void move_header_onto_display(Imf::Header& header) {
    header.dataWindow() = header.displayWindow();
    if (header.hasTileDescription()) header.erase("tiles");
    header.setType(Imf::SCANLINEIMAGE);
    if (header.lineOrder() == Imf::RANDOM_Y) header.lineOrder() = Imf::INCREASING_Y;
    if (!lossless(header.compression())) header.compression() = Imf::ZIP_COMPRESSION;
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

// Blender (5.0) names the layers of a named part "<part>.<layer>" and looks a Cryptomatte up by
// the layer names it makes: a second entry for the same channels, type "<part>.<type>", lets it
// find ours (docs/CONVENTIONS.md, "Blender"). Added to every part, as the first entry is.
void add_part_named_cryptomatte(const MatteJob& job, const std::string& part,
                                std::vector<Imf::Header>& headers) {
    if (!job.has_crypto || part.empty()) return;
    const std::string suffix = "/manifest";
    std::string manifest;
    for (const auto& [name, value] : job.attributes) {
        if (name.rfind("cryptomatte/", 0) == 0 && name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            manifest = value;
        }
    }
    const std::string type = part + "." + job.crypto.prefix;
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", murmur3_32(type));
    const std::string key = "cryptomatte/" + std::string(hex, 7) + "/";
    const std::vector<std::pair<std::string, std::string>> entries = {
        {"name", type}, {"hash", "MurmurHash3_32"}, {"conversion", "uint32_to_float32"},
        {"manifest", manifest}};
    for (auto& header : headers) {
        for (const auto& [name, value] : entries) {
            if (header.find(key + name) == header.end()) {
                header.insert(key + name, Imf::StringAttribute(value));
            }
        }
    }
}

}  // namespace

void run_merge(const std::string& plate, const MatteJob& job, const std::string& part_name,
               const std::string& view, int extend_part, bool part_named_cryptomatte,
               bool on_display) {
    const int64_t size = file_size(plate);
    check_magic(plate);
    Imf::MultiPartInputFile in(plate.c_str(), Imf::globalThreadCount());
    const int parts = in.parts();
    std::vector<Imf::Header> headers;
    std::vector<std::string> types;
    // Parts moved onto their display window (on_display: Blender reads a data window as the whole
    // image, so only a part on its display window lands where other readers put it), decoded.
    std::vector<std::unique_ptr<DisplayPixels>> moved(static_cast<size_t>(parts));
    for (int part = 0; part < parts; ++part) {
        // Deep parts are refused as they are on input: nothing could have been tracked in them,
        // and their sample data cannot be checked like pixels.
        check_part_header(in, part, size);
        types.push_back(part_type(in.header(part), in.version()));
    }
    if (on_display) {
        for (int part = 0; part < parts; ++part) {
            const Imf::Header& h = in.header(part);
            if (h.dataWindow() != h.displayWindow()) {
                moved[size_t(part)] = std::make_unique<DisplayPixels>(in, part,
                                                                      types[size_t(part)]);
            }
        }
    }
    auto header_of = [&](int part) {
        Imf::Header h = in.header(part);
        if (moved[size_t(part)]) move_header_onto_display(h);
        return h;
    };
    // The mattes join the plate's own part (the one they were made from) when that part can be
    // rewritten exactly: then every reader of that part sees them, and a Cryptomatte sits with
    // its manifest, which readers that only look at one part (cryptomatte-api) need. Otherwise
    // (tiled or mip-mapped parts, lossy codecs) they go to a part of their own.
    const bool extend = extend_part >= 0 && extend_part < parts &&
                        (moved[size_t(extend_part)] ||
                         (types[size_t(extend_part)] == Imf::SCANLINEIMAGE &&
                          lossless(in.header(extend_part).compression()))) &&
                        header_of(extend_part).dataWindow() == job.data;
    {
        // Chunks copied as they are would carry damage into the copy unseen: decode every part
        // that is not decoded while writing (single-threaded, see run_validate) before writing.
        Imf::MultiPartInputFile check(plate.c_str(), 0);
        for (int part = 0; part < parts; ++part) {
            if (!(extend && part == extend_part) && !moved[size_t(part)]) read_part(check, part);
        }
    }
    for (int part = 0; part < parts; ++part) {
        Imf::Header header = header_of(part);
        if (moved[size_t(part)]) types[size_t(part)] = Imf::SCANLINEIMAGE;
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
    if (!extend) {
        Imf::Header mattes = matte_header(job);
        copy_shared_attributes(headers.front(), mattes);
        mattes.setName(unique_part_name(headers, part_name));
        mattes.setType(Imf::SCANLINEIMAGE);
        if (!view.empty()) mattes.setView(view);
        headers.push_back(mattes);
    }
    if (part_named_cryptomatte) {
        const Imf::Header& holder = extend ? headers[size_t(extend_part)] : headers.back();
        add_part_named_cryptomatte(job, holder.hasName() ? holder.name() : "", headers);
    }
    // A moved part's own channels come from memory, for the rows the writer asks for.
    auto from_memory = [&](int part) {
        const DisplayPixels* pixels = moved[size_t(part)].get();
        return [pixels](Imf::FrameBuffer& frame, int, int) { pixels->insert(frame); };
    };
    if (extend && parts == 1) {  // stays a single-part file
        Imf::OutputFile out(job.path.c_str(), headers.front(), Imf::globalThreadCount());
        if (moved[0]) {
            write_matte_pixels(out, job, from_memory(0));
        } else {
            Imf::InputPart src(in, 0);
            write_matte_pixels(out, job, PlateRows(src));
        }
        return;
    }
    Imf::MultiPartOutputFile out(job.path.c_str(), headers.data(), int(headers.size()),
                                 /*overrideSharedAttributes=*/false, Imf::globalThreadCount());
    for (int part = 0; part < parts; ++part) {
        const DisplayPixels* pixels = moved[size_t(part)].get();
        if (extend && part == extend_part) {
            Imf::OutputPart dst(out, part);
            if (pixels) {
                write_matte_pixels(dst, job, from_memory(part));
            } else {
                Imf::InputPart src(in, part);
                write_matte_pixels(dst, job, PlateRows(src));
            }
        } else if (pixels) {
            Imf::OutputPart dst(out, part);
            Imf::FrameBuffer frame;
            pixels->insert(frame);
            dst.setFrameBuffer(frame);
            dst.writePixels(int(pixels->height()));
        } else {
            copy_part(in, out, part, types[size_t(part)]);
        }
    }
    if (!extend) {
        Imf::OutputPart added(out, parts);
        write_matte_pixels(added, job);
    }
}

}  // namespace mattetrack
