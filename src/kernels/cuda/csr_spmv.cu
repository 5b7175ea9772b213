// CSR SpMV/SpMM/SDDMM kernels.
//   spmv_vector<G>: G consecutive lanes per row (G from the mean row length), grid-stride over
//                   rows; the regular-matrix kernel (stencils, FEM).
//   spmv_merge:     merge-path split of (row ends, nonzeros) into equal pieces per thread; rows
//                   crossing a piece boundary leave a carry that a second, deterministic pass adds.
//                   For irregular matrices (a few very long rows).
//   spmm_rows:      k > 1: one thread per output element (row, j), consecutive threads over j.
//   sddmm_rows<G>:  G lanes per row, one output per nonzero.
#include <algorithm>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/csr_cuda.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_info.h"

namespace dsla::kernels::cuda {

namespace {

constexpr int kBlock = 256;
constexpr int kMergeItems = 8;

// V: the values' type; T: the vectors' (and the sums'): V == T, or float values in double.
template <int G, class V, class T, class I>
__global__ void __launch_bounds__(kBlock)
    spmv_vector(int64_t rows, const I* __restrict__ crow, const I* __restrict__ col,
                const V* __restrict__ val, int64_t v_bs, const T* __restrict__ x, int64_t x_bs,
                T* __restrict__ y, int64_t y_bs) {
  const int64_t b = blockIdx.y;
  val += b * v_bs;
  x += b * x_bs;
  y += b * y_bs;
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int lane = threadIdx.x % G;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x / G;
  // Loop bound uniform per warp, so every lane reaches the shuffles.
  for (int64_t r0 = (t / 32) * (32 / G); r0 < rows; r0 += stride) {
    const int64_t row = r0 + (threadIdx.x & 31) / G;
    T sum = vzero<T>();
    if (row < rows) {
      const I start = ldg(crow + row), end = ldg(crow + row + 1);
#pragma unroll 4
      for (I q = start + lane; q < end; q += G)
        sum = vfma(T(ldg(val + q)), ldg(x + ldg(col + q)), sum);
    }
    sum = group_sum<G>(sum);
    if (row < rows && lane == 0) y[row] = sum;
  }
}

// Merge-path coordinate (rows finished, nonzeros consumed) on diagonal d.
template <class I>
__device__ __forceinline__ int64_t merge_search(int64_t d, int64_t rows, int64_t nnz,
                                                const I* crow) {
  int64_t lo = d > nnz ? d - nnz : 0, hi = d < rows ? d : rows;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (int64_t(ldg(crow + mid + 1)) <= d - mid - 1)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

template <class V, class T, class I>
__global__ void __launch_bounds__(kBlock)
    spmv_merge(int64_t rows, int64_t nnz, int64_t threads, const I* __restrict__ crow,
               const I* __restrict__ col, const V* __restrict__ val, int64_t v_bs,
               const T* __restrict__ x, int64_t x_bs, T* __restrict__ y, int64_t y_bs,
               T* __restrict__ carry_val, int64_t* __restrict__ carry_row) {
  const int64_t b = blockIdx.y;
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= threads) return;
  val += b * v_bs;
  x += b * x_bs;
  y += b * y_bs;
  const int64_t total = rows + nnz;
  const int64_t d0 = std::min<int64_t>(t * kMergeItems, total);
  const int64_t d1 = std::min<int64_t>(d0 + kMergeItems, total);
  int64_t i = merge_search(d0, rows, nnz, crow), j = d0 - i;
  const int64_t i1 = merge_search(d1, rows, nnz, crow), j1 = d1 - i1;
  T sum = vzero<T>();
  while (i < i1 || j < j1) {
    if (i < i1 && int64_t(ldg(crow + i + 1)) <= j) {
      y[i] = sum;  // row i finishes here; earlier pieces arrive as carries
      sum = vzero<T>();
      ++i;
    } else {
      sum = vfma(T(ldg(val + j)), ldg(x + ldg(col + j)), sum);
      ++j;
    }
  }
  carry_val[b * threads + t] = sum;
  carry_row[b * threads + t] = i1;  // == rows: nothing carried
}

// Adds the carries; the first thread of each run of equal carry rows adds the run in order.
template <class T>
__global__ void merge_fixup(int64_t rows, int64_t threads, const T* __restrict__ carry_val,
                            const int64_t* __restrict__ carry_row, T* __restrict__ y,
                            int64_t y_bs) {
  const int64_t b = blockIdx.y;
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= threads) return;
  carry_val += b * threads;
  carry_row += b * threads;
  const int64_t r = carry_row[t];
  if (r >= rows || (t > 0 && carry_row[t - 1] == r)) return;
  T s = carry_val[t];
  for (int64_t u = t + 1; u < threads && carry_row[u] == r; ++u) s = vadd(s, carry_val[u]);
  y[b * y_bs + r] = vadd(y[b * y_bs + r], s);
}

template <class V, class T, class I>
__global__ void __launch_bounds__(kBlock)
    spmm_rows(int64_t rows, int64_t k, const I* __restrict__ crow, const I* __restrict__ col,
              const V* __restrict__ val, int64_t v_bs, const T* __restrict__ x, int64_t x_bs,
              T* __restrict__ y, int64_t y_bs) {
  const int64_t b = blockIdx.y;
  val += b * v_bs;
  x += b * x_bs;
  y += b * y_bs;
  const int64_t total = rows * k;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = t / k, jj = t - row * k;
    T sum = vzero<T>();
    const I end = ldg(crow + row + 1);
    for (I q = ldg(crow + row); q < end; ++q)
      sum = vfma(T(ldg(val + q)), ldg(x + int64_t(ldg(col + q)) * k + jj), sum);
    y[t] = sum;
  }
}

