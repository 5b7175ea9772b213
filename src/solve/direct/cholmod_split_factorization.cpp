// Cholesky of a large real SPD matrix as two independent CHOLMOD factorizations and a dense
// separator block (one level of nested dissection / Schur complement), so that the two halves of
// the elimination tree factor on two threads with no BLAS or OpenMP threads inside them.
//
// Why: CHOLMOD 3 factors its supernodes one after the other and takes its parallelism from
// multithreaded BLAS and small OpenMP regions. On 2 cores that costs more in thread handoffs
// (futex / sched_yield: seconds of system time for poisson2d:1024) than it gains; see
// bench/NOTES-direct.md.
//
// With dsla's nested dissection, P A Pᵀ = [A00 0 A0s; 0 A11 A1s; As0 As1 Ass], s the top
// separator. Half h partially factors M_h = [Ahh Ahs; Ash Ass]: its own columns are eliminated,
//   M_h = [Lhh 0; Lsh I] [I 0; 0 W_h] [Lhhᵀ Lshᵀ; 0 I],   W_h = Ass − Ash Ahh⁻¹ Ahs,
// (kernels/cpu/supernodal_cholesky.cpp with nfactor = |h|), and W_h is what is left in the
// separator columns. The Schur complement of A on s is then
//   S = Ass − Σ_h Ash Ahh⁻¹ Ahs = W_0 + W_1 − Ass = Ls Lsᵀ   (dense, |s| × |s|),
//   log det A = Σ_h 2 Σ_{j ∈ h} log (Lhh)_jj + 2 Σ_j log (Ls)_jj.
// The separator block of each half's factor is then overwritten by the identity, so that the
// factor is [Lhh 0; Lsh I] and CHOLMOD's solves apply it: L_h⁻¹ [b_h; 0] = [y_h; −Lsh y_h] with
// y_h = Lhh⁻¹ b_h; x_s = S⁻¹ (b_s − Σ_h Lsh y_h); and the first block of L_h⁻ᵀ [y_h; x_s] is
// x_h = Lhhᵀ⁻¹ (y_h − Lshᵀ x_s). Each half: one L and one Lᵀ solve, on its own thread.
//
// CHOLMOD postorders the given order of M_h; the separator must stay in the last |s| positions
// (checked; else the half is analyzed again without postordering), in an order of CHOLMOD's
// (sep_at maps those positions to the global separator order).
#include "solve/direct/cholmod_support.h"

#if DSLA_HAVE_SUITESPARSE

#include "solve/direct/internal.h"

#include "kernels/cpu/nested_dissection.h"
#include "kernels/cpu/supernodal_cholesky.h"

#include <dsla/errors.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <numeric>
#include <sstream>

