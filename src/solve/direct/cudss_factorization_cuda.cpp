// cuDSS behind dsla::direct::Factorization: Cholesky (SPD / HPD), LDLᵀ (symmetric / Hermitian
// indefinite) and LU (general) of CUDA matrices, fp32 / fp64 / complex64 / complex128, factored
// in the matrix's own dtype. All cuDSS calls live in src/kernels/cuda/cudss_wrapper.cpp; this
// file adapts them to at::Tensor.
//
// - What cuDSS sees: for Cholesky / LDLᵀ the upper triangle of the CSR (col >= row, as CHOLMOD),
//   gathered once per pattern (index map cached on the Pattern), so the values of the other
//   triangle are never read; they are checked to be symmetric (Hermitian) within rounding. LU
//   gets the full CSR. Indices go in as int32 when n and nnz fit (int64 otherwise).
// - Analysis reuse: a cuDSS "engine" (handle + config + data after CUDSS_PHASE_ANALYSIS) does
//   not depend on the values (matching is off), so engines are pooled on the Pattern per
//   (kind, dtype, batch, ordering): a new Factorization of a matrix with the same pattern (a new
//   Solver every training step) takes an idle analyzed engine, and only factors numerically.
//   Refactoring a Solver keeps its engine; Cholesky uses CUDSS_PHASE_REFACTORIZATION.
// - Batches: one Factorization can hold a uniform batch (values [B, nnz], CUDSS_CONFIG_UBATCH_SIZE)
//   solved in one cuDSS call per phase; b is [B, n, k]. DSLA_CUDSS_UBATCH=0 turns that off (one
//   factorization per member, as on the CPU).
// - Adjoint solves: symmetric / Hermitian kinds reuse the factorization (A = Aᴴ). LU uses cuDSS's
//   transpose / conjugate-transpose solve (CUDSS_CONFIG_SOLVE_MODE, cuDSS >= 1.0); where cuDSS
//   refuses it (status NOT_SUPPORTED / INVALID_VALUE), or with DSLA_CUDSS_TRANSPOSE=factor, a
//   second cuDSS LU of Aᴴ (pattern transpose, values permuted and conjugated) is made lazily on
//   the first adjoint solve after each factorize and cached.
// - Singularity: CUDSS_DATA_INFO != 0 (zero / non-positive pivot) raises SingularMatrixError, and
//   so does a factor diagonal (CUDSS_DATA_DIAG) with a zero or min/max |pivot| below the pivot
//   tolerance. cuDSS's LU perturbs tiny pivots instead of stopping: a singular general matrix
//   may factor "successfully"; the Solver's residual check then reports the solve inaccurate.
// - det / logdet: Cholesky and LDLᵀ from CUDSS_DATA_DIAG (whether cuDSS returns diag(L) or the
//   pivots D is probed once per process on a 2 x 2 matrix); LDLᵀ's sign cross-checked with
//   CUDSS_DATA_INERTIA. LU: not supported (cuDSS does not expose its row pivoting, so the sign
//   is unknown): a clear error.
#include <dsla/config.h>

#if DSLA_HAVE_CUDSS

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <dsla/errors.h>
#include <dsla/pattern.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/dispatch.h"
#include "kernels/cpu/nested_dissection.h"
#include "kernels/cuda/cudss_wrapper.h"
#include "solve/direct/factorization.h"
#include "solve/direct/internal.h"

namespace dsla::direct::detail {
namespace {

namespace cu = kernels::cuda::cudss;

const char* kind_name(Kind k) {
  return k == Kind::Cholesky ? "cholesky" : k == Kind::LDLT ? "ldlt" : "lu";
}

bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, value) == 0;
}

cu::ValueType value_type(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return cu::ValueType::F32;
    case at::kDouble:
      return cu::ValueType::F64;
    case at::kComplexFloat:
      return cu::ValueType::C64;
    case at::kComplexDouble:
      return cu::ValueType::C128;
    default:
      break;
  }
  TORCH_CHECK_TYPE(false, "dsla: cuDSS supports float32, float64, complex64 and complex128, got ",
                   t);
  return cu::ValueType::F64;  // not reached
}

cu::Reordering reordering(const std::string& o) {
  if (o == "amd") return cu::Reordering::AMD;
  if (o == "metis" || o == "nesdis") return cu::Reordering::NestedDissection;
  if (o == "natural") return cu::Reordering::None;
  return cu::Reordering::Default;
}

