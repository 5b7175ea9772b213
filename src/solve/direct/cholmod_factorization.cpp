// CHOLMOD behind dsla::direct::Factorization: supernodal LLᵀ (Cholesky, real SPD and complex
// HPD) and simplicial LDLᵀ (symmetric / Hermitian indefinite, no pivoting).
//
// Input: the full symmetric CSR pattern (both triangles). Row j of the CSR's upper triangle
// (col >= j), conjugated, is column j of the lower triangle of A in CSC form, so CHOLMOD gets
// an stype = -1 (lower) matrix with no sorting: the gather map `sel` is computed once per pattern.
// The symbolic analysis (ordering + supernodal / simplicial symbolic factor) is cached on the
// Pattern per (kind, ordering); every Factorization copies the cached symbolic factor and
// factors numerically into its own copy, with its own cholmod_common (thread safety).
//
// Supernodal LLᵀ (the hot path; bench/NOTES-direct.md has the measurements):
// - the gather map builds tril(P A Pᵀ) directly (P = the analysis' final permutation), and
//   cholmod_l_super_numeric factors it: cholmod_l_factorize would transpose A twice per call;
// - supernodes are amalgamated more than CHOLMOD's default (nrelax x4): bigger BLAS-3 calls;
// - "metis" is our own METIS_NodeND call, with the two halves of the top separator ordered on
//   two threads (CHOLMOD's own METIS ordering is serial and slower);
// - threads: see ThreadScope; the pages of a new factor are populated on a helper thread while
//   the first numeric factorization runs (first-touch page faults cost ~1.6 ms/MB here).
#include <dsla/config.h>

#if DSLA_HAVE_SUITESPARSE

#include "solve/direct/cholmod_support.h"
#include "solve/direct/factorization.h"
#include "solve/direct/internal.h"

#include "kernels/cpu/nested_dissection.h"
#include "kernels/cpu/supernodal_cholesky.h"

#include <dsla/errors.h>
#include <dsla/pattern.h>

#include <ATen/ATen.h>

#include <cholmod.h>
#if DSLA_HAVE_METIS
#include <metis.h>
#endif

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>

