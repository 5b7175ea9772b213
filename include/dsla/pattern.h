// Pattern: the immutable sparsity structure of a CSR matrix, shared between matrices that differ
// only in values. Derived data (transpose permutation, diagonal positions, symmetry, solver
// analysis) is computed once on first use and cached here, so a training loop that changes
// values never redoes analysis.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dsla {

class Pattern;
// Refuses (by the argument name "shape") negative dimensions and dimensions whose row pointers
// (rows + 1, cols + 1) do not fit int64.
void check_shape(int64_t rows, int64_t cols);

using PatternPtr = std::shared_ptr<const Pattern>;

class Pattern : public std::enable_shared_from_this<Pattern> {
 public:
  // crow: [rows + 1], col: [nnz], both int32 or both int64, contiguous, on one device; within a
  // row the columns are sorted and unique. `check` validates all of that in O(nnz).
  static PatternPtr from_csr(at::Tensor crow, at::Tensor col, int64_t rows, int64_t cols,
                             bool check = true);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t nnz() const { return nnz_; }
  bool is_square() const { return rows_ == cols_; }
  const at::Tensor& crow() const { return crow_; }
  const at::Tensor& col() const { return col_; }
  at::ScalarType index_dtype() const;
  c10::Device device() const;

  // Row index of every stored entry ([nnz], index dtype), cached.
  const at::Tensor& row() const;
  // The pattern of the transpose and the permutation taking values of this matrix to the values
  // of the transpose (values_t = values.index_select(-1, perm)), cached.
  PatternPtr transpose() const;
  const at::Tensor& transpose_perm() const;
  // Position of the diagonal entry of each row in col/values, or -1 ([min(rows, cols)], int64).
  // The same positions computed afresh (a per-row search kernel), not cached: for setups on
  // the GPU whose memory budget is a few vectors (Jacobi).
  at::Tensor find_diag_pos() const;
  const at::Tensor& diag_pos() const;
  bool has_full_diagonal() const;
  // Whether the pattern equals the pattern of its transpose (square only).
  bool is_structurally_symmetric() const;

  // The same pattern on another device / with another index dtype (cached per device).
  PatternPtr to(c10::Device device) const;
  PatternPtr with_index_dtype(at::ScalarType dtype) const;

  // Cache for analysis that depends only on the pattern (symbolic factorizations, orderings,
  // AMG aggregates, partitions). `make` runs at most once per key; the result is shared.
  template <class T>
  std::shared_ptr<T> cached(const std::string& key,
                            const std::function<std::shared_ptr<T>()>& make) const {
    return std::static_pointer_cast<T>(
        cached_any(key, [&] { return std::shared_ptr<void>(make()); }));
  }
  std::shared_ptr<void> cached_any(const std::string& key,
                                   const std::function<std::shared_ptr<void>()>& make) const;

  // Index dtype a pattern of this size needs: int32 when rows, cols and nnz fit, else int64.
  static at::ScalarType index_dtype_for(int64_t rows, int64_t cols, int64_t nnz);

 private:
  Pattern() = default;
  at::Tensor crow_, col_;
  int64_t rows_ = 0, cols_ = 0, nnz_ = 0;

  mutable std::recursive_mutex mutex_;  // recursive: cached() factories may read the pattern
  mutable at::Tensor row_, transpose_perm_, diag_pos_;
  // The transpose a pattern computed is held strongly; a transpose points back to the pattern it
  // came from weakly (a strong pointer both ways is a cycle: neither would ever be freed). When
  // the origin is gone, a transpose's own transpose is computed afresh on request.
  mutable PatternPtr transpose_;
  mutable std::weak_ptr<const Pattern> transpose_of_;
  mutable int symmetric_ = -1;  // -1 unknown, 0 no, 1 yes
  mutable std::unordered_map<std::string, std::shared_ptr<void>> cache_;
  mutable std::unordered_map<std::string, PatternPtr> conversions_;
  // The transpose (computed, or the live origin of a transpose); caller holds mutex_.
  PatternPtr transpose_locked() const;
};

}  // namespace dsla