// Rethrows a cuDSS error as a dsla::SolveError (with what it was doing).
[[noreturn]] void rethrow(const cu::Error& e, const std::string& during) {
  throw SolveError(std::string(e.what()) + " (during " + during + ")");
}

// dsla's nested dissection of a pattern as cuDSS takes it (kernels/cpu/nested_dissection.h).
struct NdForCudss {
  std::vector<int64_t> perm, tree;
  int levels = 0;
  double separator_share = 0.0;  // rows in the tree's separators / n
};
// "auto" orders with dsla's nested dissection from this size on (below, cuDSS's own reordering
// is fast enough) unless the dissection's separators hold more than this share of the rows.
constexpr int64_t kNdMinRows = int64_t(1) << 17;
constexpr double kNdMaxSeparatorShare = 0.2;

// DSLA_CUDSS_ORDERING: who orders for ordering="auto" from kNdMinRows rows on: "dsla" (the
// default) or "cudss" (cuDSS's own reordering; benchmarks, diagnosis).
bool dsla_orders_for_auto() {
  const char* e = std::getenv("DSLA_CUDSS_ORDERING");
  if (e == nullptr || *e == 0) return true;
  const std::string v = e;
  DSLA_CHECK_ARG(v == "dsla" || v == "cudss", "DSLA_CUDSS_ORDERING",
                 "must be 'dsla' or 'cudss', got '", v, "'; unset it for the default (dsla)");
  return v == "dsla";
}

// Host threads for the ordering: all cores, as cuDSS's own reordering uses through its
// threading layer (the host is otherwise idle in a GPU solve; at::get_num_threads() can be a
// fraction of the cores in a Python process: 0.29 s on 4 threads vs 0.17 s on 16 at 1M rows).
int nd_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return std::max(1, static_cast<int>(hw > 0 ? hw : 1));
}

// The CSR that cuDSS sees for a pattern: the full matrix (LU) or its upper triangle.
struct CsrView {
  at::Tensor crow, col;  // device, int32 or int64
  at::Tensor sel;        // int64 gather map from the full values (triangle only)
  int64_t nnz = 0;
  cu::IndexType index = cu::IndexType::I32;
};

std::shared_ptr<CsrView> csr_view(const Pattern& p, bool triangle) {
  return p.cached<CsrView>(
      triangle ? "dsla.direct.cudss.csr.upper" : "dsla.direct.cudss.csr.full", [&] {
        auto v = std::make_shared<CsrView>();
        const int64_t n = p.rows();
        at::Tensor crow = p.crow(), col = p.col();
        if (triangle) {
          const at::Tensor r = p.row().to(at::kLong);
          const at::Tensor c = col.to(at::kLong);
          v->sel = at::nonzero(c >= r).reshape({-1});
          const at::Tensor rt = r.index_select(0, v->sel);
          col = c.index_select(0, v->sel);
          const at::Tensor counts = at::bincount(rt, {}, n);
          crow = at::cat({at::zeros({1}, counts.options()), at::cumsum(counts, 0)});
        }
        v->nnz = col.numel();
        const bool fits =
            n < std::numeric_limits<int32_t>::max() && v->nnz < std::numeric_limits<int32_t>::max();
        const at::ScalarType it = fits ? at::kInt : at::kLong;
        v->index = fits ? cu::IndexType::I32 : cu::IndexType::I64;
        v->crow = crow.to(it).contiguous();
        v->col = col.to(it).contiguous();
        return v;
      });
}

// Idle analyzed engines for one (pattern, kind, dtype, batch, ordering).
struct EnginePool {
  std::mutex mu;
  std::vector<std::unique_ptr<cu::Solver>> idle;
  static constexpr size_t kMaxIdle = 2;
};

