// Shift-invert LOBPCG (eigen_internal.h): one implementation for the one-process eigsh (K a
// factorization or an iterative Solver) and the distributed one (K a distributed solve; the
// Rayleigh–Ritz Gram matrix reduced across ranks through P.space).
#include <ATen/ATen.h>

#include "solve/eigen/eigen_internal.h"

namespace dsla::eigen {

ShiftInvertResult shift_invert(LobpcgProblem P, const BlockOp& K, const BlockOp& Aop, double sigma,
                               bool definite, int64_t k, const at::Tensor& X0, double tol,
                               int64_t maxiter, int64_t block, uint64_t seed) {
  const BlockOp Bop = P.B;
  P.anorm = 0;  // the scale: the largest |Ritz value| of the inverse
  ShiftInvertResult out;
  if (definite) {  // A − σB positive (semi)definite: every μ > 0
    P.A = Bop ? BlockOp([K, Bop](const at::Tensor& X) { return Bop(K(Bop(X))); }) : K;
    auto r = lobpcg(P, k, true, X0, tol, maxiter, block, seed);
    out.values = sigma + 1.0 / r.values;
    out.vectors = r.vectors;
    out.converged = (r.residuals <= tol).cpu();
    out.iterations = r.iterations;
    return out;
  }
  P.A = Bop ? BlockOp([K, Bop](const at::Tensor& X) { return Bop(K(Bop(K(Bop(X))))); })
            : BlockOp([K](const at::Tensor& X) { return K(K(X)); });
  auto r = lobpcg(P, k, true, X0, tol, maxiter, block, seed);
  auto V = r.vectors;
  auto G = P.gram(V, Aop(V));
  auto [theta, C] = at::linalg_eigh((G + G.mH()) * 0.5);
  const bool all_conv = (r.residuals <= tol).all().item<bool>();
  out.values = theta;
  out.vectors = V.matmul(C);
  out.converged = at::full({theta.size(0)}, all_conv, at::TensorOptions().dtype(at::kBool));
  out.iterations = r.iterations;
  return out;
}

}  // namespace dsla::eigen
