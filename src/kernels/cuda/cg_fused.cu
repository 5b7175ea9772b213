// Fused Jacobi-PCG iteration (see cg_cuda.h for the algebra and the byte count).
#include <algorithm>

#include "kernels/cuda/cg_cuda.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_info.h"
#include "kernels/cuda/reduce.cuh"

namespace dsla::kernels::cuda {

namespace {

constexpr int kBlock = 256;

// kDelta: columns come as int16 offsets from the row (dcol), 2 B per nonzero instead of
// sizeof(I); the matrix dominates the bytes of an iteration, so this is ~7% less traffic on
// poisson2d with int32 indices (and ~20% with int64).
template <int G, bool kDelta, class T, class I>
__global__ void __launch_bounds__(kBlock)
    cg_k1(int64_t n, const I* __restrict__ crow, const I* __restrict__ col,
          const int16_t* __restrict__ dcol, const T* __restrict__ val, int64_t v_bs,
          const T* __restrict__ z, const T* __restrict__ pin, T* __restrict__ pout,
          T* __restrict__ q, T* __restrict__ x, CgState* st, double* part, int out_index,
          bool x_now) {
  __shared__ double smem[32];
  pdl_wait();  // everything below reads what the previous iteration's cg_k2 wrote
  pdl_launch_dependents();
  const int64_t b = blockIdx.y;
  CgState& S = st[b];
  if (S.done) return;
  const T beta = T(S.beta), ap = T(S.alpha_prev), app = T(S.alpha_pp);
  val += b * v_bs;
  z += b * n;
  pin += b * n;
  pout += b * n;
  q += b * n;
  x += b * n;
  double acc = 0.0;
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int lane = threadIdx.x % G;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x / G;
  for (int64_t r0 = (t / 32) * (32 / G); r0 < n; r0 += stride) {
    const int64_t row = r0 + (threadIdx.x & 31) / G;
    T s = T(0);
    if (row < n) {
      const I start = __ldg(crow + row), end = __ldg(crow + row + 1);
#pragma unroll 4
      for (I k = start + lane; k < end; k += G) {
        const I j = kDelta ? I(row + __ldg(dcol + k)) : __ldg(col + k);
        s = fma(__ldg(val + k), fma(beta, __ldg(pin + j), __ldg(z + j)), s);
      }
    }
    s = group_sum<G>(s);
    if (row < n && lane == 0) {
      const T pi = pin[row];
      const T pn = fma(beta, pi, z[row]);
      // Every other iteration: the two pending directions (p two steps back still sits in
      // pout, which no other thread reads in this kernel).
      if (x_now) x[row] = fma(app, pout[row], fma(ap, pi, x[row]));
      pout[row] = pn;
      q[row] = s;
      acc += double(pn) * double(s);
    }
  }
  double v[1] = {acc};
  if (last_block_sum<1>(v, part + b * gridDim.x, &S.cnt1, smem) && threadIdx.x == 0) {
    const double pq = v[0];
    S.pq = pq;
    S.pbuf = out_index;
    if (!(pq > 0.0) || !isfinite(pq)) {
      S.done = 3;
      S.alpha = 0.0;
      if (x_now) {  // x took every direction up to p: nothing pending
        S.alpha_pp = 0.0;
        S.alpha_prev = 0.0;
      } else {  // alpha_prev p (in pin, the buffer other than out_index) is still pending
        S.alpha_pp = S.alpha_prev;
        S.alpha_prev = 0.0;
      }
    } else {
      S.alpha = S.rz / pq;
    }
  }
}

__device__ __forceinline__ double rcp(double d) {
  return __drcp_rn(d);
}
__device__ __forceinline__ float rcp(float d) {
  return __frcp_rn(d);
}

template <class T>
__global__ void __launch_bounds__(kBlock)
    cg_k2(int64_t n, const T* __restrict__ dinv, int64_t d_bs, T dscale, T* __restrict__ z,
          const T* __restrict__ q, CgState* st, double* part) {
  __shared__ double smem[64];
  pdl_wait();  // alpha and q come from cg_k1
  pdl_launch_dependents();
  const int64_t b = blockIdx.y;
  CgState& S = st[b];
  if (S.done) return;
  const T a = T(S.alpha);
  z += b * n;
  q += b * n;
  if (dinv) dinv += b * d_bs;
  double rz = 0.0, rr = 0.0;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const T d = dinv ? __ldg(dinv + i) : dscale;
    const T zi = fma(-a * d, q[i], z[i]);
    z[i] = zi;
    const T ri = zi * rcp(d);
    rz += double(ri) * double(zi);
    rr += double(ri) * double(ri);
  }
  double v[2] = {rz, rr};
  if (last_block_sum<2>(v, part + b * gridDim.x * 2, &S.cnt2, smem) && threadIdx.x == 0) {
    const double rz_new = v[0];
    S.beta = S.rz != 0.0 ? rz_new / S.rz : 0.0;
    S.rz = rz_new;
    S.rr = v[1];
    S.alpha_pp = S.alpha_prev;
    S.alpha_prev = S.alpha;
    S.iters += 1;
    if (!(v[1] <= S.tol2) && !isfinite(v[1]))
      S.done = 3;
    else if (v[1] <= S.tol2)
      S.done = 1;
    else if (S.iters >= S.maxiter)
      S.done = 2;
  }
}

__global__ void cg_init_kernel(int64_t B, const double* rz, const double* rr, const double* tol2,
                               int maxiter, CgState* st) {
  const int64_t b = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= B) return;
  CgState s{};
  s.rz = rz[b];
  s.rr = rr[b];
  s.tol2 = tol2[b];
  s.maxiter = maxiter;
  s.done = rr[b] <= tol2[b] ? 1 : (maxiter <= 0 ? 2 : 0);
  st[b] = s;
}