// 2 when CUDSS_DATA_DIAG of an SPD factorization is diag(L) (pivots are its squares), 1 when it
// is the pivots D. Probed once per process on diag(4, 9) with the given engine options.
int cholesky_diag_power(cudaStream_t stream) {
  static std::atomic<int> power{0};
  static std::mutex mu;
  if (power.load() != 0) return power.load();
  std::lock_guard<std::mutex> lock(mu);
  if (power.load() != 0) return power.load();
  const auto dev = at::TensorOptions().device(at::kCUDA, c10::cuda::current_device());
  const at::Tensor crow = at::tensor(std::vector<int32_t>{0, 1, 2}, at::kInt).to(dev);
  const at::Tensor col = at::tensor(std::vector<int32_t>{0, 1}, at::kInt).to(dev);
  const at::Tensor val = at::tensor(std::vector<double>{4.0, 9.0}, at::kDouble).to(dev);
  cu::Options o;
  o.mtype = cu::MatrixType::SPD;
  o.value = cu::ValueType::F64;
  o.n = 2;
  o.nnz = 2;
  cu::Solver s(o);
  s.set_matrix(crow.data_ptr(), col.data_ptr(), val.data_ptr());
  s.analyze(stream);
  TORCH_CHECK(s.factorize(false, stream) == 0, "dsla: cuDSS failed to factor diag(4, 9)");
  double d[2] = {0.0, 0.0};
  if (!s.diag(d, sizeof(d))) {
    power.store(-1);
    return -1;
  }
  const bool l = std::abs(d[0] - 2.0) < 1e-12 && std::abs(d[1] - 3.0) < 1e-12;
  const bool dd = std::abs(d[0] - 4.0) < 1e-12 && std::abs(d[1] - 9.0) < 1e-12;
  power.store(l ? 2 : dd ? 1 : -1);
  return power.load();
}

// Per [single matrix, uniform batch]: -1 unknown, 1 cuDSS's transpose solve mode works, 0 refused
// (factor Aᴴ instead).
std::atomic<int> g_transpose_mode[2] = {{-1}, {-1}};

class CudssFactorization final : public Factorization {
 public:
  CudssFactorization(PatternPtr pattern, Kind kind, at::ScalarType dtype,
                     const std::string& ordering, int64_t batch)
      : pattern_(std::move(pattern)),
        kind_(kind),
        dtype_(dtype),
        ordering_(ordering),
        batch_(batch),
        device_(pattern_->device()) {
    symmetric_ = kind_ != Kind::LU;
    const cu::PhaseTrace trace("dsla set-up (pattern checks, CSR view)", nullptr);
    if (symmetric_) {
      DSLA_CHECK_ARG(pattern_->is_structurally_symmetric(), "A", kind_name(kind_),
                     " needs a symmetric matrix stored with both triangles, but the pattern is "
                     "not symmetric; use method='lu' for a general matrix");
    }
    complex_ = at::isComplexType(dtype_);
    (void)value_type(dtype_);
    csr_ = csr_view(*pattern_, symmetric_);
    std::ostringstream key;
    key << "dsla.direct.cudss.engines." << kind_name(kind_) << "." << dtype_ << ".b" << batch_
        << "." << ordering_;
    pool_ = pattern_->cached<EnginePool>(key.str(), [] { return std::make_shared<EnginePool>(); });
  }

  ~CudssFactorization() override {
    if (!engine_ || !engine_->analyzed()) return;
    try {
      // The engine's last work must be over before another Factorization reuses it.
      at::cuda::getCurrentCUDAStream(device_.index()).synchronize();
      std::lock_guard<std::mutex> lock(pool_->mu);
      if (pool_->idle.size() < EnginePool::kMaxIdle) pool_->idle.push_back(std::move(engine_));
    } catch (...) {
      // at exit the CUDA context may be gone: just drop the engine
    }
  }