namespace dsla::direct::detail {
namespace {

// The separator block is dense: at most this many rows (S and Ls are 2 |s|² doubles: 256 MiB at
// 4096), and at most 1/16 of the matrix.
constexpr int64_t kMaxSeparator = 4096;
// The top bisection leaves 45-55 % of the rows on each side (the other bisections 40-60 %):
// the halves factor on two threads, so their balance matters more than the separator's length
// (poisson2d:1024: 60/40 % with 916 separator rows made one half take 1.7x the other's flops;
// 55/45 % with 971 rows evened the two threads out; bench/NOTES-direct.md).
constexpr double kTopBalance = 0.05;

// DSLA_CHOLMOD_SPLIT_MIN_ROWS: the smallest matrix that is split (default 2^17 rows: below it
// one CHOLMOD factorization is fast enough and the ordering would cost more than it saves).
int64_t split_min_rows() {
  const char* e = std::getenv("DSLA_CHOLMOD_SPLIT_MIN_ROWS");
  if (e == nullptr || *e == 0) return int64_t(1) << 17;
  char* end = nullptr;
  const long long v = std::strtoll(e, &end, 10);
  DSLA_CHECK_ARG(*end == 0 && v >= 0, "DSLA_CHOLMOD_SPLIT_MIN_ROWS",
                 "must be a non-negative integer (rows from which a CPU Cholesky is split in two "
                 "halves and a separator), got '",
                 e, "'; unset it for the default 131072");
  return static_cast<int64_t>(v);
}

// Per pattern: the ordering, the two halves' structures and symbolic factors. Immutable after
// construction except the symbolic factors' copies, which take `mu`.
struct SplitPlan {
  bool split = false;  // false: one CHOLMOD factorization (in the nd_perm order for "nd")
  std::shared_ptr<const std::vector<int64_t>> nd_perm;
  int64_t n = 0, ns = 0;
  std::vector<int64_t> sep;  // sep[k]: the row of A that is separator entry k
  struct Half {
    int64_t nh = 0;      // rows of the half; its factor has nh + ns
    int64_t offset = 0;  // its first elimination step in the ND order
    // tril(P M_h Pᵀ) as a lower CSC (P: CHOLMOD's final order); sel: A's CSR index of each entry.
    std::vector<int64_t> p, i, sel;
    std::vector<int64_t> row;     // row[pos]: the row of A at factor position pos < nh
    std::vector<int64_t> sep_at;  // sep_at[t]: the separator entry at factor position nh + t
    CholmodCommon common;
    cholmod_factor* L = nullptr;  // symbolic
    ~Half() {
      if (L) cholmod_l_free_factor(&L, &common.c);
    }
  } half[2];
  std::vector<int64_t> ss_k, ss_l, ss_q;  // the entries of Ass: (k, l) takes A's CSR value q
  std::mutex mu;
};

// Threads for coarse, independent tasks (the two halves; the nested dissection's subtrees):
// at::get_num_threads() bounded by the online cores, or DSLA_DIRECT_THREADS. Such tasks do not
// suffer from a loaded machine the way spinning BLAS workers and fine-grained OpenMP regions do,
// so the load rule of CholmodThreadScope is not applied (it also counts this process's own
// earlier work for 15 minutes, which made back-to-back factorizations of poisson2d:1024 run
// their halves one after the other: ~2.4 s instead of ~1.6 s).
int coarse_threads() {
  if (const int fixed = CholmodThreadScope::fixed_threads(); fixed > 0) return fixed;
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return static_cast<int>(
      std::max<long>(1, std::min<long>(at::get_num_threads(), cores > 0 ? cores : 1)));
}

// OpenMP regions get exactly the threads they ask for (no dynamic adjustment by the load
// average) while it lives.
struct ExactThreads {
  int dyn = omp_get_dynamic();
  ExactThreads() { omp_set_dynamic(0); }
  ~ExactThreads() { omp_set_dynamic(dyn); }
  ExactThreads(const ExactThreads&) = delete;
  ExactThreads& operator=(const ExactThreads&) = delete;
};

// Runs f(0) and f(1) on two OpenMP threads when coarse_threads() allows two, else one after the
// other. Inside an active parallel region CHOLMOD's own OpenMP regions run on one thread
// (nested regions are inactive); OpenBLAS is held to one thread. Exceptions are rethrown.
template <class F>
void for_halves(F&& f) {
  const int threads = std::min(2, coarse_threads());
  CholmodThreadScope scope(/*blas_threads=*/1);
  ExactThreads exact;
  std::exception_ptr err[2];
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int h = 0; h < 2; ++h) {
    try {
      f(h);
    } catch (...) {
      err[h] = std::current_exception();
    }
  }
  for (auto& e : err)
    if (e) std::rethrow_exception(e);
}

// Half h of the plan: M_h's CSR in local numbering (half rows in ND order, then the separator),
// CHOLMOD's symbolic analysis of it in that order (postordered when the separator stays last)
// and the gather map into tril(P M_h Pᵀ).
void analyze_half(SplitPlan& plan, int h, const int64_t* crow, const int64_t* col,
                  const std::vector<int8_t>& part, const std::vector<int64_t>& local) {
  SplitPlan::Half& H = plan.half[h];
  const int64_t nh = H.nh, ns = plan.ns, m = nh + ns;
  const int64_t* perm = plan.nd_perm->data();
  auto global_row = [&](int64_t a) { return a < nh ? perm[H.offset + a] : plan.sep[a - nh]; };
  std::vector<int64_t> lcrow(m + 1, 0), lcol, lq;
  int64_t entries = 0;  // reserved up front: growing them re-faults fresh pages (~1.6 ms/MB)
  for (int64_t a = 0; a < m; ++a) entries += crow[global_row(a) + 1] - crow[global_row(a)];
  lcol.reserve(entries);
  lq.reserve(entries);
  for (int64_t a = 0; a < m; ++a) {
    const int64_t r = global_row(a);
    for (int64_t q = crow[r]; q < crow[r + 1]; ++q) {
      const int64_t c = col[q];
      if (part[c] == 1 - h) continue;  // a separator row's entry in the other half
      lcol.push_back(part[c] == h ? local[c] : nh + local[c]);
      lq.push_back(q);
    }
    lcrow[a + 1] = static_cast<int64_t>(lcol.size());
  }
  std::vector<int64_t> p, i;  // the lower triangle by columns, for CHOLMOD's analysis
  upper_rows_as_lower_csc(m, lcrow.data(), lcol.data(), p, i, nullptr);
  cholmod_sparse A = lower_view(m, p, i, nullptr, false);
  cholmod_common& c = H.common.c;
  c.supernodal = CHOLMOD_SUPERNODAL;
  c.nmethods = 1;
  c.method[0].ordering = CHOLMOD_GIVEN;
  std::vector<int64_t> identity(m);
  std::iota(identity.begin(), identity.end(), int64_t(0));
  auto separator_last = [&] {
    const int64_t* P = static_cast<const int64_t*>(H.L->Perm);
    for (int64_t pos = nh; pos < m; ++pos)
      if (P[pos] < nh) return false;
    return true;
  };
  for (int attempt = 0; attempt < 2; ++attempt) {
    c.postorder = attempt == 0;  // the weighted postorder may move a separator row forward
    if (H.L) cholmod_l_free_factor(&H.L, &c);
    H.L = cholmod_l_analyze_p(&A, identity.data(), nullptr, 0, &c);
    TORCH_CHECK(H.L != nullptr && c.status >= CHOLMOD_OK, "dsla: CHOLMOD analysis failed (status ",
                c.status, ")", c.status == CHOLMOD_OUT_OF_MEMORY ? ": out of memory" : "");
    if (separator_last()) break;
    TORCH_CHECK(attempt == 0, "dsla: internal: CHOLMOD moved the separator without postordering");
  }
  const int64_t* P = static_cast<const int64_t*>(H.L->Perm);
  std::vector<int64_t> lsel;
  permuted_lower(m, lcrow.data(), lcol.data(), P, H.p, H.i, lsel);
  H.sel.resize(lsel.size());
  for (size_t t = 0; t < lsel.size(); ++t) H.sel[t] = lq[lsel[t]];
  H.row.resize(nh);
  for (int64_t pos = 0; pos < nh; ++pos) H.row[pos] = perm[H.offset + P[pos]];
  H.sep_at.resize(ns);
  for (int64_t t = 0; t < ns; ++t) H.sep_at[t] = P[nh + t] - nh;
}

std::shared_ptr<SplitPlan> make_plan(const Pattern& pat) {
  auto plan = std::make_shared<SplitPlan>();
  const CsrInt64 csr = csr_int64(pat);
  const int64_t *crow = csr.crow, *col = csr.col;
  const int64_t n = pat.rows();
  plan->n = n;
  kernels::cpu::NdOrdering nd;
  {
    ExactThreads exact;
    nd = kernels::cpu::nested_dissection<int64_t>(n, crow, col, /*tree_levels=*/2, 64,
                                                  kernels::cpu::NdLayout::Postorder,
                                                  coarse_threads(), kTopBalance);
  }
  plan->nd_perm = std::make_shared<const std::vector<int64_t>>(std::move(nd.perm));
  // Not split: an empty half (a tiny matrix), or a separator too large for the dense block.
  const int64_t n0 = nd.tree[0], n1 = nd.tree[1], ns = nd.tree[2];
  if (n0 == 0 || n1 == 0 || ns > kMaxSeparator || ns * 16 > n) return plan;
  plan->ns = ns;
  const int64_t* perm = plan->nd_perm->data();
  plan->sep.assign(perm + n0 + n1, perm + n);
  // part[v]: 0, 1 (the halves) or 2 (the separator); local[v]: its index within the part.
  std::vector<int8_t> part(n);
  std::vector<int64_t> local(n);
  for (int64_t k = 0; k < n; ++k) {
    const int8_t pt = k < n0 ? 0 : (k < n0 + n1 ? 1 : 2);
    part[perm[k]] = pt;
    local[perm[k]] = k - (pt == 0 ? 0 : (pt == 1 ? n0 : n0 + n1));
  }
  for (int64_t r = 0; r < n; ++r)
    for (int64_t q = crow[r]; q < crow[r + 1]; ++q)
      TORCH_CHECK(part[r] == 2 || part[col[q]] == 2 || part[r] == part[col[q]],
                  "dsla: internal: the nested dissection's separator does not separate rows ", r,
                  " and ", col[q]);
  for (int64_t k = 0; k < ns; ++k) {
    const int64_t r = plan->sep[k];
    for (int64_t q = crow[r]; q < crow[r + 1]; ++q) {
      if (part[col[q]] != 2) continue;
      plan->ss_k.push_back(k);
      plan->ss_l.push_back(local[col[q]]);
      plan->ss_q.push_back(q);
    }
  }
  plan->half[0].nh = n0;
  plan->half[1].nh = n1;
  plan->half[1].offset = n0;
  for_halves([&](int h) { analyze_half(*plan, h, crow, col, part, local); });
  count_analysis();
  plan->split = true;
  return plan;
}

class SplitCholesky final : public Factorization {
 public:
  SplitCholesky(PatternPtr pattern, at::ScalarType dtype, std::shared_ptr<SplitPlan> plan)
      : pattern_(std::move(pattern)), dtype_(dtype), plan_(std::move(plan)) {
    std::lock_guard<std::mutex> lock(plan_->mu);
    for (int h = 0; h < 2; ++h) {
      Half& N = num_[h];
      N.L = cholmod_l_copy_factor(plan_->half[h].L, &plan_->half[h].common.c);
      TORCH_CHECK(N.L != nullptr,
                  "dsla: CHOLMOD could not copy the symbolic factor (out of memory)");
      N.cm.c.supernodal = CHOLMOD_SUPERNODAL;
      N.cm.c.final_ll = 1;
    }
  }

