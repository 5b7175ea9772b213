// CPU preconditioner kernels: see precond_kernels.h for the conventions.
#include "kernels/cpu/precond_kernels.h"

#include "kernels/cpu/csr_kernels.h"

#include <cmath>

namespace dsla::kernels::cpu {

namespace {

template <class V>
struct RealOf {
  using type = V;
};
template <class T>
struct RealOf<std::complex<T>> {
  using type = T;
};

template <class T>
bool finite_nonzero(const T& v) {
  return std::isfinite(v) && v != T(0);
}
template <class T>
bool finite_nonzero(const std::complex<T>& v) {
  return std::isfinite(v.real()) && std::isfinite(v.imag()) && v != std::complex<T>(0);
}

template <class T>
T real_part(const T& v) {
  return v;
}
template <class T>
T real_part(const std::complex<T>& v) {
  return v.real();
}

template <class T>
T abs2(const T& v) {
  return v * v;
}
template <class T>
T abs2(const std::complex<T>& v) {
  return std::norm(v);
}

// One member's solve; the four cases are the row-oriented (T z = r) and column-oriented
// (Tᴴ z = r, reading T's rows) sweeps, forwards or backwards as the triangle dictates.
// K > 0 fixes the number of right-hand sides at compile time (the common k = 1 then has no inner
// loop: the sweep is latency-bound along the rows, so loop overhead shows directly).
template <int64_t K, class V, class I>
void tri_solve_one(int64_t k_runtime, int64_t n, const I* crow, const I* col, const int64_t* diag,
                   const V* vals, V* z, const TriSolve& how) {
  const int64_t k = K > 0 ? K : k_runtime;
  using R = typename RealOf<V>::type;
  const R s = static_cast<R>(how.off_scale);
  if (!how.conj_trans) {
    auto row = [&](int64_t i, int64_t lo, int64_t hi) {
      V* zi = z + i * k;
      if (how.rhs_times_diag) {
        const V d = vals[diag[i]];
        for (int64_t j = 0; j < k; ++j) zi[j] *= d;
      }
      for (int64_t p = lo; p < hi; ++p) {
        const V a = vals[p] * s;
        const V* zc = z + static_cast<int64_t>(col[p]) * k;
        for (int64_t j = 0; j < k; ++j) zi[j] -= a * zc[j];
      }
      if (!how.unit_diag) {
        // The reciprocal does not depend on z, so it is computed off the row-to-row dependency
        // chain; a division on the chain would add its full latency to every row.
        const V inv = V(1) / vals[diag[i]];
        for (int64_t j = 0; j < k; ++j) zi[j] *= inv;
      }
    };
    if (how.lower) {
      for (int64_t i = 0; i < n; ++i) row(i, crow[i], diag[i]);
    } else {
      for (int64_t i = n - 1; i >= 0; --i) row(i, diag[i] + 1, crow[i + 1]);
    }
  } else {
    // z_i is final once every row that contributes to it is done; then it is scattered into
    // the unknowns its column of Tᴴ couples to.
    auto col_step = [&](int64_t i, int64_t lo, int64_t hi) {
      V* zi = z + i * k;
      if (!how.unit_diag) {
        const V inv = V(1) / conj_if(vals[diag[i]]);
        for (int64_t j = 0; j < k; ++j) zi[j] *= inv;
      }
      for (int64_t p = lo; p < hi; ++p) {
        const V a = conj_if(vals[p]) * s;
        V* zc = z + static_cast<int64_t>(col[p]) * k;
        for (int64_t j = 0; j < k; ++j) zc[j] -= a * zi[j];
      }
    };
    if (how.lower) {
      for (int64_t i = n - 1; i >= 0; --i) col_step(i, crow[i], diag[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) col_step(i, diag[i] + 1, crow[i + 1]);
    }
  }
}

}  // namespace

template <class V, class I>
void csr_tri_solve(const CsrView<V, I>& A, const int64_t* diag, int64_t k, int64_t batch,
                   Batched<V> zs, const TriSolve& how, int nthreads) {
  const int64_t n = A.rows, vals_bstride = A.vals_bstride, z_bstride = zs.bstride;
  const I* crow = A.crow;
  const I* col = A.col;
  const V* vals = A.vals;
  V* z = zs.data;
#pragma omp parallel for num_threads(nthreads) schedule(static) if (batch > 1)
  for (int64_t b = 0; b < batch; ++b) {
    const V* v = vals + b * vals_bstride;
    V* zb = z + b * z_bstride;
    if (k == 1) {
      tri_solve_one<1>(k, n, crow, col, diag, v, zb, how);
    } else {
      tri_solve_one<0>(k, n, crow, col, diag, v, zb, how);
    }
  }
}

template <class V, class I>
void csr_scale_by_diagonal(int64_t n, int64_t k, int64_t batch, const int64_t* diag, const V* vals,
                           int64_t vals_bstride, V* z, int64_t z_bstride, bool conj, int nthreads) {
#pragma omp parallel for num_threads(nthreads) schedule(static) collapse(2)
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < n; ++i) {
      const V d0 = vals[b * vals_bstride + diag[i]];
      const V d = conj ? conj_if(d0) : d0;
      V* zi = z + b * z_bstride + i * k;
      for (int64_t j = 0; j < k; ++j) zi[j] *= d;
    }
  }
}

