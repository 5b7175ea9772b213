// Device generation of stencil matrices (see stencil_cuda.h).
#include <algorithm>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_info.h"
#include "kernels/cuda/stencil_cuda.h"

namespace dsla::kernels::cuda {

namespace {

// Coordinates a point p can start from along one axis of length n: [lo, hi).
struct Range {
  int64_t lo, hi;
};

__device__ __forceinline__ Range valid(int64_t n, int d) {
  return {d < 0 ? -int64_t(d) : 0, d > 0 ? n - d : n};
}

// Valid coordinates below a, and whether a itself is valid.
__device__ __forceinline__ int64_t below(const Range& r, int64_t a) {
  return r.hi <= r.lo ? 0 : (a <= r.lo ? 0 : (a >= r.hi ? r.hi - r.lo : a - r.lo));
}
__device__ __forceinline__ bool inside(const Range& r, int64_t a) {
  return a >= r.lo && a < r.hi;
}
__device__ __forceinline__ int64_t width(const Range& r) {
  return r.hi > r.lo ? r.hi - r.lo : 0;
}

template <class V, class I>
__global__ void stencil_k(StencilBox box, I* __restrict__ crow, I* __restrict__ col,
                          V* __restrict__ val) {
  const int64_t nx = box.nx, ny = box.ny, nxy = nx * ny, N = nxy * box.nz;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < N;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t x = i % nx, y = (i / nx) % ny, z = i / nxy;
    // Entries before row i: for each point, the rows before i (lexicographic, x fastest) whose
    // neighbour through it is inside the box.
    int64_t start = 0;
    for (int q = 0; q < box.points; ++q) {
      const StencilPoint& p = box.p[q];
      const Range rx = valid(nx, p.dx), ry = valid(ny, p.dy), rz = valid(box.nz, p.dz);
      int64_t c = below(rz, z) * width(ry) * width(rx);
      if (inside(rz, z)) c += below(ry, y) * width(rx) + (inside(ry, y) ? below(rx, x) : 0);
      start += c;
    }
    crow[i] = I(start);
    int64_t q0 = start;
    for (int q = 0; q < box.points; ++q) {
      const StencilPoint& p = box.p[q];
      const int64_t xx = x + p.dx, yy = y + p.dy, zz = z + p.dz;
      if (xx < 0 || xx >= nx || yy < 0 || yy >= ny || zz < 0 || zz >= box.nz) continue;
      col[q0] = I(i + p.dz * nxy + p.dy * nx + p.dx);
      val[q0] = V(p.value);
      ++q0;
    }
    if (i == N - 1) crow[N] = I(q0);
  }
}

}  // namespace

template <class V, class I>
void stencil_csr(const StencilBox& box, I* crow, I* col, V* val, cudaStream_t stream) {
  const int64_t N = box.nx * box.ny * box.nz;
  if (N == 0) return;
  constexpr int threads = 256;
  const int64_t blocks = std::max<int64_t>(
      1, std::min<int64_t>((N + threads - 1) / threads, int64_t(sm_count()) * 16));
  stencil_k<V, I><<<blocks, threads, 0, stream>>>(box, crow, col, val);
  DSLA_CUDA_CHECK_LAUNCH();
}

#define DSLA_INST(V, I) \
  template void stencil_csr<V, I>(const StencilBox&, I*, I*, V*, cudaStream_t);
DSLA_INST(float, int32_t)
DSLA_INST(float, int64_t)
DSLA_INST(double, int32_t)
DSLA_INST(double, int64_t)

}  // namespace dsla::kernels::cuda
