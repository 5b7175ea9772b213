// Matrix Market files on disk: reading through zlib in chunks (zlib reads plain files unchanged,
// so a compressed file is recognised by its content, not its name) and writing plain or gzip.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>

#include "io/mtx_format.h"
#include "io/mtx_split.h"

namespace dsla::mtx {
namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// open() would stop at a NUL and open another file than the one named.
void check_name(const std::string& path) {
  if (path.find('\0') != std::string::npos) {
    throw MtxError(path, 0, "the file name contains a NUL byte, which no file name can hold");
  }
}

// A file read through zlib: inflated chunk by chunk when compressed, copied when plain.
class GzSource : public ByteSource {
 public:
  explicit GzSource(const std::string& path) : path_(path) {
    check_name(path);
    errno = 0;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      throw MtxError(path, 0, std::string("cannot open the file: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
      // A directory opens fine on Linux and only fails at the first read, with a message about
      // something else: say what it is.
      const int err = errno;
      ::close(fd);
      throw MtxError(path, 0,
                     S_ISDIR(st.st_mode)
                         ? "cannot read it: it is a directory, not a file"
                         : std::string("cannot open the file: ") + std::strerror(err));
    }
    f_.reset(gzdopen(fd, "rb"));
    if (!f_) {
      ::close(fd);
      throw MtxError(path, 0, "cannot open the file: out of memory");
    }
    gzbuffer(f_.get(), 1 << 18);
    compressed_ = !gzdirect(f_.get());
    if (S_ISREG(st.st_mode)) file_size_ = static_cast<int64_t>(st.st_size);
    // A plain file's size bounds what is left to parse; a compressed one's does not.
    if (file_size_ >= 0 && !compressed_) size_ = file_size_;
  }

  bool compressed() const { return compressed_; }
  int64_t file_size() const { return file_size_; }

  size_t read(char* dst, size_t n) override {
    const unsigned want = static_cast<unsigned>(std::min<size_t>(n, INT_MAX));
    const int got = gzread(f_.get(), dst, want);
    if (got < 0) {
      int err = 0;
      const char* msg = gzerror(f_.get(), &err);
      throw MtxError(
          path_, 0,
          std::string("cannot read the file: ") + (err == Z_ERRNO ? std::strerror(errno) : msg));
    }
    if (got == 0) {
      // gzread returns 0 both at a clean end and at a truncated gzip stream: gzerror tells.
      int err = 0;
      const char* msg = gzerror(f_.get(), &err);
      if (err != Z_OK) {
        throw MtxError(path_, 0, std::string("the compressed data is damaged: ") + msg);
      }
    }
    read_ += got;
    return static_cast<size_t>(got);
  }

  int64_t remaining_hint() const override {
    return size_ < 0 ? -1 : std::max<int64_t>(size_ - read_, 0);
  }

 private:
  const std::string& path_;
  GzFile f_;
  bool compressed_ = false;
  int64_t file_size_ = -1;  // -1: not a regular file
  int64_t size_ = -1;
  int64_t read_ = 0;
};

void write_all(const std::string& path, const std::string& text) {
  check_name(path);
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

}  // namespace

Coo read_file(const std::string& path) {
  GzSource src(path);
  return parse(src, path);
}

Header read_header(const std::string& path) {
  GzSource src(path);
  return parse_header(src, path);
}

void read_file_chunks(const std::string& path, size_t chunk,
                      const std::function<void(Coo&)>& sink) {
  GzSource src(path);
  parse_chunks(src, path, chunk, sink);
}

FileInfo read_file_info(const std::string& path) {
  GzSource src(path);
  FileInfo info;
  info.header = parse_header(src, path);
  info.compressed = src.compressed();
  info.size = src.file_size();
  return info;
}

void write_file(const std::string& path, int64_t rows, int64_t cols,
                const std::vector<int64_t>& row, const std::vector<int64_t>& col,
                const std::vector<double>& re, const std::vector<double>& im,
                const WriteOptions& opt) {
  write_all(path, format(rows, cols, row, col, re, im, opt));
}

}  // namespace dsla::mtx
