// CUDA SpGEMM kernels (see spgemm_cuda.h).
#include <algorithm>
#include <type_traits>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_info.h"
#include "kernels/cuda/spgemm_cuda.h"

namespace dsla::kernels::cuda {

namespace {

constexpr int kWarps = 4;        // warps per block in the warp-per-row kernels
constexpr int kWarpCap = 512;    // hash slots per warp
constexpr int kWarpLimit = 256;  // distinct columns a warp handles (load factor <= 1/2)
constexpr int kBigThreads = 256;
// Rows with at most this many products (Σ_k nnz(B_k) over row i's columns k) are done by one
// thread each with a sorted list in local memory: the AMG products on the finest levels (S T,
// A P: 5-60 products per row) would leave most of a warp idle and spend their time clearing
// and compacting its 512-slot table.
constexpr int kSmall = 64;
constexpr int kSmallThreads = 256;
// Slots per block in the big-row kernels: 48 KB of keys + list whatever the key size.
template <class K>
constexpr int big_cap() {
  return sizeof(K) == 4 ? 8192 : 4096;
}
// Distinct columns a block handles (load factor < 1/2; the list fits beside the table).
template <class K>
constexpr int big_limit() {
  return big_cap<K>() / 2 - 8;
}

// Hash keys: int for int32 indices, unsigned long long for int64 (atomicCAS types).
template <class I>
using key_t = std::conditional_t<sizeof(I) == 4, int, unsigned long long>;

template <class K>
__device__ __forceinline__ K empty_key() {
  return K(-1);
}

template <class K>
__device__ __forceinline__ unsigned slot_of(K c) {
  return unsigned((unsigned long long)(c)*2654435761ull >> 7);
}

// Inserts c; returns true when it was new. cap: a power of two.
template <class K>
__device__ __forceinline__ bool insert(K* tab, int cap, K c) {
  unsigned h = slot_of(c) & unsigned(cap - 1);
  for (;;) {
    const K old = atomicCAS(tab + h, empty_key<K>(), c);
    if (old == empty_key<K>()) return true;
    if (old == c) return false;
    h = (h + 1) & unsigned(cap - 1);
  }
}

// Inserts the columns of row i of A B by the threads [t0, t0 + nt) of a group; cnt counts the
// distinct ones; stops early once above `limit`.
template <class I, class K>
__device__ void insert_row(int64_t i, const I* __restrict__ a_crow, const I* __restrict__ a_col,
                           const I* __restrict__ b_crow, const I* __restrict__ b_col, K* tab,
                           int cap, int* cnt, int limit, int t, int nt) {
  const I a0 = a_crow[i], a1 = a_crow[i + 1];
  for (I pa = a0 + t; pa < a1; pa += nt) {
    const I k = a_col[pa];
    const I b0 = b_crow[k], b1 = b_crow[k + 1];
    for (I pb = b0; pb < b1; ++pb) {
      if (insert(tab, cap, K(b_col[pb]))) {
        if (atomicAdd(cnt, 1) >= limit) return;
      }
      if (*(volatile int*)cnt > limit) return;
    }
  }
}

// Products of row i of A B, counted up to just past kSmall (enough to choose the tier).
template <class I>
__device__ __forceinline__ int small_products(int64_t i, const I* __restrict__ a_crow,
                                              const I* __restrict__ a_col,
                                              const I* __restrict__ b_crow) {
  int s = 0;
  for (I pa = a_crow[i], a1 = a_crow[i + 1]; pa < a1 && s <= kSmall; ++pa) {
    const I k = a_col[pa];
    s += int(b_crow[k + 1] - b_crow[k]);
  }
  return s;
}

// The distinct columns of row i of A B, sorted, into keys[0, n); returns n. The row must have
// at most kSmall products.
template <class I>
__device__ int small_row(int64_t i, const I* __restrict__ a_crow, const I* __restrict__ a_col,
                         const I* __restrict__ b_crow, const I* __restrict__ b_col, I* keys) {
  int n = 0;
  for (I pa = a_crow[i], a1 = a_crow[i + 1]; pa < a1; ++pa) {
    const I k = a_col[pa];
    for (I pb = b_crow[k], b1 = b_crow[k + 1]; pb < b1; ++pb) {
      const I c = b_col[pb];
      int lo = 0, hi = n;
      while (lo < hi) {
        const int mid = (lo + hi) >> 1;
        if (keys[mid] < c)
          lo = mid + 1;
        else
          hi = mid;
      }
      if (lo < n && keys[lo] == c) continue;
      for (int t = n; t > lo; --t) keys[t] = keys[t - 1];
      keys[lo] = c;
      ++n;
    }
  }
  return n;
}

// Position of column j in the sorted segment [lo, hi] of c_col (j is there).
template <class I>
__device__ __forceinline__ I find_col(const I* __restrict__ c_col, I lo, I hi, I j) {
  while (lo < hi) {
    const I mid = lo + (hi - lo) / 2;
    if (c_col[mid] < j)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

constexpr int64_t kNeedsWarp = -2;  // row_nnz mark of count_small_k: more than kSmall products

template <class I>
__global__ void __launch_bounds__(kSmallThreads)
    count_small_k(int64_t rows, const I* __restrict__ a_crow, const I* __restrict__ a_col,
                  const I* __restrict__ b_crow, const I* __restrict__ b_col,
                  int64_t* __restrict__ row_nnz) {
  I keys[kSmall];
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < rows;
       i += int64_t(gridDim.x) * blockDim.x) {
    if (small_products(i, a_crow, a_col, b_crow) > kSmall)
      row_nnz[i] = kNeedsWarp;
    else
      row_nnz[i] = small_row(i, a_crow, a_col, b_crow, b_col, keys);
  }
}

template <class I>
__global__ void __launch_bounds__(kSmallThreads)
    fill_small_k(int64_t rows, const I* __restrict__ a_crow, const I* __restrict__ a_col,
                 const I* __restrict__ b_crow, const I* __restrict__ b_col,
                 const I* __restrict__ c_crow, I* __restrict__ c_col) {
  I keys[kSmall];
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < rows;
       i += int64_t(gridDim.x) * blockDim.x) {
    if (small_products(i, a_crow, a_col, b_crow) > kSmall) continue;
    const int n = small_row(i, a_crow, a_col, b_crow, b_col, keys);
    const I c0 = c_crow[i];
    for (int t = 0; t < n; ++t) c_col[c0 + t] = keys[t];
  }
}

// One thread per small row: the row's products summed in a local array in A's entry order (so
// these rows' values are deterministic), then added to C once, without atomics.
template <class V, class I>
__global__ void __launch_bounds__(kSmallThreads)
    numeric_small_k(int64_t rows, int64_t B, const I* __restrict__ a_crow,
                    const I* __restrict__ a_col, const V* __restrict__ a_val, int64_t a_bs,
                    const I* __restrict__ b_crow, const I* __restrict__ b_col,
                    const V* __restrict__ b_val, int64_t b_bs, const I* __restrict__ c_crow,
                    const I* __restrict__ c_col, V* __restrict__ c_val, int64_t c_bs) {
  V acc[kSmall];
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < rows;
       i += int64_t(gridDim.x) * blockDim.x) {
    if (small_products(i, a_crow, a_col, b_crow) > kSmall) continue;
    const I c0 = c_crow[i], c1 = c_crow[i + 1];
    const int n = int(c1 - c0);
    for (int64_t b = 0; b < B; ++b) {
      for (int t = 0; t < n; ++t) acc[t] = V(0);
      for (I pa = a_crow[i], a1 = a_crow[i + 1]; pa < a1; ++pa) {
        const I k = a_col[pa];
        const V a = a_val[b * a_bs + pa];
        for (I pb = b_crow[k], b1 = b_crow[k + 1]; pb < b1; ++pb)
          acc[find_col(c_col, c0, c1 - 1, b_col[pb]) - c0] += a * b_val[b * b_bs + pb];
      }
      for (int t = 0; t < n; ++t) c_val[b * c_bs + c0 + t] += acc[t];
    }
  }
}

constexpr unsigned kFull = 0xffffffffu;

// Products of row i (Σ_k nnz(B_k)), summed over the lanes of a warp; the same on every lane.
template <class I>
__device__ __forceinline__ int warp_products(int64_t i, const I* __restrict__ a_crow,
                                             const I* __restrict__ a_col,
                                             const I* __restrict__ b_crow, int lane) {
  int s = 0;
  for (I pa = a_crow[i] + lane, a1 = a_crow[i + 1]; pa < a1; pa += 32) {
    const I k = a_col[pa];
    s += int(b_crow[k + 1] - b_crow[k]);
  }
  for (int d = 16; d > 0; d >>= 1) s += __shfl_xor_sync(kFull, s, d);
  return s;
}

// Per-warp shared scratch of the flattened walk: one A entry per lane.
template <class I>
struct WarpSegments {
  I pa[32], b0[32];
  int off[32];
};

// Calls f(pa, pb) for every product a(i, k) b(k, j) of row i, the row's products flattened over
// the 32 lanes (a scan of B's row lengths; each lane finds its product's A entry by binary
// search): a 7-entry row of 3-D A P keeps all lanes busy instead of 7. stop() is checked at
// the start of each round of 32 products, made uniform over the warp by __any_sync.
template <class I, class F, class Stop>
__device__ void walk_products(int64_t i, const I* __restrict__ a_crow, const I* __restrict__ a_col,
                              const I* __restrict__ b_crow, WarpSegments<I>& seg, int lane, F f,
                              Stop stop) {
  const I a0 = a_crow[i], a1 = a_crow[i + 1];
  for (I base = a0; base < a1; base += 32) {
    const I pa = base + lane;
    int len = 0;
    I b0 = 0;
    if (pa < a1) {
      const I k = a_col[pa];
      b0 = b_crow[k];
      len = int(b_crow[k + 1] - b0);
    }
    int inc = len;
    for (int d = 1; d < 32; d <<= 1) {
      const int v = __shfl_up_sync(kFull, inc, d);
      if (lane >= d) inc += v;
    }
    const int total = __shfl_sync(kFull, inc, 31);
    seg.off[lane] = inc - len;
    seg.pa[lane] = pa;
    seg.b0[lane] = b0;
    __syncwarp();
    for (int t0 = 0; t0 < total; t0 += 32) {
      if (__any_sync(kFull, stop())) return;  // uniform even if a lane saw a later count
      const int t = t0 + lane;
      if (t < total) {
        int lo = 0, hi = 31;  // the last lane whose segment starts at or before t
        while (lo < hi) {
          const int mid = (lo + hi + 1) >> 1;
          if (seg.off[mid] <= t)
            lo = mid;
          else
            hi = mid - 1;
        }
        f(seg.pa[lo], seg.b0[lo] + I(t - seg.off[lo]));
      }
      __syncwarp();
    }
  }
}

// Warp-tier insertion of row i's columns into a shared hash table (count and fill): stops once
// more than kWarpLimit distinct columns were seen (at most 32 more go in after the check, so
// the table of 2 x kWarpLimit slots never fills).
template <class I, class K>
__device__ void warp_insert_row(int64_t i, const I* __restrict__ a_crow,
                                const I* __restrict__ a_col, const I* __restrict__ b_crow,
                                const I* __restrict__ b_col, K* tab, int* cnt, WarpSegments<I>& seg,
                                int lane) {
  walk_products(
      i, a_crow, a_col, b_crow, seg, lane,
      [&](I, I pb) {
        if (insert(tab, kWarpCap, K(b_col[pb]))) atomicAdd(cnt, 1);
      },
      [&] { return *(volatile int*)cnt > kWarpLimit; });
}

// The warp tiers: a warp per row, rows interleaved over the grid (neighbouring rows at the same
// time share B's rows in L2). count and fill take the sorted list of the rows the small tier
// left (32-row chunks per warp spread the concurrent rows over 32x more of B: the 3-D kernels
// took twice as long); numeric skips small rows with a uniform test.
template <class I>
__global__ void __launch_bounds__(kWarps * 32)
    count_warp_k(int64_t n_warp, const int64_t* __restrict__ warp_rows,
                 const I* __restrict__ a_crow, const I* __restrict__ a_col,
                 const I* __restrict__ b_crow, const I* __restrict__ b_col,
                 int64_t* __restrict__ row_nnz) {
  using K = key_t<I>;
  __shared__ K tabs[kWarps][kWarpCap];
  __shared__ int cnts[kWarps];
  const int w = threadIdx.x / 32, lane = threadIdx.x % 32;
  K* tab = tabs[w];
  __shared__ WarpSegments<I> segs[kWarps];
  for (int64_t r = int64_t(blockIdx.x) * kWarps + w; r < n_warp; r += int64_t(gridDim.x) * kWarps) {
    const int64_t i = warp_rows[r];
    for (int s = lane; s < kWarpCap; s += 32) tab[s] = empty_key<K>();
    if (lane == 0) cnts[w] = 0;
    __syncwarp();
    warp_insert_row<I, K>(i, a_crow, a_col, b_crow, b_col, tab, &cnts[w], segs[w], lane);
    __syncwarp();
    if (lane == 0) row_nnz[i] = cnts[w] > kWarpLimit ? -1 : cnts[w];
    __syncwarp();
  }
}

template <class I>
__global__ void __launch_bounds__(kBigThreads)
    count_big_k(int64_t n_big, const int64_t* __restrict__ big, const I* __restrict__ a_crow,
                const I* __restrict__ a_col, const I* __restrict__ b_crow,
                const I* __restrict__ b_col, int64_t* __restrict__ row_nnz) {
  using K = key_t<I>;
  constexpr int cap = big_cap<K>();
  __shared__ K tab[cap];
  __shared__ int cnt;
  for (int64_t r = blockIdx.x; r < n_big; r += gridDim.x) {
    const int64_t i = big[r];
    for (int s = threadIdx.x; s < cap; s += blockDim.x) tab[s] = empty_key<K>();
    if (threadIdx.x == 0) cnt = 0;
    __syncthreads();
    insert_row<I, K>(i, a_crow, a_col, b_crow, b_col, tab, cap, &cnt, big_limit<K>(), threadIdx.x,
                     blockDim.x);
    __syncthreads();
    if (threadIdx.x == 0) row_nnz[i] = cnt > big_limit<K>() ? -1 : cnt;
    __syncthreads();
  }
}

template <class I>
__global__ void __launch_bounds__(kWarps * 32)
    fill_warp_k(int64_t n_warp, const int64_t* __restrict__ warp_rows, const I* __restrict__ a_crow,
                const I* __restrict__ a_col, const I* __restrict__ b_crow,
                const I* __restrict__ b_col, const I* __restrict__ c_crow, I* __restrict__ c_col) {
  using K = key_t<I>;
  __shared__ K tabs[kWarps][kWarpCap];
  __shared__ K lists[kWarps][kWarpLimit];
  __shared__ int cnts[kWarps];
  const int w = threadIdx.x / 32, lane = threadIdx.x % 32;
  K* tab = tabs[w];
  K* lst = lists[w];
  __shared__ WarpSegments<I> segs[kWarps];
  for (int64_t r = int64_t(blockIdx.x) * kWarps + w; r < n_warp; r += int64_t(gridDim.x) * kWarps) {
    const int64_t i = warp_rows[r];
    const I c0 = c_crow[i];
    const int nz = int(c_crow[i + 1] - c0);
    if (nz > kWarpLimit) continue;  // a big row (uniform over the warp)
    for (int s = lane; s < kWarpCap; s += 32) tab[s] = empty_key<K>();
    if (lane == 0) cnts[w] = 0;
    __syncwarp();
    warp_insert_row<I, K>(i, a_crow, a_col, b_crow, b_col, tab, &cnts[w], segs[w], lane);
    __syncwarp();
    // Compact the keys into lst (slot order), then rank them.
    int base = 0;
    for (int s0 = 0; s0 < kWarpCap; s0 += 32) {
      const K c = tab[s0 + lane];
      const bool has = c != empty_key<K>();
      const unsigned m = __ballot_sync(0xffffffffu, has);
      if (has) lst[base + __popc(m & ((1u << lane) - 1u))] = c;
      base += __popc(m);
    }
    __syncwarp();
    for (int t = lane; t < nz; t += 32) {
      const K c = lst[t];
      int rank = 0;
      for (int u = 0; u < nz; ++u) rank += lst[u] < c;
      c_col[c0 + rank] = I(c);
    }
    __syncwarp();
  }
}

template <class I>
__global__ void __launch_bounds__(kBigThreads)
    fill_big_k(int64_t n_big, const int64_t* __restrict__ big, const I* __restrict__ a_crow,
               const I* __restrict__ a_col, const I* __restrict__ b_crow,
               const I* __restrict__ b_col, const I* __restrict__ c_crow, I* __restrict__ c_col) {
  using K = key_t<I>;
  constexpr int cap = big_cap<K>();
  __shared__ K tab[cap];
  __shared__ K lst[big_limit<K>()];
  __shared__ int cnt, base;
  for (int64_t r = blockIdx.x; r < n_big; r += gridDim.x) {
    const int64_t i = big[r];
    const I c0 = c_crow[i];
    const int nz = int(c_crow[i + 1] - c0);
    for (int s = threadIdx.x; s < cap; s += blockDim.x) tab[s] = empty_key<K>();
    if (threadIdx.x == 0) cnt = 0, base = 0;
    __syncthreads();
    insert_row<I, K>(i, a_crow, a_col, b_crow, b_col, tab, cap, &cnt, big_limit<K>(), threadIdx.x,
                     blockDim.x);
    __syncthreads();
    for (int s = threadIdx.x; s < cap; s += blockDim.x) {
      const K c = tab[s];
      if (c != empty_key<K>()) lst[atomicAdd(&base, 1)] = c;  // order fixed by the ranking
    }
    __syncthreads();
    for (int t = threadIdx.x; t < nz; t += blockDim.x) {
      const K c = lst[t];
      int rank = 0;
      for (int u = 0; u < nz; ++u) rank += lst[u] < c;
      c_col[c0 + rank] = I(c);
    }
    __syncthreads();
  }
}

template <class V, class I>
__global__ void __launch_bounds__(kWarps * 32)
    numeric_k(int64_t rows, int64_t B, const I* __restrict__ a_crow, const I* __restrict__ a_col,
              const V* __restrict__ a_val, int64_t a_bs, const I* __restrict__ b_crow,
              const I* __restrict__ b_col, const V* __restrict__ b_val, int64_t b_bs,
              const I* __restrict__ c_crow, const I* __restrict__ c_col, V* __restrict__ c_val,
              int64_t c_bs) {
  const int w = threadIdx.x / 32, lane = threadIdx.x % 32;
  __shared__ WarpSegments<I> segs[kWarps];
  for (int64_t i = int64_t(blockIdx.x) * kWarps + w; i < rows; i += int64_t(gridDim.x) * kWarps) {
    if (warp_products(i, a_crow, a_col, b_crow, lane) <= kSmall) continue;  // a small row
    const I c0 = c_crow[i], c1 = c_crow[i + 1];
    walk_products(
        i, a_crow, a_col, b_crow, segs[w], lane,
        [&](I pa, I pb) {
          const I lo = find_col(c_col, c0, c1 - 1, b_col[pb]);
          for (int64_t b = 0; b < B; ++b)
            atomicAdd(c_val + b * c_bs + lo, a_val[b * a_bs + pa] * b_val[b * b_bs + pb]);
        },
        [] { return false; });
  }
}

int64_t grid_of(int64_t items, int per_block, int blocks_per_sm) {
  const int64_t cap = int64_t(sm_count()) * blocks_per_sm;
  return std::max<int64_t>(1, std::min<int64_t>((items + per_block - 1) / per_block, cap));
}

}  // namespace

