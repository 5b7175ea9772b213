// Dispatch for the direct factorizations, the default selected-inverse, and shared helpers.
#include "solve/direct/factorization.h"

#include "solve/direct/internal.h"

#include <dsla/config.h>
#include <dsla/errors.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

namespace dsla::direct {

#if DSLA_HAVE_SUITESPARSE
namespace detail {
std::unique_ptr<Factorization> make_cholmod(const PatternPtr& pattern, Kind kind,
                                            at::ScalarType dtype, const std::string& ordering);
std::unique_ptr<Factorization> make_umfpack(const PatternPtr& pattern, at::ScalarType dtype,
                                            const std::string& ordering);
}  // namespace detail
#endif
namespace detail {

device::Stub<MakeDeviceFactorizationFn> make_factorization_stub;
device::Stub<LibraryVersionFn> cudss_version_stub;

namespace {
std::atomic<int64_t> g_analyses{0};
}

void count_analysis() {
  g_analyses.fetch_add(1, std::memory_order_relaxed);
}

CsrInt64 csr_int64(const Pattern& p) {
  CsrInt64 v;
  v.crow_t = p.crow().to(at::kCPU, at::kLong).contiguous();
  v.col_t = p.col().to(at::kCPU, at::kLong).contiguous();
  v.crow = v.crow_t.data_ptr<int64_t>();
  v.col = v.col_t.data_ptr<int64_t>();
  return v;
}

void csr_as_int64(const Pattern& p, std::vector<int64_t>& crow, std::vector<int64_t>& col) {
  const CsrInt64 v = csr_int64(p);
  crow.assign(v.crow, v.crow + v.crow_t.numel());
  col.assign(v.col, v.col + v.col_t.numel());
}

at::Tensor prepare_values(const at::Tensor& values, int64_t nnz, at::ScalarType dtype,
                          const char* who) {
  DSLA_CHECK_ARG(values.defined(), "values", who, ": values are undefined");
  DSLA_CHECK_ARG(values.device().is_cpu(), "values", who,
                 ": the SuiteSparse factorizations run on the CPU, got values on ", values.device(),
                 "; move the matrix to the CPU or use a CUDA direct solver "
                 "(cuDSS, device='cuda')");
  DSLA_CHECK_ARG(values.dim() == 1 && values.size(0) == nnz, "values", who,
                 ": expected shape [nnz] = [", nnz, "], got ", values.sizes(),
                 " (a batch [B, nnz] needs one factorization per member)");
  DSLA_CHECK_TYPE(
      at::isFloatingType(values.scalar_type()) || at::isComplexType(values.scalar_type()), "values",
      who, ": expected a floating or complex dtype, got ", values.scalar_type());
  DSLA_CHECK_TYPE(at::isComplexType(values.scalar_type()) == at::isComplexType(dtype), "values",
                  who, ": the factorization was made for ", dtype, " but values are ",
                  values.scalar_type(), "; make a factorization for this dtype");
  return values.detach().to(work_dtype(dtype)).contiguous();
}

at::ScalarType result_dtype(at::ScalarType fact, at::ScalarType b) {
  return at::promote_types(fact, b);
}

at::Tensor prepare_rhs(const at::Tensor& b, int64_t n, at::ScalarType work, const char* who) {
  DSLA_CHECK_ARG(b.defined(), "b", who, ": right-hand side is undefined");
  DSLA_CHECK_ARG(b.device().is_cpu(), "b", who,
                 ": the SuiteSparse factorizations run on the CPU, got b on ", b.device(),
                 "; move b to the CPU or use a CUDA direct solver (cuDSS, device='cuda')");
  DSLA_CHECK_ARG((b.dim() == 1 || b.dim() == 2) && b.size(0) == n, "b", who,
                 ": expected shape [n] or [n, k] with n = ", n, ", got ", b.sizes());
  DSLA_CHECK_TYPE(at::isFloatingType(b.scalar_type()) || at::isComplexType(b.scalar_type()), "b",
                  who, ": expected a floating or complex dtype, got ", b.scalar_type());
  at::Tensor bb = b.detach();
  if (bb.dim() == 1) bb = bb.unsqueeze(1);
  // [n, k] row-major -> [k, n] contiguous = [n, k] column-major.
  return bb.t().to(work).contiguous();
}

at::Tensor finish_solution(const at::Tensor& x_cm, const at::Tensor& b, at::ScalarType out) {
  at::Tensor x = x_cm.t();
  if (b.dim() == 1) x = x.squeeze(1);
  return x.to(out).contiguous();
}

void throw_singular(const std::string& what, int64_t pivot) {
  throw SingularMatrixError("dsla: " + what, pivot);
}

}  // namespace detail

int64_t analysis_count() {
  return detail::g_analyses.load();
}

bool available(Kind kind) {
  (void)kind;
  return DSLA_HAVE_SUITESPARSE != 0;
}

bool available(Kind kind, c10::Device device) {
  if (device.is_cuda()) return detail::make_factorization_stub.on(device) != nullptr;
  return device.is_cpu() && available(kind);
}

bool batched_available(c10::Device device) {
  if (!device.is_cuda() || !detail::make_factorization_stub.on(device)) return false;
  const char* v = std::getenv("DSLA_CUDSS_UBATCH");
  return v == nullptr || std::string(v) != "0";
}

std::string cudss_version() {
  auto* f = detail::cudss_version_stub.cuda();
  return f ? f() : std::string();
}

std::unique_ptr<Factorization> make_factorization(const PatternPtr& pattern, Kind kind,
                                                  at::ScalarType dtype, const std::string& ordering,
                                                  int64_t batch) {
  DSLA_CHECK_ARG(pattern != nullptr, "pattern", "make_factorization: pattern is null");
  DSLA_CHECK_ARG(pattern->is_square(), "pattern",
                 "a direct factorization needs a square matrix, got ", pattern->rows(), " x ",
                 pattern->cols(), " (for least squares use an iterative method such as lsqr)");
  DSLA_CHECK_ARG(pattern->rows() > 0, "pattern",
                 "a direct factorization needs a non-empty matrix, got 0 x 0");
  DSLA_CHECK_TYPE(dtype == at::kFloat || dtype == at::kDouble || dtype == at::kComplexFloat ||
                      dtype == at::kComplexDouble,
                  "dtype", "expected float32, float64, complex64 or complex128, got ", dtype);
  DSLA_CHECK_ARG(ordering == "auto" || ordering == "amd" || ordering == "metis" ||
                     ordering == "natural" || ordering == "nesdis" || ordering == "nd",
                 "ordering",
                 "expected one of 'auto', 'amd', 'metis', 'natural', 'nesdis', 'nd', got '",
                 ordering, "'");
  DSLA_CHECK_ARG(batch >= 1, "batch", "must be >= 1, got ", batch);
  DSLA_CHECK_ARG(!(kind == Kind::LU && ordering == "nd"), "ordering",
                 "'nd' (dsla's nested dissection) is for the symmetric factorizations (cholesky, "
                 "ldlt); for LU use 'auto', 'amd', 'metis' or 'natural'");
  if (pattern->device().is_cuda()) {
    if (auto* f = detail::make_factorization_stub.on(pattern->device())) {
      return f(pattern, kind, dtype, ordering, batch);
    }
    throw SolveError(
        "dsla: direct solves of CUDA matrices (cholesky/ldlt/lu) use cuDSS, and this build of "
        "dsla has no cuDSS (set CUDSS_ROOT to an unpacked nvidia-cudss-cu13 wheel and rebuild; "
        "dsla.features['cudss'] says whether it was found). Use an iterative method "
        "(method='cg', 'gmres', 'bicgstab') or move the matrix to the CPU");
  }
  DSLA_CHECK_ARG(batch == 1, "batch",
                 "the CPU factorizations hold one matrix each (batch = 1), got ", batch);
  DSLA_CHECK_ARG(pattern->device().is_cpu(), "pattern",
                 "the SuiteSparse factorizations (cholesky/ldlt/lu) run on the CPU, the matrix is "
                 "on ",
                 pattern->device(),
                 "; move it to the CPU (A.to('cpu')) or use the CUDA direct solver (cuDSS) with "
                 "device='cuda'");
#if DSLA_HAVE_SUITESPARSE
  DSLA_CHECK_ARG(!(kind == Kind::LU && (ordering == "nesdis" || ordering == "nd")), "ordering", "'",
                 ordering,
                 "' is an ordering for the symmetric factorizations (cholesky, ldlt); for LU use "
                 "'auto', 'amd', 'metis' or 'natural'");
  switch (kind) {
    case Kind::Cholesky:
    case Kind::LDLT:
      return detail::make_cholmod(pattern, kind, dtype, ordering);
    case Kind::LU:
      return detail::make_umfpack(pattern, dtype, ordering);
  }
  TORCH_CHECK(false, "dsla: unknown factorization kind");
#else
  (void)kind;
  throw SolveError(
      "dsla was built without SuiteSparse: install libsuitesparse-dev and rebuild, or use an "
      "iterative method (method='cg', 'gmres', 'bicgstab')");
#endif
}

at::Tensor Factorization::inverse_entries(const at::Tensor& rows, const at::Tensor& cols) const {
  TORCH_CHECK(false, "dsla: ", name(),
              " does not implement inverse_entries; call "
              "dsla::direct::inverse_entries_by_solves(*this, n, rows, cols)");
}

at::Tensor inverse_entries_by_solves(const Factorization& f, int64_t n, const at::Tensor& rows,
                                     const at::Tensor& cols) {
  DSLA_CHECK_ARG(rows.dim() == 1 && cols.dim() == 1 && rows.numel() == cols.numel(), "rows",
                 "inverse_entries: rows and cols must be 1-D of equal length, got ", rows.sizes(),
                 " and ", cols.sizes());
  const c10::Device device = rows.device();
  const at::Tensor r = rows.to(at::kCPU, at::kLong).contiguous();
  const at::Tensor c = cols.to(at::kCPU, at::kLong).contiguous();
  const int64_t m = r.numel();
  const int64_t* rp = r.data_ptr<int64_t>();
  const int64_t* cp = c.data_ptr<int64_t>();
  for (int64_t k = 0; k < m; ++k) {
    DSLA_CHECK_INDEX(rp[k] >= 0 && rp[k] < n && cp[k] >= 0 && cp[k] < n, "rows",
                     "inverse_entries: entry ", k, " = (", rp[k], ", ", cp[k],
                     ") is out of range for n = ", n);
  }
  // Entries sorted by column (stable), then blocks of up to 64 distinct columns: one multi-RHS
  // solve per block, reading only the requested rows of the solution.
  const at::Tensor order = std::get<1>(c.sort(/*stable=*/true, 0, false));
  const int64_t* ord = order.data_ptr<int64_t>();
  constexpr int64_t kBlock = 64;
  at::Tensor out;
  std::vector<int64_t> block;
  int64_t pos = 0;
  while (pos < m) {
    block.clear();
    int64_t end = pos;
    while (end < m) {
      const int64_t cc = cp[ord[end]];
      if (block.empty() || block.back() != cc) {
        if (static_cast<int64_t>(block.size()) == kBlock) break;
        block.push_back(cc);
      }
      ++end;
    }
    const int64_t kb = static_cast<int64_t>(block.size());
    at::Tensor e = at::zeros({n, kb}, at::kDouble);
    auto ea = e.accessor<double, 2>();
    for (int64_t j = 0; j < kb; ++j) ea[block[j]][j] = 1.0;
    // CUDA factorizations (cuDSS) solve on the device of `rows`; the gather runs on the CPU.
    at::Tensor x = f.solve(e.to(device), /*adjoint=*/false);
    x = x.to(at::kCPU, detail::work_dtype(x.scalar_type())).contiguous();
    if (!out.defined()) out = at::empty({m}, x.options());
    // Gather out[ord[t]] = x[r[ord[t]], local column].
    int64_t j = 0;
    std::vector<int64_t> src, dst;
    src.reserve(end - pos);
    dst.reserve(end - pos);
    for (int64_t t = pos; t < end; ++t) {
      const int64_t k = ord[t];
      while (block[j] != cp[k]) ++j;
      src.push_back(rp[k] * kb + j);
      dst.push_back(k);
    }
    const at::Tensor si = at::from_blob(src.data(), {(int64_t)src.size()}, at::kLong);
    const at::Tensor di = at::from_blob(dst.data(), {(int64_t)dst.size()}, at::kLong);
    out.index_put_({di}, x.reshape({-1}).index_select(0, si));
    pos = end;
  }
  if (!out.defined()) out = at::empty({0}, at::kDouble);
  return out.to(device);
}

}  // namespace dsla::direct
