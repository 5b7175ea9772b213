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

// Every reduction a method makes over the vector dimension — inner products, norms, Gram
// matrices — goes through the operator's VectorSpace, never through at::sum / at::matmul /
// linalg_vector_norm on the vectors themselves: on a distributed operator each process holds
// only its own rows, so a reduction taken behind the space's back gives a silently local answer.
// The space computes a local partial with one fused op and hands it to reduce_, which sums the
// partials over everything the space spans (nothing locally; an all-reduce over the ranks in
// src/dist). Decisions taken from reduced scalars are then the same on every rank.
//
// Shapes: the vector (row) dimension is the second to last. Krylov vectors are [B, n, k] (batch
// members, rows, right-hand sides), eigen blocks [n, m]; any leading dimensions are batches.
class VectorSpace {
 public:
  virtual ~VectorSpace() = default;
  // Sums partial reductions (any shape, any dtype) over whatever the space spans, in place.
  // The identity on one process. Every rank must call it the same number of times with
  // partials of the same shape (a collective).
  virtual void reduce_(at::Tensor& /*partial*/) const {}
  // True when reduce_ is the identity: fused kernels that reduce internally (the fused CPU and
  // CUDA CG paths) and the dense fallbacks that need the whole vector are chosen only then.
  virtual bool is_local() const { return true; }
  // The global row ids of this process's `local_rows` rows (int64 [local_rows] on the host;
  // 0, 1, ... on one process; a distributed space's owned ids in local order). Start vectors
  // and random blocks are drawn by global row id (eigen::random_block, the spectral estimate),
  // so every layout — any partition, any local order — starts from one process's block.
  virtual at::Tensor global_ids(int64_t local_rows) const;
  // True when reduce_ only enqueues device work on the current stream (or nothing), so a block
  // of iterations that calls it may be recorded once into a CUDA graph and replayed (the fused
  // CUDA CG does). A space that reduces through the host (Gloo), or counts its calls, says no.
  virtual bool capturable() const { return is_local(); }
  // The number of rows the space spans in all, given this process's `local_rows` (the same on
  // every rank). Decisions that depend on the problem size (GMRES's cap of the restart length
  // at n, the default iteration limit) take it from here, never from the local size: a rank
  // with few rows must not choose differently from the others.
  virtual int64_t global_rows(int64_t local_rows) const { return local_rows; }

  // Σ_i conj(a[..., i, j]) b[..., i, j] -> [..., 1, k]: one fused local op, then reduce_.
  at::Tensor dot(const at::Tensor& a, const at::Tensor& b) const;
  // sqrt(reduced Σ_i |a[..., i, j]|²) -> [..., 1, k], real dtype; never a local norm. The
  // partial is the square of the local norm (one pass, no temporary), squared in double for
  // float/complex64 so that squaring adds no overflow or underflow of its own. Locally the
  // result is bitwise the norm (sqrt(x²) = x in binary floating point).
  at::Tensor norm(const at::Tensor& a) const;
  // The block inner product Vᴴ W over the vector dimension: V [..., n, p], W [..., n, q] ->
  // [..., p, q] (leading dimensions broadcast as in at::matmul). LOBPCG and orthonormalize take
  // their Gram matrices from it ([n, m] blocks); GMRES its Gram–Schmidt coefficients (a basis
  // [B, k, j, n] passed as its transpose view [B, k, n, j] against w [B, k, n, 1] gives
  // h [B, k, j, 1]). Locally one matmul, then reduce_. Virtual so that a device space may fuse
  // the product with its reduction; it must stay the sum over ranks of the local products.
  virtual at::Tensor gram(const at::Tensor& V, const at::Tensor& W) const;

  // The space of a single process (what LinearOperator::space() returns by default).
  static const VectorSpace& local();
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
  // A x as a new tensor. By default apply() into a fresh y; an operator that makes its result
  // anyway (an AMG cycle) returns it without the copy into a preallocated y.
  virtual at::Tensor applied(const at::Tensor& x) const;
  // y = Aᴴ x; only when has_adjoint().
  virtual bool has_adjoint() const { return false; }
  virtual void apply_adjoint(const at::Tensor& x, at::Tensor& y) const;
  // The space of the operator's vectors: every method takes its reductions from it.
  virtual const VectorSpace& space() const;
  // The matrix behind the operator, when there is one (preconditioners and method="auto" use
  // it); nullptr for matrix-free operators.
  virtual const SparseMatrix* matrix() const { return nullptr; }
};

using LinearOperatorPtr = std::shared_ptr<const LinearOperator>;

// A SparseMatrix as an operator (batched values apply per batch member).
LinearOperatorPtr make_operator(const SparseMatrix& A);
// A matrix-free operator from callables (apply_adjoint may be empty).
LinearOperatorPtr make_operator(
    int64_t rows, int64_t cols, at::ScalarType dtype, c10::Device device,
    std::function<void(const at::Tensor&, at::Tensor&)> apply,
    std::function<void(const at::Tensor&, at::Tensor&)> apply_adjoint = {});

}  // namespace dsla