int64_t spgemm_needs_warp() {
  return kNeedsWarp;
}
int64_t spgemm_warp_limit() {
  return kWarpLimit;
}
int64_t spgemm_block_limit(bool wide) {
  return wide ? big_limit<unsigned long long>() : big_limit<int>();
}

template <class I>
void spgemm_count_small(const CsrPattern<I>& A, const CsrPattern<I>& B, int64_t* row_nnz,
                        cudaStream_t stream) {
  const int64_t rows = A.rows;
  if (rows == 0) return;
  count_small_k<I><<<grid_of(rows, kSmallThreads, 8), kSmallThreads, 0, stream>>>(
      rows, A.crow, A.col, B.crow, B.col, row_nnz);
  DSLA_CUDA_CHECK_LAUNCH();
}

template <class I>
void spgemm_count_warp(const CsrPattern<I>& A, const CsrPattern<I>& B, int64_t n_warp,
                       const int64_t* warp_rows, int64_t* row_nnz, cudaStream_t stream) {
  if (n_warp == 0) return;
  count_warp_k<I><<<grid_of(n_warp, kWarps, 32), kWarps * 32, 0, stream>>>(
      n_warp, warp_rows, A.crow, A.col, B.crow, B.col, row_nnz);
  DSLA_CUDA_CHECK_LAUNCH();
}