  void factorize(const at::Tensor& values) override {
    const char* who = "cuDSS factorize";
    DSLA_CHECK_ARG(values.defined(), "values", who, ": values are undefined");
    DSLA_CHECK_ARG(values.device() == device_, "values", who, ": the factorization is on ", device_,
                   ", values are on ", values.device());
    const int64_t nnz = pattern_->nnz();
    if (batch_ == 1) {
      DSLA_CHECK_ARG(values.dim() == 1 && values.size(0) == nnz, "values", who,
                     ": expected shape [nnz] = [", nnz, "], got ", values.sizes());
    } else {
      DSLA_CHECK_ARG(values.dim() == 2 && values.size(0) == batch_ && values.size(1) == nnz,
                     "values", who, ": expected shape [B, nnz] = [", batch_, ", ", nnz, "], got ",
                     values.sizes());
    }
    DSLA_CHECK_TYPE(at::isComplexType(values.scalar_type()) == complex_, "values", who,
                    ": the factorization was made for ", dtype_, " but values are ",
                    values.scalar_type());
    const c10::cuda::CUDAGuard guard(device_);
    const cudaStream_t stream = at::cuda::getCurrentCUDAStream().stream();
    factored_ = false;
    adj_.reset();
    const cu::PhaseTrace trace("dsla factorize (all of it)", stream);
    full_ = values.detach().to(dtype_).contiguous();
    if (symmetric_) {
      const cu::PhaseTrace trace_sym("dsla symmetry check", stream);
      check_symmetric(full_);
    }
    vals_ = symmetric_ ? full_.index_select(-1, csr_->sel).contiguous() : full_;
    try {
      acquire_engine();
      engine_->set_matrix(csr_->crow.data_ptr(), csr_->col.data_ptr(), vals_.data_ptr());
      if (!engine_->analyzed()) {
        engine_->analyze(stream);
        count_analysis();
      }
      const int info = engine_->factorize(/*refactor=*/kind_ == Kind::Cholesky, stream);
      if (info != 0) {
        std::ostringstream os;
        os << "cuDSS " << kind_name(kind_) << " factorization: ";
        if (kind_ == Kind::Cholesky)
          os << "the matrix is not positive definite (cuDSS info " << info
             << "); for a symmetric indefinite matrix use method='ldlt' or 'lu'";
        else
          os << "the matrix is singular (cuDSS info " << info << ")";
        throw_singular(os.str(), info > 0 ? info - 1 : -1);
      }
      check_pivots();
    } catch (const cu::Error& e) {
      rethrow(e, std::string("the ") + kind_name(kind_) + " factorization");
    }
    factored_ = true;
  }

  at::Tensor solve(const at::Tensor& b, bool adjoint) const override {
    TORCH_CHECK(factored_, "dsla: cuDSS solve: call factorize(values) first");
    const char* who = "cuDSS solve";
    const int64_t n = pattern_->rows();
    DSLA_CHECK_ARG(b.defined(), "b", who, ": right-hand side is undefined");
    DSLA_CHECK_ARG(b.device() == device_, "b", who, ": the factorization is on ", device_,
                   ", b is on ", b.device());
    DSLA_CHECK_TYPE(at::isFloatingType(b.scalar_type()) || at::isComplexType(b.scalar_type()), "b",
                    who, ": expected a floating or complex dtype, got ", b.scalar_type());
    at::Tensor bb = b.detach();
    const bool vec = batch_ == 1 && bb.dim() == 1;
    if (batch_ == 1) {
      DSLA_CHECK_ARG((bb.dim() == 1 || bb.dim() == 2) && bb.size(0) == n, "b", who,
                     ": expected shape [n] or [n, k] with n = ", n, ", got ", bb.sizes());
      if (vec) bb = bb.unsqueeze(1);
      bb = bb.unsqueeze(0);  // [1, n, k]
    } else {
      DSLA_CHECK_ARG(bb.dim() == 3 && (bb.size(0) == batch_ || bb.size(0) == 1) && bb.size(1) == n,
                     "b", who, ": expected shape [B, n, k] with B = ", batch_, " and n = ", n,
                     ", got ", bb.sizes());
      bb = bb.expand({batch_, n, bb.size(2)});
    }
    const at::ScalarType out = at::promote_types(dtype_, bb.scalar_type());
    const c10::cuda::CUDAGuard guard(device_);
    const cu::PhaseTrace trace("dsla solve (all of it)", at::cuda::getCurrentCUDAStream().stream());
    at::Tensor x;
    try {
      if (at::isComplexType(bb.scalar_type()) && !complex_) {
        // Real factorization, complex b: real and imaginary parts as 2k real right-hand sides.
        const int64_t k = bb.size(2);
        const at::Tensor br = at::cat({at::real(bb), at::imag(bb)}, 2);  // [B, n, 2k]
        const at::Tensor xr = solve3(br, adjoint);
        x = at::complex(xr.narrow(2, 0, k).contiguous(), xr.narrow(2, k, k).contiguous());
      } else {
        x = solve3(bb, adjoint);
      }
    } catch (const cu::Error& e) {
      rethrow(e, std::string(adjoint ? "an adjoint" : "a") + " solve with the " + kind_name(kind_) +
                     " factorization");
    }
    if (batch_ == 1) x = x.squeeze(0);
    if (vec) x = x.squeeze(1);
    return x.to(out);
  }

