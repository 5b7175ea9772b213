// UMFPACK behind dsla::direct::Factorization: LU with partial pivoting for general square
// matrices (real: umfpack_dl_*, complex: umfpack_zl_* with interleaved storage).
//
// UMFPACK takes CSC. dsla's CSR arrays of A, read as CSC, are the matrix B = Aᵀ, so UMFPACK
// factors B and we solve with its transposed systems: A x = b is Bᵀ x = b (UMFPACK_At for real,
// UMFPACK_Aat — the array transpose — for complex; UMFPACK_At is the conjugate transpose there);
// Aᴴ x = b is B̄ x = b, i.e. x = conj(B⁻¹ conj(b)) (UMFPACK_A). det A = det B.
//
// Symbolic analysis is cached on the Pattern per (real/complex, ordering) and computed from the
// pattern alone (Ax = NULL), so it does not depend on whichever values came first. UMFPACK
// documents reusing one Symbolic object for many matrices of the same pattern: the column
// pre-ordering is fixed, row pivoting is still numerical (threshold partial pivoting) during
// umfpack_*_numeric, so a reused Symbolic object is always correct; only fill could be worse
// than for a value-aware analysis. If numeric factorization with the cached analysis reports a
// singular matrix, we redo the analysis with the actual values (private to this factorization)
// and retry before declaring the matrix singular. umfpack_*_numeric does not modify Symbolic, so
// the cached object is shared between threads without a lock.
#include <dsla/config.h>

#if DSLA_HAVE_SUITESPARSE

#include "solve/direct/factorization.h"
#include "solve/direct/internal.h"

#include <dsla/errors.h>
#include <dsla/pattern.h>

#include <ATen/ATen.h>

#include <umfpack.h>

#include <cmath>
#include <complex>
#include <mutex>
#include <sstream>

namespace dsla::direct::detail {
namespace {

using cplx = std::complex<double>;
using SL = SuiteSparse_long;
static_assert(sizeof(SL) == sizeof(int64_t), "SuiteSparse_long must be 64-bit");

void default_control(double* control, bool complex, const std::string& ordering) {
  if (complex) {
    umfpack_zl_defaults(control);
  } else {
    umfpack_dl_defaults(control);
  }
  control[UMFPACK_PRL] = 0;  // no printing
  if (ordering == "amd") control[UMFPACK_ORDERING] = UMFPACK_ORDERING_AMD;
  if (ordering == "metis") control[UMFPACK_ORDERING] = UMFPACK_ORDERING_METIS;
  if (ordering == "natural") control[UMFPACK_ORDERING] = UMFPACK_ORDERING_NONE;
}

const char* status_text(SL status) {
  switch (status) {
    case UMFPACK_ERROR_out_of_memory:
      return "out of memory";
    case UMFPACK_ERROR_invalid_matrix:
      return "invalid matrix";
    case UMFPACK_ERROR_different_pattern:
      return "pattern changed since the analysis";
    case UMFPACK_ERROR_invalid_Symbolic_object:
      return "invalid Symbolic object";
    case UMFPACK_ERROR_invalid_Numeric_object:
      return "invalid Numeric object";
    case UMFPACK_ERROR_argument_missing:
      return "argument missing";
    case UMFPACK_ERROR_n_nonpositive:
      return "n <= 0";
    case UMFPACK_ERROR_internal_error:
      return "internal error";
    case UMFPACK_ERROR_ordering_failed:
      return "ordering failed";
    default:
      return "error";
  }
}

void free_symbolic(void** sym, bool complex) {
  if (!*sym) return;
  if (complex) {
    umfpack_zl_free_symbolic(sym);
  } else {
    umfpack_dl_free_symbolic(sym);
  }
}

// Symbolic analysis of B = Aᵀ (A's CSR arrays), pattern only unless `values` is given.
void* symbolic(int64_t n, const std::vector<int64_t>& Ap, const std::vector<int64_t>& Ai,
               const double* values, bool complex, const double* control) {
  double info[UMFPACK_INFO];
  void* sym = nullptr;
  const SL* p = reinterpret_cast<const SL*>(Ap.data());
  const SL* i = reinterpret_cast<const SL*>(Ai.data());
  const SL status = complex ? umfpack_zl_symbolic(n, n, p, i, values, nullptr, &sym, control, info)
                            : umfpack_dl_symbolic(n, n, p, i, values, &sym, control, info);
  count_analysis();
  if (status != UMFPACK_OK) {
    free_symbolic(&sym, complex);
    TORCH_CHECK(false, "dsla: UMFPACK symbolic analysis failed: ", status_text(status), " (status ",
                status, ")");
  }
  return sym;
}

struct Analysis {
  int64_t n = 0;
  bool complex = false;
  std::vector<int64_t> Ap, Ai;
  double control[UMFPACK_CONTROL];
  void* sym = nullptr;
  ~Analysis() { free_symbolic(&sym, complex); }
};

class UmfpackFactorization final : public Factorization {
 public:
  UmfpackFactorization(PatternPtr pattern, at::ScalarType dtype, const std::string& ordering)
      : pattern_(std::move(pattern)), dtype_(dtype), complex_(at::isComplexType(dtype)) {
    const std::string key =
        std::string("dsla.direct.umfpack.") + (complex_ ? "complex." : "real.") + ordering;
    an_ = pattern_->cached<Analysis>(key, [&] {
      auto an = std::make_shared<Analysis>();
      an->n = pattern_->rows();
      an->complex = complex_;
      csr_as_int64(*pattern_, an->Ap, an->Ai);
      default_control(an->control, complex_, ordering);
      an->sym = symbolic(an->n, an->Ap, an->Ai, nullptr, complex_, an->control);
      return an;
    });
    const int64_t n = an_->n;
    wi_.resize(n);
    w_.resize((complex_ ? 10 : 5) * n);
  }