template <class I>
void spgemm_count_big(const CsrPattern<I>& A, const CsrPattern<I>& B, int64_t n_big,
                      const int64_t* big, int64_t* row_nnz, cudaStream_t stream) {
  if (n_big == 0) return;
  count_big_k<I><<<grid_of(n_big, 1, 4), kBigThreads, 0, stream>>>(n_big, big, A.crow, A.col,
                                                                   B.crow, B.col, row_nnz);
  DSLA_CUDA_CHECK_LAUNCH();
}

template <class I>
void spgemm_fill(const CsrPattern<I>& A, const CsrPattern<I>& B, int64_t n_warp,
                 const int64_t* warp_rows, int64_t n_big, const int64_t* big, const I* c_crow,
                 I* c_col, cudaStream_t stream) {
  const int64_t rows = A.rows;
  const I* a_crow = A.crow;
  const I* a_col = A.col;
  const I* b_crow = B.crow;
  const I* b_col = B.col;
  if (rows == 0) return;
  fill_small_k<I><<<grid_of(rows, kSmallThreads, 8), kSmallThreads, 0, stream>>>(
      rows, a_crow, a_col, b_crow, b_col, c_crow, c_col);
  DSLA_CUDA_CHECK_LAUNCH();
  if (n_warp > 0) {
    fill_warp_k<I><<<grid_of(n_warp, kWarps, 16), kWarps * 32, 0, stream>>>(
        n_warp, warp_rows, a_crow, a_col, b_crow, b_col, c_crow, c_col);
    DSLA_CUDA_CHECK_LAUNCH();
  }
  if (n_big > 0) {
    fill_big_k<I><<<grid_of(n_big, 1, 2), kBigThreads, 0, stream>>>(n_big, big, a_crow, a_col,
                                                                    b_crow, b_col, c_crow, c_col);
    DSLA_CUDA_CHECK_LAUNCH();
  }
}