  std::pair<at::Tensor, at::Tensor> slogdet() const override {
    TORCH_CHECK(factored_, "dsla: slogdet: call factorize(values) first");
    TORCH_CHECK_NOT_IMPLEMENTED(batch_ == 1, "dsla: cuDSS slogdet of a uniform batch");
    if (kind_ == Kind::LU) {
      throw SolveError(
          "dsla: det / logdet of a CUDA matrix needs method='cholesky' (SPD) or 'ldlt' "
          "(symmetric): cuDSS's LU does not expose its row pivoting, so the sign of det A is "
          "unknown. Move the matrix to the CPU (A.to('cpu')) for an LU determinant");
    }
    const c10::cuda::CUDAGuard guard(device_);
    at::Tensor d = read_diag();
    TORCH_CHECK(d.defined(),
                "dsla: this cuDSS build does not return the factor diagonal (CUDSS_DATA_DIAG); "
                "det / logdet of a CUDA matrix is not available: move it to the CPU");
    const at::ScalarType real = at::toRealValueType(dtype_);
    if (complex_) d = at::real(d);  // Hermitian: the pivots are real
    d = d.to(at::kDouble);
    at::Tensor logabs, sign;
    if (kind_ == Kind::Cholesky) {
      const int power = cholesky_diag_power(at::cuda::getCurrentCUDAStream().stream());
      TORCH_CHECK(power > 0, "dsla: cannot interpret cuDSS's Cholesky factor diagonal");
      logabs = at::log(d).sum() * static_cast<double>(power);
      sign = at::ones({}, d.options());
    } else {
      logabs = at::log(d.abs()).sum();
      const int64_t neg = (d < 0).sum().item<int64_t>();
      int64_t pos_i = 0, neg_i = 0;
      if (engine_->inertia(&pos_i, &neg_i)) {
        TORCH_CHECK(neg_i == neg, "dsla: cuDSS's LDLᵀ factor has 2 x 2 pivots (inertia ", pos_i,
                    "/", neg_i, " vs ", neg,
                    " negative diagonal entries); its determinant cannot be read "
                    "from the diagonal: use method='lu' on the CPU");
      }
      sign = at::full({}, (neg % 2) ? -1.0 : 1.0, d.options());
    }
    return {sign.to(dtype_), logabs.to(real)};
  }

  at::Tensor inverse_entries(const at::Tensor& rows, const at::Tensor& cols) const override {
    return inverse_entries_by_solves(*this, pattern_->rows(), rows, cols);
  }

  double rcond() const override { return factored_ ? rcond_ : 0.0; }
  Kind kind() const override { return kind_; }
  std::string name() const override { return std::string("cudss-") + kind_name(kind_); }
  int64_t batch_size() const override { return batch_; }

 private:
  void acquire_engine() {
    if (engine_) return;
    {
      std::lock_guard<std::mutex> lock(pool_->mu);
      if (!pool_->idle.empty()) {
        engine_ = std::move(pool_->idle.back());
        pool_->idle.pop_back();
        return;
      }
    }
    cu::Options o;
    o.mtype = kind_ == Kind::Cholesky ? (complex_ ? cu::MatrixType::HPD : cu::MatrixType::SPD)
              : kind_ == Kind::LDLT
                  ? (complex_ ? cu::MatrixType::Hermitian : cu::MatrixType::Symmetric)
                  : cu::MatrixType::General;
    o.value = value_type(dtype_);
    o.index = csr_->index;
    o.n = pattern_->rows();
    o.nnz = csr_->nnz;
    o.batch = batch_;
    o.reordering = reordering(ordering_);
    o.upper = true;
    engine_ = std::make_unique<cu::Solver>(o);
    if (const auto nd = user_ordering()) {
      engine_->set_user_ordering(nd->perm.data(), nd->tree.data(),
                                 static_cast<int64_t>(nd->tree.size()), nd->levels);
    }
  }