  ~UmfpackFactorization() override {
    free_numeric();
    free_symbolic(&own_sym_, complex_);
  }

  void factorize(const at::Tensor& values) override {
    const at::Tensor v = prepare_values(values, pattern_->nnz(), dtype_, "lu");
    std::lock_guard<std::mutex> lock(mu_);
    factored_ = false;
    vals_ = v;
    free_numeric();
    SL status = numeric(an_->sym);
    if (status == UMFPACK_WARNING_singular_matrix) {
      // The cached, value-blind analysis may have picked a poor pre-ordering for these values:
      // analyse with them and retry once before calling the matrix singular.
      free_numeric();
      free_symbolic(&own_sym_, complex_);
      own_sym_ = symbolic(an_->n, an_->Ap, an_->Ai, data(), complex_, an_->control);
      status = numeric(own_sym_);
    }
    if (status == UMFPACK_WARNING_singular_matrix) throw_small_pivot(0.0);
    TORCH_CHECK(status == UMFPACK_OK,
                "dsla: UMFPACK numeric factorization failed: ", status_text(status), " (status ",
                status, ")");
    // UMFPACK_RCOND: min |U_ii| / max |U_ii|.
    rcond_ = info_[UMFPACK_RCOND];
    if (!(rcond_ >= pivot_tol_)) throw_small_pivot(rcond_);
    compute_logdet();
    factored_ = true;
  }

  double rcond() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return factored_ ? rcond_ : 0.0;
  }

  at::Tensor solve(const at::Tensor& b, bool adjoint) const override {
    const int64_t n = an_->n;
    return solve_with(b, dtype_, n, "lu solve", [&](const at::Tensor& bcm) {
      std::lock_guard<std::mutex> lock(mu_);
      TORCH_CHECK(factored_, "dsla: lu solve: call factorize(values) first");
      const int64_t k = bcm.size(0);
      at::Tensor rhs = bcm;
      // A x = b  <=>  Bᵀ x = b.   Aᴴ x = b  <=>  B x̄ = b̄.
      const SL sys = adjoint ? UMFPACK_A : (complex_ ? UMFPACK_Aat : UMFPACK_At);
      if (adjoint && complex_) rhs = rhs.conj().resolve_conj().contiguous();
      at::Tensor x = at::empty_like(rhs);
      const SL* p = reinterpret_cast<const SL*>(an_->Ap.data());
      const SL* i = reinterpret_cast<const SL*>(an_->Ai.data());
      double info[UMFPACK_INFO];
      const int64_t w = complex_ ? 2 : 1;
      const double* B = reinterpret_cast<const double*>(rhs.data_ptr());
      double* X = reinterpret_cast<double*>(x.data_ptr());
      for (int64_t j = 0; j < k; ++j) {
        const SL status = complex_
                              ? umfpack_zl_wsolve(sys, p, i, data(), nullptr, X + j * n * w,
                                                  nullptr, B + j * n * w, nullptr, numeric_,
                                                  an_->control, info, wi_.data(), w_.data())
                              : umfpack_dl_wsolve(sys, p, i, data(), X + j * n, B + j * n, numeric_,
                                                  an_->control, info, wi_.data(), w_.data());
        TORCH_CHECK(status == UMFPACK_OK || status == UMFPACK_WARNING_singular_matrix,
                    "dsla: UMFPACK solve failed: ", status_text(status), " (status ", status, ")");
      }
      if (adjoint && complex_) x = x.conj().resolve_conj().contiguous();
      return x;
    });
  }

  std::pair<at::Tensor, at::Tensor> slogdet() const override {
    std::lock_guard<std::mutex> lock(mu_);
    TORCH_CHECK(factored_, "dsla: slogdet: call factorize(values) first");
    return detail::slogdet_tensors(c10::complex<double>(sign_.real(), sign_.imag()), logabs_,
                                   dtype_);
  }

