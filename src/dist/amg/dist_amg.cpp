// DistAmg (dist.h): the distributed levels (dist_level.h) while the global size is above
// opt.gather_size, then the gathered level's one-device hierarchy, replicated on every rank; one
// cycle (src/solve/amg/cycle.h) over both.
#include <dsla/dist.h>
#include <dsla/errors.h>

#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <sstream>

#include "dist/amg/dist_level.h"
#include "dist/dist_internal.h"

namespace dsla::dist {

namespace ad = dsla::amg::detail;
using amg_detail::DistLevel;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// [B, n, k] owned slices -> [B, N, k] on every rank (rows in global order); `ids` is every
// rank's owned ids in rank order (all-gathered once at setup), so a cycle gathers values only.
at::Tensor gather3(const Comm& C, const at::Tensor& ids, const at::Tensor& x3) {
  auto all = C.allgatherv(x3.permute({1, 0, 2}).contiguous());  // [N, B, k], rank order
  auto out = at::empty_like(all);
  out.index_copy_(0, ids, all);
  return out.permute({1, 0, 2}).contiguous();
}

}  // namespace

struct DistAmg::Impl {
  amg::AmgOptions opt;  // as resolved (smoother, symmetric)
  DistMatrix A;         // detached
  bool symmetric = false;
  std::vector<std::unique_ptr<DistLevel>> levels;  // levels with a distributed transfer
  DistMatrix last;                                 // the gathered level
  at::Tensor last_owned;                           // its owned ids on the device
  at::Tensor last_ids;  // every rank's owned ids of `last`, in rank order, on the device
  amg::AmgHierarchyPtr coarse;
  amg::AmgStats stats;
  std::vector<const ad::CycleLevel*> cycle_levels;

  void gather_coarse(bool first);
  void coarse_solve(const at::Tensor& b, at::Tensor& x, bool zero_guess) const {
    const auto& C = last.comm();
    auto bg = gather3(C, last_ids, b);
    at::Tensor xg;
    if (zero_guess) {
      xg = coarse->apply(bg);
    } else {
      xg = gather3(C, last_ids, x);
      coarse->cycle(bg, xg, false);
    }
    x = xg.index_select(1, last_owned).contiguous();
  }
};

void DistAmg::Impl::gather_coarse(bool first) {
  auto t0 = Clock::now();
  auto G = last.gather_matrix();
  if (first) {
    amg::AmgOptions copt = opt;
    // The gathered level's near-nullspace: the last transfer's coarse one (not constant: the
    // aggregates' norms), or the user's on the finest level.
    at::Tensor ns = levels.empty() ? opt.near_nullspace : levels.back()->st.coarse_nullspace;
    copt.near_nullspace = ns.defined() ? last.gather(ns.contiguous()) : at::Tensor();
    copt.max_levels = std::max<int64_t>(1, opt.max_levels - static_cast<int64_t>(levels.size()));
    copt.symmetric = symmetric ? "yes" : "no";
    coarse = amg::AmgHierarchy::build(G, copt, static_cast<int64_t>(levels.size()));
    last_owned = last.owned().to(last.device());
    last_ids = last.comm().allgatherv(last.owned()).to(last.device());
  } else {
    coarse->update(G);
  }
  stats.t_coarse += since(t0);
}

DistAmg::DistAmg(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DistAmg::~DistAmg() = default;

namespace {

void check_matrix(const DistMatrix& A) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an empty (default-constructed) distributed matrix");
  const auto& C = A.comm();
  std::string err;
  if (!(A.dtype() == at::kDouble || A.dtype() == at::kFloat)) {
    std::ostringstream m;
    m << "argument 'A': AMG supports torch.float32 and torch.float64 values, got " << A.dtype();
    err = m.str();
  } else if (A.n_owned() > 0 && !A.diag().pattern()->has_full_diagonal()) {
    err =
        "argument 'A': AMG needs a stored diagonal entry in every row; a row owned by this "
        "rank has none";
  } else if (!detail::values_finite(A)) {
    err = "argument 'A': values contain NaN or Inf on this rank";
  }
  C.agree(err.empty(), err);
}

}  // namespace

