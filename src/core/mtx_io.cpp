// read_mtx / read_mtx_info / write_mtx: the torch side of Matrix Market IO. The format itself
// (parsing, symmetric expansion, validation, writing) lives in src/io (torch-free); this file
// moves the parsed vectors into tensors without copying, picks the dtype, and turns the parser's
// exceptions into ValueError. It stays in src/core, not src/io: it builds Patterns and
// SparseMatrices (core types) and includes ATen, and src/io, below core, may include neither.
#include <dsla/errors.h>
#include <dsla/io.h>
#include <dsla/pattern.h>

#include <ATen/ATen.h>

#include <unistd.h>

#include <cfloat>
#include <cmath>
#include <iomanip>
#include <new>
#include <sstream>
#include <utility>

#include "core/mtx_values.h"
#include "io/mtx_format.h"

namespace dsla {

namespace mtx_values {

MtxInfo to_info(const mtx::Header& h) {
  MtxInfo info;
  info.format = mtx::to_string(h.format);
  info.field = mtx::to_string(h.field);
  info.symmetry = mtx::to_string(h.symmetry);
  info.rows = h.rows;
  info.cols = h.cols;
  info.entries = h.entries;
  return info;
}

void check_dtype(at::ScalarType dtype) {
  DSLA_CHECK_ARG(dtype == at::kFloat || dtype == at::kDouble || dtype == at::kComplexFloat ||
                     dtype == at::kComplexDouble,
                 "dtype", "expected float32, float64, complex64 or complex128, got ", dtype);
}

std::string float32_overflow(const mtx::Coo& coo, const std::string& path, at::ScalarType dtype) {
  if (dtype != at::kFloat && dtype != at::kComplexFloat) return {};
  for (const auto* v : {&coo.re, &coo.im}) {
    for (size_t k = 0; k < v->size(); ++k) {
      if (std::fabs((*v)[k]) <= FLT_MAX) continue;
      std::ostringstream m;
      m << "entry (" << coo.row[k] + 1 << ", " << coo.col[k] + 1 << ") of '" << mtx::printable(path)
        << "' is " << (*v)[k] << ", beyond the float32 range: read it as float64";
      return m.str();
    }
  }
  return {};
}

at::ScalarType value_dtype(mtx::Field field, at::ScalarType dtype) {
  const bool single = dtype == at::kFloat || dtype == at::kComplexFloat;
  if (field == mtx::Field::kComplex) return single ? at::kComplexFloat : at::kComplexDouble;
  return dtype;
}

at::Tensor values(mtx::Field field, const at::Tensor& re, const at::Tensor& im, int64_t nnz,
                  at::ScalarType dtype) {
  const at::ScalarType target = value_dtype(field, dtype);
  if (field == mtx::Field::kPattern) return at::ones({nnz}, at::TensorOptions().dtype(target));
  if (field == mtx::Field::kComplex) return at::complex(re, im).to(target);
  return re.to(target);
}

}  // namespace mtx_values

namespace {

using mtx_values::to_info;

// A 1-D tensor that takes ownership of the vector's buffer (no copy of a possibly large file).
template <class T>
at::Tensor adopt(std::vector<T>&& v, at::ScalarType dtype) {
  const auto n = static_cast<int64_t>(v.size());
  if (n == 0) return at::empty({0}, at::TensorOptions().dtype(dtype));
  auto* owner = new std::vector<T>(std::move(v));
  return at::from_blob(
      owner->data(), {n}, [owner](void*) { delete owner; }, at::TensorOptions().dtype(dtype));
}

// The parser's std::invalid_argument (MtxError: file + line) as a ValueError naming `arg`. The
// message is printable already (MtxError escapes the name and every quoted byte of content).
template <class F>
auto value_errors(const char* arg, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    DSLA_CHECK_ARG(false, arg, e.what());
  }
  TORCH_INTERNAL_ASSERT(false, "unreachable");
}

mtx::Symmetry parse_symmetry(const std::string& s) {
  if (s == "general") return mtx::Symmetry::kGeneral;
  if (s == "symmetric") return mtx::Symmetry::kSymmetric;
  if (s == "skew-symmetric") return mtx::Symmetry::kSkewSymmetric;
  if (s == "hermitian") return mtx::Symmetry::kHermitian;
  DSLA_CHECK_ARG(false, "symmetry", "expected 'general', 'symmetric', 'skew-symmetric' or ",
                 "'hermitian', got '", s, "'");
  return mtx::Symmetry::kGeneral;
}

template <class T>
std::vector<T> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  const T* p = c.data_ptr<T>();
  return std::vector<T>(p, p + c.numel());
}

// mtx::read_file, with running out of memory (a file that holds more entries than fit) reported
// with the file's name rather than as a bare std::bad_alloc.
mtx::Coo read_entries(const std::string& path) {
  try {
    return mtx::read_file(path);
  } catch (const std::bad_alloc&) {
    TORCH_CHECK_WITH(OutOfMemoryError, false, "Matrix Market file '", mtx::printable(path),
                     "': out of memory holding its entries (24 to 32 bytes each once read, ",
                     "before the CSR build)");
  }
  return {};
}

