// Preconditioned conjugate gradients. Fast path: A is a matrix on a local space and M is none or
// Jacobi — three fused passes per iteration (cg_steps), whose dot products are local partials
// that the space reduces. Generic path: any operator (distributed ones included) and any SPD
// preconditioner.
// pᴴAp ≤ 0 marks the system Indefinite (CG needs A Hermitian positive definite).
#include <dsla/config.h>

#include "solve/krylov/cg_steps.h"
#include "solve/krylov/krylov.h"
#if DSLA_HAVE_CUDA
#include "cuda/cg_driver.h"
#endif

namespace dsla::krylov {

namespace {

at::Tensor re_dot(const VectorSpace& s, const at::Tensor& a, const at::Tensor& b) {
  return real_scalar(s.dot(a, b));
}

void cg_fused(const Problem& P, const SparseMatrix& Am, const at::Tensor& b, at::Tensor& x,
              Monitor& mon) {
  const auto& space = P.A->space();
  const auto& pattern = *Am.pattern();
  auto values = (Am.is_batched() ? Am.values() : Am.values().unsqueeze(0)).contiguous();
  // A uniform Jacobi diagonal may arrive as a broadcast scalar (stride 0): the kernels index it.
  const auto dinv = P.dinv.defined() ? P.dinv.contiguous() : at::Tensor();
  auto r = (b - apply(*P.A, x)).contiguous();
  // rz_new and rr share one buffer: one reduce_ (one all-reduce) per iteration serves both.
  auto rzrr = at::empty({2, x.size(0), 1, x.size(2)},
                        x.options().dtype(c10::toRealValueType(x.scalar_type())));
  auto rz_new = rzrr.select(0, 0), rr = rzrr.select(0, 1);
  rr.copy_(re_dot(space, r, r));
  at::Tensor p, rz;
  if (dinv.defined()) {
    p = (dinv * r).contiguous();
    rz = re_dot(space, r, p).contiguous();
  } else {
    p = r.clone();
    rz = rr.clone();
  }
  mon.begin(at::sqrt(rr));
  auto q = at::empty_like(p);
  auto pq = at::empty_like(rz);
  if (!mon.any_active()) return;
  while (!mon.out_of_iterations()) {
    cg_spmv_dot(pattern, values, p, q, pq);
    space.reduce_(pq);
    mon.fail(Status::Indefinite, pq <= 0);
    cg_update(x, r, p, q, dinv, rz, pq, mon.active, rz_new, rr);
    space.reduce_(rzrr);
    if (mon.step(at::sqrt(rr))) break;
    cg_direction(p, r, at::Tensor(), dinv, rz, rz_new, mon.active);
  }
}

void cg_generic(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon) {
  const auto& space = P.A->space();
  auto r = b - apply(*P.A, x);
  auto z = precondition(P, r);
  auto p = z.clone();
  auto rz = re_dot(space, r, z);
  mon.begin(space.norm(r));
  if (!mon.any_active()) return;
  while (!mon.out_of_iterations()) {
    auto q = apply(*P.A, p);
    auto pq = re_dot(space, p, q);
    mon.fail(Status::Indefinite, pq <= 0);
    auto alpha = safe_div(rz, pq) * mon.active;
    masked_add_(x, alpha, p, mon.active);
    masked_add_(r, -alpha, q, mon.active);
    if (mon.step(space.norm(r))) break;
    z = precondition(P, r);
    auto rz_new = re_dot(space, r, z);
    // A preconditioner that is not positive definite shows as rᴴ M r < 0.
    mon.fail(Status::Indefinite, rz_new < 0);
    auto on = mon.active != 0;
    auto beta = safe_div(rz_new, rz);
    p = at::where(on, z + beta * p, p);
    rz = at::where(on, rz_new, rz);
  }
}

#if DSLA_HAVE_CUDA
// On the GPU, one column of a real matrix with no per-iteration callback runs in the CUDA
// driver: two kernels per iteration, graph-captured blocks, one host check per block.
bool cg_cuda_driver(const Problem& P, const SparseMatrix& Am, const at::Tensor& b, at::Tensor& x,
                    Monitor& mon) {
  const auto& opt = *P.opt;
  if (!x.is_cuda() || x.size(2) != 1 || at::isComplexType(x.scalar_type()) || opt.callback ||
      opt.history) {
    return false;
  }
  cuda::CgFusedOptions o;
  o.rtol = opt.rtol;
  o.atol = opt.atol;
  o.maxiter = mon.maxiter - mon.iterations;
  auto dinv = P.dinv.defined() ? P.dinv.squeeze(-1) : at::Tensor();
  o.in_place = true;  // x is [B, n, 1] contiguous (checked by the caller): iterate in it
  o.zero_start = P.x_is_zero && mon.iterations == 0;  // restarts start from the iterate
  auto r = cuda::cg_fused_solve(Am, b.squeeze(-1), dinv, o, x.view({x.size(0), x.size(1)}));
  mon.iterations += r.iterations.max().item<int64_t>();
  const auto st = r.status;
  if ((st == 3).any().item<bool>()) {
    mon.fail(Status::Breakdown, (st == 3).to(x.device()).view({-1, 1, 1}));
  }
  return true;
}
#endif

}  // namespace

void cg(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon) {
  const SparseMatrix* Am = P.A->matrix();
  // The fused paths multiply by matrix() itself (no halo exchange) and the CUDA driver reduces
  // inside its kernels: only on a local space. A distributed operator has a matrix too (its
  // local block) and takes the generic path.
  const bool fused = Am != nullptr && P.A->space().is_local() &&
                     (P.M == nullptr || P.dinv.defined()) && x.is_contiguous();
#if DSLA_HAVE_CUDA
  if (fused && cg_cuda_driver(P, *Am, b, x, mon)) return;
#endif
  if (fused) return cg_fused(P, *Am, b, x, mon);
  cg_generic(P, b, x, mon);
}

}  // namespace dsla::krylov