  ~SplitCholesky() override {
    for (Half& N : num_) {
      cholmod_common* c = &N.cm.c;
      if (N.L) cholmod_l_free_factor(&N.L, c);
      for (cholmod_dense** d : {&N.X, &N.Z, &N.Y, &N.E})
        if (*d) cholmod_l_free_dense(d, c);
    }
  }

  void factorize(const at::Tensor& values) override {
    const at::Tensor v = prepare_values(values, pattern_->nnz(), dtype_, "cholesky");
    check_symmetric_values(*pattern_, v, dtype_, "cholesky");
    std::lock_guard<std::mutex> lock(mu_);
    factored_ = false;
    whole_.reset();
    const double* a = v.data_ptr<double>();
    const int64_t ns = plan_->ns;
    int64_t minor[2] = {-1, -1};
    for_halves([&](int h) {
      const SplitPlan::Half& H = plan_->half[h];
      Half& N = num_[h];
      N.ax.resize(H.sel.size());
      for (size_t t = 0; t < H.sel.size(); ++t) N.ax[t] = a[H.sel[t]];
      cholmod_common& c = N.cm.c;
      if (N.L->xtype == CHOLMOD_PATTERN) {
        TORCH_CHECK(cholmod_l_change_factor(CHOLMOD_REAL, 1, 1, 1, 1, N.L, &c),
                    "dsla: CHOLMOD could not allocate the factor (status ", c.status, ")",
                    c.status == CHOLMOD_OUT_OF_MEMORY ? ": out of memory" : "");
      }
      // Our numeric kernel on CHOLMOD's symbolic factor (no OpenMP regions per supernode);
      // CHOLMOD solves with the result.
      const kernels::cpu::SupernodalPattern sp = supernodal_view(N.L);
      const int64_t done = kernels::cpu::supernodal_cholesky(
          sp, H.p.data(), H.i.data(), N.ax.data(), static_cast<double*>(N.L->x), H.nh);
      if (done < H.nh + ns) minor[h] = done;  // only the half's own columns are eliminated
    });
    for (int h = 0; h < 2; ++h) {
      if (minor[h] < 0) continue;
      const SplitPlan::Half& H = plan_->half[h];
      not_positive_definite(H.offset + minor[h], H.row[minor[h]]);
    }
    // S = W_0 + W_1 − Ass in the global separator order; each half's separator block becomes
    // the identity for its solves.
    at::Tensor S = at::zeros({ns, ns}, at::TensorOptions().dtype(at::kDouble));
    double* s = S.data_ptr<double>();
    for (int h = 0; h < 2; ++h) take_schur_block(plan_->half[h], num_[h].L, s);
    for (size_t e = 0; e < plan_->ss_q.size(); ++e)
      s[plan_->ss_k[e] * ns + plan_->ss_l[e]] -= a[plan_->ss_q[e]];
    Ls_ = S;  // 0 x 0 when the halves are not connected (then there is nothing to factor)
    if (ns > 0) {
      at::Tensor info;
      std::tie(Ls_, info) = at::linalg_cholesky_ex(S, /*upper=*/false, /*check_errors=*/false);
      if (const int64_t bad = info.item<int64_t>(); bad > 0)
        not_positive_definite(plan_->n - ns + bad - 1, plan_->sep[bad - 1]);
    }
    compute_logdet();
    if (rcond_ < pivot_tol_) {
      std::ostringstream msg;
      msg << "cholesky: the matrix is singular to working precision: smallest pivot / largest = "
          << rcond_ << " < pivot_tolerance " << pivot_tol_ << " at elimination step " << min_step_
          << " (row/column " << min_row_ << " of A); a positive semidefinite matrix with a null "
          << "space (e.g. a pure Neumann Laplacian) needs regularization or a constraint";
      throw_singular(msg.str(), min_row_);
    }
    values_ = v;
    factored_ = true;
  }

