// CSR of a constant-coefficient stencil on an nx x ny x nz box (Dirichlet: a neighbour outside
// the box is dropped), generated on the device (no torch): what poisson2d / poisson3d / aniso2d
// / convdiff2d build, without the host arrays and the copy (a billion rows are 88 GB there).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace dsla::kernels::cuda {

struct StencilPoint {
  int dx = 0, dy = 0, dz = 0;
  double value = 0;
};

constexpr int kMaxStencilPoints = 27;

// Points in increasing column offset dz nx ny + dy nx + dx (then each row's columns are sorted).
struct StencilBox {
  int64_t nx = 1, ny = 1, nz = 1;
  int points = 0;
  StencilPoint p[kMaxStencilPoints];
};

// crow [nx ny nz + 1], col and val [nnz] (nnz from the box, see stencil_nnz): each row computes
// its own start in closed form, so one pass writes everything (no count pass, no scan).
template <class V, class I>
void stencil_csr(const StencilBox& box, I* crow, I* col, V* val, cudaStream_t stream);

}  // namespace dsla::kernels::cuda
