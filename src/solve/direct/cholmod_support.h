// What the two CHOLMOD-backed Cholesky factorizations share (cholmod_factorization.cpp: one
// CHOLMOD factor of the whole matrix; cholmod_split_factorization.cpp: two halves of a nested-
// dissection split and a dense separator): the cholmod_common wrapper, the thread rule, the
// gather map into tril(P A Pᵀ), the symmetry check of the values. Internal, SuiteSparse builds.
#pragma once

#include <dsla/config.h>

#if DSLA_HAVE_SUITESPARSE

#include "kernels/cpu/supernodal_cholesky.h"
#include "solve/direct/factorization.h"

#include <dsla/pattern.h>

#include <ATen/Tensor.h>

#include <cholmod.h>

#include <complex>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace dsla::direct::detail {

struct CholmodCommon {
  cholmod_common c;
  CholmodCommon();
  ~CholmodCommon();
  CholmodCommon(const CholmodCommon&) = delete;
  CholmodCommon& operator=(const CholmodCommon&) = delete;
};

// Threads for the CHOLMOD calls. SuiteSparse 5's CHOLMOD runs its supernodal assembly loops in
// `omp parallel num_threads(4)` regions, which ignore omp_set_num_threads: on a 2-core machine
// that oversubscribes, and on a busy one the spinning / futex traffic tripled the CPU time of a
// factorization (poisson2d:1024). With dynamic adjustment on, libgomp bounds those regions by
// min(cores, nthreads-var) minus the load average; nthreads-var is set to at::get_num_threads().
// OpenBLAS (pthreads, busy-waiting workers) gets the same count, or `blas_threads` when > 0.
// Everything is restored on exit.
class CholmodThreadScope {
 public:
  explicit CholmodThreadScope(int blas_threads = 0);
  ~CholmodThreadScope();
  CholmodThreadScope(const CholmodThreadScope&) = delete;
  CholmodThreadScope& operator=(const CholmodThreadScope&) = delete;

  // DSLA_DIRECT_THREADS: 0 when unset or empty (the load rule), else that positive integer.
  static int fixed_threads();
  // The load rule: min(want, online cores) minus the 15-minute load average, >= 1; or
  // DSLA_DIRECT_THREADS when set.
  static int threads_for(int want);
  // threads_for(at::get_num_threads()).
  static int allowed();

 private:
  int dyn_, nt_;
  int blas_prev_ = 0;
};

// Faults in the pages of a freshly allocated factor on a helper thread while the numeric
// factorization fills it from the front (MADV_POPULATE_WRITE maps the pages without touching
// their contents, so it does not race with the writes). Only for large factors, when more than
// one thread is allowed; kernels without MADV_POPULATE_WRITE (< 5.14) just refuse the advice.
// Returns a thread to join (not joinable when nothing was started).
std::thread populate_async(void* data, size_t bytes);

// The lower CSC of a symmetric CSR pattern (both triangles), read off its upper triangle by rows
// (row j's entries with col >= j are column j's); sel (when not null) gets each entry's CSR index.
void upper_rows_as_lower_csc(int64_t n, const int64_t* crow, const int64_t* col,
                             std::vector<int64_t>& p, std::vector<int64_t>& i,
                             std::vector<int64_t>* sel);

// The lower CSC of tril(P A Pᵀ) for a symmetric CSR pattern (both triangles) and a permutation
// (perm[new] = old): entry (r, c) goes to (pinv[r], pinv[c]) when pinv[r] >= pinv[c]; sel[t] is
// the CSR index whose value entry t takes. Rows come out sorted within each column.
void permuted_lower(int64_t n, const int64_t* crow, const int64_t* col, const int64_t* perm,
                    std::vector<int64_t>& p, std::vector<int64_t>& i, std::vector<int64_t>& sel);

// CHOLMOD reads one triangle only: refuses values that are not symmetric (Hermitian) within
// rounding instead of silently factoring a different matrix. v: [nnz] in the working dtype.
void check_symmetric_values(const Pattern& pattern, const at::Tensor& v, at::ScalarType dtype,
                            const char* who);

// A stype = -1 (lower) CHOLMOD view of a packed, sorted lower CSC; x may be null (pattern).
cholmod_sparse lower_view(int64_t n, const std::vector<int64_t>& p, const std::vector<int64_t>& i,
                          const double* x, bool complex);

// dsla's supernodal kernel's view of a CHOLMOD supernodal factor (int64 indices).
inline kernels::cpu::SupernodalPattern supernodal_view(const cholmod_factor* L) {
  kernels::cpu::SupernodalPattern sp;
  sp.n = static_cast<int64_t>(L->n);
  sp.nsuper = static_cast<int64_t>(L->nsuper);
  sp.super = static_cast<const int64_t*>(L->super);
  sp.pi = static_cast<const int64_t*>(L->pi);
  sp.px = static_cast<const int64_t*>(L->px);
  sp.s = static_cast<const int64_t*>(L->s);
  return sp;
}

// f(column, L_jj) for each diagonal entry of a supernodal LLᵀ factor (the real part when complex).
template <class F>
void for_each_super_diagonal(const cholmod_factor* L, bool complex, F&& f) {
  const int64_t* super = static_cast<const int64_t*>(L->super);
  const int64_t* pi = static_cast<const int64_t*>(L->pi);
  const int64_t* px = static_cast<const int64_t*>(L->px);
  const double* x = static_cast<const double*>(L->x);
  const int64_t w = complex ? 2 : 1;
  for (size_t s = 0; s < L->nsuper; ++s) {
    const int64_t k1 = super[s], k2 = super[s + 1];
    const int64_t nsrow = pi[s + 1] - pi[s];
    for (int64_t jj = 0; jj < k2 - k1; ++jj) f(k1 + jj, x[(px[s] + jj * nsrow + jj) * w]);
  }
}

// One CHOLMOD factorization of the whole matrix (cholmod_factorization.cpp). nd_perm: dsla's
// nested dissection of the pattern when already computed (used for ordering "nd"), or null.
std::unique_ptr<Factorization> make_cholmod_whole(const PatternPtr& pattern, Kind kind,
                                                  at::ScalarType dtype, const std::string& ordering,
                                                  const std::vector<int64_t>* nd_perm);

// The split Cholesky (cholmod_split_factorization.cpp) when it applies: a real dtype, ordering
// "auto" or "nd", at least DSLA_CHOLMOD_SPLIT_MIN_ROWS rows (default 2^17) and a top separator
// of at most 4096 rows and 1/16 of the matrix. Else null. *nd_perm (when not null) receives the
// nested dissection the plan computed, when it computed one.
std::unique_ptr<Factorization> make_cholmod_split(
    const PatternPtr& pattern, at::ScalarType dtype, const std::string& ordering,
    std::shared_ptr<const std::vector<int64_t>>* nd_perm);

}  // namespace dsla::direct::detail

#endif  // DSLA_HAVE_SUITESPARSE
