// Internal: the Solver on canonical shapes ([B, n, k]) for src/autograd, and the shape
// normalization shared by Solver::solve and dsla::solve.
#pragma once

#include <dsla/solve.h>

#include <vector>

namespace dsla::detail {

struct Rhs {
  at::Tensor b3;                 // [Bb, n, k], Bb in {1, B}
  std::vector<int64_t> x_shape;  // the solution's user-facing shape
};

// Checks b against A (dtype, device, shape; finite) and brings it to [Bb, rows, k].
// `adjoint` swaps rows and cols.
Rhs normalize_rhs(const SparseMatrix& A, const at::Tensor& b, bool adjoint, const char* arg);

// x3 [B, cols, k] = A⁻¹ b3 (A⁻ᴴ with `adjoint`), x0 optional ([B or 1, cols, k]). Applies the
// solver's failure policy (warn / raise) and fills info.
// `force_warn`: warn on failure even when the options say not to (backward passes: Python
// cannot see their SolveInfo).
at::Tensor solve3(const Solver& s, const at::Tensor& b3, bool adjoint, SolveInfo* info,
                  bool force_warn = false);

}  // namespace dsla::detail