template <int G, class T, class I>
__global__ void __launch_bounds__(kBlock)
    sddmm_rows(int64_t rows, int64_t k, const I* __restrict__ crow, const I* __restrict__ col,
               const T* __restrict__ gy, int64_t g_bs, const T* __restrict__ x, int64_t x_bs,
               T* __restrict__ out, int64_t o_bs) {
  const int64_t b = blockIdx.y;
  gy += b * g_bs;
  x += b * x_bs;
  out += b * o_bs;
  const int lane = threadIdx.x % G;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x / G;
  for (int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / G; row < rows;
       row += stride) {
    const I end = ldg(crow + row + 1);
    const T* g = gy + row * k;
    for (I q = ldg(crow + row) + lane; q < end; q += G) {
      const T* xc = x + int64_t(ldg(col + q)) * k;
      T s = vzero<T>();
      for (int64_t jj = 0; jj < k; ++jj) s = vfma(ldg(g + jj), vconj(ldg(xc + jj)), s);
      out[q] = s;
    }
  }
}

int64_t grid_for(int64_t threads_needed) {
  return resident_grid(threads_needed, kBlock);
}

template <class V, class T, class I>
void launch_vector(int G, int64_t rows, int64_t B, const I* crow, const I* col, const V* val,
                   int64_t v_bs, const T* x, int64_t x_bs, T* y, int64_t y_bs, cudaStream_t s) {
  const dim3 grid(unsigned(grid_for(rows * G)), unsigned(B));
#define DSLA_SPMV_G(GG)                                                                    \
  case GG:                                                                                 \
    spmv_vector<GG><<<grid, kBlock, 0, s>>>(rows, crow, col, val, v_bs, x, x_bs, y, y_bs); \
    break;
  switch (G) {
    DSLA_SPMV_G(1)
    DSLA_SPMV_G(2)
    DSLA_SPMV_G(4)
    DSLA_SPMV_G(8)
    DSLA_SPMV_G(16)
    DSLA_SPMV_G(32)
    default:
      throw std::invalid_argument("dsla: spmv group must be 1, 2, 4, 8, 16 or 32");
  }
#undef DSLA_SPMV_G
  DSLA_CUDA_CHECK_LAUNCH();
}

}  // namespace

int csr_group_for(double mean) {
  // Fewer lanes than nonzeros per row: each lane still loads a few entries, the shuffle tree
  // stays short. Tuned on H100 (bench/NOTES-gpu.md).
  if (mean <= 2) return 1;
  if (mean <= 8) return 2;  // poisson2d (5/row): 2 lanes 0.475 ms vs 4 lanes 0.545 ms at 4096²
  if (mean <= 12) return 4;
  if (mean <= 24) return 8;
  if (mean <= 48) return 16;
  return 32;
}

SpmvPlan csr_plan(int64_t rows, int64_t nnz, int64_t max_len, int sms) {
  SpmvPlan p;
  const double mean = rows > 0 ? double(nnz) / double(rows) : 0.0;
  p.group = csr_group_for(mean);
  // Small matrices: the device has more resident threads than rows x 32, so a warp per row
  // costs nothing and the longest row, not bandwidth, sets the time (H100: rajat19, 1157 rows,
  // 2 lanes 26.8 us vs 32 lanes 11.5 us; hangGlider_2, 1647 rows, merge 31 us vs 18.4 us).
  const bool small = sms > 0 && rows * 32 <= int64_t(sms) * 2048;
  if (small) p.group = 32;
  // Irregular: the longest row would keep one group busy far longer than the rest (for a small
  // matrix only when even a warp would need more than 256 steps for it).
  if (max_len > 1024 && double(max_len) > 64.0 * (mean + 1.0) && !(small && max_len <= 8192)) {
    p.kind = SpmvPlan::Merge;
    p.merge_items = kMergeItems;
    p.merge_threads = (rows + nnz + kMergeItems - 1) / kMergeItems;
  }
  p.nnz = nnz;
  return p;
}

int64_t csr_spmv_workspace_bytes(const SpmvPlan& plan, int value_size) {
  if (plan.kind != SpmvPlan::Merge) return 0;
  return plan.merge_threads * (int64_t(value_size) + 8) + 16;
}

