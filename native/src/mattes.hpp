// One part of matte channels (and optionally a Cryptomatte): its header and its pixels. Used for
// the sidecar files (a single-part file) and for merged plate copies (an added part).
#pragma once

#include <OpenEXR/ImfFrameBuffer.h>
#include <OpenEXR/ImfHeader.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common.hpp"

namespace mattetrack {

struct CryptoJob {
    std::string prefix;             // layer name prefix: channels <prefix>00.R ... <prefix>NN.A
    std::vector<size_t> sources;    // indices into MatteJob::planes: the objects' coverage
    std::vector<uint32_t> id_bits;  // one per source: its id as stored (cryptomatte_bits)
    int ranks = 6;                  // even; ranks / 2 layers of RGBA

    std::vector<std::string> channel_names() const;
};

struct MatteJob {
    std::string path;
    std::vector<std::string> channels;
    std::vector<const float*> planes;  // each (height, width), row-major over the data window
    Imath::Box2i data;
    Imath::Box2i display;
    Imf::Compression compression = Imf::ZIP_COMPRESSION;
    bool half = true;
    std::map<std::string, std::string> attributes;
    bool has_crypto = false;
    CryptoJob crypto;

    int width() const { return data.max.x - data.min.x + 1; }
    int height() const { return data.max.y - data.min.y + 1; }
};

// (layer prefix, source plane indices, MurmurHash3 hashes, ranks), as the Python side gives it.
using CryptoArgs = std::tuple<std::string, std::vector<size_t>, std::vector<uint32_t>, int>;

// What the Python side asks to write, bound as `_native.MatteSpec`: the channels and their
// float32 planes over the data window, the windows, the codec and precision, header attributes
// and an optional Cryptomatte. Plain data: `make_job` checks it.
struct MatteSpec {
    std::vector<std::string> channels;
    py::list planes;
    WindowTuple data_window{};
    WindowTuple display_window{};
    std::string compression = "zip";
    bool half = true;
    std::optional<std::map<std::string, std::string>> attributes;
    std::optional<CryptoArgs> cryptomatte;
};

// Checks everything a matte part needs (GIL held) and returns the job to write to `path`;
// `keep` holds the planes' arrays so the job's pointers stay valid without the GIL.
MatteJob make_job(const std::string& path, const MatteSpec& spec, std::vector<py::array>& keep);

// Writes the job as a single-part scanline file at job.path (no GIL).
void write_matte_file(const MatteJob& job);

// Checks the Cryptomatte arguments against the job (GIL held); fills job.crypto.
void check_crypto(MatteJob& job, const std::string& prefix, const std::vector<size_t>& sources,
                  const std::vector<uint32_t>& hashes, int ranks);

// The part's header: matte channels HALF or FLOAT, Cryptomatte channels FLOAT, the attributes.
Imf::Header matte_header(const MatteJob& job);

// Adds slices of other channels for the rows [y0, y0 + rows) of a block to `frame` (and fills them).
using BlockSlices = std::function<void(Imf::FrameBuffer& frame, int y0, int rows)>;

// Writes all of the job's pixels to `out` (Imf::OutputFile or Imf::OutputPart) whose header came
// from matte_header(job), or whose channels include it. Conversions and ranking run on
// worker_count() threads, block by block; `extra`, when given, supplies the other channels' slices
// for each block (a plate's own channels, when the mattes are added to its part).
template <class Out>
void write_matte_pixels(Out& out, const MatteJob& job, const BlockSlices& extra = {});

}  // namespace mattetrack
