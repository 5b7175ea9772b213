// Positive definiteness by an attempted Cholesky factorization, and the matrix type
// (symmetric / Hermitian / SPD / skew / general) by symmetry tests within a named tolerance.
#include <dsla/errors.h>
#include <dsla/structure.h>

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "solve/direct/factorization.h"

namespace dsla {
namespace {

// The entries of A − sign · op(A)ᵀ (op: conj when `conj`), on the union of the two patterns.
at::Tensor mirror_difference(const SparseMatrix& A, double sign, bool conj) {
  auto t = A.transpose();
  if (conj) t = t.conj();
  if (A.pattern()->is_structurally_symmetric()) return A.values() - sign * t.values();
  // Different patterns may still hold mirrored values (explicit zeros): compare on the union.
  CooOptions o;
  o.check = false;
  auto d = SparseMatrix::from_coo(at::cat({A.row_indices(), t.row_indices()}).to(at::kLong),
                                  at::cat({A.col_indices(), t.col_indices()}).to(at::kLong),
                                  at::cat({A.values(), -sign * t.values()}, -1),
                                  {A.rows(), A.cols()}, o);
  return d.values();
}

// |a_ij − sign · op(a_ji)| <= atol + rtol max|a| for every entry (and batch member).
bool mirrored(const SparseMatrix& A, double sign, bool conj, double rtol, double atol) {
  if (A.nnz() == 0) return true;
  const double scale = A.values().abs().max().item<double>();
  return mirror_difference(A, sign, conj).abs().max().item<double>() <= atol + rtol * scale;
}

// (A + Aᴴ) / 2: Hermitian by construction (a real diagonal), on A's pattern when that is
// symmetric (then a Cholesky analysis cached on it serves later solves of A too).
SparseMatrix hermitian_part(const SparseMatrix& A) {
  auto t = A.conj_transpose();
  if (A.pattern()->is_structurally_symmetric())
    return A.with_values((A.values() + t.values()) * 0.5);
  CooOptions o;
  o.check = false;
  return SparseMatrix::from_coo(at::cat({A.row_indices(), t.row_indices()}).to(at::kLong),
                                at::cat({A.col_indices(), t.col_indices()}).to(at::kLong),
                                at::cat({A.values(), t.values()}, -1) * 0.5, {A.rows(), A.cols()},
                                o);
}

void check_options(double rtol, double atol, double pivot_tolerance, int64_t dense_max_rows,
                   const std::string& factorization) {
  DSLA_CHECK_ARG(factorization == "auto" || factorization == "sparse" || factorization == "dense",
                 "factorization", "must be 'auto', 'sparse' or 'dense', got '", factorization, "'");
  DSLA_CHECK_ARG(rtol >= 0, "rtol", "must be >= 0, got ", rtol);
  DSLA_CHECK_ARG(atol >= 0, "atol", "must be >= 0, got ", atol);
  DSLA_CHECK_ARG(pivot_tolerance >= 0 && pivot_tolerance < 1, "pivot_tolerance",
                 "must be in [0, 1) (smallest / largest Cholesky pivot), got ", pivot_tolerance);
  DSLA_CHECK_ARG(dense_max_rows >= 0, "dense_max_rows", "must be >= 0, got ", dense_max_rows);
}

// One answer per batch member of the Hermitian matrix H whose diagonal passed (ok[b] true on
// entry), by a sparse Cholesky where the build has one for H's device, else a dense one.
void cholesky_test(const SparseMatrix& H, const DefinitenessOptions& opt, std::vector<bool>& ok) {
  const int64_t n = H.rows(), B = H.batch_size();
  auto member = [&](int64_t b) { return H.is_batched() ? H.values().select(0, b) : H.values(); };
  const bool sparse = direct::available(direct::Kind::Cholesky, H.device());
  TORCH_CHECK_NOT_IMPLEMENTED(
      sparse || opt.factorization != "sparse",
      "dsla: is_positive_definite(factorization='sparse')"
      " needs a sparse Cholesky for ",
      H.device(),
      " matrices, which this build does not have: "
      "build dsla with SuiteSparse (Debian libsuitesparse-dev; dsla.features['suitesparse'], not "
      "in DSLA_WITH_GPL=OFF builds) for CPU matrices, or with cuDSS (dsla.features['cudss']) "
      "for CUDA ones; or use factorization='dense'");
  if (sparse && opt.factorization != "dense") {
    auto f = direct::make_factorization(H.pattern(), direct::Kind::Cholesky, H.dtype(), "auto");
    f->set_pivot_tolerance(opt.pivot_tolerance);
    for (int64_t b = 0; b < B; ++b) {
      if (!ok[b]) continue;
      try {
        f->factorize(member(b));
      } catch (const SingularMatrixError&) {
        ok[b] = false;  // a non-positive pivot, or a pivot ratio below the tolerance
      }
    }
    return;
  }
  TORCH_CHECK_NOT_IMPLEMENTED(
      n <= opt.dense_max_rows || opt.factorization == "dense",
      "dsla: is_positive_definite of a matrix of ", n, " rows on ", H.device(),
      " needs a sparse Cholesky factorization, which this build does not have for that device: "
      "build dsla with SuiteSparse (Debian libsuitesparse-dev; dsla.features['suitesparse'], "
      "not in DSLA_WITH_GPL=OFF builds) for CPU matrices, or with cuDSS "
      "(dsla.features['cudss']) for CUDA ones. Without them matrices up to dense_max_rows = ",
      opt.dense_max_rows,
      " rows take a dense Cholesky (raise dense_max_rows to allow larger "
      "ones, at n² memory)");
  // Dense: torch's Cholesky in double precision (the answer is about the matrix as given, not
  // about its rounding to float32).
  at::Tensor D = H.to_dense();
  D = D.to(D.is_complex() ? at::kComplexDouble : at::kDouble);
  auto res = at::linalg_cholesky_ex(D);
  const at::Tensor& L = std::get<0>(res);
  at::Tensor good = std::get<1>(res) == 0;
  if (n > 0) {
    const at::Tensor piv = at::diagonal(L, 0, -2, -1).abs().pow(2);
    const at::Tensor ratio = std::get<0>(piv.min(-1)) / std::get<0>(piv.max(-1));
    good = good & (ratio > opt.pivot_tolerance) & (std::get<0>(piv.min(-1)) > 0);
  }
  good = good.reshape({B}).cpu();
  for (int64_t b = 0; b < B; ++b) ok[b] = ok[b] && good[b].item<bool>();
}

}  // namespace

at::Tensor is_positive_definite(const SparseMatrix& A, const DefinitenessOptions& opt) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an undefined matrix");
  check_options(opt.rtol, opt.atol, opt.pivot_tolerance, opt.dense_max_rows, opt.factorization);
  const SparseMatrix M = A.detach();
  check_finite(M.values(), "A");
  const int64_t B = M.batch_size();
  auto answer = [&](const std::vector<bool>& ok) {
    at::Tensor out = at::empty({B}, at::TensorOptions().dtype(at::kBool));
    for (int64_t b = 0; b < B; ++b) out[b] = static_cast<bool>(ok[b]);
    return M.is_batched() ? out : out.squeeze(0);
  };
  std::vector<bool> ok(static_cast<size_t>(B), true);
  if (M.rows() != M.cols()) return answer(std::vector<bool>(static_cast<size_t>(B), false));
  if (M.rows() == 0) return answer(ok);
  // Hermitian (within the tolerance) is part of the definition; then the Hermitian part is
  // what is factored (exactly Hermitian: the factorizations read one triangle).
  if (!mirrored(M, 1.0, true, opt.rtol, opt.atol))
    return answer(std::vector<bool>(static_cast<size_t>(B), false));
  const SparseMatrix H = hermitian_part(M);
  // A positive definite matrix has a positive diagonal (a missing entry is a zero).
  at::Tensor diag = at::real(H.diagonal());
  at::Tensor pos = (diag > 0).all(-1).reshape({B}).cpu();
  for (int64_t b = 0; b < B; ++b) ok[b] = pos[b].item<bool>();
  bool any = false;
  for (int64_t b = 0; b < B; ++b) any = any || ok[b];
  if (any) cholesky_test(H, opt, ok);
  return answer(ok);
}

