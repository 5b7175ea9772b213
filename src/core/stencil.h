// A constant-coefficient stencil on a box (Dirichlet: neighbours outside are dropped): the one
// description behind poisson2d / poisson3d / aniso2d / convdiff2d, built into CSR on the host or,
// through stencil_stub, on the device (no host arrays, no copy).
#pragma once

#include <dsla/generators.h>

#include <vector>

#include "core/device_stub.h"

namespace dsla::detail {

struct StencilPoint {
  int dx = 0, dy = 0, dz = 0;
  double value = 0;
};

struct Stencil {
  int64_t nx = 1, ny = 1, nz = 1;
  std::vector<StencilPoint> points;  // sorted by column offset by stencil_matrix
  int64_t rows() const { return nx * ny * nz; }
  int64_t offset(const StencilPoint& p) const { return (p.dz * ny + p.dy) * nx + p.dx; }
  // Entries of the matrix: Σ over points of the rows whose neighbour is inside.
  int64_t nnz() const;
};

// CSR with sorted columns, int32 indices when they fit; opt.device and opt.dtype.
SparseMatrix stencil_matrix(Stencil s, const GenOptions& opt);

using StencilFn = SparseMatrix(const Stencil&, const GenOptions&);
extern device::Stub<StencilFn> stencil_stub;

}  // namespace dsla::detail