template <class V, class I>
void spgemm_numeric(const CsrView<V, I>& A, const CsrView<V, I>& Bm, const CsrOut<V, I>& C,
                    int64_t B, cudaStream_t stream) {
  const int64_t rows = A.rows;
  if (rows == 0 || B == 0) return;
  numeric_small_k<V, I><<<grid_of(rows, kSmallThreads, 8), kSmallThreads, 0, stream>>>(
      rows, B, A.crow, A.col, A.vals, A.vals_bstride, Bm.crow, Bm.col, Bm.vals, Bm.vals_bstride,
      C.crow, C.col, C.vals, C.vals_bstride);
  DSLA_CUDA_CHECK_LAUNCH();
  numeric_k<V, I><<<grid_of(rows, kWarps, 32), kWarps * 32, 0, stream>>>(
      rows, B, A.crow, A.col, A.vals, A.vals_bstride, Bm.crow, Bm.col, Bm.vals, Bm.vals_bstride,
      C.crow, C.col, C.vals, C.vals_bstride);
  DSLA_CUDA_CHECK_LAUNCH();
}

#define DSLA_INST_I(I)                                                                      \
  template void spgemm_count_small<I>(const CsrPattern<I>&, const CsrPattern<I>&, int64_t*, \
                                      cudaStream_t);                                        \
  template void spgemm_count_warp<I>(const CsrPattern<I>&, const CsrPattern<I>&, int64_t,   \
                                     const int64_t*, int64_t*, cudaStream_t);               \
  template void spgemm_count_big<I>(const CsrPattern<I>&, const CsrPattern<I>&, int64_t,    \
                                    const int64_t*, int64_t*, cudaStream_t);                \
  template void spgemm_fill<I>(const CsrPattern<I>&, const CsrPattern<I>&, int64_t,         \
                               const int64_t*, int64_t, const int64_t*, const I*, I*,       \
                               cudaStream_t);
DSLA_INST_I(int32_t)
DSLA_INST_I(int64_t)
#define DSLA_INST_VI(V, I)                                                       \
  template void spgemm_numeric<V, I>(const CsrView<V, I>&, const CsrView<V, I>&, \
                                     const CsrOut<V, I>&, int64_t, cudaStream_t);
DSLA_INST_VI(float, int32_t)
DSLA_INST_VI(float, int64_t)
DSLA_INST_VI(double, int32_t)
DSLA_INST_VI(double, int64_t)

}  // namespace dsla::kernels::cuda
