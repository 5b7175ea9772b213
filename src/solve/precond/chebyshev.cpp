// Chebyshev: M⁻¹ r = q(D⁻¹A) D⁻¹ r, the result of `degree` steps of the Jacobi-preconditioned
// Chebyshev iteration for A z = r from z = 0 on the interval [a, b] of D⁻¹A's spectrum. Its
// residual polynomial is the scaled Chebyshev polynomial of degree d, so q(λ) > 0 for
// 0 < λ <= b: M⁻¹ is SPD when A is, provided b bounds the spectrum (hence the 1.1 safety factor
// over the estimated λmax). The bounds come from estimate_spectrum (spectral_estimate.h: Lanczos
// gives λmin and λmax together):
//   estimate_lambda_min (default): a = max(estimated λmin, b / lambda_ratio). The Ritz value
//     over-estimates the true λmin, which keeps q positive; taking the larger of the two helps
//     well-conditioned matrices a lot and costs little elsewhere (PCG iterations, degree 3,
//     rtol 1e-8, measured with the former start vector: poisson2d:128 87 vs 104 with λmin
//     alone; random_spd:5000 8 vs 17 with the ratio alone; bcsstk08 81 vs 77 with λmin alone);
//   otherwise: a = b / lambda_ratio (the high end only: what a multigrid smoother wants, and
//     what AMG's levels use through make_chebyshev_smoother).
// One system, one right-hand side, real values: fused passes (one SpMV each, CPU kernels here,
// a device's registered ones); otherwise ATen plus detail::spmm, on any device, batched,
// complex. Needs a real positive diagonal.
#include <dsla/errors.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <sstream>
#include <utility>
#include <vector>

#include "core/dispatch.h"
#include "core/kernel_views.h"
#include "core/products.h"
#include "kernels/cpu/chebyshev_kernels.h"
#include "solve/precond/common.h"
#include "solve/precond/smoothing.h"