std::shared_ptr<DistAmg> DistAmg::build(const DistMatrix& A_in, const amg::AmgOptions& opt_in) {
  auto t0 = Clock::now();
  check_matrix(A_in);
  ad::validate_options(opt_in);
  auto impl = std::make_unique<Impl>();
  auto& I = *impl;
  I.opt = opt_in;
  auto& opt = I.opt;
  // A twin (benchmarks): its loopback halo makes each ghost coupling a coupling of the rank's own
  // mirrored boundary row, so its hierarchy is the AMG of that operator — the real rank's work
  // on the fine level (its aggregates, ghost rows of T and P, halo exchanges), coarse levels
  // without a halo (their ghost ids are this rank's). It cannot be gathered as a whole.
  DSLA_CHECK_ARG(!A_in.is_twin() || (A_in.rows() > opt.gather_size && opt.max_levels > 1),
                 "gather_size",
                 "must be below the twin's global size (a weak-scaling twin cannot be gathered: "
                 "the whole matrix is not there), got gather_size = ",
                 opt.gather_size, " for N = ", A_in.rows(), " and max_levels = ", opt.max_levels);
  I.A = A_in.detach();
  const auto& C = I.A.comm();
  const int64_t n = I.A.n_owned();
  if (opt.symmetric == "auto") {
    auto op = detail::make_operator(I.A, false);
    I.symmetric = detail::probably_hermitian(I.A, *op);
  } else {
    I.symmetric = opt.symmetric == "yes";
  }
  if (opt.smoother == "auto") opt.smoother = I.symmetric ? "chebyshev" : "l1_jacobi";
  DSLA_CHECK_ARG(
      !opt.precond_dtype || *opt.precond_dtype == I.A.dtype() || I.A.rows() <= opt.gather_size,
      "precond_dtype",
      "mixed precision is not available on distributed levels yet (a hierarchy "
      "gathered at once, N <= gather_size, takes it); leave precond_dtype unset");
  DSLA_CHECK_ARG(
      I.A.rows() <= opt.gather_size || opt.smoother == "chebyshev" || opt.smoother == "l1_jacobi",
      "smoother", "'", opt.smoother,
      "' orders the rows of one process; distributed levels smooth with 'chebyshev' or "
      "'l1_jacobi' (a level gathered below gather_size may use it)");
  // Node aggregation needs a node's rows on one rank and node-aware ghost rows: not yet.
  DSLA_CHECK_ARG(opt.block_size == 1, "block_size",
                 "block systems (block_size > 1) are not available for distributed matrices yet; "
                 "leave block_size at 1 (scalar aggregation) and pass the near_nullspace");
  // Near-nullspace: this rank's rows.
  at::Tensor ns = opt.near_nullspace;
  {
    const bool given = ns.defined();
    C.check_same(static_cast<int64_t>(given), "near_nullspace", "whether it is given");
    if (given) {
      std::string err;
      if (ns.dim() != 2 || ns.size(0) != n || ns.size(1) < 1) {
        std::ostringstream m;
        m << "argument 'near_nullspace': must be this rank's owned rows [n_owned, m] = [" << n
          << ", m], got " << ns.sizes();
        err = m.str();
      } else if (!at::isfinite(ns).all().item<bool>()) {
        err = "argument 'near_nullspace': has non-finite entries on this rank";
      }
      C.agree(err.empty(), err);
      C.check_same(ns.size(1), "near_nullspace", "the number of vectors m");
      ns = ns.detach().to(I.A.device(), I.A.dtype()).contiguous();
      opt.near_nullspace = ns;
    } else {
      ns = at::ones({n, 1}, I.A.values().options().requires_grad(false));
    }
  }
  I.stats.near_nullspace_dim = ns.size(1);

  DistMatrix cur = I.A;
  for (int64_t l = 0;; ++l) {
    amg::AmgLevelStats ls;
    ls.rows = cur.rows();
    ls.nnz = cur.nnz();
    I.stats.levels.push_back(ls);
    if (cur.rows() <= opt.gather_size || l + 1 >= opt.max_levels) break;
    auto L = std::make_unique<DistLevel>();
    L->A = cur;
    auto t1 = Clock::now();
    L->trace.start(cur.device(), l);
    amg_detail::level_operator(*L);
    amg_detail::level_numeric(*L, opt, I.symmetric);
    I.stats.t_smoother += since(t1);
    L->st.nullspace = ns;
    const double theta = opt.strength_threshold * std::pow(opt.strength_decay, double(l));
    DistMatrix next;
    if (!amg_detail::build_transfer(*L, opt, theta, I.symmetric, l == 0, next, I.stats)) {
      I.stats.levels.back().aggregates = 0;
      break;
    }
    cur = amg_detail::transfer_numeric(*L, opt, I.symmetric, next, I.stats);
    ns = L->st.coarse_nullspace;
    I.levels.push_back(std::move(L));
  }
  I.last = cur;
  I.gather_coarse(true);
  // Levels: the distributed ones, then the replicated hierarchy's (its first is `last`).
  I.stats.levels.pop_back();
  const auto& cs = I.coarse->stats();
  for (const auto& ls : cs.levels) I.stats.levels.push_back(ls);
  const double n0 = double(I.A.rows()), z0 = double(std::max<int64_t>(1, I.A.nnz()));
  I.stats.operator_complexity = I.stats.grid_complexity = 0;
  for (const auto& ls : I.stats.levels) {
    I.stats.operator_complexity += ls.nnz / z0;
    I.stats.grid_complexity += ls.rows / n0;
  }
  I.stats.coarse_solver = cs.coarse_solver;
  I.stats.t_strength += cs.t_strength;
  I.stats.t_aggregation += cs.t_aggregation;
  I.stats.t_prolongation += cs.t_prolongation;
  I.stats.t_rap += cs.t_rap;
  I.stats.t_smoother += cs.t_smoother;
  for (const auto& L : I.levels) I.cycle_levels.push_back(L.get());
  I.stats.t_total = since(t0);
  return std::make_shared<DistAmg>(std::move(impl));
}

