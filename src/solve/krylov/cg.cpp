// Preconditioned conjugate gradients. Fast path: A is a matrix and M is none or Jacobi — three
// fused passes per iteration (cg_steps). Generic path: any operator and any SPD preconditioner.
// pᴴAp ≤ 0 marks the system Indefinite (CG needs A Hermitian positive definite).
#include "solve/krylov/cg_steps.h"
#include "solve/krylov/krylov.h"

namespace dsla::krylov {

namespace {

at::Tensor re_dot(const VectorSpace& s, const at::Tensor& a, const at::Tensor& b) {
  return real_scalar(s.dot(a, b));
}

void cg_fused(const Problem& P, const SparseMatrix& Am, const at::Tensor& b, at::Tensor& x,
              Monitor& mon) {
  const auto& pattern = *Am.pattern();
  auto values = (Am.is_batched() ? Am.values() : Am.values().unsqueeze(0)).contiguous();
  const auto& dinv = P.dinv;
  auto r = (b - apply(*P.A, x)).contiguous();
  auto rr = re_dot(P.A->space(), r, r).contiguous();
  at::Tensor p, rz;
  if (dinv.defined()) {
    p = (dinv * r).contiguous();
    rz = re_dot(P.A->space(), r, p).contiguous();
  } else {
    p = r.clone();
    rz = rr.clone();
  }
  mon.begin(at::sqrt(rr));
  auto q = at::empty_like(p);
  auto pq = at::empty_like(rz), rz_new = at::empty_like(rz);
  while (!mon.out_of_iterations()) {
    cg_spmv_dot(pattern, values, p, q, pq);
    mon.fail(Status::Indefinite, pq <= 0);
    cg_update(x, r, p, q, dinv, rz, pq, mon.active, rz_new, rr);
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
  while (!mon.out_of_iterations()) {
    auto q = apply(*P.A, p);
    auto pq = re_dot(space, p, q);
    mon.fail(Status::Indefinite, pq <= 0);
    auto alpha = safe_div(rz, pq) * mon.active;
    x.add_(alpha * p);
    r.sub_(alpha * q);
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

}  // namespace

void cg(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon) {
  const SparseMatrix* Am = P.A->matrix();
  const bool fused = Am != nullptr && (P.M == nullptr || P.dinv.defined()) && x.is_contiguous();
  if (fused) return cg_fused(P, *Am, b, x, mon);
  cg_generic(P, b, x, mon);
}

}  // namespace dsla::krylov