namespace dsla::precond::detail {

device::Stub<ChebFirstFn> cheb_first_stub;
device::Stub<ChebStepFn> cheb_step_stub;

namespace {

namespace kc = kernels::cpu;
using dsla::detail::ptr;

// The recurrence's coefficients on [lo, hi] (θ, δ its centre and half width, σ = θ / δ):
// c0 = 1 / θ, then for k = 1 .. degree − 1 with ρ_0 = 1 / σ: ρ_k = 1 / (2σ − ρ_{k−1}),
// a_k = ρ_k ρ_{k−1}, b_k = 2 ρ_k / δ. Laid out [c0, a_1, b_1, a_2, b_2, ...].
std::vector<double> coefficients(double lo, double hi, int64_t degree) {
  const double theta = 0.5 * (hi + lo), delta = 0.5 * (hi - lo), sigma = theta / delta;
  std::vector<double> c{1.0 / theta};
  double rho = 1.0 / sigma;
  for (int64_t k = 1; k < degree; ++k) {
    const double rho_next = 1.0 / (2.0 * sigma - rho);
    c.push_back(rho_next * rho);
    c.push_back(2.0 * rho_next / delta);
    rho = rho_next;
  }
  return c;
}

// The CPU passes (OpenMP kernels, coefficients from the host).
void cheb_first_cpu(const ChebyshevPassArgs& p, const at::Tensor& b, const at::Tensor* x,
                    at::Tensor& r, at::Tensor& d) {
  DSLA_DISPATCH_INDEX(p.a.index_dtype(), "chebyshev", [&] {
    AT_DISPATCH_FLOATING_TYPES(b.scalar_type(), "chebyshev", [&] {
      kc::cheb_first<scalar_t, index_t>(dsla::detail::csr_view<scalar_t, index_t>(p.a, p.values),
                                        chebyshev_vectors<scalar_t>(p, &b, x, r, d, nullptr),
                                        static_cast<scalar_t>(p.host_coef[0]),
                                        dsla::detail::num_threads());
    });
  });
}

void cheb_step_cpu(const ChebyshevPassArgs& p, int64_t k, at::Tensor& r, const at::Tensor& d,
                   at::Tensor& dn, at::Tensor& x, int mode) {
  DSLA_DISPATCH_INDEX(p.a.index_dtype(), "chebyshev", [&] {
    AT_DISPATCH_FLOATING_TYPES(r.scalar_type(), "chebyshev", [&] {
      kc::cheb_step<scalar_t, index_t>(dsla::detail::csr_view<scalar_t, index_t>(p.a, p.values),
                                       chebyshev_vectors<scalar_t>(p, nullptr, &x, r, d, &dn),
                                       static_cast<scalar_t>(p.host_coef[2 * k - 1]),
                                       static_cast<scalar_t>(p.host_coef[2 * k]), mode,
                                       dsla::detail::num_threads());
    });
  });
}

class Chebyshev final : public SmoothingPreconditioner {
 public:
  // precond='chebyshev': diagonal checks, Hermitian test and spectral estimate of its own.
  Chebyshev(const SparseMatrix& A, const Options& opt) : SmoothingPreconditioner(A), opt_(opt) {
    setup(A);
  }
  // Any operator (a distributed A): A's shape, dtype and device from `shape` (this process's
  // square diagonal block), the products and reductions from `op` (collective when its space is).
  Chebyshev(const SparseMatrix& shape, LinearOperatorPtr op, at::Tensor dinv, const Options& opt,
            bool hermitian)
      : SmoothingPreconditioner(shape), opt_(opt), op_(std::move(op)) {
    dinv_ = std::move(dinv);
    hermitian_ = hermitian;
    set_interval(estimate_spectrum(*op_, dinv_, opt_.power_iters, hermitian_));
  }
  // A distributed AMG level's smoother: the operator's products, its inverse diagonal and its
  // spectral estimate (shared with the prolongator damping), already computed.
  Chebyshev(const SparseMatrix& shape, LinearOperatorPtr op, at::Tensor dinv,
            const SpectrumEstimate& est, const Options& opt, bool hermitian)
      : SmoothingPreconditioner(shape), opt_(opt), op_(std::move(op)) {
    dinv_ = std::move(dinv);
    hermitian_ = hermitian;
    set_interval(est);
  }
  // AMG's smoother: the level's inverse diagonal and spectral estimate, already computed.
  Chebyshev(const SparseMatrix& A, const Options& opt, at::Tensor dinv, const SpectrumEstimate& est,
            bool hermitian)
      : SmoothingPreconditioner(A), opt_(opt) {
    vals_ = A.values().detach().reshape({A.batch_size(), A.nnz()}).contiguous();
    dinv_ = std::move(dinv);
    hermitian_ = hermitian;
    set_interval(est);
  }

