// The fused CG steps of src/solve/krylov/cg_steps.h on CUDA, for vectors [B, n, k] (any k).
// grid = (blocks, B, k): block z runs over the columns, so one (b, j) pair reduces over the rows
// of one column; per-block partials are reduced in a fixed order by a tiny second kernel.
#include <algorithm>

#include "kernels/cuda/cg_cuda.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_info.h"

namespace dsla::kernels::cuda {

namespace {

constexpr int kBlock = 256;

template <class R>
__device__ __forceinline__ R dinv_at(const R* dinv, int64_t b, int64_t d_bs, int64_t i) {
  return dinv ? dinv[b * d_bs + i] : R(1);
}

template <class T, class R>
__global__ void __launch_bounds__(kBlock)
    dot_kernel(int64_t n, int64_t k, const T* __restrict__ p, const T* __restrict__ q,
               R* __restrict__ part) {
  __shared__ R smem[32];
  const int64_t b = blockIdx.y, j = blockIdx.z, off = b * n * k + j;
  R v[1] = {R(0)};
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    v[0] += vredot(p[off + i * k], q[off + i * k]);
  block_sum<1>(v, smem);
  if (threadIdx.x == 0) part[(b * k + j) * gridDim.x + blockIdx.x] = v[0];
}

template <class T, class R>
__global__ void __launch_bounds__(kBlock)
    update_kernel(int64_t n, int64_t k, T* __restrict__ x, T* __restrict__ r,
                  const T* __restrict__ p, const T* __restrict__ q, const R* __restrict__ dinv,
                  int64_t d_bs, const R* __restrict__ rz, const R* __restrict__ pq,
                  const R* __restrict__ active, R* __restrict__ part) {
  __shared__ R smem[64];
  const int64_t b = blockIdx.y, j = blockIdx.z, s = b * k + j, off = b * n * k + j;
  const bool act = active == nullptr || active[s] != R(0);
  const R alpha = (act && pq[s] != R(0)) ? rz[s] / pq[s] : R(0);
  R v[2] = {R(0), R(0)};
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t e = off + i * k;
    x[e] = vadd(x[e], vscale(p[e], alpha));
    const T ri = vadd(r[e], vscale(q[e], -alpha));
    r[e] = ri;
    const R rr = vredot(ri, ri);
    v[0] += dinv_at(dinv, b, d_bs, i) * rr;
    v[1] += rr;
  }
  block_sum<2>(v, smem);
  if (threadIdx.x == 0) {
    part[(s * gridDim.x + blockIdx.x) * 2] = v[0];
    part[(s * gridDim.x + blockIdx.x) * 2 + 1] = v[1];
  }
}

// out_m[s] = sum over blocks of part[(s * nblk + blk) * NV + m], m < NV.
template <int NV, class R>
__global__ void finalize_kernel(int64_t nblk, const R* __restrict__ part, R* out0, R* out1) {
  __shared__ R smem[32 * NV];
  const int64_t s = blockIdx.x;
  R v[NV];
#pragma unroll
  for (int m = 0; m < NV; ++m) v[m] = R(0);
  for (int64_t i = threadIdx.x; i < nblk; i += blockDim.x) {
#pragma unroll
    for (int m = 0; m < NV; ++m) v[m] += part[(s * nblk + i) * NV + m];
  }
  block_sum<NV>(v, smem);
  if (threadIdx.x == 0) {
    out0[s] = v[0];
    if (NV > 1) out1[s] = v[NV - 1];
  }
}

template <class R>
__global__ void beta_kernel(int64_t m, R* rz, const R* rz_new, const R* active, R* beta) {
  const int64_t s = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (s >= m) return;
  const bool act = active == nullptr || active[s] != R(0);
  beta[s] = (act && rz[s] != R(0)) ? rz_new[s] / rz[s] : R(0);
  if (act) rz[s] = rz_new[s];
}

template <class T, class R>
__global__ void __launch_bounds__(kBlock)
    direction_kernel(int64_t n, int64_t k, T* __restrict__ p, const T* __restrict__ r,
                     const T* __restrict__ z, const R* __restrict__ dinv, int64_t d_bs,
                     const R* __restrict__ beta, const R* __restrict__ active) {
  const int64_t b = blockIdx.y, j = blockIdx.z, s = b * k + j, off = b * n * k + j;
  if (active != nullptr && active[s] == R(0)) return;
  const R bt = beta[s];
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t e = off + i * k;
    const T zi = z ? z[e] : vscale(r[e], dinv_at(dinv, b, d_bs, i));
    p[e] = vadd(zi, vscale(p[e], bt));
  }
}

