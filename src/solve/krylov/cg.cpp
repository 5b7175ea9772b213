// Preconditioned conjugate gradients: the one loop, for every device, layout and space.
//
//   start     r = b − A x;  z = M r;  p = z;  rz = Re rᴴz
//   repeat    q = A p;  pq = Re pᴴq                                   -> space.reduce_(pq)
//             alpha = rz / pq;  x += alpha p;  r −= alpha q;  z = M r;
//             rz' = Re rᴴz;  rr = ‖r‖²                                -> space.reduce_(rz', rr)
//             (the generic steps reduce rr first and rz' only if the loop goes on, so that
//             the last iteration applies no preconditioner)
//             stop? (kernels/cpu/cg_rule.h: ‖r‖ ≤ tol, pq ≤ 0, not finite, maxiter)
//             beta = rz' / rz;  p = z + beta p
//
// Two reductions per iteration, whatever the space spans. What differs between devices and
// layouts is only how each line runs (CgSteps, cg_steps.h):
//   - generic: any operator, any SPD preconditioner (ATen ops; distributed operators too);
//   - fused: a matrix with Jacobi or no preconditioner on a local space — three passes per
//     iteration (cg_steps.cpp: CPU kernels, a device's registered kernels, or ATen);
//   - a device's own fused steps when registered and applicable (CUDA, cg_fused_cuda.cpp: two
//     kernels per iteration that also decide the stopping rule on the device, blocks of
//     iterations replayed from a CUDA graph, one host read per block).
// The driver (driver.cpp) restarts from the true residual when the recurrence drifted.
#include "solve/krylov/cg_steps.h"
#include "solve/krylov/halo_blocks.h"
#include "solve/krylov/krylov.h"

namespace dsla::krylov {

namespace {

// Any operator and preconditioner.
class GenericSteps final : public CgSteps {
 public:
  explicit GenericSteps(const Problem& P) : P_(P), space_(P.A->space()) {}

  at::Tensor start(const at::Tensor& b, at::Tensor& x, bool /*x_is_zero*/) override {
    x_ = &x;
    r_ = b - apply(*P_.A, x);
    z_ = precondition(P_, r_);
    p_ = z_.clone();
    rz_ = re_dot_partial(r_, z_);
    space_.reduce_(rz_);
    return space_.norm(r_);
  }
  at::Tensor spmv_dot(int) override {
    q_ = apply(*P_.A, p_);
    return pq_ = re_dot_partial(p_, q_);
  }
  // Returns ‖r‖²'s partial only: z = M r waits for the stopping decision, so the converged
  // iteration applies no preconditioner (an AMG cycle is most of an iteration); rᴴz then takes
  // its own reduction in decide().
  at::Tensor update(int, Monitor& mon) override {
    mon.fail(Status::Indefinite, pq_ <= 0);
    // The mask on the [B, 1, k] step, then one fused pass per vector (masked_add_ makes four,
    // for methods whose frozen systems may carry non-finite garbage; CG's frozen p is its z,
    // finite, see decide()).
    auto on = mon.active != 0;
    auto alpha = at::where(on, safe_div(rz_, pq_), at::zeros_like(rz_));
    x_->addcmul_(alpha, p_);
    r_.addcmul_(-alpha, q_);
    return rr_ = re_dot_partial(r_, r_);
  }
  bool decide(Monitor& mon) override {
    stop_ = mon.step(at::sqrt(rr_));
    if (stop_) return true;
    z_ = precondition(P_, r_);
    auto rz_new = re_dot_partial(r_, z_);
    space_.reduce_(rz_new);
    // A preconditioner that is not positive definite shows as rᴴ M r < 0.
    mon.fail(Status::Indefinite, rz_new < 0);
    auto on = mon.active != 0;
    // p = z + beta p in one pass (beta masked on the [B, 1, k] scalars: a frozen system's p
    // becomes its z, finite, and every later update of it has a zero coefficient).
    p_ = at::addcmul(z_, at::where(on, safe_div(rz_new, rz_), at::zeros_like(rz_)), p_);
    rz_ = at::where(on, rz_new, rz_);
    return false;
  }
  bool check(Monitor&) override { return stop_; }

 private:
  const Problem& P_;
  const VectorSpace& space_;
  at::Tensor* x_ = nullptr;
  at::Tensor r_, z_, p_, q_, rz_, pq_, rr_;
  bool stop_ = false;
};

// A matrix with Jacobi (P.dinv) or no preconditioner: three fused passes per iteration.
class FusedSteps final : public CgSteps {
 public:
  FusedSteps(const Problem& P, const SparseMatrix& A)
      : P_(P),
        space_(P.A->space()),
        pattern_(*A.pattern()),
        values_((A.is_batched() ? A.values() : A.values().unsqueeze(0)).contiguous()),
        // A uniform Jacobi diagonal may arrive as a broadcast scalar (stride 0): the kernels
        // index it.
        dinv_(P.dinv.defined() ? P.dinv.contiguous() : at::Tensor()) {}