  double rcond() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return factored_ ? rcond_ : 0.0;
  }

  at::Tensor solve(const at::Tensor& b, bool adjoint) const override {
    (void)adjoint;  // A is symmetric: A⁻ᵀ = A⁻¹
    const int64_t n = plan_->n, ns = plan_->ns;
    return solve_with(b, dtype_, n, "cholesky solve", [&](const at::Tensor& bcm) {
      std::lock_guard<std::mutex> lock(mu_);
      TORCH_CHECK(factored_, "dsla: cholesky solve: call factorize(values) first");
      const int64_t k = bcm.size(0);
      const double* bb = bcm.data_ptr<double>();
      at::Tensor x = at::empty({k, n}, bcm.options());
      double* xx = x.data_ptr<double>();
      // w: Σ_h of the separator blocks of L_h⁻¹ [b_h; 0] (= −Lsh y_h), global order, [ns, k].
      at::Tensor w = at::zeros({2, ns, k}, bcm.options());
      for_halves([&](int h) {
        const SplitPlan::Half& H = plan_->half[h];
        Half& N = num_[h];
        const int64_t m = H.nh + ns;
        N.b.assign(static_cast<size_t>(m * k), 0.0);
        for (int64_t j = 0; j < k; ++j)
          for (int64_t pos = 0; pos < H.nh; ++pos) N.b[j * m + pos] = bb[j * n + H.row[pos]];
        cholmod_dense B = dense_view(N.b.data(), m, k);
        solve_system(CHOLMOD_L, N, &B, &N.X);
        const double* y = static_cast<const double*>(N.X->x);
        double* wh = w[h].data_ptr<double>();
        for (int64_t t = 0; t < ns; ++t)
          for (int64_t j = 0; j < k; ++j) wh[H.sep_at[t] * k + j] = y[j * N.X->d + H.nh + t];
      });
      // x_s = S⁻¹ (b_s − Σ_h Lsh y_h)
      at::Tensor rhs = w[0] + w[1];
      double* r = rhs.data_ptr<double>();
      for (int64_t t = 0; t < ns; ++t)
        for (int64_t j = 0; j < k; ++j) r[t * k + j] += bb[j * n + plan_->sep[t]];
      const at::Tensor xs =
          ns > 0 ? at::cholesky_solve(rhs, Ls_, /*upper=*/false).contiguous() : rhs;
      const double* xsd = xs.data_ptr<double>();
      for (int64_t t = 0; t < ns; ++t)
        for (int64_t j = 0; j < k; ++j) xx[j * n + plan_->sep[t]] = xsd[t * k + j];
      for_halves([&](int h) {
        const SplitPlan::Half& H = plan_->half[h];
        Half& N = num_[h];
        // [y_h; x_s] in place of the forward solution, then L_h⁻ᵀ of it.
        double* y = static_cast<double*>(N.X->x);
        for (int64_t t = 0; t < ns; ++t)
          for (int64_t j = 0; j < k; ++j) y[j * N.X->d + H.nh + t] = xsd[H.sep_at[t] * k + j];
        solve_system(CHOLMOD_Lt, N, N.X, &N.Z);
        const double* z = static_cast<const double*>(N.Z->x);
        for (int64_t j = 0; j < k; ++j)
          for (int64_t pos = 0; pos < H.nh; ++pos) xx[j * n + H.row[pos]] = z[j * N.Z->d + pos];
      });
      return x;
    });
  }

