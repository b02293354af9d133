#include "mattes.hpp"

#include <Imath/half.h>
#include <OpenEXR/ImfChannelList.h>
#include <OpenEXR/ImfFrameBuffer.h>
#include <OpenEXR/ImfOutputFile.h>
#include <OpenEXR/ImfOutputPart.h>
#include <OpenEXR/ImfStringAttribute.h>
#include <OpenEXR/ImfThreading.h>

#include <algorithm>
#include <set>

#include "cryptomatte.hpp"

namespace mattetrack {

std::vector<std::string> CryptoJob::channel_names() const {
    static const char* kChannels[4] = {"R", "G", "B", "A"};
    std::vector<std::string> names;
    for (int layer = 0; layer < ranks / 2; ++layer) {
        char index[8];
        std::snprintf(index, sizeof(index), "%02d", layer);
        for (const char* c : kChannels) names.push_back(prefix + index + "." + c);
    }
    return names;
}

void check_crypto(MatteJob& job, const std::string& prefix, const std::vector<size_t>& sources,
                  const std::vector<uint32_t>& hashes, int ranks) {
    check_name(prefix + "00.R", "Cryptomatte channel");
    if (prefix.find('.') != std::string::npos) value_error("Cryptomatte name must not contain '.'");
    if (ranks < 2 || ranks > 32 || ranks % 2 != 0) {
        value_error("Cryptomatte ranks must be even, 2 to 32; got " + std::to_string(ranks));
    }
    if (sources.empty() || sources.size() != hashes.size()) {
        value_error("Cryptomatte needs one id per source plane (got " +
                    std::to_string(sources.size()) + " sources, " + std::to_string(hashes.size()) +
                    " ids)");
    }
    std::set<uint32_t> seen;
    for (size_t i = 0; i < sources.size(); ++i) {
        if (sources[i] >= job.planes.size()) {
            value_error("Cryptomatte source " + std::to_string(sources[i]) + " is not a plane index");
        }
        const uint32_t bits = cryptomatte_bits(hashes[i]);
        if (!seen.insert(bits).second) value_error("two Cryptomatte sources have the same id");
        job.crypto.id_bits.push_back(bits);
    }
    job.crypto.prefix = prefix;
    job.crypto.sources = sources;
    job.crypto.ranks = ranks;
    job.has_crypto = true;
    std::set<std::string> names(job.channels.begin(), job.channels.end());
    for (const auto& name : job.crypto.channel_names()) {
        if (names.count(name)) value_error("channel '" + name + "' is both a matte and Cryptomatte");
    }
}

MatteJob make_job(const std::string& path, const MatteSpec& spec, std::vector<py::array>& keep) {
    if (path.empty()) value_error("path is empty");
    MatteJob job;
    job.path = path;
    job.data = check_window(spec.data_window, "data window");
    job.display = check_window(spec.display_window, "display window");
    job.compression = check_compression(spec.compression);
    job.half = spec.half;
    check_channel_names(spec.channels);
    job.channels = spec.channels;
    job.planes = check_planes(spec.planes, spec.channels, job.data, keep);
    if (spec.attributes) {
        check_attributes(*spec.attributes);
        job.attributes = *spec.attributes;
    }
    if (spec.cryptomatte) {
        const auto& [prefix, sources, hashes, ranks] = *spec.cryptomatte;
        check_crypto(job, prefix, sources, hashes, ranks);
    }
    return job;
}

void write_matte_file(const MatteJob& job) {
    // OpenEXR's pool compresses the chunks of each block in parallel.
    Imf::OutputFile out(job.path.c_str(), matte_header(job), Imf::globalThreadCount());
    write_matte_pixels(out, job);
}

Imf::Header matte_header(const MatteJob& job) {
    Imf::Header header(job.display, job.data);
    header.compression() = job.compression;
    // zlib level 1 (its fast strategy), not OpenEXR's default 4: a one-object Cryptomatte took
    // 260 ms of CPU a 1080p frame to compress, 164 ms at level 1, for files 45% larger; the
    // mattes alone 33 -> 24 ms, 20% larger (docs/tuning.md, "Cryptomatte cost"). A merge's
    // plate parts keep their own level.
    header.zipCompressionLevel() = 1;
    header.lineOrder() = Imf::INCREASING_Y;
    const Imf::PixelType type = job.half ? Imf::HALF : Imf::FLOAT;
    for (const auto& name : job.channels) header.channels().insert(name, Imf::Channel(type));
    if (job.has_crypto) {
        // IDs are float bit patterns: never half, never a lossy codec (check_compression).
        for (const auto& name : job.crypto.channel_names()) {
            header.channels().insert(name, Imf::Channel(Imf::FLOAT));
        }
    }
    for (const auto& [name, value] : job.attributes) {
        header.insert(name, Imf::StringAttribute(value));
    }
    return header;
}

namespace {

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

// Rows per block: a multiple of every codec's chunk height (ZIP 16, PIZ 32), so no chunk straddles
// two blocks, and enough chunks per block (16 ZIP chunks) for OpenEXR's threads to compress in
// parallel, while the scratch stays a fraction of the image.
constexpr int kBlockRows = 256;

}  // namespace

template <class Out>
void write_matte_pixels(Out& out, const MatteJob& job, const BlockSlices& extra) {
    const size_t width = size_t(job.width());
    const size_t block_pixels = width * size_t(std::min(kBlockRows, job.height()));
    const size_t n = job.channels.size();
    std::vector<std::vector<Imath::half>> halves(job.half ? n : 0,
                                                 std::vector<Imath::half>(block_pixels));
    const std::vector<std::string> crypto_names =
        job.has_crypto ? job.crypto.channel_names() : std::vector<std::string>();
    std::vector<std::vector<float>> crypto(crypto_names.size(), std::vector<float>(block_pixels));

    // Scanlines go to the file in the part's line order: a plate written bottom to top
    // (DECREASING_Y) keeps that order when the mattes join its part.
    const bool decreasing = out.header().lineOrder() == Imf::DECREASING_Y;
    const int blocks = (job.height() + kBlockRows - 1) / kBlockRows;
    for (int b = 0; b < blocks; ++b) {
        const int row = (decreasing ? blocks - 1 - b : b) * kBlockRows;
        const int rows = std::min(kBlockRows, job.height() - row);
        const size_t offset = width * size_t(row);
        // Pixel work for the block, split by rows over the workers.
        parallel_rows(rows, [&](int begin, int end) {
            const size_t first = width * size_t(begin);
            const size_t count = width * size_t(end - begin);
            for (size_t c = 0; c < halves.size(); ++c) {
                const float* src = job.planes[c] + offset + first;
                Imath::half* dst = halves[c].data() + first;
                for (size_t i = 0; i < count; ++i) dst[i] = Imath::half(src[i]);
            }
            if (job.has_crypto) {
                std::vector<const float*> coverage;
                for (size_t s : job.crypto.sources) coverage.push_back(job.planes[s] + offset + first);
                std::vector<float*> layers;
                for (auto& plane : crypto) layers.push_back(plane.data() + first);
                rank_coverage(coverage, job.crypto.id_bits, count, job.crypto.ranks, layers);
            }
        });
        Imf::FrameBuffer frame;
        const int y0 = job.data.min.y + row;
        for (size_t c = 0; c < n; ++c) {
            if (job.half) {
                frame.insert(job.channels[c], slice_for_rows(Imf::HALF, halves[c].data(),
                                                             sizeof(Imath::half), job.width(),
                                                             job.data.min.x, y0));
            } else {
                // FLOAT output: OpenEXR reads straight from the caller's planes, no copy.
                frame.insert(job.channels[c],
                             slice_for_rows(Imf::FLOAT, job.planes[c] + offset, sizeof(float),
                                            job.width(), job.data.min.x, y0));
            }
        }
        for (size_t c = 0; c < crypto_names.size(); ++c) {
            frame.insert(crypto_names[c], slice_for_rows(Imf::FLOAT, crypto[c].data(), sizeof(float),
                                                         job.width(), job.data.min.x, y0));
        }
        if (extra) extra(frame, y0, rows);
        out.setFrameBuffer(frame);
        out.writePixels(rows);
    }
}

template void write_matte_pixels<Imf::OutputFile>(Imf::OutputFile&, const MatteJob&,
                                                  const BlockSlices&);
template void write_matte_pixels<Imf::OutputPart>(Imf::OutputPart&, const MatteJob&,
                                                  const BlockSlices&);

}  // namespace mattetrack