  at::Tensor start(const at::Tensor& b, at::Tensor& x, bool /*x_is_zero*/) override {
    x_ = &x;
    r_ = (b - apply(*P_.A, x)).contiguous();
    // rz_new and rr share one buffer: one reduce_ (one all-reduce) per iteration serves both.
    rzrr_ = at::empty({2, x.size(0), 1, x.size(2)},
                      x.options().dtype(c10::toRealValueType(x.scalar_type())));
    auto rr = re_dot_partial(r_, r_);
    if (dinv_.defined()) {
      p_ = (dinv_ * r_).contiguous();
      rz_ = at::stack({re_dot_partial(r_, p_), rr});
    } else {
      p_ = r_.clone();
      rz_ = at::stack({rr, rr});
    }
    space_.reduce_(rz_);
    auto rnorm = at::sqrt(rz_.select(0, 1));
    rz_ = rz_.select(0, 0).contiguous();
    q_ = at::empty_like(p_);
    pq_ = at::empty_like(rz_);
    return rnorm;
  }
  at::Tensor spmv_dot(int) override {
    cg_spmv_dot(pattern_, values_, p_, q_, pq_);
    return pq_;
  }
  at::Tensor update(int, Monitor& mon) override {
    mon.fail(Status::Indefinite, pq_ <= 0);
    auto rz_new = rzrr_.select(0, 0), rr = rzrr_.select(0, 1);
    cg_update(*x_, r_, p_, q_, dinv_, rz_, pq_, mon.active, rz_new, rr);
    return rzrr_;
  }
  bool decide(Monitor& mon) override {
    stop_ = mon.step(at::sqrt(rzrr_.select(0, 1)));
    if (stop_) return true;
    cg_direction(p_, r_, at::Tensor(), dinv_, rz_, rzrr_.select(0, 0), mon.active);
    return false;
  }
  bool check(Monitor&) override { return stop_; }

 private:
  const Problem& P_;
  const VectorSpace& space_;
  const Pattern& pattern_;
  at::Tensor values_, dinv_;
  at::Tensor* x_ = nullptr;
  at::Tensor r_, p_, q_, rz_, pq_, rzrr_;
  bool stop_ = false;
};

// The tuning a solve runs with (tests and benchmarks set another through CgTuningScope).
thread_local const CgTuning* t_tuning = nullptr;

std::unique_ptr<CgSteps> make_steps(const Problem& P, const at::Tensor& x) {
  // The fused steps multiply by a matrix themselves: a local operator's matrix(), or a
  // distributed one's blocks (P.halo) by a device's steps that exchange the halo between their
  // kernels. A distributed operator has no matrix() (its local block alone would skip the halo).
  const SparseMatrix* Am = P.halo ? P.halo->diag : P.A->matrix();
  const bool fused = Am != nullptr && (P.halo || P.A->space().is_local()) &&
                     (P.M == nullptr || P.dinv.defined()) && x.is_contiguous();
  if (!fused) return std::make_unique<GenericSteps>(P);
  if (auto* make = make_device_cg_steps_stub.on(x.device())) {
    static const CgTuning defaults;
    if (auto s = make(P, *Am, x, t_tuning ? *t_tuning : defaults)) return s;
  }
  if (P.halo) return std::make_unique<GenericSteps>(P);
  return std::make_unique<FusedSteps>(P, *Am);
}

}  // namespace

CgTuningScope::CgTuningScope(const CgTuning& t) : previous_(t_tuning) {
  t_tuning = &t;
}
CgTuningScope::~CgTuningScope() {
  t_tuning = previous_;
}

void cg(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon) {
  const auto& space = P.A->space();
  auto steps = make_steps(P, x);
  mon.begin(steps->start(b, x, P.x_is_zero && mon.iterations == 0));
  if (mon.any_active()) {
    steps->begin(mon);
    const int m = steps->block();
    bool stop = false;
    while (!stop && !mon.out_of_iterations()) {
      steps->run_block(m, space.capturable(), [&](int t) {
        auto pq = steps->spmv_dot(t);
        space.reduce_(pq);
        auto rzrr = steps->update(t, mon);
        space.reduce_(rzrr);
        steps->decide(mon);
      });
      stop = steps->check(mon);
    }
  }
  steps->finish(mon);
}

}  // namespace dsla::krylov
