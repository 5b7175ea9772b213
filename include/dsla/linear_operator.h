// What Krylov methods see. One implementation of each method serves CPU, CUDA and distributed
// matrices: vectors are tensors of shape [B, n, k] (B batch members, k right-hand sides; both 1
// in the plain case) and per-system scalars are tensors [B, 1, k] that stay on the device, so
// the loops need no host synchronization beyond their periodic convergence check.
#pragma once

#include <dsla/sparse_matrix.h>

#include <ATen/Tensor.h>

#include <functional>
#include <memory>

namespace dsla {

// Inner products. Local on one device; the distributed space adds an all-reduce.
class VectorSpace {
 public:
  virtual ~VectorSpace() = default;
  // Σ_i conj(a[b, i, j]) b[b, i, j] -> [B, 1, k].
  virtual at::Tensor dot(const at::Tensor& a, const at::Tensor& b) const;
  // sqrt(Re dot(a, a)) -> [B, 1, k], real dtype.
  virtual at::Tensor norm(const at::Tensor& a) const;
};

class LinearOperator {
 public:
  virtual ~LinearOperator() = default;
  virtual int64_t rows() const = 0;
  virtual int64_t cols() const = 0;
  virtual at::ScalarType dtype() const = 0;
  virtual c10::Device device() const = 0;
  // y = A x for x [B, cols, k]; y [B, rows, k] preallocated (written, not accumulated).
  virtual void apply(const at::Tensor& x, at::Tensor& y) const = 0;
  // y = Aᴴ x; only when has_adjoint().
  virtual bool has_adjoint() const { return false; }
  virtual void apply_adjoint(const at::Tensor& x, at::Tensor& y) const;
  virtual const VectorSpace& space() const;
  // The matrix behind the operator, when there is one (preconditioners and method="auto" use
  // it); nullptr for matrix-free operators.
  virtual const SparseMatrix* matrix() const { return nullptr; }
};

using LinearOperatorPtr = std::shared_ptr<const LinearOperator>;

// A SparseMatrix as an operator (batched values apply per batch member).
LinearOperatorPtr make_operator(const SparseMatrix& A);
// A matrix-free operator from callables (apply_adjoint may be empty).
LinearOperatorPtr make_operator(int64_t rows, int64_t cols, at::ScalarType dtype,
                                c10::Device device,
                                std::function<void(const at::Tensor&, at::Tensor&)> apply,
                                std::function<void(const at::Tensor&, at::Tensor&)> apply_adjoint = {});

}  // namespace dsla