namespace dsla::direct::detail {
namespace {

using cplx = std::complex<double>;

inline double conj_(double x) {
  return x;
}
inline cplx conj_(cplx x) {
  return std::conj(x);
}

const char* ordering_name(int o) {
  switch (o) {
    case CHOLMOD_NATURAL:
      return "natural";
    case CHOLMOD_GIVEN:
      return "given";
    case CHOLMOD_AMD:
      return "amd";
    case CHOLMOD_METIS:
      return "metis";
    case CHOLMOD_NESDIS:
      return "nesdis";
    case CHOLMOD_COLAMD:
      return "colamd";
    case CHOLMOD_POSTORDERED:
      return "postordered";
    default:
      return "?";
  }
}

#if DSLA_HAVE_METIS
// Nested-dissection fill-reducing permutation of the symmetric pattern (CSR, both triangles) by
// METIS_NodeND on its adjacency graph (no diagonal), perm[k] = the row eliminated k-th. With
// two or more threads and a large graph, the top separator is computed first and the two halves
// are ordered concurrently (the TLS build of GKlib makes METIS re-entrant). Returns false when
// the graph does not fit METIS' idx_t or METIS fails (the caller falls back to CHOLMOD).
bool metis_nested_dissection(int64_t n, const int64_t* crow, const int64_t* col, int threads,
                             std::vector<int64_t>& perm) {
  if (crow[n] >= std::numeric_limits<idx_t>::max()) return false;
  std::vector<idx_t> xadj(n + 1), adj;
  adj.reserve(crow[n]);
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t q = crow[j]; q < crow[j + 1]; ++q)
      if (col[q] != j) adj.push_back(static_cast<idx_t>(col[q]));
    xadj[j + 1] = static_cast<idx_t>(adj.size());
  }
  perm.resize(n);
  auto node_nd = [](std::vector<idx_t>& xa, std::vector<idx_t>& ad, std::vector<idx_t>& out) {
    idx_t nv = static_cast<idx_t>(xa.size()) - 1;
    out.resize(nv);
    if (nv == 0) return true;
    std::vector<idx_t> iperm(nv);
    idx_t opt[METIS_NOPTIONS];
    METIS_SetDefaultOptions(opt);
    return METIS_NodeND(&nv, xa.data(), ad.data(), nullptr, opt, out.data(), iperm.data()) ==
           METIS_OK;
  };
  if (threads < 2 || n < 100000) {
    std::vector<idx_t> p;
    if (!node_nd(xadj, adj, p)) return false;
    std::copy(p.begin(), p.end(), perm.begin());
    return true;
  }
  idx_t nv = static_cast<idx_t>(n), sepsize = 0;
  std::vector<idx_t> part(n);
  idx_t opt[METIS_NOPTIONS];
  METIS_SetDefaultOptions(opt);
  if (METIS_ComputeVertexSeparator(&nv, xadj.data(), adj.data(), nullptr, opt, &sepsize,
                                   part.data()) != METIS_OK)
    return false;
  // part[v] in {0, 1, 2 = separator}; subgraph h: the vertices of part h, renumbered.
  std::vector<idx_t> local(n);
  std::vector<int64_t> global[3];
  for (int64_t v = 0; v < n; ++v) {
    local[v] = static_cast<idx_t>(global[part[v]].size());
    global[part[v]].push_back(v);
  }
  std::vector<idx_t> sx[2], sa[2], sp[2];
  bool ok[2] = {false, false};
  auto half = [&](int h) {
    sx[h].assign(1, 0);
    for (int64_t v : global[h]) {
      for (idx_t q = xadj[v]; q < xadj[v + 1]; ++q)
        if (part[adj[q]] == h) sa[h].push_back(local[adj[q]]);
      sx[h].push_back(static_cast<idx_t>(sa[h].size()));
    }
    ok[h] = node_nd(sx[h], sa[h], sp[h]);
  };
  std::thread second(half, 1);
  half(0);
  second.join();
  if (!ok[0] || !ok[1]) return false;
  int64_t k = 0;
  for (int h = 0; h < 2; ++h)
    for (idx_t v : sp[h]) perm[k++] = global[h][v];
  for (int64_t v : global[2]) perm[k++] = v;
  return true;
}
#endif

void configure_ordering(cholmod_common& c, const std::string& ordering) {
  if (ordering == "auto") {
    c.nmethods = 0;  // CHOLMOD's default: AMD, then METIS when AMD's fill is high
    return;
  }
  c.nmethods = 1;
  if (ordering == "amd") {
    c.method[0].ordering = CHOLMOD_AMD;
  } else if (ordering == "metis") {
    c.method[0].ordering = CHOLMOD_METIS;  // without DSLA_HAVE_METIS (else: our own, GIVEN)
  } else if (ordering == "nesdis") {
    c.method[0].ordering = CHOLMOD_NESDIS;
  } else if (ordering == "nd") {
    c.method[0].ordering = CHOLMOD_GIVEN;  // dsla's nested dissection, handed over by analyze
  } else {                                 // natural
    c.method[0].ordering = CHOLMOD_NATURAL;
    c.postorder = 0;  // keep the natural order exactly
  }
}

// Per (pattern, kind, ordering): the lower-CSC structure, the gather map from CSR values, and the
// symbolic factor. Immutable after construction except `L`'s copy, which takes `mu`.
struct Analysis {
  int64_t n = 0;
  // Lower CSC of the matrix CHOLMOD factors: p [n+1], i [nnz_lower]; its values are gathered
  // from the CSR values at `sel`. Supernodal (`permuted`): tril(P A Pᵀ), values as stored;
  // simplicial: tril(A), values conjugated (the CSR's upper triangle read by columns).
  std::vector<int64_t> p, i, sel;
  bool permuted = false;
  CholmodCommon common;
  cholmod_factor* L = nullptr;  // symbolic
  std::mutex mu;
  std::string ordering_used;
  double lnz = 0, flops = 0;
  ~Analysis() {
    if (L) cholmod_l_free_factor(&L, &common.c);
  }
};

