// Preconditioners: an operator z = M⁻¹ r plus a numeric setup that can be redone when only the
// values change (training loops), reusing the pattern-level analysis cached on the Pattern.
#pragma once

#include <dsla/linear_operator.h>
#include <dsla/sparse_matrix.h>

#include <memory>
#include <string>

namespace dsla::precond {

struct Options {
  std::string kind = "none";  // none, jacobi, block_jacobi, sgs, ssor, chebyshev, ic0, ilu0, amg
  int64_t block_size = 0;     // block_jacobi: 0 = auto (e.g. 4, or the natural block of the matrix)
  double omega = 1.0;         // ssor relaxation
  int64_t degree = 3;         // chebyshev polynomial degree
  double lambda_ratio = 30.0;  // chebyshev: smooth [lmax / ratio, lmax] (used when not SPD-solving)
  int64_t power_iters = 10;    // chebyshev: iterations of the eigenvalue estimate
  // chebyshev: also estimate λmin (Lanczos gives both) and work on [max(λmin, b / ratio), b],
  // b = 1.1 λmax. As a CG preconditioner the whole spectrum matters, so this is the default (it
  // wins on well-conditioned matrices, see chebyshev.cpp); false gives [b / ratio, b], the high
  // end only, as a multigrid smoother wants.
  bool estimate_lambda_min = true;
  // ic0/ilu0: factor A + shift·diag(A). When a pivot breaks down (zero, or not positive for
  // ic0) and auto_shift is set, the factorization is retried with growing shifts (1e-3, 4e-3,
  // ... up to 1); the shift used is reported in name(). Without auto_shift breakdown throws.
  double shift = 0.0;
  bool auto_shift = true;
};

class Preconditioner : public LinearOperator {
 public:
  // New values, same pattern: redo only the numeric part.
  virtual void update(const SparseMatrix& A) = 0;
  // Whether M⁻¹ is symmetric positive definite whenever A is (CG and MINRES need this).
  virtual bool is_symmetric() const = 0;
  virtual std::string name() const = 0;
  // The inverse diagonal [B', n, 1] when this is plain Jacobi (CG fuses it into its vector
  // updates); undefined otherwise.
  virtual at::Tensor jacobi_inverse_diagonal() const { return {}; }
  // The preconditioner of Aᴴ (adjoint solves). Symmetric preconditioners return themselves.
  virtual std::shared_ptr<const Preconditioner> adjoint() const = 0;
};

using PreconditionerPtr = std::shared_ptr<Preconditioner>;

// The factory by name, make_preconditioner, is in solve/make_preconditioner.h: it also builds
// "amg", and src/solve/amg derives from this header, so the factory sits above both folders.

// Wraps any operator z = M⁻¹ r as a preconditioner: update() is a no-op, is_symmetric() is the
// caller's declaration, adjoint() is the operator itself when symmetric, else its apply_adjoint
// (an error at apply time when the operator has none).
PreconditionerPtr make_user_preconditioner(LinearOperatorPtr op, bool symmetric,
                                           std::string name = "user");

}  // namespace dsla::precond
