// SparseMatrix: a Pattern plus values. Values are a tensor of shape [nnz] or, for a batch of
// matrices sharing one pattern, [B, nnz]; they carry autograd, the pattern never does.
// Supported value dtypes: float32, float64, complex64, complex128.
#pragma once

#include <dsla/pattern.h>

#include <ATen/Tensor.h>
#include <c10/util/Optional.h>

#include <string>
#include <vector>

namespace dsla {

struct Shape {
  int64_t rows = 0;
  int64_t cols = 0;
};

struct CooOptions {
  // Index validation (in range, non-negative) always runs: it is O(nnz), cheap next to any use,
  // and an index out of range would corrupt memory. `check` adds the scan of values for NaN/Inf.
  bool check = true;
  bool sum_duplicates = true;                 // duplicates summed (false: duplicates are an error)
  c10::optional<at::ScalarType> index_dtype;  // force int32/int64; default: smallest that fits
};

class SparseMatrix {
 public:
  SparseMatrix() = default;
  // values: [nnz] or [B, nnz], same device as the pattern.
  SparseMatrix(PatternPtr pattern, at::Tensor values, bool check = true);

  // From coordinates in any order; duplicates summed. row, col: integer [nnz]; values [nnz] or
  // [B, nnz]. Differentiable in values (the gather from input order to CSR order is an index op).
  static SparseMatrix from_coo(const at::Tensor& row, const at::Tensor& col,
                               const at::Tensor& values, Shape shape, const CooOptions& opt = {});
  // The CSR structure (crow monotone from 0 to nnz, columns in range, sorted and unique per row)
  // is always validated; `check` adds the scan of values for NaN/Inf.
  static SparseMatrix from_csr(const at::Tensor& crow, const at::Tensor& col,
                               const at::Tensor& values, Shape shape, bool check = true);
  // Entries != 0 of a dense [n, m] (or [B, n, m]: the union pattern) tensor. Differentiable.
  static SparseMatrix from_dense(const at::Tensor& dense);
  // From torch.sparse_coo / torch.sparse_csr tensors (2-D).
  static SparseMatrix from_torch(const at::Tensor& sparse);

  at::Tensor to_dense() const;      // [n, m] or [B, n, m]; differentiable in values
  at::Tensor to_torch_coo() const;  // 2-D only (not batched)
  at::Tensor to_torch_csr() const;  // 2-D only (not batched)

  bool defined() const { return pattern_ != nullptr; }
  const PatternPtr& pattern() const { return pattern_; }
  const at::Tensor& values() const { return values_; }
  int64_t rows() const;
  int64_t cols() const;
  int64_t nnz() const;
  bool is_batched() const { return values_.dim() == 2; }
  int64_t batch_size() const { return is_batched() ? values_.size(0) : 1; }
  at::ScalarType dtype() const;
  c10::Device device() const;
  bool is_complex() const;
  at::Tensor row_indices() const;  // [nnz], expanded COO rows
  at::Tensor col_indices() const;  // [nnz]
  at::Tensor crow_indices() const;

  // Same pattern, new values (shape [nnz] or [B, nnz]).
  SparseMatrix with_values(at::Tensor values) const;
  SparseMatrix to(c10::Device device) const;
  SparseMatrix to(at::ScalarType dtype) const;
  SparseMatrix to(c10::Device device, at::ScalarType dtype) const;
  SparseMatrix detach() const;

  // Transpose through the cached permutation (no sort per call); differentiable.
  SparseMatrix transpose() const;
  SparseMatrix conj_transpose() const;
  SparseMatrix conj() const;
  // Main diagonal, [min(n,m)] or [B, min(n,m)], zeros where not stored; differentiable.
  at::Tensor diagonal() const;
  // Values and pattern symmetric (Hermitian when `hermitian` and complex) within
  // |a_ij - a_ji| <= atol + rtol * max|a|. Batched: all members.
  bool is_symmetric(double rtol = 1e-12, double atol = 0.0, bool hermitian = true) const;
  at::Tensor row_sums() const;  // [n] or [B, n]
  at::Tensor col_sums() const;  // [m] or [B, m]
  // "fro", "1" (max column abs sum), "inf" (max row abs sum); [] or [B].
  at::Tensor norm(const std::string& ord = "fro") const;
  SparseMatrix scale(const at::Scalar& alpha) const;
  // Rows and columns given by index tensors (int64, any order, no repeats needed to be sorted).
  SparseMatrix submatrix(const at::Tensor& rows, const at::Tensor& cols) const;

  std::string repr() const;

 private:
  PatternPtr pattern_;
  at::Tensor values_;
};

// Validation helpers shared by every entry point (messages name `arg`).
void check_value_dtype(const at::Tensor& values, const char* arg);
void check_finite(const at::Tensor& t, const char* arg);

}  // namespace dsla