// nd_perm: dsla's nested dissection of this pattern when the caller has it already (the split
// factorization's plan), else it is computed here for ordering "nd".
std::shared_ptr<Analysis> analyze(const Pattern& pat, Kind kind, const std::string& ordering,
                                  const std::vector<int64_t>* nd_perm) {
  auto an = std::make_shared<Analysis>();
  const CsrInt64 csr = csr_int64(pat);
  const int64_t *crow = csr.crow, *col = csr.col;
  const int64_t n = pat.rows();
  an->n = n;
  upper_rows_as_lower_csc(n, crow, col, an->p, an->i, &an->sel);
  cholmod_sparse A = lower_view(n, an->p, an->i, nullptr, false);
  cholmod_common& c = an->common.c;
  c.supernodal = kind == Kind::Cholesky ? CHOLMOD_SUPERNODAL : CHOLMOD_SIMPLICIAL;
  for (size_t& r : c.nrelax) r *= 4;  // {16, 64, 192}: fewer, larger supernodes
  configure_ordering(c, ordering);
  CholmodThreadScope threads;
  // Our own orderings reach CHOLMOD as a given permutation: "metis" (METIS_NodeND, halves of
  // the top separator in parallel) and "nd" (dsla's nested dissection, no METIS needed).
  std::vector<int64_t> perm;
  bool given = false;
#if DSLA_HAVE_METIS
  if (ordering == "metis")
    given = metis_nested_dissection(n, crow, col, CholmodThreadScope::allowed(), perm);
#endif
  if (ordering == "nd") {
    if (nd_perm != nullptr) {
      perm = *nd_perm;
    } else {
      perm =
          kernels::cpu::nested_dissection<int64_t>(
              n, crow, col, 1, 64, kernels::cpu::NdLayout::Postorder, CholmodThreadScope::allowed())
              .perm;
    }
    given = true;
  }
  if (given) {
    c.method[0].ordering = CHOLMOD_GIVEN;
    an->L = cholmod_l_analyze_p(&A, perm.data(), nullptr, 0, &c);
  } else {
    an->L = cholmod_l_analyze(&A, &c);
  }
  count_analysis();
  TORCH_CHECK(an->L != nullptr && c.status >= CHOLMOD_OK, "dsla: CHOLMOD analysis failed (status ",
              c.status, ")", c.status == CHOLMOD_OUT_OF_MEMORY ? ": out of memory" : "");
  an->ordering_used = given ? ordering : ordering_name(an->L->ordering);
  an->lnz = c.lnz;
  an->flops = c.fl;
  if (an->L->is_super) {
    permuted_lower(n, crow, col, static_cast<const int64_t*>(an->L->Perm), an->p, an->i, an->sel);
    an->permuted = true;
  }
  return an;
}

