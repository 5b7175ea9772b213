// Direct sparse factorizations behind one interface: the Solver (src/solve/solver.cpp) holds one
// per matrix (per batch member) and never needs to know which library factors it.
// Symbolic analysis (fill-reducing ordering + symbolic factorization) is cached on the Pattern,
// so refactoring with new values redoes only the numeric phase.
#pragma once

#include <dsla/pattern.h>

#include <ATen/Tensor.h>

#include <memory>
#include <string>
#include <utility>

namespace dsla::direct {

enum class Kind {
  Cholesky,  // A = L Lᵀ (SPD / HPD)
  LDLT,      // A = L D Lᵀ (symmetric indefinite)
  LU,        // P A Q = L U (general)
};

class Factorization {
 public:
  virtual ~Factorization() = default;
  // Numeric factorization of the matrix with these values ([nnz], CPU, the factorization's dtype).
  // Throws dsla::SingularMatrixError (with the pivot) when the matrix is singular, or not positive
  // definite for Cholesky.
  virtual void factorize(const at::Tensor& values) = 0;
  // x = A⁻¹ b, or with `adjoint` x = A⁻ᴴ b (A⁻ᵀ for real). b: [n] or [n, k] on CPU.
  virtual at::Tensor solve(const at::Tensor& b, bool adjoint) const = 0;
  // (sign, log|det A|): sign is ±1 (real) or a unit-modulus phase (complex); 0-dim tensors.
  virtual std::pair<at::Tensor, at::Tensor> slogdet() const = 0;
  virtual Kind kind() const = 0;
  virtual std::string name() const = 0;  // e.g. "cholmod-supernodal-llt", "umfpack-lu"
};

// Whether this build has a backend for `kind` (SuiteSparse found by CMake).
bool available(Kind kind);
// ordering: "auto" (the library's choice), "amd", "metis", "natural".
std::unique_ptr<Factorization> make_factorization(const PatternPtr& pattern, Kind kind,
                                                  at::ScalarType dtype,
                                                  const std::string& ordering = "auto");

}  // namespace dsla::direct
