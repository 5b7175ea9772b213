// AMG hierarchy: setup (structure + numeric), numeric re-setup, and the V/W cycle.
#include <dsla/amg.h>
#include <dsla/errors.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <vector>

#include "core/products.h"
#include "core/spgemm.h"
#include "solve/amg/amg_internal.h"
#include "solve/amg/cycle.h"

namespace dsla::amg {

using detail::Level;
using detail::LevelStructure;

namespace detail {

void validate_options(const AmgOptions& o) {
  DSLA_CHECK_ARG(o.strength_threshold >= 0 && o.strength_threshold < 1, "strength_threshold",
                 "must be in [0, 1), got ", o.strength_threshold);
  DSLA_CHECK_ARG(o.strength_decay > 0 && o.strength_decay <= 1, "strength_decay",
                 "must be in (0, 1], got ", o.strength_decay);
  DSLA_CHECK_ARG(o.aggregation == "mis2" || o.aggregation == "greedy" || o.aggregation == "auto",
                 "aggregation", "must be \"auto\", \"mis2\" or \"greedy\", got \"", o.aggregation,
                 "\"");
  DSLA_CHECK_ARG(o.prolongation_omega >= 0 && o.prolongation_omega < 2, "prolongation_omega",
                 "must be in [0, 2), got ", o.prolongation_omega);
  DSLA_CHECK_ARG(o.max_levels >= 1, "max_levels", "must be >= 1, got ", o.max_levels);
  DSLA_CHECK_ARG(o.coarse_size >= 1, "coarse_size", "must be >= 1, got ", o.coarse_size);
  DSLA_CHECK_ARG(o.smoother == "chebyshev" || o.smoother == "l1_jacobi" || o.smoother == "auto" ||
                     o.smoother == "mc_sgs" || o.smoother == "dilu",
                 "smoother",
                 "must be \"auto\", \"chebyshev\", \"l1_jacobi\", \"mc_sgs\" or \"dilu\", got \"",
                 o.smoother, "\"");
  DSLA_CHECK_ARG(o.chebyshev_degree >= 1 && o.chebyshev_degree <= 10, "chebyshev_degree",
                 "must be in [1, 10], got ", o.chebyshev_degree);
  DSLA_CHECK_ARG(o.chebyshev_ratio > 1, "chebyshev_ratio", "must be > 1, got ", o.chebyshev_ratio);
  DSLA_CHECK_ARG(o.jacobi_omega > 0 && o.jacobi_omega <= 2, "jacobi_omega",
                 "must be in (0, 2], got ", o.jacobi_omega);
  DSLA_CHECK_ARG(o.pre_sweeps >= 0 && o.post_sweeps >= 0 && o.pre_sweeps + o.post_sweeps > 0,
                 "pre_sweeps", "pre_sweeps and post_sweeps must be >= 0, not both 0");
  DSLA_CHECK_ARG(o.cycle == "V" || o.cycle == "W", "cycle", "must be \"V\" or \"W\", got \"",
                 o.cycle, "\"");
  DSLA_CHECK_ARG(o.eig_iters >= 2, "eig_iters", "must be >= 2, got ", o.eig_iters);
  DSLA_CHECK_ARG(o.gather_size >= 0, "gather_size", "must be >= 0, got ", o.gather_size);
  DSLA_CHECK_ARG(o.block_size >= 1, "block_size", "must be >= 1, got ", o.block_size);
  DSLA_CHECK_ARG(o.symmetric == "auto" || o.symmetric == "yes" || o.symmetric == "no", "symmetric",
                 "must be \"auto\", \"yes\" or \"no\", got \"", o.symmetric, "\"");
}

}  // namespace detail

struct AmgHierarchy::Impl {
  AmgOptions opt;
  int64_t level_offset = 0;  // index of the finest level in a larger (distributed) hierarchy
  SparseMatrix A;            // as given (its dtype is the outer one)
  at::ScalarType level_dtype = at::kDouble;
  bool symmetric = false;          // values of A symmetric
  std::vector<LevelStructure> st;  // one per level but the coarsest
  std::vector<Level> lv;           // one per level
  at::Tensor coarse_inv;           // [B, n, n]; undefined when the coarsest level smooths
  AmgStats stats;
  // The levels as the one cycle (cycle.h) sees them: every level but the coarsest.
  std::vector<std::unique_ptr<detail::CycleLevel>> cycle_levels;

