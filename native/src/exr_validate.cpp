// See exr_validate.hpp.
#include "exr_validate.hpp"

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
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "common.hpp"

namespace mattetrack {

namespace {

// Below this much pixel data a part cannot hurt, whatever its size on disk.
constexpr int64_t kSmallPartBytes = int64_t(1) << 20;

}  // namespace

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

namespace {

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

}  // namespace

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

namespace {

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

}  // namespace

void read_part(Imf::MultiPartInputFile& file, int part) {
    if (part_type(file.header(part), file.version()) == Imf::TILEDIMAGE) {
        read_tiled_part(file, part);
    } else {
        read_scanline_part(file, part);
    }
}

void run_validate(const std::string& path) {
    const int64_t size = file_size(path);
    check_magic(path);
    // No worker threads: scratch rows are shared by all lines, and a damaged file should fail in
    // this thread where the exception can be caught.
    Imf::MultiPartInputFile file(path.c_str(), 0);
    for (int part = 0; part < file.parts(); ++part) check_part_header(file, part, size);
    // check_part_header let only flat scanline and tiled parts through.
    for (int part = 0; part < file.parts(); ++part) read_part(file, part);
}

}  // namespace mattetrack