template <class T, class I, class X>
void csr_spmm(const CsrView<T, I>& A, int64_t k, int64_t B, Batched<const X> x, Batched<X> y,
              const SpmvPlan& plan, void* workspace, cudaStream_t stream) {
  using D = dev_t<X>;
  const int64_t rows = A.rows, v_bs = A.vals_bstride, x_bs = x.bstride, y_bs = y.bstride;
  const I* crow = A.crow;
  const I* col = A.col;
  auto dval = reinterpret_cast<const dev_t<T>*>(A.vals);
  auto dx = reinterpret_cast<const D*>(x.data);
  auto dy = reinterpret_cast<D*>(y.data);
  if (rows == 0 || B == 0 || k == 0) return;
  if (k > 1) {
    const dim3 grid(unsigned(grid_for(rows * k)), unsigned(B));
    spmm_rows<<<grid, kBlock, 0, stream>>>(rows, k, crow, col, dval, v_bs, dx, x_bs, dy, y_bs);
    DSLA_CUDA_CHECK_LAUNCH();
    return;
  }
  if (plan.kind == SpmvPlan::Merge) {
    const int64_t threads = plan.merge_threads;
    // int64 carry rows first (8-aligned), values after at a 16-byte aligned offset.
    auto crw = reinterpret_cast<int64_t*>(workspace);
    auto cval =
        reinterpret_cast<D*>(static_cast<char*>(workspace) + (threads * B * 8 + 15) / 16 * 16);
    const dim3 grid(unsigned((threads + kBlock - 1) / kBlock), unsigned(B));
    spmv_merge<<<grid, kBlock, 0, stream>>>(rows, plan.nnz, threads, crow, col, dval, v_bs, dx,
                                            x_bs, dy, y_bs, cval, crw);
    DSLA_CUDA_CHECK_LAUNCH();
    merge_fixup<<<grid, kBlock, 0, stream>>>(rows, threads, cval, crw, dy, y_bs);
    DSLA_CUDA_CHECK_LAUNCH();
    return;
  }
  launch_vector(plan.group, rows, B, crow, col, dval, v_bs, dx, x_bs, dy, y_bs, stream);
}

}  // namespace dsla::kernels::cuda

namespace dsla::kernels::cuda {

template <class T, class I>
void csr_sddmm(const CsrPattern<I>& A, int64_t nnz, int64_t k, int64_t B, Batched<const T> gy,
               Batched<const T> x, T* out, cudaStream_t stream) {
  const int64_t rows = A.rows, g_bs = gy.bstride, x_bs = x.bstride;
  const I* crow = A.crow;
  const I* col = A.col;
  using D = dev_t<T>;
  if (rows == 0 || B == 0 || nnz == 0) return;
  const int G = csr_group_for(double(nnz) / double(rows));
  const dim3 grid(unsigned(grid_for(rows * G)), unsigned(B));
  auto dg = reinterpret_cast<const D*>(gy.data);
  auto dx = reinterpret_cast<const D*>(x.data);
  auto dout = reinterpret_cast<D*>(out);
#define DSLA_SDDMM_G(GG)                                                                  \
  case GG:                                                                                \
    sddmm_rows<GG>                                                                        \
        <<<grid, kBlock, 0, stream>>>(rows, k, crow, col, dg, g_bs, dx, x_bs, dout, nnz); \
    break;
  switch (G) {
    DSLA_SDDMM_G(1)
    DSLA_SDDMM_G(2)
    DSLA_SDDMM_G(4)
    DSLA_SDDMM_G(8)
    DSLA_SDDMM_G(16)
    DSLA_SDDMM_G(32)
    default:
      throw std::logic_error("dsla: sddmm group");
  }
#undef DSLA_SDDMM_G
  DSLA_CUDA_CHECK_LAUNCH();
}

#define DSLA_INSTANTIATE(T, I)                                                                     \
  template void csr_spmm<T, I>(const CsrView<T, I>&, int64_t, int64_t, Batched<const T>,           \
                               Batched<T>, const SpmvPlan&, void*, cudaStream_t);                  \
  template void csr_sddmm<T, I>(const CsrPattern<I>&, int64_t, int64_t, int64_t, Batched<const T>, \
                                Batched<const T>, T*, cudaStream_t);
#define DSLA_INSTANTIATE_I(T)  \
  DSLA_INSTANTIATE(T, int32_t) \
  DSLA_INSTANTIATE(T, int64_t)
DSLA_INSTANTIATE_I(float)
DSLA_INSTANTIATE_I(double)
DSLA_INSTANTIATE_I(std::complex<float>)
DSLA_INSTANTIATE_I(std::complex<double>)
template void csr_spmm<float, int32_t, double>(const CsrView<float, int32_t>&, int64_t, int64_t,
                                               Batched<const double>, Batched<double>,
                                               const SpmvPlan&, void*, cudaStream_t);
template void csr_spmm<float, int64_t, double>(const CsrView<float, int64_t>&, int64_t, int64_t,
                                               Batched<const double>, Batched<double>,
                                               const SpmvPlan&, void*, cudaStream_t);

}  // namespace dsla::kernels::cuda