  void numeric(bool first);
  void make_cycle_levels();
  void coarse_solve(const at::Tensor& b, at::Tensor& x, bool zero_guess) const;
  void cycle(const at::Tensor& b, at::Tensor& x, bool zero_guess) const;
};

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void validate_matrix(const SparseMatrix& A) {
  DSLA_CHECK_ARG(A.defined(), "A", "is undefined");
  DSLA_CHECK_ARG(A.rows() == A.cols(), "A", "must be square for AMG, got ", A.rows(), " x ",
                 A.cols());
  DSLA_CHECK_ARG(A.rows() > 0, "A", "is empty");
  DSLA_CHECK_TYPE(A.dtype() == at::kDouble || A.dtype() == at::kFloat, "A",
                  "AMG supports float32 and float64 values, got ", A.dtype());
  const auto& p = *A.pattern();
  if (!p.has_full_diagonal()) {
    auto missing = (p.diag_pos() < 0).nonzero();
    DSLA_CHECK_ARG(false, "A", "AMG needs a stored diagonal in every row; row ",
                   missing[0][0].item<int64_t>(), " has none");
  }
}

at::Tensor values2d(const SparseMatrix& A) {
  auto v = A.values().detach();
  return (v.dim() == 1 ? v.unsqueeze(0) : v).contiguous();
}

at::Tensor inverse_diagonal(const Level& lv) {
  const int64_t B = lv.values.size(0), n = lv.a->rows();
  auto d = lv.values.index_select(1, lv.a->diag_pos());
  return (1.0 / d).view({B, n, 1});
}

}  // namespace