  void apply(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "chebyshev.apply");
    ChebFirstFn* first = nullptr;
    ChebStepFn* step = nullptr;
    if (y.is_contiguous() && passes(y, first, step)) {
      sweep(x.contiguous(), y, true, 1, first, step);
      return;
    }
    run(false, dinv_, x, y);
  }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "chebyshev.apply_adjoint");
    if (hermitian_) return apply(x, y);
    // M⁻ᴴ = q(D⁻ᴴAᴴ) D⁻ᴴ: the same real-coefficient recurrence on Aᴴ (built on first use).
    std::call_once(*adjoint_once_, [&] {
      dinv_h_ = dinv_.conj().resolve_conj().contiguous();
      if (op_) return;  // the operator's own apply_adjoint
      SparseMatrix a(pattern_, vals_.size(0) == 1 ? vals_.select(0, 0) : vals_, false);
      auto t = a.conj_transpose();
      pattern_h_ = t.pattern();
      vals_h_ = t.values().reshape({vals_.size(0), t.nnz()}).resolve_conj().contiguous();
    });
    run(true, dinv_h_, x, y);
  }
  void smooth(const at::Tensor& b, at::Tensor& x, bool zero_guess, int64_t sweeps) const override {
    auto bb = b.contiguous();
    ChebFirstFn* first = nullptr;
    ChebStepFn* step = nullptr;
    if (passes(bb, first, step) && (zero_guess || (x.is_contiguous() && x.sizes() == bb.sizes()))) {
      if (zero_guess) x = at::empty_like(bb);
      sweep(bb, x, zero_guess, sweeps, first, step);
      return;
    }
    const int64_t B = std::max(bb.size(0), dinv_.size(0));
    for (int64_t s = 0; s < sweeps; ++s) {
      if (zero_guess && s == 0) {
        x = at::empty({B, n_, bb.size(2)}, bb.options());
        run(false, dinv_, bb, x);
        continue;
      }
      auto ax = at::empty({B, n_, bb.size(2)}, bb.options());
      apply_A(false, x.expand({B, n_, bb.size(2)}).contiguous(), ax);
      auto r = bb - ax;
      auto z = at::empty({B, n_, bb.size(2)}, bb.options());
      run(false, dinv_, r, z);
      x.add_(z);
    }
  }
  void update(const SparseMatrix& A) override {
    DSLA_CHECK_ARG(!op_, "A",
                   "a Chebyshev preconditioner of an operator is rebuilt, not updated, with "
                   "new values");
    check_update(A);
    batch_ = A.batch_size();
    setup(A);
  }
  bool is_symmetric() const override { return true; }
  const std::vector<std::pair<double, double>>& intervals() const { return intervals_; }
  std::string name() const override {
    std::ostringstream s;
    s << "chebyshev(degree=" << opt_.degree << ", interval=[" << lo_ << ", " << hi_ << "])";
    return s.str();
  }
  std::shared_ptr<const Preconditioner> adjoint() const override {
    if (hermitian_) return shared_from_this();
    return adjoint_view(shared_from_this());
  }

 private:
  void setup(const SparseMatrix& A) {
    auto d = checked_diagonal(A, "chebyshev");  // [B', n]
    const bool positive =
        at::isComplexType(d.scalar_type())
            ? (at::real(d) > 0).all().item<bool>() && (at::imag(d) == 0).all().item<bool>()
            : (d > 0).all().item<bool>();
    DSLA_CHECK_ARG(positive, "A",
                   "precond 'chebyshev' needs a real positive diagonal (it targets Hermitian "
                   "positive definite matrices); use precond='jacobi', 'ilu0' or 'none'");
    vals_ = values_2d(A);
    dinv_ = d.reciprocal().unsqueeze(-1).contiguous();
    hermitian_ = is_hermitian(A);
    adjoint_once_ = std::make_unique<std::once_flag>();
    set_interval(estimate_spectrum(*pattern_, vals_, dinv_, opt_.power_iters, hermitian_));
  }

  // The interval per member and the recurrence's coefficients, on the host and the device.
  void set_interval(const SpectrumEstimate& est) {
    const int64_t Bp = est.lmax.size(0);
    intervals_.clear();
    host_.clear();
    lo_ = hi_ = 0.0;
    std::vector<double> c0(Bp), c1(Bp * opt_.degree, 0.0), c2(Bp * opt_.degree, 0.0);
    for (int64_t b = 0; b < Bp; ++b) {
      const double lmax = est.lmax[b].item<double>();
      DSLA_CHECK_ARG(lmax > 0 && std::isfinite(lmax), "A",
                     "Chebyshev: the estimated largest eigenvalue of D⁻¹A is ", lmax,
                     ", not positive; A is not positive definite (use precond='jacobi' or "
                     "'ilu0', or the AMG smoother 'l1_jacobi')");
      const double hi = 1.1 * lmax;
      const double lo = opt_.estimate_lambda_min && est.lanczos
                            ? std::max(est.lmin[b].item<double>(), hi / opt_.lambda_ratio)
                            : hi / opt_.lambda_ratio;
      intervals_.emplace_back(lo, hi);
      lo_ = b == 0 ? lo : std::min(lo_, lo);
      hi_ = std::max(hi_, hi);
      host_.push_back(coefficients(lo, hi, opt_.degree));
      c0[b] = host_[b][0];
      for (int64_t k = 1; k < opt_.degree; ++k) {
        c1[k * Bp + b] = host_[b][2 * k - 1];
        c2[k * Bp + b] = host_[b][2 * k];
      }
    }
    auto to_dev = [&](std::vector<double>& c, int64_t rows) {
      return at::tensor(c, at::kDouble).view({rows, Bp, 1, 1}).to(device_, dtype_);
    };
    c0_ = to_dev(c0, 1)[0];
    c1_ = to_dev(c1, opt_.degree);
    c2_ = to_dev(c2, opt_.degree);
    coef_ = Bp == 1 ? at::tensor(host_[0], at::kDouble).to(device_, dtype_) : at::Tensor();
  }

  // The fused passes for b's device when they apply: one real system, one right-hand side.
  bool passes(const at::Tensor& b, ChebFirstFn*& first, ChebStepFn*& step) const {
    if (op_ || vals_.size(0) != 1 || b.dim() != 3 || b.size(0) != 1 || b.size(2) != 1 ||
        !at::isFloatingType(b.scalar_type())) {
      return false;
    }
    if (b.is_cpu()) {
      first = &cheb_first_cpu;
      step = &cheb_step_cpu;
    } else {
      first = cheb_first_stub.on(b.device());
      step = cheb_step_stub.on(b.device());
    }
    return first != nullptr && step != nullptr;
  }

  // The one fused sweep loop, on any device whose passes are given. b and x contiguous
  // [1, n, 1]; x is read unless zero_guess (then only written).
  void sweep(const at::Tensor& b, at::Tensor& x, bool zero_guess, int64_t sweeps,
             ChebFirstFn* first, ChebStepFn* step) const {
    auto r = at::empty_like(b), d = at::empty_like(b), dn = at::empty_like(b);
    const ChebyshevPassArgs p{*pattern_, vals_, dinv_, coef_, host_[0].data()};
    for (int64_t s = 0; s < sweeps; ++s) {
      const bool zero = zero_guess && s == 0;
      first(p, b, zero ? nullptr : &x, r, d);
      if (opt_.degree == 1) {
        if (zero) {
          x.copy_(d);
        } else {
          x.add_(d);
        }
        continue;
      }
      for (int64_t k = 1; k < opt_.degree; ++k) {
        const int mode = k > 1 ? 0 : (zero ? 2 : 1);
        step(p, k, r, d, dn, x, mode);
        std::swap(d, dn);
      }
    }
  }

  // The recurrence by ATen (any batch, any k, complex): z_0 = c0 D⁻¹ r; then for k >= 1:
  // res −= A d; d = a_k d + b_k D⁻¹ res; z += d.
  // y = A x (adjoint: Aᴴ x): the operator's, or the SpMV of this process's matrix.
  void apply_A(bool adjoint, const at::Tensor& x, at::Tensor& y) const {
    if (op_) {
      adjoint ? op_->apply_adjoint(x, y) : op_->apply(x, y);
    } else if (adjoint) {
      dsla::detail::spmm(*pattern_h_, vals_h_, x, y);
    } else {
      dsla::detail::spmm(*pattern_, vals_, x, y);
    }
  }

  void run(bool adjoint, const at::Tensor& dinv, const at::Tensor& x, at::Tensor& y) const {
    const int64_t B = y.size(0), k = y.size(2);
    if (!res_.defined() || res_.size(0) != B || res_.size(2) != k) {
      res_ = at::empty({B, n_, k}, y.options());
      d_ = at::empty_like(res_);
      t_ = at::empty_like(res_);
    }
    res_.copy_(x);
    at::mul_out(d_, res_, dinv).mul_(c0_);
    y.copy_(d_);
    for (int64_t s = 1; s < opt_.degree; ++s) {
      apply_A(adjoint, d_, t_);
      res_.sub_(t_);
      d_.mul_(c1_[s]);
      at::mul_out(t_, res_, dinv).mul_(c2_[s]);
      d_.add_(t_);
      y.add_(d_);
    }
  }

  Options opt_;
  LinearOperatorPtr op_;  // set: products through this operator (no fused passes)
  at::Tensor vals_, dinv_, c0_, c1_, c2_, coef_;
  std::vector<std::vector<double>> host_;  // per member: [c0, a_1, b_1, ...]
  bool hermitian_ = true;
  double lo_ = 0.0, hi_ = 0.0;
  std::vector<std::pair<double, double>> intervals_;
  std::unique_ptr<std::once_flag> adjoint_once_ = std::make_unique<std::once_flag>();
  mutable PatternPtr pattern_h_;
  mutable at::Tensor vals_h_, dinv_h_;
  mutable at::Tensor res_, d_, t_;  // workspaces: apply is not reentrant
};

