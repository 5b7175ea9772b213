// Matrix Market keywords and the error type shared by the reader and the writer.
#include "kernels/cpu/mtx_format.h"

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
std::string where(const std::string& file, int64_t line) {
  std::string w = "Matrix Market file '" + file + "'";
  if (line > 0) w += ", line " + std::to_string(line);
  return w;
}
}  // namespace

MtxError::MtxError(const std::string& file, int64_t line, const std::string& message)
    : std::invalid_argument(where(file, line) + ": " + message), file_(file), line_(line) {}

}  // namespace dsla::mtx