// Numeric setup of every level from lv[0].values (first: also build the structure).
void AmgHierarchy::Impl::numeric(bool first) {
  const bool smoothed = opt.prolongation_omega > 0;
  for (size_t l = 0;; ++l) {
    Level& L = lv[l];
    auto t0 = Clock::now();
    L.dinv = inverse_diagonal(L);
    if (l == 0) {
      DSLA_CHECK_ARG(at::isfinite(L.dinv).all().item<bool>(), "A",
                     "has a zero diagonal entry (AMG smoothers divide by the diagonal)");
    }
    const bool last =
        first ? (L.a->rows() <= opt.coarse_size || static_cast<int64_t>(l) + 1 >= opt.max_levels)
              : l + 1 == lv.size();
    if (!last || opt.smoother == "chebyshev" || smoothed) {
      detail::estimate_spectrum(L, opt.eig_iters, symmetric);
    }
    stats.t_smoother += since(t0);
    bool coarsen = !last;
    if (first && coarsen) {
      LevelStructure S;
      S.a = L.a;
      S.nullspace = l == 0 ? opt.near_nullspace : st[l - 1].coarse_nullspace;
      auto t1 = Clock::now();
      const double theta =
          opt.strength_threshold * std::pow(opt.strength_decay, double(l + level_offset));
      // Block systems: a node's unknowns aggregate together. The finest level's nodes are the
      // user's blocks; a coarse level's are the m unknowns of each aggregate.
      const int64_t blk = opt.block_size > 1 ? (l == 0 ? opt.block_size : S.nullspace.size(1)) : 1;
      PatternPtr sg;
      if (blk > 1) {
        auto node = detail::node_matrix(L.a, L.values[0], blk);
        sg = detail::strength_graph(node.pattern(), node.values(), theta, symmetric);
      } else {
        sg = detail::strength_graph(L.a, L.values[0], theta, symmetric);
      }
      stats.t_strength += since(t1);
      t1 = Clock::now();
      const std::string method =
          opt.aggregation != "auto" ? opt.aggregation : (sg->device().is_cpu() ? "greedy" : "mis2");
      S.n_agg = detail::aggregate(sg, method, opt.seed, S.agg);
      if (blk > 1) S.agg = S.agg.repeat_interleave(blk);  // -1 (unaggregated) stays -1
      S.unaggregated = (S.agg < 0).sum().item<int64_t>();
      stats.t_aggregation += since(t1);
      const int64_t m = S.nullspace.size(1);
      // Stop when aggregation no longer reduces the size (e.g. no strong connections left).
      coarsen = S.n_agg > 0 && S.n_agg * m < L.a->rows();
      if (coarsen) {
        t1 = Clock::now();
        detail::build_tentative(S);
        // The filtered smoothing operator only on the finest level: there the strength
        // threshold is the user's and the dropped entries are real anisotropy; on coarser
        // levels the threshold has decayed and the dropped entries are the small, irregular
        // couplings of the Galerkin products (MIS-2 aggregates make many): lumping them
        // degraded convergence with the size (poisson2d mis2: 13/18/27 PCG iterations at
        // 1024/2048/4096 with, 10/12 at 1024/2048 without) for no sparsity gain.
        if (smoothed && l + level_offset == 0) {
          detail::build_filter(S, blk > 1 ? detail::expand_node_graph(L.a, sg, blk) : sg);
        }
        detail::build_prolongator_pattern(S, smoothed);
        // A device transpose keeps no nnz int64 permutation (Pattern::transpose caches one).
        auto* tr = detail::transpose_stub.on(S.p->device());
        S.pt = tr ? tr(*S.p) : S.p->transpose();
        stats.t_prolongation += since(t1);
        t1 = Clock::now();
        S.ap = dsla::detail::spgemm_pattern(S.a, S.p);
        S.ac = dsla::detail::spgemm_pattern(S.pt, S.ap);
        stats.t_rap += since(t1);
        st.push_back(std::move(S));
        lv.emplace_back();
        lv.back().a = st.back().ac;
      }
    }
    Level& Lc = lv[l];  // (lv may have grown; re-take the reference)
    if (coarsen) {
      LevelStructure& S = st[l];
      auto t1 = Clock::now();
      at::Tensor scale, sv, sd;
      if (smoothed) {
        detail::smoothing_operator(S, Lc, sv, sd);
        auto rho = S.f ? detail::estimate_rho(*S.f, sv, sd, opt.eig_iters, symmetric) : Lc.rho;
        scale = opt.prolongation_omega / rho;
      }
      Lc.p_values = detail::prolongator_values(S, sv, sd, scale, smoothed);
      auto* trv = detail::transpose_values_stub.on(Lc.p_values.device());
      if (trv && at::isFloatingType(Lc.p_values.scalar_type())) {
        Lc.r_values = trv(*S.p, Lc.p_values, *S.pt);
      } else {
        Lc.r_values = detail::gather_values(Lc.p_values, S.p->transpose_perm());
      }
      stats.t_prolongation += since(t1);
      t1 = Clock::now();
      auto ap_pattern = S.ap ? S.ap : dsla::detail::spgemm_pattern(S.a, S.p);
      auto ap = detail::product_values(S.a, Lc.values, S.p, Lc.p_values);
      lv[l + 1].values = detail::product_values(S.pt, Lc.r_values, ap_pattern, ap);
      if (S.a->device().is_cuda()) {
        // A P's pattern (nnz(A P) int32, the largest structure of the level) is not kept on
        // the GPU: a numeric re-setup recomputes it (the symbolic phase costs milliseconds).
        S.ap.reset();
        dsla::detail::spgemm_forget(S.a, S.p);
      }
      stats.t_rap += since(t1);
    }
    auto t2 = Clock::now();
    detail::setup_smoother(lv[l], opt, symmetric);
    stats.t_smoother += since(t2);
    if (!coarsen) break;
  }
  auto t3 = Clock::now();
  const Level& C = lv.back();
  coarse_inv = at::Tensor();
  // Dense coarse solve when small enough; otherwise (coarsening stalled on a big level) smooth.
  if (C.a->rows() <= std::max<int64_t>(opt.coarse_size, 4096)) {
    coarse_inv = detail::coarse_inverse(C, symmetric, stats.coarse_solver);
  } else {
    stats.coarse_solver = "smoother";
  }
  stats.t_coarse += since(t3);
  make_cycle_levels();
}