class CholmodFactorization final : public Factorization {
 public:
  CholmodFactorization(PatternPtr pattern, Kind kind, at::ScalarType dtype,
                       const std::string& ordering, const std::vector<int64_t>* nd_perm)
      : pattern_(std::move(pattern)), kind_(kind), dtype_(dtype) {
    DSLA_CHECK_ARG(pattern_->is_structurally_symmetric(), "A",
                   kind == Kind::Cholesky ? "cholesky" : "ldlt",
                   " needs a symmetric matrix stored with both triangles, but the pattern is not "
                   "symmetric; use method='lu' for a general matrix");
    complex_ = at::isComplexType(dtype);
    const std::string key = std::string("dsla.direct.cholmod.") +
                            (kind == Kind::Cholesky ? "llt-super." : "ldlt-simplicial.") + ordering;
    an_ = pattern_->cached<Analysis>(key,
                                     [&] { return analyze(*pattern_, kind, ordering, nd_perm); });
    {
      std::lock_guard<std::mutex> lock(an_->mu);
      L_ = cholmod_l_copy_factor(an_->L, &an_->common.c);
    }
    TORCH_CHECK(L_ != nullptr, "dsla: CHOLMOD could not copy the symbolic factor (out of memory)");
    cholmod_common& c = cm_.c;
    c.supernodal = kind == Kind::Cholesky ? CHOLMOD_SUPERNODAL : CHOLMOD_SIMPLICIAL;
    c.final_ll = kind == Kind::Cholesky ? 1 : 0;
    ax_.resize(an_->sel.size() * (complex_ ? 2 : 1));
  }

  ~CholmodFactorization() override {
    cholmod_common* c = &cm_.c;
    if (L_) cholmod_l_free_factor(&L_, c);
    if (X_) cholmod_l_free_dense(&X_, c);
    if (Y_) cholmod_l_free_dense(&Y_, c);
    if (E_) cholmod_l_free_dense(&E_, c);
  }

  void factorize(const at::Tensor& values) override {
    const char* who = kind_ == Kind::Cholesky ? "cholesky" : "ldlt";
    const at::Tensor v = prepare_values(values, pattern_->nnz(), dtype_, who);
    check_symmetric_values(*pattern_, v, dtype_, who);
    std::lock_guard<std::mutex> lock(mu_);
    factored_ = false;
    const int64_t m = static_cast<int64_t>(an_->sel.size());
    const int64_t* sel = an_->sel.data();
    if (complex_) {
      const cplx* src = reinterpret_cast<const cplx*>(v.data_ptr<c10::complex<double>>());
      cplx* dst = reinterpret_cast<cplx*>(ax_.data());
      if (an_->permuted) {
        for (int64_t t = 0; t < m; ++t) dst[t] = src[sel[t]];
      } else {
        for (int64_t t = 0; t < m; ++t) dst[t] = std::conj(src[sel[t]]);
      }
    } else {
      const double* src = v.data_ptr<double>();
      for (int64_t t = 0; t < m; ++t) ax_[t] = src[sel[t]];
    }
    cholmod_sparse A = lower_view(an_->n, an_->p, an_->i, ax_.data(), complex_);
    cholmod_common& c = cm_.c;
    CholmodThreadScope threads;
    int ok = 0;
    if (an_->permuted) {
      // A is tril(P A Pᵀ) already: the supernodal numeric factorization proper.
      std::thread populate;
      if (L_->xtype == CHOLMOD_PATTERN) {
        ok = cholmod_l_change_factor(A.xtype, 1, 1, 1, 1, L_, &c);
        TORCH_CHECK(ok, "dsla: CHOLMOD could not allocate the factor (status ", c.status, ")",
                    c.status == CHOLMOD_OUT_OF_MEMORY ? ": out of memory" : "");
        populate = populate_async(L_->x, L_->xsize * (complex_ ? 2 : 1) * sizeof(double));
      }
      if (!complex_ && CholmodThreadScope::allowed() <= 2) {
        // Few threads: dsla's kernel (no OpenMP region per supernode) was 1.7-3.7x faster than
        // CHOLMOD's numeric phase on 2 cores for 2D problems and as fast for 3D ones (AMD
        // poisson2d:256 / 1024, poisson3d:64; bench/NOTES-direct.md). With more threads
        // CHOLMOD's numeric phase stays (not measured here).
        numeric_with_kernel();
        ok = 1;
      } else {
        double beta[2] = {0.0, 0.0};
        ok = cholmod_l_super_numeric(&A, nullptr, beta, L_, &c);
      }
      if (populate.joinable()) populate.join();
    } else {
      ok = cholmod_l_factorize(&A, L_, &c);
    }
    if (!ok || c.status < CHOLMOD_OK) {
      TORCH_CHECK(false, "dsla: CHOLMOD factorization failed (status ", c.status, ")",
                  c.status == CHOLMOD_OUT_OF_MEMORY ? ": out of memory" : "");
    }
    const int64_t n = an_->n;
    if (c.status == CHOLMOD_NOT_POSDEF || static_cast<int64_t>(L_->minor) < n) {
      const int64_t step = static_cast<int64_t>(L_->minor);
      const int64_t orig = L_->Perm ? static_cast<const int64_t*>(L_->Perm)[step] : step;
      std::ostringstream msg;
      if (kind_ == Kind::Cholesky) {
        msg << "cholesky: the matrix is not positive definite (CHOLMOD stopped at elimination step "
            << step << ", row/column " << orig
            << " of A); for a symmetric indefinite matrix use method='ldlt' or 'lu'";
      } else {
        msg << "ldlt: zero pivot at elimination step " << step << " (row/column " << orig
            << " of A): the matrix is singular, or needs pivoting that CHOLMOD's LDLᵀ does not "
               "do; use method='lu'";
      }
      throw_singular(msg.str(), orig);
    }
    compute_logdet();
    if (rcond_ < pivot_tol_) {
      const int64_t orig = L_->Perm ? static_cast<const int64_t*>(L_->Perm)[min_step_] : min_step_;
      std::ostringstream msg;
      msg << (kind_ == Kind::Cholesky ? "cholesky" : "ldlt")
          << ": the matrix is singular to working precision: smallest pivot / largest = " << rcond_
          << " < pivot_tolerance " << pivot_tol_ << " at elimination step " << min_step_
          << " (row/column " << orig << " of A); a positive semidefinite matrix with a null space "
          << "(e.g. a pure Neumann Laplacian) needs regularization or a constraint";
      throw_singular(msg.str(), orig);
    }
    factored_ = true;
  }