// l1-Jacobi: M⁻¹ = ω diag(l1)⁻¹ with l1_i = Σ_j |a_ij|.
class L1Jacobi final : public SmoothingPreconditioner {
 public:
  L1Jacobi(const SparseMatrix& A, double omega) : SmoothingPreconditioner(A), omega_(omega) {
    setup(A);
  }
  // Any operator (a distributed level): `shape` is this process's square diagonal block, l1
  // [B, n, 1] the rows' Σ_j |a_ij| over every rank's columns, the products the operator's.
  L1Jacobi(const SparseMatrix& shape, LinearOperatorPtr op, const at::Tensor& l1, double omega)
      : SmoothingPreconditioner(shape), omega_(omega), op_(std::move(op)) {
    inv_ = (omega_ / l1).to(dtype_);
  }
  void apply(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "l1_jacobi.apply");
    at::mul_out(y, x, inv_);
  }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "l1_jacobi.apply_adjoint");
    at::mul_out(y, x, inv_);  // a real diagonal
  }
  void smooth(const at::Tensor& b, at::Tensor& x, bool zero_guess, int64_t sweeps) const override {
    for (int64_t s = 0; s < sweeps; ++s) {
      if (zero_guess && s == 0) {
        x = inv_ * b;
      } else {
        x.add_(inv_ * (b - product(x)));
      }
    }
  }
  void update(const SparseMatrix& A) override {
    DSLA_CHECK_ARG(!op_, "A",
                   "an l1-Jacobi smoother of an operator is rebuilt, not updated, with new values");
    check_update(A);
    batch_ = A.batch_size();
    setup(A);
  }
  bool is_symmetric() const override { return true; }
  std::string name() const override {
    std::ostringstream s;
    s << "l1_jacobi(omega=" << omega_ << ")";
    return s.str();
  }
  std::shared_ptr<const Preconditioner> adjoint() const override { return shared_from_this(); }

 private:
  void setup(const SparseMatrix& A) {
    vals_ = A.values().detach().reshape({A.batch_size(), A.nnz()}).contiguous();
    const int64_t B = vals_.size(0);
    auto abs = vals_.abs();
    auto l1 = at::zeros({B, n_}, abs.options()).index_add_(1, pattern_->row().to(at::kLong), abs);
    inv_ = (omega_ / l1).to(dtype_).view({B, n_, 1});
  }
  // A x: the operator's, or the SpMV of this process's matrix.
  at::Tensor product(const at::Tensor& x) const {
    if (!op_) return dsla::detail::spmm(*pattern_, vals_, x);
    auto y = at::empty_like(x);
    op_->apply(x.contiguous(), y);
    return y;
  }

  double omega_;
  LinearOperatorPtr op_;  // set: products through this operator
  at::Tensor vals_, inv_;
};

}  // namespace

