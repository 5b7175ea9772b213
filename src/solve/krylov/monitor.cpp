// Monitor: convergence checks with one host read every `check_every` iterations.
#include <limits>
#include <vector>

#include "solve/krylov/krylov.h"

namespace dsla::krylov {

namespace {
enum Flag { kBreakdown = 0, kIndefinite = 1, kNotFinite = 2, kFlags = 3 };
}

at::Tensor real_scalar(const at::Tensor& t) {
  return t.is_complex() ? at::real(t) : t;
}

at::Tensor safe_div(const at::Tensor& num, const at::Tensor& den) {
  auto nz = den != 0;
  auto d = at::where(nz, den, at::ones_like(den));
  return at::where(nz, num / d, at::zeros_like(num / d));
}

at::Tensor apply(const LinearOperator& A, const at::Tensor& x) {
  auto y = at::empty({x.size(0), A.rows(), x.size(2)}, x.options());
  A.apply(x, y);
  return y;
}

at::Tensor apply_adjoint(const LinearOperator& A, const at::Tensor& x) {
  auto y = at::empty({x.size(0), A.cols(), x.size(2)}, x.options());
  A.apply_adjoint(x, y);
  return y;
}

at::Tensor precondition(const Problem& P, const at::Tensor& r) {
  if (P.dinv.defined()) return P.dinv * r;
  if (P.M == nullptr) return r;
  return P.M->applied(r);
}

void masked_add_(at::Tensor& x, const at::Tensor& coef, const at::Tensor& v,
                 const at::Tensor& active) {
  auto upd = coef * v;
  x.add_(at::where(active != 0, upd, at::zeros_like(upd)));
}

Monitor::Monitor(const SolveOptions& opt, const at::Tensor& bn, int64_t mi, c10::Device dev,
                 bool costly_precond)
    : maxiter(mi), opt_(opt) {
  bnorm = bn;
  tol = at::clamp_min(bn * opt.rtol, opt.atol);
  active = at::ones_like(bn);
  check_every_ = opt.check_every > 0 ? opt.check_every : (dev.is_cpu() || costly_precond ? 1 : 16);
  flags_ = at::zeros({kFlags}, bn.options().dtype(at::kBool));
  if (check_every_ > 1) live_ = at::zeros({1}, bn.options().dtype(at::kDouble));
}

void Monitor::set_active(const at::Tensor& mask) {
  active = mask.to(active.scalar_type());
}

void Monitor::begin(const at::Tensor& rnorm) {
  if (live_.defined()) {
    live_.zero_();
    checked_at_ = iterations;
  }
  active.masked_fill_(rnorm <= tol, 0);
  auto bad = at::logical_and(at::isfinite(rnorm).logical_not(), active != 0);
  fail(Status::NotFinite, bad);
  last_rnorm_ = rnorm;
}

void Monitor::fail(Status s, const at::Tensor& mask) {
  const int idx = s == Status::Indefinite  ? kIndefinite
                  : s == Status::NotFinite ? kNotFinite
                                           : kBreakdown;
  auto m = at::logical_and(mask, active != 0);
  flags_.select(0, idx).logical_or_(m.any());
  active.masked_fill_(m, 0);
}

bool Monitor::step(const at::Tensor& rnorm) {
  auto bad = at::isfinite(rnorm).logical_not();
  fail(Status::NotFinite, bad);
  return step_done(rnorm <= tol, rnorm);
}

bool Monitor::step_done(const at::Tensor& done, const at::Tensor& rnorm) {
  ++iterations;
  if (live_.defined()) live_.add_((active != 0).any());
  active.masked_fill_(done, 0);
  last_rnorm_ = rnorm;
  const bool want = (iterations % check_every_ == 0) || iterations >= maxiter ||
                    (opt_.callback && iterations % check_every_ == 0);
  if (!want) return false;
  return check();
}

bool Monitor::check() {
  auto rel = safe_div(last_rnorm_.to(at::kDouble), bnorm.to(at::kDouble));
  rel = at::where(bnorm > 0, rel, last_rnorm_.to(at::kDouble));
  std::vector<at::Tensor> parts{(active != 0).any().to(at::kDouble).view({1}),
                                flags_.to(at::kDouble),
                                rel.numel() ? rel.max().view({1}) : at::zeros({1}, rel.options())};
  if (live_.defined()) parts.push_back(live_);
  auto pack = at::cat(parts).cpu();
  const double* h = pack.data_ptr<double>();
  const bool any_active = h[0] != 0;
  const double worst = h[1 + kFlags];
  if (live_.defined()) {
    // Every system stopped inside this block: count only the steps that had one running.
    if (!any_active) iterations = checked_at_ + static_cast<int64_t>(h[2 + kFlags]);
    live_.zero_();
    checked_at_ = iterations;
  }
  if (opt_.history) {
    hist_it.push_back(iterations);
    hist_res.push_back(worst);
  }
  if (opt_.callback) opt_.callback(iterations, worst);
  if (opt_.callback_x && x) opt_.callback_x(*x);
  return !any_active || iterations >= maxiter;
}

bool Monitor::any_active() const {
  return (active != 0).any().item<bool>();
}

void Monitor::clear_failures() {
  flags_.zero_();
}

Status Monitor::failure() const {
  auto f = flags_.cpu();
  const bool* p = f.data_ptr<bool>();
  if (p[kNotFinite]) return Status::NotFinite;
  if (p[kIndefinite]) return Status::Indefinite;
  if (p[kBreakdown]) return Status::Breakdown;
  return Status::Converged;
}

Bidiagonalization::Bidiagonalization(const Problem& P, const at::Tensor& b, const at::Tensor& x) {
  const auto& space = P.A->space();
  u = b - apply(*P.A, x);
  beta = space.norm(u);
  u = safe_div(u, beta);
  v = apply_adjoint(*P.A, u);
  alpha = space.norm(v);
  v = safe_div(v, alpha);
}

void Bidiagonalization::step(const Problem& P) {
  const auto& space = P.A->space();
  u = apply(*P.A, v) - alpha * u;
  beta = space.norm(u);
  u = safe_div(u, beta);
  v = apply_adjoint(*P.A, u) - beta * v;
  alpha = space.norm(v);
  v = safe_div(v, alpha);
}

}  // namespace dsla::krylov