  // dsla's nested dissection for cuDSS (symmetric kinds): with ordering "nd", and with "auto"
  // from kNdMinRows rows on when its separators stay small (a guard against graphs where BFS
  // level sets are poor separators: then cuDSS orders). cuDSS's own reordering of
  // poisson2d:1024 takes 1.85 s on 16 host threads and is 90 % of an analysis + factor + solve;
  // ours is computed on the host in parallel and cached on the Pattern. Null: cuDSS orders.
  std::shared_ptr<const NdForCudss> user_ordering() const {
    // Uniform batches keep cuDSS's ordering (a user permutation with a batch was not tried).
    if (!symmetric_ || batch_ != 1 || !(ordering_ == "nd" || ordering_ == "auto")) return nullptr;
    const int64_t n = pattern_->rows();
    // Below 2^17 rows cuDSS orders, also for "nd": its reordering is quick there, and the
    // trees handed over were tried on the device at 8 and 10 levels (160k and 1M rows) only.
    if (n < kNdMinRows) return nullptr;
    if (ordering_ == "auto" && !dsla_orders_for_auto()) return nullptr;
    auto nd = pattern_->cached<NdForCudss>("dsla.direct.cudss.nd", [&] {
      const cu::PhaseTrace trace("dsla ordering (nested dissection)", nullptr);
      auto r = std::make_shared<NdForCudss>();
      const at::Tensor crow = pattern_->crow().cpu(), col = pattern_->col().cpu();
      // Levels: subdomains of ~1000 rows at most, as cuDSS's own default (10 levels at 1M).
      int levels = 1;
      while (levels < 10 && (n >> levels) > 1000) ++levels;
      DSLA_DISPATCH_INDEX(pattern_->index_dtype(), "nested dissection", [&] {
        auto o = kernels::cpu::nested_dissection<index_t>(
            n, crow.data_ptr<index_t>(), col.data_ptr<index_t>(), levels, 64,
            kernels::cpu::NdLayout::BottomUp, nd_threads());
        r->perm = std::move(o.perm);
        r->tree = std::move(o.tree);
        r->levels = o.levels;
        r->separator_share = n > 0 ? double(o.separators) / double(n) : 0.0;
      });
      return r;
    });
    if (ordering_ == "auto" && nd->separator_share > kNdMaxSeparatorShare) return nullptr;
    return nd;
  }

  // Values of the other triangle must match (CHOLMOD's rule): cuDSS reads the upper one only.
  void check_symmetric(const at::Tensor& v) const {
    at::Tensor t = v.index_select(-1, pattern_->transpose_perm().to(v.device()));
    if (complex_) t = t.conj();
    const at::Tensor st =
        at::stack({(v - t).abs().max().to(at::kDouble), v.abs().max().to(at::kDouble)}).cpu();
    const double d = st[0].item<double>(), scale = st[1].item<double>();
    const bool single = dtype_ == at::kFloat || dtype_ == at::kComplexFloat;
    DSLA_CHECK_ARG(d <= (single ? 1e-5 : 1e-10) * scale, "A", kind_name(kind_), " needs a ",
                   complex_ ? "Hermitian" : "symmetric", " matrix, but max |A - A",
                   complex_ ? "ᴴ" : "ᵀ", "| = ", d, " (max |A| = ", scale,
                   "); use method='lu' for a general matrix");
  }

  // [n] factor diagonal on the device, or undefined when cuDSS does not provide it.
  at::Tensor read_diag() const {
    at::Tensor d = at::empty({pattern_->rows()}, vals_.options());
    if (!engine_->diag(d.data_ptr(), d.numel() * d.element_size())) return at::Tensor();
    return d;
  }

  // Pivot test of factorize(): zero / non-finite pivots, or min/max |pivot| below tolerance.
  void check_pivots() {
    rcond_ = 0.0;
    if (batch_ != 1) return;  // cuDSS returns one member's diagonal only
    at::Tensor d = read_diag();
    if (!d.defined()) return;
    at::Tensor a = d.abs().to(at::kDouble);
    if (kind_ == Kind::Cholesky) {
      const int power = cholesky_diag_power(at::cuda::getCurrentCUDAStream().stream());
      if (power == 2) a = a * a;
    }
    const at::Tensor mn = a.min(), mx = a.max();
    const at::Tensor st =
        at::stack({mn, mx, a.argmin().to(at::kDouble), at::isfinite(a).all().to(at::kDouble)})
            .cpu();
    const double lo = st[0].item<double>(), hi = st[1].item<double>();
    const int64_t at_pivot = static_cast<int64_t>(st[2].item<double>());
    const bool finite = st[3].item<double>() != 0.0;
    rcond_ = hi > 0 ? lo / hi : 0.0;
    if (!finite || lo == 0.0 || (pivot_tol_ > 0 && rcond_ < pivot_tol_)) {
      std::ostringstream os;
      os << "cuDSS " << kind_name(kind_) << " factorization: the matrix is singular to working "
         << "precision (";
      if (!finite)
        os << "non-finite pivot";
      else
        os << "min |pivot| / max |pivot| = " << rcond_ << " < " << pivot_tol_;
      os << ", at row " << at_pivot << ")";
      throw_singular(os.str(), at_pivot);
    }
  }

