// Fused Jacobi-PCG iteration (see cg_cuda.h for the algebra and the byte count).
#include <algorithm>
#include <type_traits>

#include "kernels/cpu/cg_rule.h"
#include "kernels/cuda/cg_cuda.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_info.h"
#include "kernels/cuda/reduce.cuh"

namespace dsla::kernels::cuda {

namespace {

using kernels::cg_check_curvature;
using kernels::cg_decide;
using kernels::kCgRunning;

constexpr int kBlock = 256;

// kDelta: columns come as int16 offsets from the row (dcol), 2 B per nonzero instead of
// sizeof(I); the matrix dominates the bytes of an iteration, so this is ~7% less traffic on
// poisson2d with int32 indices (and ~20% with int64). M: the values' type (T, or float values
// for double vectors: mixed precision, the products in double).
template <int G, bool kDelta, class T, class I, class M>
__global__ void __launch_bounds__(kBlock)
    cg_k1(int64_t n, const I* __restrict__ crow, const I* __restrict__ col,
          const int16_t* __restrict__ dcol, const M* __restrict__ val, int64_t v_bs,
          const T* __restrict__ z, const T* __restrict__ pin, T* __restrict__ pout,
          T* __restrict__ q, T* __restrict__ x, CgState* st, double* sums, int64_t B, double* part,
          int out_index, bool x_now, int64_t dot_rows) {
  __shared__ double smem[32];
  pdl_wait();  // everything below reads what the previous iteration's cg_k2 wrote
  pdl_launch_dependents();
  const int64_t b = blockIdx.y;
  CgState& S = st[b];
  if (S.done) return;
  // The previous iteration's reduced rz' and rr (pending since cg_k2): every block takes the
  // same decision from them; only the last block writes the state (after every block has read
  // it). All loads are issued at once, none depends on another (the sums share the state's
  // cache line for one system, see cg_fused_state_bytes): one memory round trip, as before the
  // reductions moved out of the kernels.
  const int pending = S.pending, iters = S.iters, maxiter = S.maxiter;
  const double rz = S.rz, tol2 = S.tol2, ap_d = S.alpha_prev, app_d = S.alpha_pp;
  const double rz_new = sums[B + b], rr = sums[2 * B + b];
  const int decision = pending ? cg_decide(rr, tol2, iters + 1, maxiter) : int(kCgRunning);
  const double beta_d = pending && rz != 0.0 ? rz_new / rz : 0.0;
  const T beta = T(beta_d), ap = T(ap_d), app = T(app_d);
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
  const int64_t n_work = decision == kCgRunning ? n : 0;  // decided: no work, just settle
  for (int64_t r0 = (t / 32) * (32 / G); r0 < n_work; r0 += stride) {
    const int64_t row = r0 + (threadIdx.x & 31) / G;
    T s = T(0);
    if (row < n) {
      const I start = __ldg(crow + row), end = __ldg(crow + row + 1);
#pragma unroll 4
      for (I k = start + lane; k < end; k += G) {
        const I j = kDelta ? I(row + __ldg(dcol + k)) : __ldg(col + k);
        s = fma(T(__ldg(val + k)), fma(beta, __ldg(pin + j), __ldg(z + j)), s);
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
      // Rows past dot_rows (a distributed matrix's boundary rows) still lack their ghost
      // columns' share of q: cg_fused_ghost_dot adds it and their share of pᴴq.
      if (row < dot_rows) acc += double(pn) * double(s);
    }
  }
  double v[1] = {acc};
  if (last_block_sum<1>(v, part + b * gridDim.x, &S.cnt1, smem) && threadIdx.x == 0) {
    if (S.pending) {
      S.iters += 1;
      S.rz = rz_new;
      S.rr = rr;
      S.beta = beta_d;
      S.pending = 0;
    }
    if (decision != kCgRunning) {
      S.done = decision;
    } else {
      sums[b] = v[0];  // the local partial of pᴴq: the caller's space reduces it for cg_k2
      S.pbuf = out_index;
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
          const T* __restrict__ q, CgState* st, double* sums, int64_t B, double* part, bool x_now) {
  __shared__ double smem[64];
  pdl_wait();  // q and the reduced pᴴq come from cg_k1 (and the space's reduction)
  pdl_launch_dependents();
  const int64_t b = blockIdx.y;
  CgState& S = st[b];
  if (S.done) return;
  const double pq = sums[b], rz = S.rz;  // independent loads (one cache line for one system)
  const int verdict = cg_check_curvature(pq);
  const double alpha = verdict == kCgRunning ? rz / pq : 0.0;
  const T a = T(alpha);
  const int64_t n_work = verdict == kCgRunning ? n : 0;
  z += b * n;
  q += b * n;
  if (dinv) dinv += b * d_bs;
  double rzp = 0.0, rrp = 0.0;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n_work;
       i += int64_t(gridDim.x) * blockDim.x) {
    const T d = dinv ? __ldg(dinv + i) : dscale;
    const T zi = fma(-a * d, q[i], z[i]);
    z[i] = zi;
    const T ri = zi * rcp(d);
    rzp += double(ri) * double(zi);
    rrp += double(ri) * double(ri);
  }
  double v[2] = {rzp, rrp};
  if (last_block_sum<2>(v, part + b * gridDim.x * 2, &S.cnt2, smem) && threadIdx.x == 0) {
    S.pq = pq;
    if (verdict != kCgRunning) {
      S.done = verdict;
      S.alpha = 0.0;
      if (x_now) {  // cg_k1 gave x every direction up to p: nothing pending
        S.alpha_pp = 0.0;
        S.alpha_prev = 0.0;
      } else {  // alpha_prev p (the buffer cg_k1 read) is still pending
        S.alpha_pp = S.alpha_prev;
        S.alpha_prev = 0.0;
      }
    } else {
      S.alpha = alpha;
      S.alpha_pp = S.alpha_prev;
      S.alpha_prev = alpha;
      // Local partials of rᴴz and rᴴr: the caller's space reduces them; the next cg_k1 (or
      // cg_fused_finish) decides from the reduced values.
      sums[B + b] = v[0];
      sums[2 * B + b] = v[1];
      S.pending = 1;
    }
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
  s.done = cg_decide(rr[b], tol2[b], 0, maxiter);
  st[b] = s;
}

// Settles an iteration whose reduced rz', rr no cg_k1 has read yet (the loop stopped after a
// cg_k2): counts it and decides from it, as cg_k1 would have.
__global__ void cg_settle_kernel(int64_t B, CgState* st, const double* sums) {
  const int64_t b = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= B) return;
  CgState& S = st[b];
  if (S.done || !S.pending) return;
  const double rz_new = sums[B + b], rr = sums[2 * B + b];
  S.iters += 1;
  S.beta = S.rz != 0.0 ? rz_new / S.rz : 0.0;
  S.rz = rz_new;
  S.rr = rr;
  S.pending = 0;
  S.done = cg_decide(rr, S.tol2, S.iters, S.maxiter);
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

static_assert(3 * sizeof(double) + sizeof(CgState) <= 128,
              "one system's sums and state must share a cache line");

int64_t cg_fused_state_bytes(int64_t B) {
  return 3 * B * int64_t(sizeof(double)) + B * int64_t(sizeof(CgState));
}

int64_t cg_fused_blocks(int64_t n, int group) {
  return std::max(capped_blocks(n * group), capped_blocks(n));
}

void cg_fused_init(int64_t B, const double* rz, const double* rr, const double* tol2, int maxiter,
                   CgState* st, cudaStream_t s) {
  cg_init_kernel<<<unsigned((B + 127) / 128), 128, 0, s>>>(B, rz, rr, tol2, maxiter, st);
  DSLA_CUDA_CHECK_LAUNCH();
}

template <class T, class I>
void cg_fused_spmv_dot(const CgFusedArgs<T, I>& a, int parity, bool pdl, cudaStream_t s) {
  const T* p_in = parity == 0 ? a.p0 : a.p1;
  T* p_out = parity == 0 ? a.p1 : a.p0;
  const int oi = parity == 0 ? 1 : 0;
  const bool x_now = parity == 0;
  const int64_t n = a.n, B = a.B;
  const int64_t dot_rows = a.dot_rows < 0 ? n : a.dot_rows;
  pdl = pdl && cc_major() >= 9;
#define DSLA_K1_LAUNCH(GG, DELTA, M, VAL)                                                         \
  launch(pdl, dim3(unsigned(wave_blocks(cg_k1<GG, DELTA, T, I, M>, n * GG)), unsigned(B)), s,     \
         cg_k1<GG, DELTA, T, I, M>, n, a.crow, a.col, a.dcol, VAL, a.v_bs, a.z, p_in, p_out, a.q, \
         a.x, a.st, a.sums, B, a.partials, oi, x_now, dot_rows)
  // Mixed precision (float values, double vectors) exists for T = double only.
#define DSLA_K1_VALUES(GG, DELTA)                \
  if constexpr (std::is_same_v<T, double>) {     \
    if (a.val32) {                               \
      DSLA_K1_LAUNCH(GG, DELTA, float, a.val32); \
      break;                                     \
    }                                            \
  }                                              \
  DSLA_K1_LAUNCH(GG, DELTA, T, a.val);
#define DSLA_K1(GG)             \
  case GG:                      \
    if (a.dcol) {               \
      DSLA_K1_VALUES(GG, true)  \
    } else {                    \
      DSLA_K1_VALUES(GG, false) \
    }                           \
    break;
  switch (a.group) {
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
#undef DSLA_K1_VALUES
#undef DSLA_K1_LAUNCH
}

template <class T, class I>
void cg_fused_update(const CgFusedArgs<T, I>& a, int parity, bool pdl, cudaStream_t s) {
  const int64_t n = a.n, B = a.B;
  pdl = pdl && cc_major() >= 9;
  const dim3 g2(unsigned(wave_blocks(cg_k2<T>, n)), unsigned(B));
  double* part2 = a.partials + B * cg_fused_blocks(n, a.group);
  launch(pdl, g2, s, cg_k2<T>, n, a.dinv, a.d_bs, a.dscale, a.z, static_cast<const T*>(a.q), a.st,
         a.sums, B, part2, parity == 0);
}

template <class T>
void cg_fused_finish(int64_t n, int64_t B, T* x, const T* p0, const T* p1, CgState* st,
                     const double* sums, cudaStream_t s) {
  cg_settle_kernel<<<unsigned((B + 127) / 128), 128, 0, s>>>(B, st, sums);
  DSLA_CUDA_CHECK_LAUNCH();
  const dim3 g(unsigned(capped_blocks(n)), unsigned(B));
  cg_finish_kernel<<<g, kBlock, 0, s>>>(n, x, p0, p1, st);
  DSLA_CUDA_CHECK_LAUNCH();
}

#define DSLA_INST(T, I)                                                                     \
  template void cg_fused_spmv_dot<T, I>(const CgFusedArgs<T, I>&, int, bool, cudaStream_t); \
  template void cg_fused_update<T, I>(const CgFusedArgs<T, I>&, int, bool, cudaStream_t);
DSLA_INST(float, int32_t)
DSLA_INST(float, int64_t)
DSLA_INST(double, int32_t)
DSLA_INST(double, int64_t)
template void cg_fused_finish<float>(int64_t, int64_t, float*, const float*, const float*, CgState*,
                                     const double*, cudaStream_t);
template void cg_fused_finish<double>(int64_t, int64_t, double*, const double*, const double*,
                                      CgState*, const double*, cudaStream_t);

}  // namespace dsla::kernels::cuda