std::string to_string(MatrixType t) {
  switch (t) {
    case MatrixType::SPD:
      return "spd";
    case MatrixType::HPD:
      return "hpd";
    case MatrixType::Symmetric:
      return "symmetric";
    case MatrixType::Hermitian:
      return "hermitian";
    case MatrixType::SkewSymmetric:
      return "skew-symmetric";
    case MatrixType::SkewHermitian:
      return "skew-hermitian";
    case MatrixType::General:
      return "general";
  }
  return "general";
}

MatrixType detect_matrix_type(const SparseMatrix& A, const MatrixTypeOptions& opt) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an undefined matrix");
  check_options(opt.rtol, opt.atol, opt.pivot_tolerance, opt.dense_max_rows, opt.factorization);
  const SparseMatrix M = A.detach();
  check_finite(M.values(), "A");
  if (M.rows() != M.cols()) return MatrixType::General;
  const bool complex = M.is_complex();
  // Hermitian first (for real matrices the same test as symmetric).
  if (mirrored(M, 1.0, true, opt.rtol, opt.atol)) {
    if (opt.definite) {
      DefinitenessOptions d;
      d.rtol = opt.rtol;
      d.atol = opt.atol;
      d.pivot_tolerance = opt.pivot_tolerance;
      d.dense_max_rows = opt.dense_max_rows;
      d.factorization = opt.factorization;
      if (is_positive_definite(M, d).all().item<bool>())
        return complex ? MatrixType::HPD : MatrixType::SPD;
    }
    return complex ? MatrixType::Hermitian : MatrixType::Symmetric;
  }
  if (complex && mirrored(M, 1.0, false, opt.rtol, opt.atol)) return MatrixType::Symmetric;
  if (complex && mirrored(M, -1.0, true, opt.rtol, opt.atol)) return MatrixType::SkewHermitian;
  if (mirrored(M, -1.0, false, opt.rtol, opt.atol)) return MatrixType::SkewSymmetric;
  return MatrixType::General;
}

}  // namespace dsla