void DistAmg::update(const DistMatrix& A_in) {
  auto t0 = Clock::now();
  auto& I = *impl_;
  check_matrix(A_in);
  const auto& C = I.A.comm();
  std::string err;
  if (A_in.rows() != I.A.rows() || A_in.local_nnz() != I.A.local_nnz() ||
      A_in.n_owned() != I.A.n_owned() || A_in.n_ghost() != I.A.n_ghost() ||
      !at::equal(A_in.owned(), I.A.owned()) ||
      !at::equal(A_in.diag().pattern()->col(), I.A.diag().pattern()->col()) ||
      !at::equal(A_in.offd().pattern()->col(), I.A.offd().pattern()->col())) {
    err =
        "argument 'A': update() needs the distributed pattern the hierarchy was built for "
        "(A.with_values(new_values))";
  } else if (A_in.dtype() != I.A.dtype() || A_in.device() != I.A.device() ||
             A_in.batch_size() != I.A.batch_size()) {
    err =
        "argument 'A': update() needs the dtype, device and batch size the hierarchy was "
        "built for";
  }
  C.agree(err.empty(), err);
  I.A = A_in.detach();
  auto& s = I.stats;
  s.t_strength = s.t_aggregation = s.t_prolongation = s.t_rap = s.t_smoother = s.t_coarse = 0;
  DistMatrix cur = I.A;
  for (size_t l = 0; l < I.levels.size(); ++l) {
    auto& L = *I.levels[l];
    L.A = cur;
    auto t1 = Clock::now();
    L.trace.start(cur.device(), static_cast<int64_t>(l));
    if (L.aloc) {
      L.op = detail::make_operator(cur, false);
    } else {  // released after the setup on the GPU (transfer_numeric)
      amg_detail::level_operator(L);
      L.st.a = L.aloc;
    }
    amg_detail::level_numeric(L, I.opt, I.symmetric);
    s.t_smoother += since(t1);
    const DistMatrix& next = l + 1 < I.levels.size() ? I.levels[l + 1]->A : I.last;
    cur = amg_detail::transfer_numeric(L, I.opt, I.symmetric, next, s);
  }
  I.last = cur;
  I.gather_coarse(false);
  s.numeric_only = true;
  s.t_total = since(t0);
}

void DistAmg::cycle(const at::Tensor& b3, at::Tensor& x3, bool zero_guess) const {
  const auto& I = *impl_;
  std::string err;
  if (b3.dim() != 3 || b3.size(1) != I.A.n_owned()) {
    std::ostringstream m;
    m << "argument 'b': has shape " << b3.sizes()
      << "; expected [B, n_owned, k] with n_owned = " << I.A.n_owned();
    err = m.str();
  } else if (b3.scalar_type() != I.A.dtype() || b3.device() != I.A.device()) {
    std::ostringstream m;
    m << "argument 'b': is " << b3.scalar_type() << " on " << b3.device() << "; the hierarchy is "
      << I.A.dtype() << " on " << I.A.device();
    err = m.str();
  } else if (!zero_guess && (!x3.defined() || x3.sizes() != b3.sizes())) {
    err = "argument 'x': must have b's shape when zero_guess is false";
  }
  I.A.comm().agree(err.empty(), err);
  ad::CycleShape shape{I.opt.pre_sweeps, I.opt.post_sweeps, I.opt.cycle == "W"};
  ad::cycle(
      I.cycle_levels,
      [&I](const at::Tensor& b, at::Tensor& x, bool zero) { I.coarse_solve(b, x, zero); }, shape, 0,
      b3.contiguous(), x3, zero_guess);
}