// The CSR row pointer of a rows x cols matrix with `entries` stored entries is the one array that
// follows the declared shape rather than the file's content. A shape that a few bytes can declare
// (10^12 rows) is refused before it is allocated when it alone would exceed the machine's memory,
// with the file and its size line named; an allocation that fails later says which file it was.
void check_row_pointer_fits(const std::string& path, const mtx::Header& h, int64_t entries) {
  const int64_t isz = Pattern::index_dtype_for(h.rows, h.cols, entries) == at::kInt ? 4 : 8;
  const double need = (static_cast<double>(h.rows) + 1) * static_cast<double>(isz);
  const double have = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE);
  if (have > 0 && need > have) {
    std::ostringstream msg;
    msg << std::fixed << std::setprecision(1) << "the size line declares " << h.rows
        << " rows: the CSR row pointer alone would take " << need / 1e9
        << " GB, more than this machine's " << have / 1e9 << " GB of memory (the file holds "
        << entries << " entries: is the size line right?)";
    DSLA_CHECK_ARG(false, "path", mtx::MtxError(path, h.size_line, msg.str()).what());
  }
}

}  // namespace

SparseMatrix read_mtx(const std::string& path, at::ScalarType dtype, MtxInfo* info) {
  mtx_values::check_dtype(dtype);
  mtx::Coo coo = value_errors("path", [&] { return read_entries(path); });
  const mtx::Header h = coo.header;
  if (info) *info = to_info(h);
  // Values that float32 cannot hold would become inf: refuse instead of returning them.
  const std::string overflow = mtx_values::float32_overflow(coo, path, dtype);
  DSLA_CHECK_ARG(overflow.empty(), "dtype", overflow);
  check_row_pointer_fits(path, h, static_cast<int64_t>(coo.nnz()));
  const int64_t nnz = static_cast<int64_t>(coo.nnz());
  const at::Tensor values = mtx_values::values(h.field, adopt(std::move(coo.re), at::kDouble),
                                               adopt(std::move(coo.im), at::kDouble), nnz, dtype);
  const at::Tensor row = adopt(std::move(coo.row), at::kLong);
  const at::Tensor col = adopt(std::move(coo.col), at::kLong);
  // The parser has already checked indices (in range) and values (finite): no second pass.
  CooOptions opt;
  opt.check = false;
  try {
    return SparseMatrix::from_coo(row, col, values, {h.rows, h.cols}, opt);
  } catch (const std::bad_alloc&) {
    TORCH_CHECK_WITH(OutOfMemoryError, false, "Matrix Market file '", mtx::printable(path),
                     "': out of memory building the ", h.rows, " x ", h.cols, " matrix with ", nnz,
                     " entries");
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "Matrix Market file '", mtx::printable(path), "': building the ", h.rows,
                " x ", h.cols, " matrix with ", nnz,
                " entries failed: ", e.what_without_backtrace());
  }
  return {};
}

MtxInfo read_mtx_info(const std::string& path) {
  return to_info(value_errors("path", [&] { return mtx::read_header(path); }));
}

void write_mtx(const SparseMatrix& A, const std::string& path, const std::string& symmetry) {
  DSLA_CHECK_ARG(A.defined(), "A", "the matrix is undefined");
  DSLA_CHECK_ARG(!A.is_batched(), "A", "a batch of ", A.batch_size(),
                 " matrices cannot be written to one Matrix Market file: write each member, ",
                 "e.g. A.with_values(A.values()[b])");
  mtx::WriteOptions opt;
  opt.symmetry = parse_symmetry(symmetry);
  opt.field = A.is_complex() ? mtx::Field::kComplex : mtx::Field::kReal;
  opt.comment = "written by dsla";
  const SparseMatrix C = A.detach().to(c10::Device(c10::kCPU));
  const std::vector<int64_t> row = to_vector<int64_t>(C.row_indices().to(at::kLong));
  const std::vector<int64_t> col = to_vector<int64_t>(C.col_indices().to(at::kLong));
  std::vector<double> re, im;
  if (A.is_complex()) {
    const at::Tensor v = C.values().to(at::kComplexDouble);
    re = to_vector<double>(at::real(v));
    im = to_vector<double>(at::imag(v));
  } else {
    re = to_vector<double>(C.values().to(at::kDouble));
  }
  try {
    mtx::write_file(path, C.rows(), C.cols(), row, col, re, im, opt);
  } catch (const mtx::MtxError& e) {  // the file could not be written
    DSLA_CHECK_ARG(false, "path", e.what());
  } catch (const std::invalid_argument& e) {  // the matrix is not what `symmetry` claims
    DSLA_CHECK_ARG(false, "A", e.what());
  }
}

}  // namespace dsla
