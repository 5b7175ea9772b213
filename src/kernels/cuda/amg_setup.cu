// AMG setup CUDA kernels (see amg_cuda.h). One thread per row (short rows). The Chebyshev
// smoother's passes are in chebyshev.cu.
#include <algorithm>
#include <stdexcept>

#include "kernels/cpu/amg_aggregate.h"
#include "kernels/cuda/amg_cuda.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/csr_cuda.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_info.h"

namespace dsla::kernels::cuda {

namespace {

constexpr int kBlock = 256;
constexpr int64_t kIn = INT64_MAX;  // key of an MIS vertex
constexpr int64_t kOut = -1;        // key of a decided non-root

using kernels::cpu::amg_mis2_key;
using kernels::cpu::amg_mis2_priority;

int64_t blocks_for(int64_t threads) {
  const int64_t cap = int64_t(sm_count()) * (2048 / kBlock) * 8;
  return std::max<int64_t>(1, std::min<int64_t>((threads + kBlock - 1) / kBlock, cap));
}

#define DSLA_ROWS(v, n)                                                     \
  for (int64_t v = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; v < (n); \
       v += int64_t(gridDim.x) * blockDim.x)

// ---------------------------------------------------------------- strength
template <class V, class I>
__device__ __forceinline__ bool strong(I i, I j, V a, const V* absdiag, double theta) {
  const double av = fabs(double(a));
  return j != i && av > 0 &&
         (theta <= 0 || av >= theta * sqrt(double(absdiag[i]) * double(absdiag[j])));
}

template <class V, class I>
__global__ void strength_count_k(int64_t n, const I* __restrict__ crow, const I* __restrict__ col,
                                 const V* __restrict__ vals, const V* __restrict__ absdiag,
                                 double theta, int64_t* __restrict__ count) {
  DSLA_ROWS(i, n) {
    int64_t c = 0;
    for (I p = crow[i]; p < crow[i + 1]; ++p)
      c += strong<V, I>(I(i), col[p], vals[p], absdiag, theta);
    count[i] = c;
  }
}

template <class V, class I>
__global__ void strength_fill_k(int64_t n, const I* __restrict__ crow, const I* __restrict__ col,
                                const V* __restrict__ vals, const V* __restrict__ absdiag,
                                double theta, const int64_t* __restrict__ s_crow,
                                I* __restrict__ s_col) {
  DSLA_ROWS(i, n) {
    int64_t q = s_crow[i];
    for (I p = crow[i]; p < crow[i + 1]; ++p)
      if (strong<V, I>(I(i), col[p], vals[p], absdiag, theta)) s_col[q++] = col[p];
  }
}

// ---------------------------------------------------------------- aggregation
template <class I>
__device__ __forceinline__ bool live(int64_t v, const I* crow, const I* col) {
  for (I p = crow[v]; p < crow[v + 1]; ++p)
    if (col[p] != v) return true;
  return false;
}

// mode 0: every vertex; mode 1: free vertices (own < 0 and a neighbour).
template <class I>
__device__ __forceinline__ bool in_sub(int mode, int64_t v, const I* crow, const I* col,
                                       const int64_t* own) {
  return mode == 0 || (own[v] < 0 && live(v, crow, col));
}

template <class I>
__global__ void init_keys_k(int64_t n, const I* crow, const I* col, uint64_t seed, int mode,
                            const int64_t* own, int64_t* key) {
  DSLA_ROWS(v, n) {
    const bool in = mode == 0 ? live(v, crow, col) : in_sub(mode, v, crow, col, own);
    key[v] = in ? amg_mis2_key(v, seed) : kOut;
  }
}

template <class I>
__global__ void masked_max_k(int64_t n, const I* crow, const I* col, int mode, const int64_t* own,
                             const int64_t* in, int64_t* out) {
  DSLA_ROWS(v, n) {
    int64_t m = kOut;
    if (in_sub(mode, v, crow, col, own)) {
      m = in[v];
      for (I p = crow[v]; p < crow[v + 1]; ++p) m = max(m, in[col[p]]);
    }
    out[v] = m;
  }
}

template <class I>
__global__ void row_max_k(int64_t n, const I* crow, const I* col, const int64_t* in, int64_t* out) {
  DSLA_ROWS(v, n) {
    int64_t m = in[v];
    for (I p = crow[v]; p < crow[v + 1]; ++p) m = max(m, in[col[p]]);
    out[v] = m;
  }
}

__global__ void mis2_decide_k(int64_t n, int64_t* key, const int64_t* m2, int* flag) {
  bool und = false;
  DSLA_ROWS(v, n) {
    const int64_t k = key[v];
    if (k == kIn || k == kOut) continue;
    if (m2[v] == kIn) {
      key[v] = kOut;
    } else if (m2[v] == k) {
      key[v] = kIn;
    } else {
      und = true;
    }
  }
  if (und) *flag = 1;
}

// Phase 1 roots: own = v for roots, rk = root key (kOut elsewhere).
__global__ void phase1_roots_k(int64_t n, uint64_t seed, const int64_t* key, int64_t* own,
                               int64_t* rk) {
  DSLA_ROWS(v, n) {
    const bool root = key[v] == kIn;
    own[v] = root ? v : -1;
    rk[v] = root ? amg_mis2_key(v, seed) : kOut;
  }
}

// Free vertices take the root of the neighbour with the largest rk.
template <class I>
__global__ void attach_k(int64_t n, const I* crow, const I* col, const int64_t* rk,
                         const int64_t* own, int64_t* out) {
  DSLA_ROWS(v, n) {
    int64_t m = kOut;
    if (own[v] < 0)
      for (I p = crow[v]; p < crow[v + 1]; ++p) m = max(m, rk[col[p]]);
    out[v] = m >= 0 ? (m & 0xFFFFFFFFll) : own[v];
  }
}

// Phase 2: accepted roots (MIS-2 root with >= min_free free neighbours): rk = key, else kOut.
template <class I>
__global__ void phase2_accept_k(int64_t n, const I* crow, const I* col, uint64_t seed,
                                int64_t min_free, const int64_t* key, const int64_t* own,
                                int64_t* rk) {
  DSLA_ROWS(v, n) {
    int64_t k = kOut;
    if (key[v] == kIn) {
      int64_t c = 0;
      for (I p = crow[v]; p < crow[v + 1]; ++p) c += own[col[p]] < 0 && col[p] != v;
      if (c >= min_free) k = amg_mis2_key(v, seed);
    }
    rk[v] = k;
  }
}

__global__ void set_roots_k(int64_t n, const int64_t* rk, int64_t* own) {
  DSLA_ROWS(v, n) {
    if (rk[v] >= 0) own[v] = v;
  }
}

__global__ void sizes_k(int64_t n, const int64_t* own, unsigned long long* size) {
  DSLA_ROWS(v, n) {
    if (own[v] >= 0) atomicAdd(size + own[v], 1ull);
  }
}

template <class I>
__global__ void phase3_k(int64_t n, const I* crow, const I* col, uint64_t seed, const int64_t* own,
                         const int64_t* size, int64_t* out) {
  DSLA_ROWS(v, n) {
    int64_t best = -1, bsize = 0, bkey = 0;
    if (own[v] < 0) {
      for (I p = crow[v]; p < crow[v + 1]; ++p) {
        const int64_t o = own[col[p]];
        if (o < 0) continue;
        const int64_t sz = size[o], k = amg_mis2_priority(o, seed);
        if (best < 0 || sz < bsize || (sz == bsize && (k > bkey || (k == bkey && o > best)))) {
          best = o, bsize = sz, bkey = k;
        }
      }
    }
    out[v] = best >= 0 ? best : own[v];
  }
}

__global__ void roots_k(int64_t n, const int64_t* own, int64_t* is_root) {
  DSLA_ROWS(v, n) {
    is_root[v] = own[v] == v;
  }
}

__global__ void number_k(int64_t n, const int64_t* own, const int64_t* root_id, int64_t* agg) {
  DSLA_ROWS(v, n) {
    agg[v] = own[v] >= 0 ? root_id[own[v]] - 1 : -1;
  }
}

// ---------------------------------------------------------------- smoothing operator
template <class V, class I>
__global__ void smoothing_values_k(int64_t n, int64_t nnz, int64_t B, const I* __restrict__ crow,
                                   const I* __restrict__ col, const V* __restrict__ vals,
                                   const V* __restrict__ dinv, const V* __restrict__ scale,
                                   V* __restrict__ out) {
  DSLA_ROWS(i, n) {
    for (int64_t b = 0; b < B; ++b) {
      const V f = -scale[b] * dinv[b * n + i];
      for (I p = crow[i]; p < crow[i + 1]; ++p)
        out[b * nnz + p] = f * vals[b * nnz + p] + (col[p] == i ? V(1) : V(0));
    }
  }
}

template <class V, class I>
__global__ void transpose_values_k(int64_t rows, int64_t nnz, int64_t B, const I* __restrict__ crow,
                                   const I* __restrict__ col, const V* __restrict__ vals,
                                   const I* __restrict__ crow_t, const I* __restrict__ col_t,
                                   V* __restrict__ out) {
  DSLA_ROWS(i, rows) {
    for (I p = crow[i]; p < crow[i + 1]; ++p) {
      const I j = col[p];
      I lo = crow_t[j], hi = crow_t[j + 1] - 1;
      while (lo < hi) {
        const I mid = lo + (hi - lo) / 2;
        if (col_t[mid] < I(i))
          lo = mid + 1;
        else
          hi = mid;
      }
      for (int64_t b = 0; b < B; ++b) out[b * nnz + lo] = vals[b * nnz + p];
    }
  }
}

}  // namespace

template <class V, class I>
void amg_strength_count(const CsrView<V, I>& A, const V* absdiag, double theta, int64_t* count,
                        cudaStream_t stream) {
  const int64_t n = A.rows;
  if (n == 0) return;
  strength_count_k<V, I>
      <<<blocks_for(n), kBlock, 0, stream>>>(n, A.crow, A.col, A.vals, absdiag, theta, count);
  DSLA_CUDA_CHECK_LAUNCH();
}

template <class V, class I>
void amg_strength_fill(const CsrView<V, I>& A, const V* absdiag, double theta,
                       const int64_t* s_crow, I* s_col, cudaStream_t stream) {
  const int64_t n = A.rows;
  if (n == 0) return;
  strength_fill_k<V, I><<<blocks_for(n), kBlock, 0, stream>>>(n, A.crow, A.col, A.vals, absdiag,
                                                              theta, s_crow, s_col);
  DSLA_CUDA_CHECK_LAUNCH();
}

template <class I>
int64_t amg_aggregate_mis2_own(int64_t n, const I* crow, const I* col, uint64_t seed, int64_t* own,
                               int64_t* work, int* flag, cudaStream_t stream) {
  if (n == 0) return 0;
  int64_t* key = work;
  int64_t* m1 = work + n;
  int64_t* m2 = work + 2 * n;
  int64_t* tmp = work + 3 * n;
  const int64_t g = blocks_for(n);
  int64_t rounds = 0;
  auto mis2 = [&](int mode) {
    for (;;) {
      ++rounds;
      masked_max_k<I><<<g, kBlock, 0, stream>>>(n, crow, col, mode, own, key, m1);
      row_max_k<I><<<g, kBlock, 0, stream>>>(n, crow, col, m1, m2);
      DSLA_CUDA_CHECK(cudaMemsetAsync(flag, 0, sizeof(int), stream));
      mis2_decide_k<<<g, kBlock, 0, stream>>>(n, key, m2, flag);
      DSLA_CUDA_CHECK_LAUNCH();
      int h = 0;
      DSLA_CUDA_CHECK(cudaMemcpyAsync(&h, flag, sizeof(int), cudaMemcpyDeviceToHost, stream));
      DSLA_CUDA_CHECK(cudaStreamSynchronize(stream));
      if (!h) break;
    }
  };
  auto commit = [&] {
    DSLA_CUDA_CHECK(
        cudaMemcpyAsync(own, tmp, n * sizeof(int64_t), cudaMemcpyDeviceToDevice, stream));
  };
  // Phase 1.
  init_keys_k<I><<<g, kBlock, 0, stream>>>(n, crow, col, seed, 0, own, key);
  DSLA_CUDA_CHECK_LAUNCH();
  mis2(0);
  phase1_roots_k<<<g, kBlock, 0, stream>>>(n, seed, key, own, m2);
  attach_k<I><<<g, kBlock, 0, stream>>>(n, crow, col, m2, own, tmp);
  DSLA_CUDA_CHECK_LAUNCH();
  commit();
  // Phase 2.
  init_keys_k<I><<<g, kBlock, 0, stream>>>(n, crow, col, seed + 1, 1, own, key);
  DSLA_CUDA_CHECK_LAUNCH();
  mis2(1);
  phase2_accept_k<I><<<g, kBlock, 0, stream>>>(n, crow, col, seed + 1,
                                               kernels::cpu::kAmgMis2MinFree, key, own, m2);
  set_roots_k<<<g, kBlock, 0, stream>>>(n, m2, own);
  attach_k<I><<<g, kBlock, 0, stream>>>(n, crow, col, m2, own, tmp);
  DSLA_CUDA_CHECK_LAUNCH();
  commit();
  // Phase 3.
  DSLA_CUDA_CHECK(cudaMemsetAsync(m2, 0, n * sizeof(int64_t), stream));
  sizes_k<<<g, kBlock, 0, stream>>>(n, own, reinterpret_cast<unsigned long long*>(m2));
  phase3_k<I><<<g, kBlock, 0, stream>>>(n, crow, col, seed, own, m2, tmp);
  DSLA_CUDA_CHECK_LAUNCH();
  commit();
  return rounds;
}

void amg_aggregate_roots(int64_t n, const int64_t* own, int64_t* is_root, cudaStream_t stream) {
  if (n == 0) return;
  roots_k<<<blocks_for(n), kBlock, 0, stream>>>(n, own, is_root);
  DSLA_CUDA_CHECK_LAUNCH();
}

void amg_aggregate_number(int64_t n, const int64_t* own, const int64_t* root_id, int64_t* agg,
                          cudaStream_t stream) {
  if (n == 0) return;
  number_k<<<blocks_for(n), kBlock, 0, stream>>>(n, own, root_id, agg);
  DSLA_CUDA_CHECK_LAUNCH();
}

template <class V, class I>
void amg_smoothing_values(const CsrView<V, I>& A, int64_t nnz, int64_t B, const V* dinv,
                          const V* scale, V* out, cudaStream_t stream) {
  const int64_t n = A.rows;
  if (n == 0 || B == 0) return;
  smoothing_values_k<V, I>
      <<<blocks_for(n), kBlock, 0, stream>>>(n, nnz, B, A.crow, A.col, A.vals, dinv, scale, out);
  DSLA_CUDA_CHECK_LAUNCH();
}

template <class V, class I>
void amg_transpose_values(const CsrView<V, I>& P, int64_t nnz, int64_t B, const CsrPattern<I>& Pt,
                          V* out, cudaStream_t stream) {
  const int64_t rows = P.rows;
  if (rows == 0 || B == 0) return;
  transpose_values_k<V, I><<<blocks_for(rows), kBlock, 0, stream>>>(rows, nnz, B, P.crow, P.col,
                                                                    P.vals, Pt.crow, Pt.col, out);
  DSLA_CUDA_CHECK_LAUNCH();
}

#define DSLA_INST_VI(V, I)                                                                      \
  template void amg_strength_count<V, I>(const CsrView<V, I>&, const V*, double, int64_t*,      \
                                         cudaStream_t);                                         \
  template void amg_strength_fill<V, I>(const CsrView<V, I>&, const V*, double, const int64_t*, \
                                        I*, cudaStream_t);                                      \
  template void amg_smoothing_values<V, I>(const CsrView<V, I>&, int64_t, int64_t, const V*,    \
                                           const V*, V*, cudaStream_t);                         \
  template void amg_transpose_values<V, I>(const CsrView<V, I>&, int64_t, int64_t,              \
                                           const CsrPattern<I>&, V*, cudaStream_t);
DSLA_INST_VI(float, int32_t)
DSLA_INST_VI(float, int64_t)
DSLA_INST_VI(double, int32_t)
DSLA_INST_VI(double, int64_t)
#undef DSLA_INST_VI
template int64_t amg_aggregate_mis2_own<int32_t>(int64_t, const int32_t*, const int32_t*, uint64_t,
                                                 int64_t*, int64_t*, int*, cudaStream_t);
template int64_t amg_aggregate_mis2_own<int64_t>(int64_t, const int64_t*, const int64_t*, uint64_t,
                                                 int64_t*, int64_t*, int*, cudaStream_t);

}  // namespace dsla::kernels::cuda
