// Matrix Market files on disk: reading through zlib (which reads plain files unchanged, so a
// compressed file is recognised by its content, not its name) and writing plain or gzip.
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "kernels/cpu/mtx_format.h"

namespace dsla::mtx {
namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

GzFile open_read(const std::string& path) {
  errno = 0;
  GzFile f(gzopen(path.c_str(), "rb"));
  if (!f) {
    throw MtxError(
        path, 0,
        std::string("cannot open the file: ") + (errno ? std::strerror(errno) : "out of memory"));
  }
  gzbuffer(f.get(), 1 << 18);
  return f;
}

// Appends up to `chunk` bytes; false at the end of the file. Decompression errors throw.
bool read_chunk(gzFile f, const std::string& path, std::string& text, size_t chunk) {
  const size_t old = text.size();
  text.resize(old + chunk);
  const int n = gzread(f, &text[old], static_cast<unsigned>(chunk));
  if (n < 0) {
    int err = 0;
    const char* msg = gzerror(f, &err);
    text.resize(old);
    throw MtxError(
        path, 0,
        std::string("cannot read the file: ") + (err == Z_ERRNO ? std::strerror(errno) : msg));
  }
  text.resize(old + static_cast<size_t>(n));
  if (n == 0) {
    // gzread returns 0 both at a clean end and at a truncated gzip stream: gzerror tells.
    int err = 0;
    const char* msg = gzerror(f, &err);
    if (err != Z_OK) {
      throw MtxError(path, 0, std::string("the compressed data is damaged: ") + msg);
    }
    return false;
  }
  return true;
}

// Finds the end of the size line (the first line after the banner that is neither blank nor a
// comment) in a growing prefix of the file. It resumes where it stopped, so reading a file that
// has no such line costs linear time, not a rescan per chunk.
class SizeLineFinder {
 public:
  bool found(const std::string& text) {
    for (;;) {
      const size_t nl = text.find('\n', std::max(next_, scanned_));
      if (nl == std::string::npos) {
        scanned_ = text.size();
        return false;
      }
      const size_t begin = next_;
      next_ = nl + 1;
      if (!banner_seen_) {
        banner_seen_ = true;
        continue;
      }
      const size_t first = text.find_first_not_of(" \t\r\v\f", begin);  // stops at '\n'
      if (first < nl && text[first] != '%') return true;
    }
  }

 private:
  size_t next_ = 0;     // start of the first line not yet examined
  size_t scanned_ = 0;  // no '\n' before this offset after next_
  bool banner_seen_ = false;
};

void write_all(const std::string& path, const std::string& text) {
  const bool gz = path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  errno = 0;
  if (gz) {
    gzFile f = gzopen(path.c_str(), "wb6");
    if (!f) throw MtxError(path, 0, std::string("cannot create the file: ") + std::strerror(errno));
    gzbuffer(f, 1 << 20);
    size_t done = 0;
    bool ok = true;
    while (ok && done < text.size()) {
      const unsigned n = static_cast<unsigned>(std::min<size_t>(text.size() - done, 1u << 30));
      ok = gzwrite(f, text.data() + done, n) == static_cast<int>(n);
      done += n;
    }
    int err = 0;
    const std::string msg = ok ? "" : gzerror(f, &err);
    if (gzclose(f) != Z_OK || !ok) {
      throw MtxError(path, 0,
                     "cannot write the file: " + (msg.empty() ? std::strerror(errno) : msg));
    }
    return;
  }
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw MtxError(path, 0, std::string("cannot create the file: ") + std::strerror(errno));
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) {
    throw MtxError(path, 0, std::string("cannot write the file: ") + std::strerror(errno));
  }
}

// A plain file in one read (zlib's transparent mode would copy it through its buffer in
// chunks); false when the file starts with the gzip magic bytes or cannot be sized.
bool load_plain(const std::string& path, std::string& text) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;  // open_read reports the error
  unsigned char magic[2] = {0, 0};
  const size_t got = std::fread(magic, 1, 2, f);
  long size = -1;
  if (!(got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) && std::fseek(f, 0, SEEK_END) == 0) {
    size = std::ftell(f);
  }
  bool ok = size >= 0 && std::fseek(f, 0, SEEK_SET) == 0;
  if (ok) {
    text.resize(static_cast<size_t>(size));
    ok = std::fread(text.data(), 1, text.size(), f) == text.size() && std::fgetc(f) == EOF;
  }
  std::fclose(f);
  return ok;
}

}  // namespace

std::string load_file(const std::string& path) {
  std::string text;
  if (load_plain(path, text)) return text;
  text.clear();
  GzFile f = open_read(path);
  size_t chunk = size_t{1} << 20;
  while (read_chunk(f.get(), path, text, chunk)) chunk = std::min(chunk * 2, size_t{1} << 28);
  return text;
}

Coo read_file(const std::string& path) {
  return parse(load_file(path), path);
}

Header read_header(const std::string& path) {
  GzFile f = open_read(path);
  std::string text;
  SizeLineFinder finder;
  while (!finder.found(text) && read_chunk(f.get(), path, text, size_t{1} << 16)) {
  }
  return parse_header(text, path);
}

void write_file(const std::string& path, int64_t rows, int64_t cols,
                const std::vector<int64_t>& row, const std::vector<int64_t>& col,
                const std::vector<double>& re, const std::vector<double>& im,
                const WriteOptions& opt) {
  write_all(path, format(rows, cols, row, col, re, im, opt));
}

}  // namespace dsla::mtx