  std::pair<at::Tensor, at::Tensor> slogdet() const override {
    std::lock_guard<std::mutex> lock(mu_);
    TORCH_CHECK(factored_, "dsla: slogdet: call factorize(values) first");
    return detail::slogdet_tensors(c10::complex<double>(1.0, 0.0), logabs_, dtype_);
  }

  Kind kind() const override { return Kind::Cholesky; }

  std::string name() const override { return "cholmod-supernodal-llt(nd, split)"; }

  // Selected inversion needs one factor of the whole matrix: a CHOLMOD factorization in the
  // same nested-dissection order is made on first use (one more factorization, about the cost
  // of the selected inversion itself) and kept until the next factorize().
  at::Tensor inverse_entries(const at::Tensor& rows, const at::Tensor& cols) const override {
    std::lock_guard<std::mutex> lock(mu_);
    TORCH_CHECK(factored_, "dsla: inverse_entries: call factorize(values) first");
    if (!whole_) {
      auto f = make_cholmod_whole(pattern_, Kind::Cholesky, dtype_, "nd", plan_->nd_perm.get());
      f->set_pivot_tolerance(0.0);
      f->factorize(values_);
      whole_ = std::move(f);
    }
    return whole_->inverse_entries(rows, cols);
  }

 private:
  struct Half {
    CholmodCommon cm;
    cholmod_factor* L = nullptr;
    std::vector<double> ax, b;
    cholmod_dense *X = nullptr, *Z = nullptr, *Y = nullptr, *E = nullptr;
  };