namespace {

// A level of this hierarchy for the cycle: its smoother, its SpMV, P and R = Pᵀ (as stored).
class LocalLevel final : public detail::CycleLevel {
 public:
  LocalLevel(const Level& L, const LevelStructure& S) : L_(L), S_(S) {}
  void smooth(const at::Tensor& b, at::Tensor& x, bool zero_guess, int64_t sweeps) const override {
    detail::smooth(L_, b, x, zero_guess, sweeps);
  }
  at::Tensor residual(const at::Tensor& b, const at::Tensor& x) const override {
    return detail::residual(L_, b, x);
  }
  at::Tensor restrict_to_coarse(const at::Tensor& r) const override {
    return dsla::detail::spmm(*S_.pt, L_.r_values, r);
  }
  at::Tensor prolong(const at::Tensor& xc) const override {
    return dsla::detail::spmm(*S_.p, L_.p_values, xc);
  }

 private:
  const Level& L_;
  const LevelStructure& S_;
};

}  // namespace

void AmgHierarchy::Impl::make_cycle_levels() {
  cycle_levels.clear();
  for (size_t l = 0; l + 1 < lv.size(); ++l)
    cycle_levels.push_back(std::make_unique<LocalLevel>(lv[l], st[l]));
}

void AmgHierarchy::Impl::coarse_solve(const at::Tensor& b, at::Tensor& x, bool zero_guess) const {
  const Level& C = lv.back();
  if (!coarse_inv.defined()) {
    detail::smooth(C, b, x, zero_guess, 10);
  } else if (zero_guess) {
    x = at::matmul(coarse_inv, b);
  } else {
    x.add_(at::matmul(coarse_inv, detail::residual(C, b, x)));
  }
}

void AmgHierarchy::Impl::cycle(const at::Tensor& b, at::Tensor& x, bool zero_guess) const {
  std::vector<const detail::CycleLevel*> levels;
  levels.reserve(cycle_levels.size());
  for (const auto& c : cycle_levels) levels.push_back(c.get());
  detail::CycleShape shape{opt.pre_sweeps, opt.post_sweeps, opt.cycle == "W"};
  detail::cycle(
      levels,
      [this](const at::Tensor& bc, at::Tensor& xc, bool zero) { coarse_solve(bc, xc, zero); },
      shape, 0, b, x, zero_guess);
}

AmgHierarchy::AmgHierarchy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AmgHierarchy::~AmgHierarchy() = default;