  double rcond() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return factored_ ? rcond_ : 0.0;
  }

  at::Tensor solve(const at::Tensor& b, bool adjoint) const override {
    (void)adjoint;  // A is symmetric / Hermitian: A⁻ᴴ = A⁻¹
    const char* who = kind_ == Kind::Cholesky ? "cholesky solve" : "ldlt solve";
    const int64_t n = an_->n;
    return solve_with(b, dtype_, n, who, [&](const at::Tensor& bcm) {
      std::lock_guard<std::mutex> lock(mu_);
      TORCH_CHECK(factored_, "dsla: ", who, ": call factorize(values) first");
      const int64_t k = bcm.size(0);
      cholmod_dense B{};
      B.nrow = static_cast<size_t>(n);
      B.ncol = static_cast<size_t>(k);
      B.d = static_cast<size_t>(n);
      B.nzmax = static_cast<size_t>(n * k);
      B.x = const_cast<void*>(bcm.data_ptr());
      B.xtype = complex_ ? CHOLMOD_COMPLEX : CHOLMOD_REAL;
      B.dtype = CHOLMOD_DOUBLE;
      cholmod_common& c = cm_.c;
      CholmodThreadScope threads;
      const int ok = cholmod_l_solve2(CHOLMOD_A, L_, &B, nullptr, &X_, nullptr, &Y_, &E_, &c);
      TORCH_CHECK(ok && X_ != nullptr, "dsla: CHOLMOD solve failed (status ", c.status, ")");
      at::Tensor x = at::empty({k, n}, bcm.options());
      const size_t ld = X_->d;
      const int64_t w = complex_ ? 2 : 1;
      double* dst = reinterpret_cast<double*>(x.data_ptr());
      const double* src = static_cast<const double*>(X_->x);
      for (int64_t j = 0; j < k; ++j)
        std::copy(src + j * ld * w, src + j * ld * w + n * w, dst + j * n * w);
      return x;
    });
  }

  std::pair<at::Tensor, at::Tensor> slogdet() const override {
    std::lock_guard<std::mutex> lock(mu_);
    TORCH_CHECK(factored_, "dsla: slogdet: call factorize(values) first");
    return detail::slogdet_tensors(c10::complex<double>(sign_, 0.0), logabs_, dtype_);
  }

  Kind kind() const override { return kind_; }

  std::string name() const override {
    return std::string(kind_ == Kind::Cholesky ? "cholmod-supernodal-llt"
                                               : "cholmod-simplicial-ldlt") +
           "(" + an_->ordering_used + ")";
  }

  at::Tensor inverse_entries(const at::Tensor& rows, const at::Tensor& cols) const override;

 private:
  // The supernodal numeric factorization by kernels/cpu/supernodal_cholesky on the copy of the
  // symbolic factor (real LLᵀ; tril(P A Pᵀ) gathered in ax_); CHOLMOD's solves use the result.
  // OpenBLAS keeps the thread rule's count set by factorize's scope: it runs small calls on one
  // thread and large ones (3D problems' top supernodes) on all (poisson3d:64 AMD: 13.9 s, 20.3 s
  // with one thread).
  void numeric_with_kernel() {
    L_->minor = static_cast<size_t>(
        kernels::cpu::supernodal_cholesky(supernodal_view(L_), an_->p.data(), an_->i.data(),
                                          ax_.data(), static_cast<double*>(L_->x), an_->n));
    cm_.c.status = CHOLMOD_OK;  // not positive definite: L_->minor < n says so
  }

  void compute_logdet() {
    // LLᵀ: log det = 2 Σ log L_jj (> 0). LDLᵀ: Σ log |D_jj|, sign = Π sign(D_jj) (D is real for
    // Hermitian A, so the determinant is real).
    const int64_t n = an_->n;
    const int64_t w = complex_ ? 2 : 1;
    const double* x = static_cast<const double*>(L_->x);
    double logabs = 0.0;
    int neg = 0;
    // Pivot magnitudes |D_jj| (= L_jj² for LLᵀ): the smallest / largest is the rcond estimate.
    double dmin = INFINITY, dmax = 0.0;
    int64_t argmin = 0;
    auto pivot = [&](int64_t j, double d) {
      d = std::abs(d);
      if (d < dmin) {
        dmin = d;
        argmin = j;
      }
      dmax = std::max(dmax, d);
    };
    if (L_->is_super) {
      for_each_super_diagonal(L_, complex_, [&](int64_t j, double l) {
        logabs += 2.0 * std::log(l);
        pivot(j, l * l);
      });
    } else {
      const int64_t* p = static_cast<const int64_t*>(L_->p);
      for (int64_t j = 0; j < n; ++j) {
        const double d = x[p[j] * w];
        if (L_->is_ll) {
          logabs += 2.0 * std::log(d);
          pivot(j, d * d);
        } else {
          logabs += std::log(std::abs(d));
          neg += d < 0;
          pivot(j, d);
        }
      }
    }
    logabs_ = logabs;
    sign_ = (neg % 2) ? -1.0 : 1.0;
    rcond_ = dmax > 0 ? dmin / dmax : 0.0;
    min_step_ = argmin;
  }

  template <class T>
  at::Tensor takahashi(const at::Tensor& rows, const at::Tensor& cols) const;

  PatternPtr pattern_;
  Kind kind_;
  at::ScalarType dtype_;
  bool complex_ = false;
  std::shared_ptr<Analysis> an_;
  mutable std::mutex mu_;
  mutable CholmodCommon cm_;
  cholmod_factor* L_ = nullptr;
  std::vector<double> ax_;
  bool factored_ = false;
  double logabs_ = 0.0, sign_ = 1.0, rcond_ = 0.0;
  int64_t min_step_ = 0;
  mutable cholmod_dense *X_ = nullptr, *Y_ = nullptr, *E_ = nullptr;
};