  static cholmod_dense dense_view(double* x, int64_t rows, int64_t cols) {
    cholmod_dense B{};
    B.nrow = B.d = static_cast<size_t>(rows);
    B.ncol = static_cast<size_t>(cols);
    B.nzmax = static_cast<size_t>(rows * cols);
    B.x = x;
    B.xtype = CHOLMOD_REAL;
    B.dtype = CHOLMOD_DOUBLE;
    return B;
  }

  static void solve_system(int sys, Half& N, cholmod_dense* B, cholmod_dense** X) {
    cholmod_common& c = N.cm.c;
    const int ok = cholmod_l_solve2(sys, N.L, B, nullptr, X, nullptr, &N.Y, &N.E, &c);
    TORCH_CHECK(ok && *X != nullptr, "dsla: CHOLMOD solve failed (status ", c.status, ")");
  }

  // Adds the Schur complement W_h left in the separator columns of half H's partial factor to
  // s ([ns, ns] row-major, global separator order, both triangles), then makes that block of
  // the factor the identity.
  void take_schur_block(const SplitPlan::Half& H, cholmod_factor* L, double* s) const {
    const int64_t nh = H.nh, ns = plan_->ns;
    const int64_t* super = static_cast<const int64_t*>(L->super);
    const int64_t* pi = static_cast<const int64_t*>(L->pi);
    const int64_t* px = static_cast<const int64_t*>(L->px);
    const int64_t* Ls = static_cast<const int64_t*>(L->s);
    double* x = static_cast<double*>(L->x);
    for (size_t sn = 0; sn < L->nsuper; ++sn) {
      const int64_t k1 = super[sn], k2 = super[sn + 1];
      if (k2 <= nh) continue;
      const int64_t nsrow = pi[sn + 1] - pi[sn];
      for (int64_t j = std::max(k1, nh); j < k2; ++j) {
        double* xc = x + px[sn] + (j - k1) * nsrow;
        const int64_t b = H.sep_at[j - nh];
        for (int64_t ii = j - k1; ii < nsrow; ++ii) {  // rows j.. (all in the separator)
          const int64_t a = H.sep_at[Ls[pi[sn] + ii] - nh];
          s[a * ns + b] += xc[ii];
          if (a != b) s[b * ns + a] += xc[ii];
          xc[ii] = ii == j - k1 ? 1.0 : 0.0;
        }
      }
    }
  }

