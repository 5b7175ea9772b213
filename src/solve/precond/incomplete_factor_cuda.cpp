// IC(0) and ILU(0) for CUDA matrices: the factor by cuSPARSE (csric02 / csrilu02, in place on a
// copy of the values, level-scheduled), the triangular solves by cuSPARSE SpSV with their
// analysis done once per setup and kept (update() refactors into the same storage and tells
// SpSV the values changed). The breakdown rule is the CPU one (incomplete_factor.h): a pivot
// that is zero (ILU) or not positive (IC), or a factor that is not finite, is retried on
// A + α·diag(A), and the shift used is reported in name().
//
// cuSPARSE's incomplete factorizations are deprecated in CUDA 12/13 but still shipped, and the
// generic API has no replacement: their calls are fenced off from -Wdeprecated-declarations.
// They take int32 indices and real or complex values; dsla uses them for float32/float64.
#include <dsla/errors.h>

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <memory>
#include <mutex>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "solve/precond/common.h"
#include "solve/precond/incomplete_factor.h"

namespace dsla::precond::detail {

namespace {

cudaDataType cuda_real_type(at::ScalarType t) {
  return t == at::kFloat ? CUDA_R_32F : CUDA_R_64F;
}

// One sparse triangular solve y = op(T)⁻¹ x on fixed device buffers, analysed once.
class TriSolve {
 public:
  TriSolve(cusparseHandle_t h, int64_t n, int64_t nnz, const at::Tensor& crow,
           const at::Tensor& col, const at::Tensor& vals, cusparseFillMode_t fill,
           cusparseDiagType_t diag, cusparseOperation_t op, const at::Tensor& x,
           const at::Tensor& y)
      : op_(op), type_(cuda_real_type(vals.scalar_type())) {
    DSLA_CUSPARSE_CHECK(cusparseCreateCsr(&mat_, n, n, nnz, crow.data_ptr(), col.data_ptr(),
                                          vals.data_ptr(), CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                                          CUSPARSE_INDEX_BASE_ZERO, type_));
    DSLA_CUSPARSE_CHECK(
        cusparseSpMatSetAttribute(mat_, CUSPARSE_SPMAT_FILL_MODE, &fill, sizeof(fill)));
    DSLA_CUSPARSE_CHECK(
        cusparseSpMatSetAttribute(mat_, CUSPARSE_SPMAT_DIAG_TYPE, &diag, sizeof(diag)));
    DSLA_CUSPARSE_CHECK(cusparseCreateDnVec(&x_, n, x.data_ptr(), type_));
    DSLA_CUSPARSE_CHECK(cusparseCreateDnVec(&y_, n, y.data_ptr(), type_));
    DSLA_CUSPARSE_CHECK(cusparseSpSV_createDescr(&sv_));
    size_t bytes = 0;
    DSLA_CUSPARSE_CHECK(cusparseSpSV_bufferSize(h, op_, alpha(), mat_, x_, y_, type_,
                                                CUSPARSE_SPSV_ALG_DEFAULT, sv_, &bytes));
    buffer_ = at::empty({int64_t(bytes) + 1}, vals.options().dtype(at::kByte));
    DSLA_CUSPARSE_CHECK(cusparseSpSV_analysis(h, op_, alpha(), mat_, x_, y_, type_,
                                              CUSPARSE_SPSV_ALG_DEFAULT, sv_, buffer_.data_ptr()));
  }
  TriSolve(const TriSolve&) = delete;
  TriSolve& operator=(const TriSolve&) = delete;
  ~TriSolve() {
    if (sv_) cusparseSpSV_destroyDescr(sv_);
    if (x_) cusparseDestroyDnVec(x_);
    if (y_) cusparseDestroyDnVec(y_);
    if (mat_) cusparseDestroySpMat(mat_);
  }