std::shared_ptr<AmgHierarchy> AmgHierarchy::build(const SparseMatrix& A, const AmgOptions& opt,
                                                  int64_t level_offset) {
  auto t0 = Clock::now();
  validate_matrix(A);
  detail::validate_options(opt);
  auto impl = std::make_unique<Impl>();
  impl->opt = opt;
  DSLA_CHECK_ARG(level_offset >= 0, "level_offset", "must be >= 0, got ", level_offset);
  impl->level_offset = level_offset;
  impl->A = A.detach();
  // Mixed precision: the levels are built from A in precond_dtype.
  impl->level_dtype = opt.precond_dtype ? *opt.precond_dtype : A.dtype();
  DSLA_CHECK_TYPE(impl->level_dtype == at::kFloat || impl->level_dtype == at::kDouble,
                  "precond_dtype", "must be torch.float32 or torch.float64, got ",
                  impl->level_dtype);
  const SparseMatrix Aw = impl->level_dtype == A.dtype() ? impl->A : impl->A.to(impl->level_dtype);
  const int64_t n = A.rows();
  auto& ns = impl->opt.near_nullspace;
  const int64_t bs = opt.block_size;
  DSLA_CHECK_ARG(n % bs == 0, "block_size", "must divide the number of rows: ", n, " rows are not ",
                 "a whole number of blocks of ", bs);
  if (!ns.defined() && bs > 1) {
    // One constant vector per component of a node: rows i*b + q get e_q.
    ns = at::eye(bs, Aw.values().options().requires_grad(false)).repeat({n / bs, 1});
  } else if (!ns.defined()) {
    // The constant vector as a broadcast view: no n doubles kept for it.
    ns = at::ones({1, 1}, Aw.values().options().requires_grad(false)).expand({n, 1});
  } else {
    DSLA_CHECK_ARG(ns.dim() == 2 && ns.size(0) == n && ns.size(1) >= 1, "near_nullspace",
                   "must be [n, m] with n = ", n, " rows, got ", ns.sizes());
    ns = ns.detach().to(A.device(), impl->level_dtype).contiguous();
    DSLA_CHECK_ARG(at::isfinite(ns).all().item<bool>(), "near_nullspace", "has non-finite entries");
  }
  impl->stats.near_nullspace_dim = ns.size(1);
  if (opt.symmetric == "auto") {
    impl->symmetric = A.is_symmetric(1e-10, 0.0);
  } else {
    impl->symmetric = opt.symmetric == "yes";
  }
  if (opt.smoother == "auto") impl->opt.smoother = impl->symmetric ? "chebyshev" : "l1_jacobi";
  impl->lv.emplace_back();
  impl->lv[0].a = A.pattern();
  impl->lv[0].values = values2d(Aw);
  impl->numeric(true);
  auto& s = impl->stats;
  const double n0 = static_cast<double>(A.rows()), z0 = static_cast<double>(A.nnz());
  for (size_t l = 0; l < impl->lv.size(); ++l) {
    AmgLevelStats ls;
    ls.rows = impl->lv[l].a->rows();
    ls.nnz = impl->lv[l].a->nnz();
    if (l < impl->st.size()) {
      ls.aggregates = impl->st[l].n_agg;
      ls.unaggregated = impl->st[l].unaggregated;
    }
    s.operator_complexity += ls.nnz / z0;
    s.grid_complexity += ls.rows / n0;
    s.levels.push_back(ls);
  }
  s.t_total = since(t0);
  return std::make_shared<AmgHierarchy>(std::move(impl));
}

void AmgHierarchy::update(const SparseMatrix& A) {
  auto t0 = Clock::now();
  auto& I = *impl_;
  const auto& p0 = *I.A.pattern();
  DSLA_CHECK_ARG(
      A.defined() && A.rows() == p0.rows() && A.cols() == p0.cols() && A.nnz() == p0.nnz(), "A",
      "update() needs the pattern the hierarchy was built for");
  DSLA_CHECK_ARG(A.pattern() == I.A.pattern() || (at::equal(A.pattern()->crow(), p0.crow()) &&
                                                  at::equal(A.pattern()->col(), p0.col())),
                 "A", "update() needs the pattern the hierarchy was built for");
  DSLA_CHECK_ARG(A.batch_size() == I.lv[0].values.size(0), "A",
                 "update() needs the batch size the hierarchy was built for (",
                 I.lv[0].values.size(0), "), got ", A.batch_size());
  DSLA_CHECK_TYPE(A.dtype() == I.A.dtype() && A.device() == I.A.device(), "A",
                  "update() needs the dtype and device the hierarchy was built for");
  I.A = SparseMatrix(I.A.pattern(), A.values().detach(), false);
  I.lv[0].values = values2d(I.level_dtype == I.A.dtype() ? I.A : I.A.to(I.level_dtype));
  auto& s = I.stats;
  s.t_strength = s.t_aggregation = s.t_prolongation = s.t_rap = s.t_smoother = s.t_coarse = 0;
  I.numeric(false);
  s.numeric_only = true;
  s.t_total = since(t0);
}

