// Byte ranges of a plain Matrix Market file for a parallel read: a rank reads its range with
// pread (no shared file offset, so ranks that are threads of one process do not disturb each
// other) and the one-process parser parses the lines that start in it (Parser::lines).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "io/mtx_format.h"
#include "io/mtx_split.h"

namespace dsla::mtx {
namespace {

// The bytes of the lines of `path` that start in [begin, end): from the first line start at or
// after `begin` through the newline that ends the line holding byte end - 1 (or the end of the
// file). A line starts at the section start and after every newline, so the ranges of a split
// of the section hand every line to exactly one reader.
class RangeSource : public ByteSource {
 public:
  RangeSource(const std::string& path, int64_t section, int64_t begin, int64_t end)
      : path_(path), end_(end) {
    if (path.find('\0') != std::string::npos) {
      throw MtxError(path, 0, "the file name contains a NUL byte, which no file name can hold");
    }
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      throw MtxError(path, 0, std::string("cannot open the file: ") + std::strerror(errno));
    }
    // The line holding byte begin - 1 started in an earlier range (or is the size line).
    pos_ = begin > section ? after_newline(begin - 1) : begin;
    done_ = pos_ >= end_;
  }
  ~RangeSource() override { ::close(fd_); }
  RangeSource(const RangeSource&) = delete;
  RangeSource& operator=(const RangeSource&) = delete;

  size_t read(char* dst, size_t n) override {
    if (done_ || n == 0) return 0;
    const size_t got = pread_some(dst, n, pos_);
    if (got == 0) {
      done_ = true;
      return 0;
    }
    size_t len = got;
    // From byte end - 1 on, the range ends with the first newline.
    const int64_t from = std::max<int64_t>(end_ - 1 - pos_, 0);
    if (from < static_cast<int64_t>(got)) {
      const void* nl = std::memchr(dst + from, '\n', got - static_cast<size_t>(from));
      if (nl) {
        len = static_cast<size_t>(static_cast<const char*>(nl) - dst) + 1;
        done_ = true;
      }
    }
    pos_ += static_cast<int64_t>(len);
    return len;
  }

  // The range's own bytes (its last line may run a little past them): the parser's first
  // reservation follows this rank's share, not the file's.
  int64_t remaining_hint() const override {
    return done_ ? 0 : std::max<int64_t>(end_ - pos_, 0) + 1;
  }

 private:
  size_t pread_some(char* dst, size_t n, int64_t at) const {
    for (;;) {
      const ssize_t got = ::pread(fd_, dst, n, static_cast<off_t>(at));
      if (got >= 0) return static_cast<size_t>(got);
      if (errno != EINTR) {
        throw MtxError(path_, 0, std::string("cannot read the file: ") + std::strerror(errno));
      }
    }
  }
  // The offset just past the first newline at or after `from` (the file's end without one).
  int64_t after_newline(int64_t from) const {
    char buf[1 << 16];
    for (;;) {
      const size_t got = pread_some(buf, sizeof buf, from);
      if (got == 0) return from;
      if (const void* nl = std::memchr(buf, '\n', got)) {
        return from + (static_cast<const char*>(nl) - buf) + 1;
      }
      from += static_cast<int64_t>(got);
    }
  }

  const std::string& path_;
  int fd_ = -1;
  int64_t end_, pos_ = 0;
  bool done_ = false;
};

}  // namespace

int64_t LineRange::line_of(int64_t k) const {
  // The blank and comment lines before data line k are those with at most k data lines before.
  const auto skipped = std::upper_bound(gaps.begin(), gaps.end(), k) - gaps.begin();
  return k + static_cast<int64_t>(skipped) + 1;
}

LineRange parse_file_range(const std::string& path, const Header& h, int64_t begin, int64_t end) {
  if (begin < h.body_offset || end < begin) {
    throw std::invalid_argument("mtx::parse_file_range: argument 'begin': the range [" +
                                std::to_string(begin) + ", " + std::to_string(end) +
                                ") is not within the entry section, which starts at byte " +
                                std::to_string(h.body_offset));
  }
  RangeSource src(path, h.body_offset, begin, end);
  return parse_lines(src, path, h);
}

}  // namespace dsla::mtx