// Selected inversion. With P A Pᵀ = L D Lᴴ (L unit lower triangular) and Z = (L D Lᴴ)⁻¹, the
// entries of Z on the pattern of L + Lᴴ satisfy, for j = n-1 down to 0 and S = struct(L(:,j))\{j}:
//   Z(k, j) = - Σ_{i ∈ S} Z(k, i) L(i, j)          (k ∈ S)
//   Z(j, j) = 1 / D(j) - Σ_{i ∈ S} conj(L(i, j)) Z(i, j)
// and every Z(k, i) needed (k, i ∈ S) lies in column min(k, i) of the pattern of L (the fill
// rule), already computed. Z(i, k) = conj(Z(k, i)). Cost Σ_j Σ_{i ∈ S_j} |L(:, i)|.
template <class T>
at::Tensor CholmodFactorization::takahashi(const at::Tensor& rows, const at::Tensor& cols) const {
  cholmod_common& c = cm_.c;
  cholmod_factor* F = cholmod_l_copy_factor(L_, &c);
  TORCH_CHECK(F != nullptr, "dsla: CHOLMOD could not copy the factor (out of memory)");
  struct Guard {
    cholmod_factor** f;
    cholmod_common* c;
    ~Guard() { cholmod_l_free_factor(f, c); }
  } guard{&F, &c};
  const int ok = cholmod_l_change_factor(F->xtype, /*to_ll=*/0, /*to_super=*/0, /*to_packed=*/1,
                                         /*to_monotonic=*/1, F, &c);
  TORCH_CHECK(ok && !F->is_super && !F->is_ll,
              "dsla: CHOLMOD could not convert the factor to "
              "simplicial LDLᵀ (status ",
              c.status, ")");
  const int64_t n = static_cast<int64_t>(F->n);
  const int64_t* Lp = static_cast<const int64_t*>(F->p);
  const int64_t* Li = static_cast<const int64_t*>(F->i);
  const T* Lx = static_cast<const T*>(F->x);
  const int64_t* perm = static_cast<const int64_t*>(F->Perm);
  // Sorted rows per column (diagonal first) are needed for the lookups below.
  for (int64_t j = 0; j < n; ++j) {
    TORCH_CHECK(Lp[j] < Lp[j + 1] && Li[Lp[j]] == j, "dsla: internal: factor column ", j,
                " does not start with its diagonal");
    for (int64_t q = Lp[j] + 1; q + 1 < Lp[j + 1]; ++q)
      TORCH_CHECK(Li[q] < Li[q + 1], "dsla: internal: factor rows are not sorted");
  }
  std::vector<T> Z(static_cast<size_t>(Lp[n]));
  std::vector<int64_t> pos(n, -1);
  std::vector<T> z;
  for (int64_t j = n - 1; j >= 0; --j) {
    const int64_t b = Lp[j] + 1, e = Lp[j + 1], m = e - b;
    for (int64_t t = 0; t < m; ++t) pos[Li[b + t]] = t;
    z.assign(m, T(0));
    for (int64_t t = 0; t < m; ++t) {
      const int64_t i = Li[b + t];
      const T li = Lx[b + t];
      z[t] += Z[Lp[i]] * li;
      int64_t found = 0;
      for (int64_t q = Lp[i] + 1; q < Lp[i + 1]; ++q) {
        const int64_t u = pos[Li[q]];
        if (u >= 0) {
          z[u] += Z[q] * li;
          z[t] += conj_(Z[q]) * Lx[b + u];
          ++found;
        }
      }
      TORCH_CHECK(found == m - 1 - t,
                  "dsla: internal: factor pattern is not closed under fill "
                  "(column ",
                  i, ")");
    }
    T zjj = T(1.0 / std::real(Lx[Lp[j]]));
    for (int64_t t = 0; t < m; ++t) {
      Z[b + t] = -z[t];
      zjj -= conj_(Lx[b + t]) * Z[b + t];
      pos[Li[b + t]] = -1;
    }
    Z[Lp[j]] = T(std::real(zjj));  // real for a Hermitian inverse
  }
  std::vector<int64_t> iperm(n);
  for (int64_t k = 0; k < n; ++k) iperm[perm ? perm[k] : k] = k;
  const at::Tensor r = rows.to(at::kCPU, at::kLong).contiguous();
  const at::Tensor cc = cols.to(at::kCPU, at::kLong).contiguous();
  const int64_t M = r.numel();
  const at::ScalarType out_t = complex_ ? at::kComplexDouble : at::kDouble;
  at::Tensor out = at::empty({M}, at::TensorOptions().dtype(out_t));
  T* o = reinterpret_cast<T*>(out.data_ptr());
  const int64_t* rp = r.data_ptr<int64_t>();
  const int64_t* cp = cc.data_ptr<int64_t>();
  for (int64_t k = 0; k < M; ++k) {
    DSLA_CHECK_INDEX(rp[k] >= 0 && rp[k] < n && cp[k] >= 0 && cp[k] < n, "rows",
                     "inverse_entries: entry ", k, " = (", rp[k], ", ", cp[k],
                     ") is out of range for n = ", n);
    int64_t a = iperm[rp[k]], bb = iperm[cp[k]];
    bool conj = false;
    if (a < bb) {
      std::swap(a, bb);
      conj = true;
    }
    // Z(a, bb), a >= bb: column bb.
    const int64_t* lo = Li + Lp[bb];
    const int64_t* hi = Li + Lp[bb + 1];
    const int64_t* it = std::lower_bound(lo, hi, a);
    TORCH_CHECK(it != hi && *it == a, "dsla: inverse_entries: entry (", rp[k], ", ", cp[k],
                ") is outside the pattern of the factor (only entries of A's pattern are "
                "available by selected inversion)");
    const T val = Z[it - Li];
    o[k] = conj ? conj_(val) : val;
  }
  return out;
}