  // b3 [B, n, k] (any dtype of the factorization's kind) -> x3 [B, n, k] in dtype_.
  at::Tensor solve3(const at::Tensor& b3, bool adjoint) const {
    const int64_t B = b3.size(0), n = b3.size(1), k = b3.size(2);
    if (k == 0) return at::zeros({B, n, 0}, vals_.options());
    if (adjoint && kind_ == Kind::LU) return solve_lu_adjoint(b3);
    return run_solve(*engine_, b3, cu::SolveMode::Normal);
  }

  at::Tensor run_solve(cu::Solver& eng, const at::Tensor& b3, cu::SolveMode mode) const {
    // [B, n, k] -> [B, k, n] contiguous: per member, k column-major right-hand sides.
    const at::Tensor bcm = b3.to(dtype_).transpose(1, 2).contiguous();
    at::Tensor xcm = at::empty_like(bcm);
    const cudaStream_t stream = at::cuda::getCurrentCUDAStream().stream();
    eng.solve(bcm.data_ptr(), xcm.data_ptr(), bcm.size(1), mode, stream);
    return xcm.transpose(1, 2);
  }

  at::Tensor solve_lu_adjoint(const at::Tensor& b3) const {
    const bool factor = env_is("DSLA_CUDSS_TRANSPOSE", "factor");
    std::atomic<int>& mode = g_transpose_mode[batch_ > 1 ? 1 : 0];
    if (!factor && mode.load() != 0) {
      try {
        at::Tensor x = run_solve(
            *engine_, b3, complex_ ? cu::SolveMode::ConjugateTranspose : cu::SolveMode::Transpose);
        mode.store(1);
        return x;
      } catch (const cu::Error& e) {
        if (!e.not_supported()) rethrow(e, "the transpose solve");
        mode.store(0);  // this cuDSS has no transpose solve here: factor Aᴴ below
      }
    }
    if (!adj_) {
      // Aᴴ: the transpose pattern, values permuted (and conjugated).
      at::Tensor vt = full_.index_select(-1, pattern_->transpose_perm().to(full_.device()));
      if (complex_) vt = vt.conj();
      auto f = std::make_unique<CudssFactorization>(pattern_->transpose(), Kind::LU, dtype_,
                                                    ordering_, batch_);
      f->set_pivot_tolerance(pivot_tol_);
      f->factorize(vt);
      adj_ = std::move(f);
    }
    return adj_->solve3(b3, /*adjoint=*/false);
  }

  PatternPtr pattern_;
  Kind kind_;
  at::ScalarType dtype_;
  std::string ordering_;
  int64_t batch_;
  c10::Device device_;
  bool symmetric_ = false, complex_ = false, factored_ = false;
  std::shared_ptr<CsrView> csr_;
  std::shared_ptr<EnginePool> pool_;
  std::unique_ptr<cu::Solver> engine_;
  at::Tensor full_, vals_;  // values as given (dtype_) and as cuDSS reads them (kept alive)
  double rcond_ = 0.0;
  mutable std::unique_ptr<CudssFactorization> adj_;  // LU of Aᴴ (fallback adjoint solves)
};

}  // namespace

std::unique_ptr<Factorization> make_cudss(const PatternPtr& pattern, Kind kind,
                                          at::ScalarType dtype, const std::string& ordering,
                                          int64_t batch) {
  DSLA_CHECK_ARG(pattern->device().is_cuda(), "pattern", "cuDSS factors CUDA matrices, got ",
                 pattern->device());
  DSLA_CHECK_ARG(!(ordering == "nesdis" && kind == Kind::LU), "ordering",
                 "'nesdis' is a CHOLMOD ordering; for LU use 'auto', 'amd', 'metis' or 'natural'");
  const c10::cuda::CUDAGuard guard(pattern->device());
  try {
    return std::make_unique<CudssFactorization>(pattern, kind, dtype, ordering, batch);
  } catch (const cu::Error& e) {
    rethrow(e, "creating the cuDSS solver");
  }
}

std::string cudss_version_cuda() {
  return kernels::cuda::cudss::version();
}

DSLA_REGISTER_CUDA(make_factorization_stub, make_cudss);
DSLA_REGISTER_CUDA(cudss_version_stub, cudss_version_cuda);

}  // namespace dsla::direct::detail

#endif  // DSLA_HAVE_CUDSS
