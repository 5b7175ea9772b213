// COO -> CSR with the entry map (internal): what SparseMatrix::from_coo computes, with each
// input entry's position in the result's values kept for callers that move values along the
// same entries again (the distributed Galerkin product's received rows).
#pragma once

#include <dsla/sparse_matrix.h>

namespace dsla::detail {

// SparseMatrix::from_coo, and map[k] (int64 [nnz_in], on values' device) = the position of
// entry k in the result's values (duplicates share one). Entries on a CUDA device are sorted
// and merged there (ATen ops); host entries by the host kernel.
SparseMatrix from_coo_mapped(const at::Tensor& row, const at::Tensor& col, const at::Tensor& values,
                             Shape shape, const CooOptions& opt, at::Tensor& map);

// The CSR of int64 COO entries (r, c) in ATen ops on their own device: sorted by (row, col),
// duplicates merged; crow / col_out in `idt`, map (int64) each entry's position in the result.
// Returns the merged count. One int64 sort key when rows x cols fits, else two stable sorts;
// entries already sorted by (row, col) are not sorted again. *identity (when given): the entries
// were sorted and unique (map is 0, 1, ..., nnz - 1).
int64_t coo_to_csr_aten(const at::Tensor& r, const at::Tensor& c, int64_t rows, int64_t cols,
                        at::ScalarType idt, at::Tensor& crow, at::Tensor& col_out, at::Tensor& map,
                        bool* identity = nullptr);

}  // namespace dsla::detail
