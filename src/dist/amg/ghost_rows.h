// The rows of a row-distributed matrix that a halo plan's ghosts stand for (hypre's "P_ext"):
// each rank sends, for every owned row a neighbour holds as a ghost, that row's entries in global
// column ids. The structure moves once (row lengths through the plan, then the column ids); new
// values move again along the same per-neighbour entry blocks, and nothing else does (a numeric
// re-setup).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "dist/halo_plan.h"

namespace dsla::dist::amg_detail {

struct GhostRows {
  at::Tensor crow;  // int64 [n_ghost + 1]: the ghost rows, in the plan's ghost order
  at::Tensor col;   // int64 [nnz_ext]: global column ids
  // Value exchange: the local entries sent (int64 positions on the values' device, neighbour by
  // neighbour in the plan's send order) and the entry offsets of each send / receive block.
  at::Tensor send_pos;
  std::vector<int64_t> send_off, recv_off;
};

// Rows of a matrix with the plan's owned rows (crow int64 [n_owned + 1], col int64 global ids):
// the ghost rows' structure, on `device`. Collective over the plan's neighbours.
GhostRows fetch_ghost_structure(const HaloPlan& plan, const at::Tensor& crow, const at::Tensor& col,
                                c10::Device device);

// Their values, from this rank's values [B, nnz] (CSR order of the crow / col given above):
// [B, nnz_ext].
at::Tensor fetch_ghost_values(const HaloPlan& plan, const GhostRows& g, const at::Tensor& values);

}  // namespace dsla::dist::amg_detail