  [[noreturn]] void not_positive_definite(int64_t step, int64_t row) const {
    std::ostringstream msg;
    msg << "cholesky: the matrix is not positive definite (elimination step " << step
        << ", row/column " << row
        << " of A); for a symmetric indefinite matrix use method='ldlt' or 'lu'";
    throw_singular(msg.str(), row);
  }

  void compute_logdet() {
    double logabs = 0.0, dmin = INFINITY, dmax = 0.0;
    auto pivot = [&](int64_t step, int64_t row, double l) {
      logabs += 2.0 * std::log(l);
      const double d = l * l;
      if (d < dmin) {
        dmin = d;
        min_step_ = step;
        min_row_ = row;
      }
      dmax = std::max(dmax, d);
    };
    for (int h = 0; h < 2; ++h) {
      const SplitPlan::Half& H = plan_->half[h];
      for_each_super_diagonal(num_[h].L, false, [&](int64_t j, double l) {
        if (j < H.nh) pivot(H.offset + j, H.row[j], l);
      });
    }
    const int64_t ns = plan_->ns;
    const double* ls = Ls_.data_ptr<double>();
    for (int64_t t = 0; t < ns; ++t) pivot(plan_->n - ns + t, plan_->sep[t], ls[t * ns + t]);
    logabs_ = logabs;
    rcond_ = dmax > 0 ? dmin / dmax : 0.0;
  }

  PatternPtr pattern_;
  at::ScalarType dtype_;
  std::shared_ptr<SplitPlan> plan_;
  mutable std::mutex mu_;
  mutable Half num_[2];
  at::Tensor Ls_, values_;
  mutable std::unique_ptr<Factorization> whole_;
  bool factored_ = false;
  double logabs_ = 0.0, rcond_ = 0.0;
  int64_t min_step_ = 0, min_row_ = 0;
};

}  // namespace

std::unique_ptr<Factorization> make_cholmod_split(
    const PatternPtr& pattern, at::ScalarType dtype, const std::string& ordering,
    std::shared_ptr<const std::vector<int64_t>>* nd_perm) {
  if (at::isComplexType(dtype) || (ordering != "auto" && ordering != "nd") ||
      pattern->rows() < split_min_rows() || !pattern->is_structurally_symmetric())
    return nullptr;
  auto plan = pattern->cached<SplitPlan>("dsla.direct.cholmod.llt-split",
                                         [&] { return make_plan(*pattern); });
  if (nd_perm) *nd_perm = plan->nd_perm;
  if (!plan->split) return nullptr;
  return std::make_unique<SplitCholesky>(pattern, dtype, plan);
}

}  // namespace dsla::direct::detail

#endif  // DSLA_HAVE_SUITESPARSE