  void solve(cusparseHandle_t h) const {
    DSLA_CUSPARSE_CHECK(
        cusparseSpSV_solve(h, op_, alpha(), mat_, x_, y_, type_, CUSPARSE_SPSV_ALG_DEFAULT, sv_));
  }
  // The factor values (same storage) were recomputed.
  void values_changed(cusparseHandle_t h, const at::Tensor& vals) {
    DSLA_CUSPARSE_CHECK(
        cusparseSpSV_updateMatrix(h, sv_, vals.data_ptr(), CUSPARSE_SPSV_UPDATE_GENERAL));
  }

 private:
  const void* alpha() const {
    return type_ == CUDA_R_32F ? static_cast<const void*>(&one_f_)
                               : static_cast<const void*>(&one_d_);
  }

  cusparseOperation_t op_;
  cudaDataType type_;
  cusparseSpMatDescr_t mat_ = nullptr;
  cusparseDnVecDescr_t x_ = nullptr, y_ = nullptr;
  cusparseSpSVDescr_t sv_ = nullptr;
  at::Tensor buffer_;
  float one_f_ = 1.0f;
  double one_d_ = 1.0;
};

using Steps = std::vector<std::unique_ptr<TriSolve>>;

// The legacy (deprecated) incomplete-factorization calls, by kind and value type.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
template <class T>
struct Legacy;
template <>
struct Legacy<double> {
  static constexpr auto ic_size = cusparseDcsric02_bufferSize;
  static constexpr auto ic_analysis = cusparseDcsric02_analysis;
  static constexpr auto ic = cusparseDcsric02;
  static constexpr auto ilu_size = cusparseDcsrilu02_bufferSize;
  static constexpr auto ilu_analysis = cusparseDcsrilu02_analysis;
  static constexpr auto ilu = cusparseDcsrilu02;
};
template <>
struct Legacy<float> {
  static constexpr auto ic_size = cusparseScsric02_bufferSize;
  static constexpr auto ic_analysis = cusparseScsric02_analysis;
  static constexpr auto ic = cusparseScsric02;
  static constexpr auto ilu_size = cusparseScsrilu02_bufferSize;
  static constexpr auto ilu_analysis = cusparseScsrilu02_analysis;
  static constexpr auto ilu = cusparseScsrilu02;
};

class LegacyFactor {
 public:
  LegacyFactor(bool cholesky) : cholesky_(cholesky) {
    DSLA_CUSPARSE_CHECK(cusparseCreateMatDescr(&descr_));
    DSLA_CUSPARSE_CHECK(cusparseSetMatType(descr_, CUSPARSE_MATRIX_TYPE_GENERAL));
    DSLA_CUSPARSE_CHECK(cusparseSetMatIndexBase(descr_, CUSPARSE_INDEX_BASE_ZERO));
    if (cholesky_)
      DSLA_CUSPARSE_CHECK(cusparseCreateCsric02Info(&ic_));
    else
      DSLA_CUSPARSE_CHECK(cusparseCreateCsrilu02Info(&ilu_));
  }
  LegacyFactor(const LegacyFactor&) = delete;
  LegacyFactor& operator=(const LegacyFactor&) = delete;
  ~LegacyFactor() {
    if (ic_) cusparseDestroyCsric02Info(ic_);
    if (ilu_) cusparseDestroyCsrilu02Info(ilu_);
    if (descr_) cusparseDestroyMatDescr(descr_);
  }

  // Factors m (values [nnz], contiguous, CUDA) in place. Returns the structural/numerical zero
  // pivot cuSPARSE reports, or -1.
  int64_t factor(cusparseHandle_t h, int n, int nnz, const int* crow, const int* col,
                 at::Tensor& m) {
    if (m.scalar_type() == at::kDouble) {
      run<double>(h, n, nnz, crow, col, m.data_ptr<double>(), m);
    } else {
      run<float>(h, n, nnz, crow, col, m.data_ptr<float>(), m);
    }
    int pos = -1;
    const cusparseStatus_t st = cholesky_ ? cusparseXcsric02_zeroPivot(h, ic_, &pos)
                                          : cusparseXcsrilu02_zeroPivot(h, ilu_, &pos);
    if (st == CUSPARSE_STATUS_ZERO_PIVOT) return pos;
    DSLA_CUSPARSE_CHECK(st);
    return -1;
  }

