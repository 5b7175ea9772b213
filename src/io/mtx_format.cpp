// Matrix Market keywords, message escaping and the error type shared by the reader and the writer.
#include "io/mtx_format.h"

#include <cstdio>

namespace dsla::mtx {

const char* to_string(Format f) {
  return f == Format::kArray ? "array" : "coordinate";
}

const char* to_string(Field f) {
  switch (f) {
    case Field::kReal:
      return "real";
    case Field::kInteger:
      return "integer";
    case Field::kComplex:
      return "complex";
    case Field::kPattern:
      return "pattern";
  }
  return "?";
}

const char* to_string(Symmetry s) {
  switch (s) {
    case Symmetry::kGeneral:
      return "general";
    case Symmetry::kSymmetric:
      return "symmetric";
    case Symmetry::kSkewSymmetric:
      return "skew-symmetric";
    case Symmetry::kHermitian:
      return "hermitian";
  }
  return "?";
}

namespace {

// Length of the well-formed UTF-8 sequence of 2 to 4 bytes at s[i], or 0 (Unicode 15, table 3-7:
// no overlong forms, no surrogates, nothing above U+10FFFF).
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size() || at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  }
  return len;
}

}  // namespace

std::string printable(std::string_view s, bool keep_newlines) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c >= 0x20 && c < 0x7f) || (keep_newlines && (c == '\n' || c == '\t'))) {
      out += static_cast<char>(c);
      ++i;
    } else if (const size_t len = c >= 0x80 ? utf8_sequence(s, i) : 0) {
      out.append(s, i, len);
      i += len;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
      ++i;
    }
  }
  return out;
}

namespace {
std::string where(const std::string& file, int64_t line) {
  std::string w = "Matrix Market file '" + printable(file) + "'";
  if (line > 0) w += ", line " + std::to_string(line);
  return w;
}
}  // namespace

MtxError::MtxError(const std::string& file, int64_t line, const std::string& message)
    : std::invalid_argument(where(file, line) + ": " + message),
      file_(file),
      line_(line),
      message_(message) {}

}  // namespace dsla::mtx