at::Tensor CholmodFactorization::inverse_entries(const at::Tensor& rows,
                                                 const at::Tensor& cols) const {
  DSLA_CHECK_ARG(rows.dim() == 1 && cols.dim() == 1 && rows.numel() == cols.numel(), "rows",
                 "inverse_entries: rows and cols must be 1-D of equal length, got ", rows.sizes(),
                 " and ", cols.sizes());
  std::lock_guard<std::mutex> lock(mu_);
  TORCH_CHECK(factored_, "dsla: inverse_entries: call factorize(values) first");
  return complex_ ? takahashi<cplx>(rows, cols) : takahashi<double>(rows, cols);
}

}  // namespace

std::unique_ptr<Factorization> make_cholmod_whole(const PatternPtr& pattern, Kind kind,
                                                  at::ScalarType dtype, const std::string& ordering,
                                                  const std::vector<int64_t>* nd_perm) {
  return std::make_unique<CholmodFactorization>(pattern, kind, dtype, ordering, nd_perm);
}

std::unique_ptr<Factorization> make_cholmod(const PatternPtr& pattern, Kind kind,
                                            at::ScalarType dtype, const std::string& ordering) {
  // Large real SPD matrices: the nested-dissection split when it applies (see
  // cholmod_split_factorization.cpp); "nd" reuses the split plan's ordering when it does not.
  if (kind == Kind::Cholesky && !at::isComplexType(dtype)) {
    std::shared_ptr<const std::vector<int64_t>> nd_perm;
    if (auto split = make_cholmod_split(pattern, dtype, ordering, &nd_perm)) return split;
    if (ordering == "nd" && nd_perm)
      return make_cholmod_whole(pattern, kind, dtype, ordering, nd_perm.get());
  }
  return make_cholmod_whole(pattern, kind, dtype, ordering, nullptr);
}

}  // namespace dsla::direct::detail

#endif  // DSLA_HAVE_SUITESPARSE