 private:
  // The three calls of one factorization (buffer size, analysis, factor), IC or ILU, S or D.
  template <class T>
  void run(cusparseHandle_t h, int n, int nnz, const int* crow, const int* col, T* v,
           const at::Tensor& like) {
    const auto pol = CUSPARSE_SOLVE_POLICY_USE_LEVEL;
    int bytes = 0;
    if (cholesky_) {
      DSLA_CUSPARSE_CHECK(Legacy<T>::ic_size(h, n, nnz, descr_, v, crow, col, ic_, &bytes));
      ensure(like, bytes);
      DSLA_CUSPARSE_CHECK(Legacy<T>::ic_analysis(h, n, nnz, descr_, v, crow, col, ic_, pol, buf()));
      DSLA_CUSPARSE_CHECK(Legacy<T>::ic(h, n, nnz, descr_, v, crow, col, ic_, pol, buf()));
    } else {
      DSLA_CUSPARSE_CHECK(Legacy<T>::ilu_size(h, n, nnz, descr_, v, crow, col, ilu_, &bytes));
      ensure(like, bytes);
      DSLA_CUSPARSE_CHECK(
          Legacy<T>::ilu_analysis(h, n, nnz, descr_, v, crow, col, ilu_, pol, buf()));
      DSLA_CUSPARSE_CHECK(Legacy<T>::ilu(h, n, nnz, descr_, v, crow, col, ilu_, pol, buf()));
    }
  }

  void ensure(const at::Tensor& like, int bytes) {
    if (!buffer_.defined() || buffer_.numel() < bytes + 1)
      buffer_ = at::empty({int64_t(bytes) + 1}, like.options().dtype(at::kByte));
  }
  void* buf() { return buffer_.data_ptr(); }

  bool cholesky_;
  cusparseMatDescr_t descr_ = nullptr;
  csric02Info_t ic_ = nullptr;
  csrilu02Info_t ilu_ = nullptr;
  at::Tensor buffer_;
};
#pragma GCC diagnostic pop

class IncompleteCuda final : public PrecondBase {
 public:
  IncompleteCuda(const SparseMatrix& A, const Options& opt, bool cholesky)
      : PrecondBase(A), opt_(opt), cholesky_(cholesky) {
    const c10::cuda::CUDAGuard guard(device_);
    auto p32 =
        pattern_->index_dtype() == at::kInt ? pattern_ : pattern_->with_index_dtype(at::kInt);
    crow_ = p32->crow();
    col_ = p32->col();
    diag_ = pattern_->diag_pos();
    s0_ = at::empty({n_}, A.values().options());
    s1_ = at::empty({n_}, A.values().options());
    setup(A);
  }

