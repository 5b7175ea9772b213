// A distributed operator's rows as fused CG steps see them (src/dist fills it in; the krylov
// layer knows nothing else of ranks). The generic steps multiply through the operator's apply();
// a device's fused steps instead multiply by the two blocks themselves, so that the halo
// exchange can sit between the kernels of one iteration: the interior rows' product runs while
// the ghosts travel.
#pragma once

#include <dsla/sparse_matrix.h>

#include <ATen/Tensor.h>

#include <functional>

namespace dsla::krylov {

struct HaloBlocks {
  const SparseMatrix* diag = nullptr;  // [n, n]: the owned columns
  const SparseMatrix* offd = nullptr;  // [n - n_interior, n_ghost]: the last rows' ghost columns
  int64_t n_interior = 0, n_ghost = 0;
  at::Tensor send_idx;  // int64 [n_send] on the device: the owned rows the neighbours need
  // Starts the exchange of `send` [n_send, B] into `ghost` [n_ghost, B] (both contiguous, rows
  // first); the returned function waits for it. A collective: every rank calls it in step.
  std::function<std::function<void()>(const at::Tensor& send, at::Tensor& ghost)> exchange;
};

}  // namespace dsla::krylov