template <class T>
__global__ void cg_finish_kernel(int64_t n, T* x, const T* p0, const T* p1, const CgState* st) {
  const int64_t b = blockIdx.y;
  const CgState& S = st[b];
  const T a = T(S.alpha_prev);
  // The last K1 wrote p[pbuf]; with parity 1 (pbuf 0) it skipped x, so p[1 - pbuf] is pending.
  const T a2 = S.pbuf == 0 ? T(S.alpha_pp) : T(0);
  const T* p = (S.pbuf == 0 ? p0 : p1) + b * n;
  const T* p2 = (S.pbuf == 0 ? p1 : p0) + b * n;
  if (a == T(0) && a2 == T(0)) return;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    x[b * n + i] = fma(a2, p2[i], fma(a, p[i], x[b * n + i]));
}

// One wave: as many blocks as can be resident (the grid-stride loops then split the rows evenly
// across all of them; a partial second wave would run its share at low occupancy).
template <class K>
int64_t wave_blocks(K kernel, int64_t threads) {
  static const int per_sm = [&] {
    int b = 0;
    DSLA_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&b, kernel, kBlock, 0));
    return std::max(1, std::min(b, 2048 / kBlock));
  }();
  const int64_t cap = int64_t(sm_count()) * per_sm;
  return std::max<int64_t>(1, std::min<int64_t>((threads + kBlock - 1) / kBlock, cap));
}

// Launches kernel<<<grid, kBlock, 0, s>>>, with programmatic dependent launch when `pdl`: its
// blocks may be scheduled while the previous kernel drains (it calls pdl_wait() first). At
// 1M rows an iteration is two ~25 us kernels, and the launch gap and tail of each are a
// visible share of it.
template <class... KArgs, class... Args>
void launch(bool pdl, dim3 grid, cudaStream_t s, void (*kernel)(KArgs...), Args... args) {
  if (!pdl) {
    kernel<<<grid, kBlock, 0, s>>>(args...);
    DSLA_CUDA_CHECK_LAUNCH();
    return;
  }
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = dim3(kBlock);
  cfg.dynamicSmemBytes = 0;
  cfg.stream = s;
  cfg.attrs = attr;
  cfg.numAttrs = 1;
  DSLA_CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, static_cast<KArgs>(args)...));
}

