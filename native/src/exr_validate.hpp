// Input EXRs checked before any pixel is trusted: header sanity against the file size, then every
// pixel decoded (the safety net for damaged plates). Runs without the GIL; throws Rejected.
#pragma once

#include <OpenEXR/ImfMultiPartInputFile.h>

#include <cstdint>
#include <string>

namespace mattetrack {

// Bytes in the file at `path`; Rejected when it cannot be opened.
int64_t file_size(const std::string& path);

// Rejected unless the file starts with the OpenEXR magic number.
void check_magic(const std::string& path);

// A part's type (scanlineimage, tiledimage, deep...), from the header or the version flags.
std::string part_type(const Imf::Header& header, int version);

// Header sanity checks of one part of a file of `size` bytes, before any pixel is decoded.
void check_part_header(const Imf::MultiPartInputFile& file, int part, int64_t size);

// Decodes every pixel (every level of a tiled part) into one scratch row per channel.
void read_part(Imf::MultiPartInputFile& file, int part);

// The whole check of the EXR at `path`: headers, then every part's pixels.
void run_validate(const std::string& path);

}  // namespace mattetrack