std::vector<std::pair<double, double>> chebyshev_intervals(const Preconditioner& p) {
  const auto* c = dynamic_cast<const Chebyshev*>(&p);
  DSLA_CHECK_ARG(c != nullptr, "p", "not a Chebyshev preconditioner: ", p.name());
  return c->intervals();
}

PreconditionerPtr make_chebyshev(const SparseMatrix& A, const Options& opt) {
  DSLA_CHECK_ARG(opt.degree >= 1, "degree", "chebyshev degree must be >= 1, got ", opt.degree);
  DSLA_CHECK_ARG(opt.power_iters >= 1, "power_iters", "must be >= 1, got ", opt.power_iters);
  DSLA_CHECK_ARG(opt.lambda_ratio > 1.0, "lambda_ratio", "must be > 1, got ", opt.lambda_ratio);
  return std::make_shared<Chebyshev>(A, opt);
}

PreconditionerPtr make_chebyshev(const SparseMatrix& shape, LinearOperatorPtr A,
                                 const at::Tensor& dinv, const Options& opt, bool hermitian) {
  DSLA_CHECK_ARG(opt.degree >= 1, "degree", "chebyshev degree must be >= 1, got ", opt.degree);
  DSLA_CHECK_ARG(opt.power_iters >= 1, "power_iters", "must be >= 1, got ", opt.power_iters);
  DSLA_CHECK_ARG(opt.lambda_ratio > 1.0, "lambda_ratio", "must be > 1, got ", opt.lambda_ratio);
  return std::make_shared<Chebyshev>(shape, std::move(A), dinv, opt, hermitian);
}