int64_t capped_blocks(int64_t threads) {
  const int64_t cap = int64_t(sm_count()) * (2048 / kBlock);
  return std::max<int64_t>(1, std::min<int64_t>((threads + kBlock - 1) / kBlock, cap));
}

}  // namespace

int64_t cg_fused_blocks(int64_t n, int group) {
  return std::max(capped_blocks(n * group), capped_blocks(n));
}

void cg_fused_init(int64_t B, const double* rz, const double* rr, const double* tol2, int maxiter,
                   CgState* st, cudaStream_t s) {
  cg_init_kernel<<<unsigned((B + 127) / 128), 128, 0, s>>>(B, rz, rr, tol2, maxiter, st);
  DSLA_CUDA_CHECK_LAUNCH();
}

template <class T, class I>
void cg_fused_iteration(int64_t n, int64_t B, int group, const I* crow, const I* col,
                        const int16_t* dcol, const T* val, int64_t v_bs, const T* dinv,
                        int64_t d_bs, T dscale, T* z, T* p0, T* p1, int parity, T* q, T* x,
                        CgState* st, double* partials, bool pdl, cudaStream_t s) {
  const T* p_in = parity == 0 ? p0 : p1;
  T* p_out = parity == 0 ? p1 : p0;
  const int oi = parity == 0 ? 1 : 0;
  const bool x_now = parity == 0;
  const dim3 g2(unsigned(wave_blocks(cg_k2<T>, n)), unsigned(B));
  double* part1 = partials;
  double* part2 = partials + B * cg_fused_blocks(n, group);
  pdl = pdl && cc_major() >= 9;
#define DSLA_K1(GG)                                                                            \
  case GG:                                                                                     \
    if (dcol)                                                                                  \
      launch(pdl, dim3(unsigned(wave_blocks(cg_k1<GG, true, T, I>, n * GG)), unsigned(B)), s,  \
             cg_k1<GG, true, T, I>, n, crow, col, dcol, val, v_bs, z, p_in, p_out, q, x, st,   \
             part1, oi, x_now);                                                                \
    else                                                                                       \
      launch(pdl, dim3(unsigned(wave_blocks(cg_k1<GG, false, T, I>, n * GG)), unsigned(B)), s, \
             cg_k1<GG, false, T, I>, n, crow, col, dcol, val, v_bs, z, p_in, p_out, q, x, st,  \
             part1, oi, x_now);                                                                \
    break;
  switch (group) {
    DSLA_K1(1)
    DSLA_K1(2)
    DSLA_K1(4)
    DSLA_K1(8)
    DSLA_K1(16)
    DSLA_K1(32)
    default:
      throw std::invalid_argument("dsla: cg group must be 1, 2, 4, 8, 16 or 32");
  }
#undef DSLA_K1
  launch(pdl, g2, s, cg_k2<T>, n, dinv, d_bs, dscale, z, static_cast<const T*>(q), st, part2);
}

template <class T>
void cg_fused_finish(int64_t n, int64_t B, T* x, const T* p0, const T* p1, CgState* st,
                     cudaStream_t s) {
  const dim3 g(unsigned(capped_blocks(n)), unsigned(B));
  cg_finish_kernel<<<g, kBlock, 0, s>>>(n, x, p0, p1, st);
  DSLA_CUDA_CHECK_LAUNCH();
}

#define DSLA_INST(T, I)                                                                       \
  template void cg_fused_iteration<T, I>(                                                     \
      int64_t, int64_t, int, const I*, const I*, const int16_t*, const T*, int64_t, const T*, \
      int64_t, T, T*, T*, T*, int, T*, T*, CgState*, double*, bool, cudaStream_t);
DSLA_INST(float, int32_t)
DSLA_INST(float, int64_t)
DSLA_INST(double, int32_t)
DSLA_INST(double, int64_t)
template void cg_fused_finish<float>(int64_t, int64_t, float*, const float*, const float*, CgState*,
                                     cudaStream_t);
template void cg_fused_finish<double>(int64_t, int64_t, double*, const double*, const double*,
                                      CgState*, cudaStream_t);

}  // namespace dsla::kernels::cuda