template <class I>
void ilu0_symbolic(int64_t n, const I* crow, const I* col, const int64_t* diag, Ilu0Symbolic* out) {
  const int64_t nnz = crow[n];
  out->ptr.assign(nnz + 1, 0);
  out->dst.clear();
  out->src.clear();
  std::vector<int64_t> where(n, -1);  // column -> position in the current row i
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = crow[i]; p < crow[i + 1]; ++p) where[col[p]] = p;
    for (int64_t p = crow[i]; p < crow[i + 1]; ++p) {
      out->ptr[p] = static_cast<int64_t>(out->dst.size());
      if (p >= diag[i]) continue;  // only strictly lower entries (i, k) carry updates
      const int64_t k = col[p];
      for (int64_t q = diag[k] + 1; q < crow[k + 1]; ++q) {
        const int64_t dst = where[col[q]];
        if (dst >= 0) {
          out->dst.push_back(dst);
          out->src.push_back(q);
        }
      }
    }
    for (int64_t p = crow[i]; p < crow[i + 1]; ++p) where[col[p]] = -1;
  }
  out->ptr[nnz] = static_cast<int64_t>(out->dst.size());
}

template <class V, class I>
int64_t ilu0_numeric(int64_t n, const I* crow, const I* col, const int64_t* diag,
                     const Ilu0Symbolic& s, V* lu) {
  for (int64_t i = 0; i < n; ++i) {
    // Lower entries in increasing column order: each l_ik is final when it is divided, because
    // every update to it came from a row k' < k processed earlier in this loop.
    for (int64_t p = crow[i]; p < diag[i]; ++p) {
      const V l = lu[p] / lu[diag[col[p]]];
      lu[p] = l;
      for (int64_t q = s.ptr[p]; q < s.ptr[p + 1]; ++q) lu[s.dst[q]] -= l * lu[s.src[q]];
    }
    if (!finite_nonzero(lu[diag[i]])) return i;
  }
  return -1;
}

template <class I>
void ic0_symbolic(int64_t n, const I* crow, const I* col, const int64_t* diag, Ic0Symbolic* out) {
  const int64_t nnz = crow[n];
  out->ptr.assign(nnz + 1, 0);
  out->a.clear();
  out->b.clear();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = crow[i]; p < crow[i + 1]; ++p) {
      out->ptr[p] = static_cast<int64_t>(out->a.size());
      if (p >= diag[i]) continue;
      // Merge row i's columns before k with row k's strictly lower columns (both sorted).
      const int64_t k = col[p];
      int64_t x = crow[i], y = crow[k];
      while (x < p && y < diag[k]) {
        if (col[x] < col[y]) {
          ++x;
        } else if (col[y] < col[x]) {
          ++y;
        } else {
          out->a.push_back(x++);
          out->b.push_back(y++);
        }
      }
    }
  }
  out->ptr[nnz] = static_cast<int64_t>(out->a.size());
}

template <class V, class I>
int64_t ic0_numeric(int64_t n, const I* crow, const I* col, const int64_t* diag,
                    const Ic0Symbolic& s, V* l) {
  using R = typename RealOf<V>::type;
  for (int64_t i = 0; i < n; ++i) {
    R d = real_part(l[diag[i]]);
    for (int64_t p = crow[i]; p < diag[i]; ++p) {
      V sum = l[p];
      for (int64_t q = s.ptr[p]; q < s.ptr[p + 1]; ++q) sum -= l[s.a[q]] * conj_if(l[s.b[q]]);
      const V lik = sum / l[diag[col[p]]];
      l[p] = lik;
      d -= abs2(lik);
    }
    if (!(d > R(0)) || !std::isfinite(d)) return i;
    l[diag[i]] = V(std::sqrt(d));
  }
  return -1;
}

#define DSLA_PRECOND_VI(V, I)                                                                    \
  template void csr_tri_solve<V, I>(const CsrView<V, I>&, const int64_t*, int64_t, int64_t,      \
                                    Batched<V>, const TriSolve&, int);                           \
  template void csr_scale_by_diagonal<V, I>(int64_t, int64_t, int64_t, const int64_t*, const V*, \
                                            int64_t, V*, int64_t, bool, int);                    \
  template int64_t ilu0_numeric<V, I>(int64_t, const I*, const I*, const int64_t*,               \
                                      const Ilu0Symbolic&, V*);                                  \
  template int64_t ic0_numeric<V, I>(int64_t, const I*, const I*, const int64_t*,                \
                                     const Ic0Symbolic&, V*);

#define DSLA_PRECOND_V(V)     \
  DSLA_PRECOND_VI(V, int32_t) \
  DSLA_PRECOND_VI(V, int64_t)

DSLA_PRECOND_V(float)
DSLA_PRECOND_V(double)
DSLA_PRECOND_V(std::complex<float>)
DSLA_PRECOND_V(std::complex<double>)

template void ilu0_symbolic<int32_t>(int64_t, const int32_t*, const int32_t*, const int64_t*,
                                     Ilu0Symbolic*);
template void ilu0_symbolic<int64_t>(int64_t, const int64_t*, const int64_t*, const int64_t*,
                                     Ilu0Symbolic*);
template void ic0_symbolic<int32_t>(int64_t, const int32_t*, const int32_t*, const int64_t*,
                                    Ic0Symbolic*);
template void ic0_symbolic<int64_t>(int64_t, const int64_t*, const int64_t*, const int64_t*,
                                    Ic0Symbolic*);

}  // namespace dsla::kernels::cpu