SmootherPtr make_chebyshev_smoother(const SparseMatrix& A, const at::Tensor& dinv,
                                    const SpectrumEstimate& est, int64_t degree, double ratio,
                                    bool hermitian) {
  DSLA_CHECK_ARG(degree >= 1, "chebyshev_degree", "must be >= 1, got ", degree);
  DSLA_CHECK_ARG(ratio > 1.0, "chebyshev_ratio", "must be > 1, got ", ratio);
  Options opt;
  opt.kind = "chebyshev";
  opt.degree = degree;
  opt.lambda_ratio = ratio;
  opt.estimate_lambda_min = false;  // a smoother damps the high end only
  return std::make_shared<Chebyshev>(A, opt, dinv, est, hermitian);
}

SmootherPtr make_chebyshev_smoother(const SparseMatrix& shape, LinearOperatorPtr op,
                                    const at::Tensor& dinv, const SpectrumEstimate& est,
                                    int64_t degree, double ratio, bool hermitian) {
  DSLA_CHECK_ARG(degree >= 1, "chebyshev_degree", "must be >= 1, got ", degree);
  DSLA_CHECK_ARG(ratio > 1.0, "chebyshev_ratio", "must be > 1, got ", ratio);
  Options opt;
  opt.kind = "chebyshev";
  opt.degree = degree;
  opt.lambda_ratio = ratio;
  opt.estimate_lambda_min = false;
  return std::make_shared<Chebyshev>(shape, std::move(op), dinv, est, opt, hermitian);
}

SmootherPtr make_l1_jacobi_smoother(const SparseMatrix& A, double omega) {
  DSLA_CHECK_ARG(omega > 0, "jacobi_omega", "must be > 0, got ", omega);
  return std::make_shared<L1Jacobi>(A, omega);
}

SmootherPtr make_l1_jacobi_smoother(const SparseMatrix& shape, LinearOperatorPtr op,
                                    const at::Tensor& l1, double omega) {
  DSLA_CHECK_ARG(omega > 0, "jacobi_omega", "must be > 0, got ", omega);
  return std::make_shared<L1Jacobi>(shape, std::move(op), l1, omega);
}

}  // namespace dsla::precond::detail