  void apply(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, cholesky_ ? "ic0.apply" : "ilu0.apply");
    run(x, y, forward_);
  }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override {
    if (cholesky_) return apply(x, y);
    check_apply(x, y, "ilu0.apply_adjoint");
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (adjoint_.empty()) {
        // (LU)ᵀ = Uᵀ Lᵀ: solve with Uᵀ first, then Lᵀ (both transposed solves on the factor).
        auto h = at::cuda::getCurrentCUDASparseHandle();
        for (int64_t b = 0; b < lu_.size(0); ++b) {
          adjoint_.push_back(step(h, b, CUSPARSE_FILL_MODE_UPPER, CUSPARSE_DIAG_TYPE_NON_UNIT,
                                  CUSPARSE_OPERATION_TRANSPOSE, s0_, s1_));
          adjoint_.push_back(step(h, b, CUSPARSE_FILL_MODE_LOWER, CUSPARSE_DIAG_TYPE_UNIT,
                                  CUSPARSE_OPERATION_TRANSPOSE, s1_, s0_));
        }
      }
    }
    run(x, y, adjoint_);
  }
  void update(const SparseMatrix& A) override {
    check_update(A);
    DSLA_CHECK_ARG(A.batch_size() == lu_.size(0), "A", kind(),
                   " on CUDA: update() needs the batch size of the setup (", lu_.size(0), "), got ",
                   A.batch_size(), "; build a new preconditioner");
    const c10::cuda::CUDAGuard guard(device_);
    factor(A);
    auto h = at::cuda::getCurrentCUDASparseHandle();
    for (size_t i = 0; i < forward_.size(); ++i)  // two steps per batch member
      forward_[i]->values_changed(h, lu_[int64_t(i) / 2]);
    std::lock_guard<std::mutex> g(mutex_);
    adjoint_.clear();  // re-analysed on the next adjoint apply
  }
  bool is_symmetric() const override { return cholesky_; }
  std::string name() const override { return shifted_name(kind(), shift_); }
  std::shared_ptr<const Preconditioner> adjoint() const override {
    if (cholesky_) return shared_from_this();
    return adjoint_view(shared_from_this());
  }

 private:
  const char* kind() const { return cholesky_ ? "ic0" : "ilu0"; }

  std::unique_ptr<TriSolve> step(cusparseHandle_t h, int64_t b, cusparseFillMode_t fill,
                                 cusparseDiagType_t diag, cusparseOperation_t op,
                                 const at::Tensor& x, const at::Tensor& y) const {
    return std::make_unique<TriSolve>(h, n_, col_.numel(), crow_, col_, lu_[b], fill, diag, op, x,
                                      y);
  }

  void factor(const SparseMatrix& A) {
    auto vals = values_2d(A);
    if (!lu_.defined() || lu_.sizes() != vals.sizes()) lu_ = at::empty_like(vals);
    auto h = at::cuda::getCurrentCUDASparseHandle();
    const int n = int(n_), nnz = int(col_.numel());
    const int* crow = crow_.data_ptr<int>();
    const int* col = col_.data_ptr<int>();
    shift_ = factor_with_shifts(
        vals, lu_, diag_, opt_, kind(),
        cholesky_ ? "IC(0) needs a symmetric positive definite matrix (only its lower triangle is "
                    "read); for other matrices use precond='ilu0', 'jacobi' or 'none'"
                  : "Try a larger 'shift', a different ordering, or precond='jacobi'/'none'",
        [&](at::Tensor& m) -> int64_t {
          const int64_t zero = legacy_.factor(h, n, nnz, crow, col, m);
          if (zero >= 0) return zero;
          // A negative IC pivot becomes a NaN square root; cuSPARSE reports exact zeros only.
          auto d = m.index_select(0, diag_);
          auto bad = cholesky_ ? (d <= 0).logical_or(at::isfinite(d).logical_not())
                               : (d == 0).logical_or(at::isfinite(d).logical_not());
          auto first = at::argmax(bad.to(at::kInt)).item<int64_t>();
          return bad[first].item<bool>() ? first : -1;
        });
  }