  Kind kind() const override { return Kind::LU; }
  std::string name() const override { return "umfpack-lu"; }

  at::Tensor inverse_entries(const at::Tensor& rows, const at::Tensor& cols) const override {
    return inverse_entries_by_solves(*this, an_->n, rows, cols);
  }

 private:
  const double* data() const { return reinterpret_cast<const double*>(vals_.data_ptr()); }

  SL numeric(void* sym) {
    double* info = info_;
    const SL* p = reinterpret_cast<const SL*>(an_->Ap.data());
    const SL* i = reinterpret_cast<const SL*>(an_->Ai.data());
    return complex_ ? umfpack_zl_numeric(p, i, data(), nullptr, sym, &numeric_, an_->control, info)
                    : umfpack_dl_numeric(p, i, data(), sym, &numeric_, an_->control, info);
  }

  void free_numeric() {
    if (!numeric_) return;
    if (complex_) {
      umfpack_zl_free_numeric(&numeric_);
    } else {
      umfpack_dl_free_numeric(&numeric_);
    }
  }

  // Exact zero pivot (rc == 0) or min|U_ii| / max|U_ii| = rc below the tolerance.
  [[noreturn]] void throw_small_pivot(double rc) {
    const int64_t n = an_->n;
    std::vector<SL> P(n), Q(n);
    std::vector<double> D((complex_ ? 2 : 1) * n);
    SL do_recip = 0;
    const SL status =
        complex_
            ? umfpack_zl_get_numeric(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                     nullptr, P.data(), Q.data(), D.data(), nullptr, &do_recip,
                                     nullptr, numeric_)
            : umfpack_dl_get_numeric(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, P.data(),
                                     Q.data(), D.data(), &do_recip, nullptr, numeric_);
    int64_t step = -1;
    if (status == UMFPACK_OK) {
      double best = INFINITY;
      for (int64_t k = 0; k < n; ++k) {
        const double a = complex_ ? std::abs(cplx(D[2 * k], D[2 * k + 1])) : std::abs(D[k]);
        if (a < best) {
          best = a;
          step = k;
        }
      }
    }
    free_numeric();
    std::ostringstream msg;
    if (rc == 0.0) {
      msg << "lu: the matrix is singular (UMFPACK: zero pivot";
    } else {
      msg << "lu: the matrix is singular to working precision (UMFPACK: smallest pivot / "
             "largest = "
          << rc << " < pivot_tolerance " << pivot_tol_;
    }
    int64_t pivot = -1;
    if (step >= 0) {
      // B = Aᵀ: B's column Q[k] is A's row, B's row P[k] is A's column.
      pivot = Q[step];
      msg << " at elimination step " << step << ", row " << Q[step] << " / column " << P[step]
          << " of A";
    }
    msg << "); check for empty or dependent rows/columns";
    throw_singular(msg.str(), pivot);
  }

  void compute_logdet() {
    double info[UMFPACK_INFO];
    double mx = 0, mz = 0, ex = 0;
    const SL status = complex_ ? umfpack_zl_get_determinant(&mx, &mz, &ex, numeric_, info)
                               : umfpack_dl_get_determinant(&mx, &ex, numeric_, info);
    TORCH_CHECK(status == UMFPACK_OK || status == UMFPACK_WARNING_singular_matrix,
                "dsla: UMFPACK determinant failed: ", status_text(status));
    const double mag = std::abs(cplx(mx, mz));
    if (mag == 0.0) {
      logabs_ = -INFINITY;
      sign_ = 0.0;
    } else {
      logabs_ = std::log(mag) + ex * std::log(10.0);
      sign_ = cplx(mx, mz) / mag;
    }
  }

  PatternPtr pattern_;
  at::ScalarType dtype_;
  bool complex_;
  std::shared_ptr<Analysis> an_;
  mutable std::mutex mu_;
  void* own_sym_ = nullptr;  // value-aware re-analysis (fallback), private
  void* numeric_ = nullptr;
  at::Tensor vals_;  // the factored values (kept for iterative refinement in solve)
  bool factored_ = false;
  double logabs_ = 0.0, rcond_ = 0.0;
  double info_[UMFPACK_INFO] = {};
  cplx sign_ = 1.0;
  mutable std::vector<SL> wi_;
  mutable std::vector<double> w_;
};

}  // namespace

std::unique_ptr<Factorization> make_umfpack(const PatternPtr& pattern, at::ScalarType dtype,
                                            const std::string& ordering) {
  return std::make_unique<UmfpackFactorization>(pattern, dtype, ordering);
}

}  // namespace dsla::direct::detail

#endif  // DSLA_HAVE_SUITESPARSE