dim3 step_grid(int64_t n, int64_t k, int64_t B) {
  return dim3(unsigned(cg_step_blocks(n)), unsigned(B), unsigned(k));
}

}  // namespace

int64_t cg_step_blocks(int64_t n) {
  const int64_t cap = int64_t(sm_count()) * 4;
  return std::max<int64_t>(1, std::min<int64_t>((n + kBlock - 1) / kBlock, cap));
}

template <class T, class R>
void cg_dot_step(const BlockShape& shape, const T* p, const T* q, R* pq, R* partials,
                 cudaStream_t s) {
  using D = dev_t<T>;
  const int64_t n = shape.n, k = shape.k, B = shape.batch;
  const int64_t nblk = cg_step_blocks(n);
  dot_kernel<<<step_grid(n, k, B), kBlock, 0, s>>>(n, k, reinterpret_cast<const D*>(p),
                                                   reinterpret_cast<const D*>(q), partials);
  DSLA_CUDA_CHECK_LAUNCH();
  finalize_kernel<1, R><<<unsigned(B * k), kBlock, 0, s>>>(nblk, partials, pq, pq);
  DSLA_CUDA_CHECK_LAUNCH();
}

template <class T, class R>
void cg_update_step(const BlockShape& shape, const CgVectors<T, R>& v, const CgScalars<R>& c,
                    R* partials, cudaStream_t s) {
  using D = dev_t<T>;
  const int64_t n = shape.n, k = shape.k, B = shape.batch;
  const int64_t nblk = cg_step_blocks(n);
  update_kernel<<<step_grid(n, k, B), kBlock, 0, s>>>(
      n, k, reinterpret_cast<D*>(v.x), reinterpret_cast<D*>(v.r), reinterpret_cast<const D*>(v.p),
      reinterpret_cast<const D*>(v.q), v.dinv, v.dinv_bstride, c.rz, c.pq, c.active, partials);
  DSLA_CUDA_CHECK_LAUNCH();
  finalize_kernel<2, R><<<unsigned(B * k), kBlock, 0, s>>>(nblk, partials, c.rz_new, c.rr);
  DSLA_CUDA_CHECK_LAUNCH();
}

template <class T, class R>
void cg_direction_step(const BlockShape& shape, const CgVectors<T, R>& v, const CgScalars<R>& c,
                       R* beta, cudaStream_t s) {
  using D = dev_t<T>;
  const int64_t n = shape.n, k = shape.k, B = shape.batch;
  const int64_t m = B * k;
  beta_kernel<<<unsigned((m + 255) / 256), 256, 0, s>>>(m, c.rz, c.rz_new, c.active, beta);
  DSLA_CUDA_CHECK_LAUNCH();
  direction_kernel<<<step_grid(n, k, B), kBlock, 0, s>>>(
      n, k, reinterpret_cast<D*>(v.p), reinterpret_cast<const D*>(v.r),
      reinterpret_cast<const D*>(v.z), v.dinv, v.dinv_bstride, beta, c.active);
  DSLA_CUDA_CHECK_LAUNCH();
}

#define DSLA_INST(T, R)                                                                         \
  template void cg_dot_step<T, R>(const BlockShape&, const T*, const T*, R*, R*, cudaStream_t); \
  template void cg_update_step<T, R>(const BlockShape&, const CgVectors<T, R>&,                 \
                                     const CgScalars<R>&, R*, cudaStream_t);                    \
  template void cg_direction_step<T, R>(const BlockShape&, const CgVectors<T, R>&,              \
                                        const CgScalars<R>&, R*, cudaStream_t);
DSLA_INST(float, float)
DSLA_INST(double, double)
DSLA_INST(std::complex<float>, float)
DSLA_INST(std::complex<double>, double)

}  // namespace dsla::kernels::cuda