  void setup(const SparseMatrix& A) {
    DSLA_CHECK_TYPE(A.dtype() == at::kFloat || A.dtype() == at::kDouble, "A", kind(),
                    " on CUDA supports float32 and float64 values, got ", A.dtype(),
                    "; use precond='jacobi', 'block_jacobi' or 'chebyshev', or solve on the CPU");
    factor(A);
    auto h = at::cuda::getCurrentCUDASparseHandle();
    forward_.clear();
    for (int64_t b = 0; b < lu_.size(0); ++b) {
      if (cholesky_) {  // L Lᵀ: L then Lᵀ (the transposed solve on the same lower factor)
        forward_.push_back(step(h, b, CUSPARSE_FILL_MODE_LOWER, CUSPARSE_DIAG_TYPE_NON_UNIT,
                                CUSPARSE_OPERATION_NON_TRANSPOSE, s0_, s1_));
        forward_.push_back(step(h, b, CUSPARSE_FILL_MODE_LOWER, CUSPARSE_DIAG_TYPE_NON_UNIT,
                                CUSPARSE_OPERATION_TRANSPOSE, s1_, s0_));
      } else {  // L U: unit lower L, then U
        forward_.push_back(step(h, b, CUSPARSE_FILL_MODE_LOWER, CUSPARSE_DIAG_TYPE_UNIT,
                                CUSPARSE_OPERATION_NON_TRANSPOSE, s0_, s1_));
        forward_.push_back(step(h, b, CUSPARSE_FILL_MODE_UPPER, CUSPARSE_DIAG_TYPE_NON_UNIT,
                                CUSPARSE_OPERATION_NON_TRANSPOSE, s1_, s0_));
      }
    }
  }

  // y[b, :, j] = M⁻¹ x[b or 0, :, j], column by column through the two scratch vectors (the
  // SpSV descriptors are bound to them; the copies cost two vector passes per column).
  void run(const at::Tensor& x, at::Tensor& y, const Steps& steps) const {
    const c10::cuda::CUDAGuard guard(device_);
    std::lock_guard<std::mutex> g(apply_mutex_);  // the scratch vectors are shared state
    auto h = at::cuda::getCurrentCUDASparseHandle();
    const int64_t B = y.size(0), k = y.size(2);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t member = lu_.size(0) == 1 ? 0 : b;
      for (int64_t j = 0; j < k; ++j) {
        s0_.copy_(x.select(0, x.size(0) == 1 ? 0 : b).select(1, j));
        steps[2 * member]->solve(h);
        steps[2 * member + 1]->solve(h);
        y.select(0, b).select(1, j).copy_(s0_);
      }
    }
  }

  Options opt_;
  bool cholesky_;
  at::Tensor crow_, col_, diag_, lu_;
  at::Tensor s0_, s1_;
  LegacyFactor legacy_{cholesky_};
  Steps forward_;
  mutable Steps adjoint_;
  mutable std::mutex mutex_, apply_mutex_;
  double shift_ = 0.0;
};

PreconditionerPtr make_incomplete_cuda(const SparseMatrix& A, const Options& opt, bool cholesky) {
  const char* kind = cholesky ? "ic0" : "ilu0";
  DSLA_CHECK_ARG(A.rows() == A.cols(), "A", kind, " needs a square matrix");
  DSLA_CHECK_ARG(Pattern::index_dtype_for(A.rows(), A.cols(), A.nnz()) == at::kInt, "A", kind,
                 " on CUDA uses cuSPARSE, which takes int32 indices: this matrix has ", A.nnz(),
                 " entries (over 2^31 - 1); use precond='jacobi' or 'chebyshev'");
  DSLA_CHECK_TYPE(A.dtype() == at::kFloat || A.dtype() == at::kDouble, "A", kind,
                  " on CUDA supports float32 and float64 values, got ", A.dtype(),
                  "; use precond='jacobi', 'block_jacobi' or 'chebyshev', or solve on the CPU");
  if (A.rows() == 0) return make_identity(A);
  check_diagonal_stored(A, kind);
  return std::make_shared<IncompleteCuda>(A, opt, cholesky);
}

}  // namespace

PreconditionerPtr make_ic0_cuda(const SparseMatrix& A, const Options& opt) {
  return make_incomplete_cuda(A, opt, /*cholesky=*/true);
}

PreconditionerPtr make_ilu0_cuda(const SparseMatrix& A, const Options& opt) {
  return make_incomplete_cuda(A, opt, /*cholesky=*/false);
}

DSLA_REGISTER_CUDA(make_ic0_stub, make_ic0_cuda);
DSLA_REGISTER_CUDA(make_ilu0_stub, make_ilu0_cuda);

}  // namespace dsla::precond::detail