void AmgHierarchy::cycle(const at::Tensor& b, at::Tensor& x, bool zero_guess) const {
  const auto ld = impl_->level_dtype;
  if (b.scalar_type() == ld) {
    impl_->cycle(b, x, zero_guess);
    return;
  }
  // Mixed precision: the cycle in the levels' dtype, the answer back in the caller's.
  at::Tensor xl = zero_guess ? at::Tensor() : x.to(ld);
  impl_->cycle(b.to(ld), xl, zero_guess);
  if (zero_guess || !x.defined()) {
    x = xl.to(b.scalar_type());
  } else {
    x.copy_(xl);
  }
}

at::Tensor AmgHierarchy::apply(const at::Tensor& r) const {
  at::Tensor x;
  cycle(r, x, true);
  return x;
}

const AmgStats& AmgHierarchy::stats() const {
  return impl_->stats;
}
const AmgOptions& AmgHierarchy::options() const {
  return impl_->opt;
}
int64_t AmgHierarchy::num_levels() const {
  return static_cast<int64_t>(impl_->lv.size());
}
int64_t AmgHierarchy::rows() const {
  return impl_->A.rows();
}
int64_t AmgHierarchy::batch_size() const {
  return impl_->lv[0].values.size(0);
}
at::ScalarType AmgHierarchy::dtype() const {
  return impl_->A.dtype();
}
at::ScalarType AmgHierarchy::level_dtype() const {
  return impl_->level_dtype;
}
c10::Device AmgHierarchy::device() const {
  return impl_->A.device();
}
bool AmgHierarchy::is_symmetric() const {
  return impl_->symmetric && impl_->opt.pre_sweeps == impl_->opt.post_sweeps;
}
const SparseMatrix& AmgHierarchy::matrix() const {
  return impl_->A;
}

namespace {
at::Tensor unbatch(const at::Tensor& v) {
  return v.size(0) == 1 ? v.select(0, 0) : v;
}
}  // namespace

SparseMatrix AmgHierarchy::level_matrix(int64_t l) const {
  DSLA_CHECK_INDEX(l >= 0 && l < num_levels(), "level", "out of range [0, ", num_levels(), ")");
  const auto& L = impl_->lv[l];
  return SparseMatrix(L.a, unbatch(L.values), false);
}
SparseMatrix AmgHierarchy::prolongator(int64_t l) const {
  DSLA_CHECK_INDEX(l >= 0 && l + 1 < num_levels(), "level", "out of range [0, ", num_levels() - 1,
                   ")");
  return SparseMatrix(impl_->st[l].p, unbatch(impl_->lv[l].p_values), false);
}
SparseMatrix AmgHierarchy::tentative_prolongator(int64_t l) const {
  DSLA_CHECK_INDEX(l >= 0 && l + 1 < num_levels(), "level", "out of range [0, ", num_levels() - 1,
                   ")");
  return SparseMatrix(impl_->st[l].t, impl_->st[l].t_values.select(0, 0), false);
}
at::Tensor AmgHierarchy::aggregates(int64_t l) const {
  DSLA_CHECK_INDEX(l >= 0 && l + 1 < num_levels(), "level", "out of range [0, ", num_levels() - 1,
                   ")");
  return impl_->st[l].agg;
}
at::Tensor AmgHierarchy::spectral_radius(int64_t l) const {
  DSLA_CHECK_INDEX(l >= 0 && l < num_levels(), "level", "out of range [0, ", num_levels(), ")");
  const at::Tensor& r = impl_->lv[l].rho;
  return r.defined() ? r.reshape({-1}) : r;
}
at::Tensor AmgHierarchy::near_nullspace(int64_t l) const {
  DSLA_CHECK_INDEX(l >= 0 && l < num_levels(), "level", "out of range [0, ", num_levels(), ")");
  if (l == 0) return impl_->opt.near_nullspace;
  return impl_->st[l - 1].coarse_nullspace;
}

}  // namespace dsla::amg