at::Tensor DistAmg::apply(const at::Tensor& r3) const {
  at::Tensor x;
  cycle(r3, x, true);
  return x;
}

namespace {

// M⁻¹ = one cycle, as an operator on owned slices. Its own adjoint: for symmetric A the cycle is
// symmetric; otherwise it is still a preconditioner of Aᴴ (a worse one), which a nonsymmetric
// Krylov method converges with.
class AmgOperator final : public LinearOperator {
 public:
  explicit AmgOperator(std::shared_ptr<const DistAmg> h) : h_(std::move(h)) {}
  int64_t rows() const override { return h_->matrix().n_owned(); }
  int64_t cols() const override { return rows(); }
  at::ScalarType dtype() const override { return h_->matrix().dtype(); }
  c10::Device device() const override { return h_->matrix().device(); }
  void apply(const at::Tensor& x, at::Tensor& y) const override { y.copy_(h_->apply(x)); }
  bool has_adjoint() const override { return true; }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override { apply(x, y); }
  const DistAmg& hierarchy() const { return *h_; }

 private:
  std::shared_ptr<const DistAmg> h_;
};

}  // namespace

namespace detail {
const DistAmg* dist_amg_of(const LinearOperator& op) {
  const auto* a = dynamic_cast<const AmgOperator*>(&op);
  return a ? &a->hierarchy() : nullptr;
}
}  // namespace detail

LinearOperatorPtr DistAmg::as_operator() const {
  return std::make_shared<AmgOperator>(shared_from_this());
}

int64_t DistAmg::num_levels() const {
  return num_distributed_levels() + impl_->coarse->num_levels();
}
int64_t DistAmg::num_distributed_levels() const {
  return static_cast<int64_t>(impl_->levels.size());
}
DistMatrix DistAmg::level_matrix(int64_t l) const {
  const int64_t d = num_distributed_levels();
  DSLA_CHECK_INDEX(l >= 0 && l <= d, "level", "out of range [0, ", d,
                   "] (the distributed levels and the gathered one; coarse() holds the rest)");
  return l < d ? impl_->levels[l]->A : impl_->last;
}
at::Tensor DistAmg::prolong(int64_t l, const at::Tensor& xc3) const {
  DSLA_CHECK_INDEX(l >= 0 && l < num_distributed_levels(), "level", "out of range [0, ",
                   num_distributed_levels(), ")");
  const auto& L = *impl_->levels[l];
  DSLA_CHECK_ARG(xc3.dim() == 3 && xc3.size(1) == L.pplan->n_owned, "xc", "has shape ", xc3.sizes(),
                 "; expected [B, n_owned of level ", l + 1, ", k]");
  return L.prolong(xc3.contiguous());
}
at::Tensor DistAmg::restrict_to_coarse(int64_t l, const at::Tensor& r3) const {
  DSLA_CHECK_INDEX(l >= 0 && l < num_distributed_levels(), "level", "out of range [0, ",
                   num_distributed_levels(), ")");
  const auto& L = *impl_->levels[l];
  DSLA_CHECK_ARG(r3.dim() == 3 && r3.size(1) == L.A.n_owned(), "r", "has shape ", r3.sizes(),
                 "; expected [B, n_owned of level ", l, ", k]");
  return L.restrict_to_coarse(r3.contiguous());
}
const amg::AmgHierarchy& DistAmg::coarse() const {
  return *impl_->coarse;
}
const amg::AmgStats& DistAmg::stats() const {
  return impl_->stats;
}
const amg::AmgOptions& DistAmg::options() const {
  return impl_->opt;
}
bool DistAmg::is_symmetric() const {
  return impl_->symmetric && impl_->opt.pre_sweeps == impl_->opt.post_sweeps;
}
const DistMatrix& DistAmg::matrix() const {
  return impl_->A;
}

}  // namespace dsla::dist
