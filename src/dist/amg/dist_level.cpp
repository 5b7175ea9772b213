// A distributed AMG level (dist_level.h): setup of its operator, smoother and transfer to the next
// level, and its part of the cycle.
//
// The products are local sparse products over compact column numberings — never a global-length
// array. A's rows with their ghost columns form aloc [n, n + n_ghost]; the tentative prolongator's
// rows for those columns (this rank's T, and T's ghost rows fetched from their owners) form
// tstack over E1, the sorted global coarse ids they touch. Then
//   P      = (I − ω/ρ D⁻¹ F) T     = S_loc · tstack           (this rank's rows of P, over E1;
//                                                           F: A, or its filter on level 0)
//   A P    = aloc · [P; P_ext]                              (P_ext: P's ghost rows, over E2)
//   Pᵀ A P = Pᵀ · (A P)                                     (rows over E2: partly other ranks')
// and each row of the last product goes to the rank owning that coarse row, which sums what it
// receives (DistMatrix::from_local_coo the first time; a recorded scatter afterwards).
#include "dist/amg/dist_level.h"

#include <dsla/errors.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/coo.h"
#include "core/products.h"
#include "core/spgemm.h"
#include "dist/dist_internal.h"

namespace dsla::dist::amg_detail {

namespace ad = dsla::amg::detail;
namespace pd = dsla::precond::detail;

namespace {

const auto kLongCpu = at::TensorOptions().dtype(at::kLong);

at::Tensor values2d(const at::Tensor& v) {
  auto d = v.detach();
  return (d.dim() == 1 ? d.unsqueeze(0) : d).contiguous();
}

// A CSR pattern from entries sorted by (row, col): int64 row / col on `device`.
PatternPtr csr_sorted(const at::Tensor& row, const at::Tensor& col, int64_t rows, int64_t cols) {
  auto counts = at::bincount(row, {}, rows);
  auto crow = at::cat({at::zeros({1}, counts.options()), counts.cumsum(0)});
  const auto dt = Pattern::index_dtype_for(rows, cols, col.numel());
  return Pattern::from_csr(crow.to(dt), col.to(dt).contiguous(), rows, cols, false);
}

// Positions of coarse ids `x` in `e` (sorted, holding the whole owned range [lo, lo + nc)): the
// owned ones (most of them) by offset, the others by binary search.
at::Tensor coarse_position(const at::Tensor& e, int64_t lo, int64_t nc, const at::Tensor& x) {
  const int64_t below = at::searchsorted(e, at::full({1}, lo, e.options()))[0].item<int64_t>();
  auto mine = (x >= lo) & (x < lo + nc);
  auto pos = x - lo + below;
  auto other = at::nonzero(~mine).view(-1);
  if (other.numel() > 0) pos.index_put_({other}, at::searchsorted(e, x.index_select(0, other)));
  return pos;
}

using Clock = std::chrono::steady_clock;
// Seconds since `t`, and `t` moved to now (consecutive phases).
double lap(Clock::time_point& t) {
  const auto now = Clock::now();
  const double s = std::chrono::duration<double>(now - t).count();
  t = now;
  return s;
}

// A position array as int32 when every position fits (`bound`: the size of what it indexes):
// index_select and index_add take either, and the level's maps over entries are its largest
// index arrays.
at::Tensor compact(const at::Tensor& idx, int64_t bound) {
  return idx.to(Pattern::index_dtype_for(bound, bound, bound));
}

// The budget of the Galerkin product's blocks (galerkin_blocks): 2³¹ − 1 (A P's entries per
// block, so its indices stay int32; A P's multiply-adds under it need no count), or
// DSLA_GALERKIN_BLOCK_FLOPS (tests force several blocks on small matrices). A value that is not a
// positive integer is ignored with a warning (not an error: raising on one rank here would leave
// the others waiting in the next collective).
int64_t galerkin_budget() {
  const int64_t budget = (int64_t(1) << 31) - 1;
  const char* e = std::getenv("DSLA_GALERKIN_BLOCK_FLOPS");
  if (e == nullptr) return budget;
  char* end = nullptr;
  const long long v = std::strtoll(e, &end, 10);
  if (end != e && *end == '\0' && v > 0) return v;
  TORCH_WARN_ONCE(
      "dsla: DSLA_GALERKIN_BLOCK_FLOPS must be a positive integer (the budget of A P's "
      "multiply-adds and entries per block of the distributed Galerkin product), got '",
      e, "'; using the default 2^31 - 1");
  return budget;
}

// A P's multiply-adds: Σ over aloc's entries (i, k) of the length of pstack's row k (an upper
// bound of A P's entries, from the patterns alone).
int64_t product_flops(const Pattern& aloc, const Pattern& pstack) {
  const auto& pc = pstack.crow();
  auto len = (pc.narrow(0, 1, pstack.rows()) - pc.narrow(0, 0, pstack.rows())).to(at::kLong);
  return (at::bincount(aloc.col(), {}, pstack.rows()) * len).sum().item<int64_t>();
}

// Row boundaries [nb + 1] cutting the rows of `cum` (int64 [n + 1], a prefix sum of a per-row
// cost) into the fewest about-equal blocks of at most `budget` each. A row is never split: a row
// over the budget is a block of its own.
std::vector<int64_t> split_rows(const at::Tensor& cum, int64_t budget) {
  const int64_t n = cum.numel() - 1;
  const int64_t total = cum[n].item<int64_t>();
  int64_t nb = std::max<int64_t>(1, (total + budget - 1) / budget);
  while (true) {
    if (nb == 1) return {0, n};
    // Block b ends at the last row whose prefix is at most b / nb of the total.
    auto t = at::arange(1, nb, cum.options().dtype(at::kDouble)).mul_(double(total) / double(nb));
    auto ends = at::searchsorted(cum.to(at::kDouble), t, false, /*right=*/true).sub_(1);
    auto bounds = at::cat(
        {at::zeros({1}, ends.options()), ends.clamp_(0, n), at::full({1}, n, ends.options())});
    auto per = cum.index_select(0, bounds).cpu();
    bounds = bounds.cpu();
    std::vector<int64_t> out(bounds.data_ptr<int64_t>(), bounds.data_ptr<int64_t>() + nb + 1);
    const int64_t* pc = per.data_ptr<int64_t>();
    int64_t worst = 0;
    for (int64_t b = 0; b < nb; ++b) worst = std::max(worst, pc[b + 1] - pc[b]);
    if (worst <= budget || nb >= n) {
      out.erase(std::unique(out.begin(), out.end()), out.end());
      return out;
    }
    // Uneven rows: more blocks, in proportion to the overshoot.
    nb = std::min(n, std::max(nb + 1, (nb * worst + budget - 1) / budget));
  }
}

// The Galerkin product's blocks of fine rows: boundaries [nb + 1]. One block when A P's
// multiply-adds (an upper bound of its entries, from the patterns' row lengths) are within
// galerkin_budget(); otherwise A P's entries are counted (the symbolic product's count phase,
// without the fill) and cut into the fewest blocks of at most the budget each, so each block's
// A P keeps int32 indices. (The bound alone overcounts 3-5x on coarse levels: at 250M rows it
// asked for 4, 6 and 5 blocks where the entries need 2, 1 and 1.)
std::vector<int64_t> galerkin_blocks(const PatternPtr& aloc, const PatternPtr& pstack) {
  const int64_t n = aloc->rows(), budget = galerkin_budget();
  if (n == 0 || aloc->nnz() == 0 || pstack->nnz() == 0) return {0, n};
  if (product_flops(*aloc, *pstack) <= budget) return {0, n};
  // Where the count comes from the product's pattern (the CPU plan, or CUDA rows wider than the
  // count kernels' tables) it is not kept: the blocks make their own, smaller ones.
  auto nnz = dsla::detail::spgemm_row_nnz(aloc, pstack);
  dsla::detail::spgemm_forget(aloc, pstack);
  return split_rows(at::cat({at::zeros({1}, nnz.options()), nnz.cumsum(0)}), budget);
}

// Rows [r0, r1) of p as a pattern of their own (columns shared, crow rebased), with the entry
// range they hold.
struct RowBlock {
  PatternPtr p;
  int64_t e0, e1;
};
RowBlock row_block(const Pattern& p, int64_t r0, int64_t r1) {
  auto c = p.crow().narrow(0, r0, r1 - r0 + 1);
  const int64_t e0 = c[0].item<int64_t>(), e1 = c[r1 - r0].item<int64_t>();
  return {Pattern::from_csr(c - e0, p.col().narrow(0, e0, e1 - e0), r1 - r0, p.cols(), false), e0,
          e1};
}

// Columns [j0, j1) of p as a pattern of their own ([rows, j1 - j0], columns shifted by −j0),
// with the positions of its entries among p's (sel, sorted, p's index dtype): a selection, no
// sort.
struct ColumnBlock {
  PatternPtr p;
  at::Tensor sel;
};
ColumnBlock column_block(const Pattern& p, int64_t j0, int64_t j1) {
  const auto& col = p.col();
  const auto dt = p.index_dtype();
  auto sel = at::nonzero((col >= j0) & (col < j1)).view(-1).to(dt);
  // Row r's entries start at the number of selected entries before p's row r starts.
  auto crow = at::searchsorted(sel, p.crow(), /*out_int32=*/dt == at::kInt);
  return {Pattern::from_csr(crow, col.index_select(0, sel).sub_(j0), p.rows(), j1 - j0, false),
          std::move(sel)};
}

}  // namespace

SetupTrace::SetupTrace() = default;
SetupTrace::~SetupTrace() = default;

void SetupTrace::open(const char* after) {
  range_ = std::make_unique<at::RecordFunction>(at::RecordScope::USER_SCOPE);
  if (range_->isActive()) {
    range_->before("dsla level " + std::to_string(level_) + " after " + after);
  }
}

void SetupTrace::start(c10::Device device, int64_t level) {
  static const bool enabled = [] {
    const char* e = std::getenv("DSLA_AMG_TRACE");
    return e != nullptr && *e != '\0' && std::string(e) != "0";
  }();
  on_ = enabled;
  device_ = device;
  level_ = level;
  t_ = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
  open("start");
}

void SetupTrace::operator()(const char* step) {
  range_.reset();
  if (on_) {
    if (device_.is_cuda()) at::zeros({1}, at::TensorOptions().device(device_)).item<float>();
    const double now = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
    std::fprintf(stderr, "dsla trace: level %lld %s %.4f s\n", static_cast<long long>(level_), step,
                 now - t_);
    t_ = now;
  }
  open(step);
}

void SetupTrace::stop() {
  range_.reset();
}

// ---------------------------------------------------------------- the operator and smoother

void level_operator(DistLevel& L) {
  const auto& A = L.A;
  const int64_t n = A.n_owned(), ng = A.n_ghost(), ni = A.n_interior();
  const auto& D = *A.diag().pattern();
  const auto& O = *A.offd().pattern();
  // Row i of aloc is row i of the diagonal block, then (boundary rows) its off-diagonal row with
  // columns shifted by n: already in column order, so the merge is a placement, not a sort.
  // The interior rows come first and have no off-diagonal entry: their aloc entries are the
  // diagonal block's first `head` entries, in place. Only the boundary rows (a rank's faces)
  // are placed, so no array of A's size is built beyond aloc's own columns.
  auto crow_d = D.crow().to(at::kLong), crow_o = O.crow().to(at::kLong);
  const int64_t nd = D.nnz(), no = O.nnz(), nb = n - ni;
  const int64_t head = crow_d[ni].item<int64_t>(), ndb = nd - head;
  const auto Ld = crow_d.options();
  auto crow_db = crow_d.narrow(0, ni, nb + 1) - head;  // boundary rows in D's tail
  auto cnt_db = crow_db.narrow(0, 1, nb) - crow_db.narrow(0, 0, nb);
  auto cnt_o = crow_o.narrow(0, 1, nb) - crow_o.narrow(0, 0, nb);
  auto crow_b = at::cat({at::zeros({1}, Ld), (cnt_db + cnt_o).cumsum(0)});  // from `head`
  auto rdb = at::repeat_interleave(cnt_db, c10::optional<int64_t>(ndb));
  auto pos_db = crow_b.index_select(0, rdb) + (at::arange(ndb, Ld) - crow_db.index_select(0, rdb));
  auto rob = at::repeat_interleave(cnt_o, c10::optional<int64_t>(no));
  auto pos_o = (crow_b.index_select(0, rob) + cnt_db.index_select(0, rob)) +
               (at::arange(no, Ld) - crow_o.index_select(0, rob));
  auto src_b = at::empty({ndb + no}, Ld);
  src_b.index_put_({pos_db}, at::arange(head, nd, Ld));
  src_b.index_put_({pos_o}, at::arange(nd, nd + no, Ld));
  auto col_b = at::empty({ndb + no}, Ld);
  col_b.index_put_({pos_db}, D.col().narrow(0, head, ndb).to(at::kLong));
  col_b.index_put_({pos_o}, O.col().to(at::kLong) + n);
  const auto dt = Pattern::index_dtype_for(n, n + ng, nd + no);
  auto crow = at::cat({crow_d.narrow(0, 0, ni + 1), crow_b.narrow(0, 1, nb) + head});
  auto col = at::cat({D.col().narrow(0, 0, head).to(dt), col_b.to(dt)});
  L.aloc = Pattern::from_csr(crow.to(dt), col, n, n + ng, false);
  // The diagonal's position in every row (the diagonal block has it: checked by the caller):
  // D's own for the interior rows, placed for the boundary ones.
  auto dpos = D.diag_pos().to(at::kLong);
  auto dpos_b = dpos.narrow(0, ni, nb) - head;
  L.aloc_diag =
      compact(at::cat({dpos.narrow(0, 0, ni), pos_db.index_select(0, dpos_b) + head}), nd + no);
  // aloc's entries [0, head) are D's; src_b: the position in A.values() of each later one.
  L.aloc_head = head;
  L.aloc_src = compact(src_b, nd + no);
  L.op = dist::detail::make_operator(A, false);
  L.trace("operator");
}

namespace {

// A's values in aloc's order ([B, nnz(aloc)]): the diagonal block's first aloc_head entries as
// they are, then the boundary rows' entries gathered from the diagonal block's tail and the
// off-diagonal block. Only those are copied twice (not A.values(), a copy of every entry).
at::Tensor aloc_values(const DistLevel& L) {
  const auto dv = values2d(L.A.diag().values());
  if (L.aloc_src.numel() == 0) return dv.narrow(1, 0, L.aloc_head).contiguous();
  const int64_t nd = dv.size(1);
  auto tail = at::cat({dv.narrow(1, L.aloc_head, nd - L.aloc_head),
                       values2d(L.A.offd().values()).expand({dv.size(0), -1})},
                      1);
  return at::cat({dv.narrow(1, 0, L.aloc_head), tail.index_select(1, L.aloc_src - L.aloc_head)}, 1);
}

}  // namespace

void level_numeric(DistLevel& L, const amg::AmgOptions& opt, bool symmetric) {
  const auto& A = L.A;
  const int64_t n = A.n_owned();
  L.values = aloc_values(L);
  const int64_t B = L.batch = L.values.size(0);
  auto d = L.values.index_select(1, L.aloc_diag);
  L.dinv = d.reciprocal().view({B, n, 1});
  const bool finite = n == 0 || at::isfinite(L.dinv).all().item<bool>();
  A.comm().agree(finite,
                 "argument 'A': has a zero diagonal entry on this rank (AMG smoothers "
                 "divide by the diagonal)");
  L.trace("values and diagonal");
  L.spectrum = pd::estimate_spectrum(*L.op, L.dinv, std::max<int64_t>(2, opt.eig_iters), symmetric);
  L.rho = L.spectrum.lmax.view({-1, 1, 1}).to(L.values.device(), L.values.scalar_type());
  L.trace("spectrum");
  if (opt.smoother == "l1_jacobi") {
    auto l1 = at::zeros({B, n}, L.values.options());
    auto row = ad::entry_rows(*L.aloc).to(L.values.device());
    for (int64_t b = 0; b < B; ++b) l1.select(0, b).index_add_(0, row, L.values.select(0, b).abs());
    L.smoother = pd::make_l1_jacobi_smoother(A.diag(), L.op, l1.view({B, n, 1}), opt.jacobi_omega);
  } else {
    L.smoother = pd::make_chebyshev_smoother(A.diag(), L.op, L.dinv, L.spectrum,
                                             opt.chebyshev_degree, opt.chebyshev_ratio, symmetric);
  }
  L.trace("smoother");
}

// ---------------------------------------------------------------- the filter

namespace {

// Strong entries of aloc (|a_ij| >= θ sqrt(|a_ii a_jj|), a_jj of ghost columns from their
// owners) and the diagonal: the filtered operator's pattern, when it drops at least 5 % of the
// entries over all ranks (the rule of one process's build_filter).
void build_filter(DistLevel& L, double theta) {
  const auto& A = L.A;
  const int64_t n = A.n_owned();
  auto v = L.values[0];
  auto d = v.index_select(0, L.aloc_diag).abs();  // [n]
  auto dg = A.halo(d.view({1, n, 1}).to(v.scalar_type())).view({-1});
  auto dall = at::cat({d, dg});
  // Entry-sized arrays of the finest level, the largest of the setup: int32 rows and columns,
  // the threshold built in place, each released once used.
  auto row = ad::entry_rows(*L.aloc, at::kInt).to(v.device());
  const auto& col = L.aloc->col();  // int32 when it fits (aloc's index dtype)
  auto av = v.abs();
  auto keep = (row != col) & (av > 0);
  if (theta > 0) {
    auto thr = d.index_select(0, row);
    thr.mul_(dall.index_select(0, col)).sqrt_().mul_(theta);
    keep.logical_and_(av >= thr);
  }
  av = at::Tensor();
  auto is_diag = row == col;
  keep.logical_or_(is_diag);
  auto counts = at::tensor({L.aloc->nnz() - keep.sum().item<int64_t>(), L.aloc->nnz()}, kLongCpu);
  A.comm().allreduce_sum_(counts);
  if (counts[0].item<int64_t>() * 20 < counts[1].item<int64_t>()) return;
  auto& S = L.st;
  S.f_src = compact(keep.nonzero().view(-1), L.aloc->nnz());  // kept: 4 bytes per entry
  keep = at::Tensor();
  S.f = csr_sorted(row.index_select(0, S.f_src), col.index_select(0, S.f_src), n, L.aloc->cols());
  // The diagonal's position in f: one per row (every row keeps its diagonal), in row order.
  S.f_diag = is_diag.index_select(0, S.f_src).nonzero().view(-1);
}

// y = F x for the filtered operator over A's distribution (x's ghosts through A's halo); its
// space is A's (the spectral estimate's reductions are global).
class FilteredOperator final : public LinearOperator {
 public:
  FilteredOperator(const DistLevel& L, at::Tensor values) : L_(L), v_(std::move(values)) {}
  int64_t rows() const override { return L_.A.n_owned(); }
  int64_t cols() const override { return rows(); }
  at::ScalarType dtype() const override { return L_.A.dtype(); }
  c10::Device device() const override { return L_.A.device(); }
  void apply(const at::Tensor& x, at::Tensor& y) const override {
    auto xe = at::cat({x, L_.A.halo(x.contiguous())}, 1).contiguous();
    dsla::detail::spmm(*L_.st.f, v_, xe, y);
  }
  const VectorSpace& space() const override { return L_.op->space(); }

 private:
  const DistLevel& L_;
  at::Tensor v_;
};

}  // namespace

// ---------------------------------------------------------------- the transfer

bool build_transfer(DistLevel& L, const amg::AmgOptions& opt, double theta, bool symmetric,
                    bool first_level, DistMatrix& next, amg::AmgStats& stats) {
  const auto& A = L.A;
  const auto& C = A.comm();
  const auto& plan = A.plan();
  const auto dev = A.device();
  const int64_t n = A.n_owned(), ng = A.n_ghost();
  auto& S = L.st;
  S.a = L.aloc;  // this rank's rows (build_tentative and the filter's lumping read it)
  const int64_t m = S.nullspace.size(1);
  auto clock = Clock::now();
  // Aggregates inside this rank's diagonal block (decoupled: none crosses a rank boundary).
  const std::string method =
      opt.aggregation != "auto" ? opt.aggregation : (dev.is_cpu() ? "greedy" : "mis2");
  if (n > 0) {
    auto dv = values2d(A.diag().values())[0];
    auto sg = ad::strength_graph(A.diag().pattern(), dv, theta, symmetric);
    stats.t_strength += lap(clock);
    S.n_agg = ad::aggregate(sg, method, opt.seed, S.agg);
  } else {
    S.agg = at::empty({0}, at::TensorOptions().dtype(at::kLong).device(dev));
    S.n_agg = 0;
  }
  S.unaggregated = n > 0 ? (S.agg < 0).sum().item<int64_t>() : 0;
  const int64_t nc = S.n_agg * m;
  auto counts = C.allgather(at::tensor({nc, n, S.unaggregated}, kLongCpu));  // [P, 3]
  auto ncs = counts.select(1, 0).contiguous();
  L.nc_global = ncs.sum().item<int64_t>();
  L.c_off = ncs.narrow(0, 0, C.rank()).sum().item<int64_t>();
  stats.levels.back().aggregates = L.nc_global / m;
  stats.levels.back().unaggregated = counts.select(1, 2).sum().item<int64_t>();
  stats.t_aggregation += lap(clock);
  if (L.nc_global == 0 || L.nc_global >= A.rows()) return false;
  L.trace("aggregation");

  // Tentative prolongator: this rank's rows, then the ghost rows' from their owners.
  // The index work stays on the matrix's device (a GPU sorts millions of ids in microseconds,
  // one host thread in a second); only per-rank counts cross to the host.
  const auto Ld = at::TensorOptions().dtype(at::kLong).device(dev);
  ad::build_tentative(S);
  S.agg = at::Tensor();  // int64 per row, read by build_tentative only
  auto tcrow = S.t->crow().to(at::kLong);
  auto tcol = S.t->col().to(at::kLong) + L.c_off;
  auto text = fetch_ghost_structure(plan, tcrow, tcol, dev);
  auto text_v = fetch_ghost_values(plan, text, S.t_values);
  L.e1 = std::get<0>(
      at::_unique(at::cat({at::arange(L.c_off, L.c_off + nc, Ld), text.col}), /*sorted=*/true));
  {
    auto crow = at::cat({tcrow, tcrow[-1] + text.crow.narrow(0, 1, ng)});
    auto col = coarse_position(L.e1, L.c_off, nc, at::cat({tcol, text.col}));
    const auto dt = Pattern::index_dtype_for(n + ng, L.e1.numel(), col.numel());
    L.tstack = Pattern::from_csr(crow.to(dt), col.to(dt).contiguous(), n + ng, L.e1.numel(), false);
    L.tstack_values = at::cat({S.t_values, text_v}, 1).contiguous();
  }
  L.trace("tentative");
  // P's pattern over E1: that of S_loc · tstack (smoothed), or T's rows (unsmoothed).
  const bool smoothed = opt.prolongation_omega > 0;
  // The finest level smooths P with the filtered operator (as one process: on coarser levels the
  // dropped entries are the Galerkin products' small couplings, not anisotropy).
  if (smoothed && first_level) build_filter(L, theta);
  // On the GPU A's values in aloc order leave until transfer_numeric gathers them again: the
  // next level's structure (from_local_coo, the setup's peak on a large share) is built
  // without them.
  if (dev.is_cuda()) L.values = at::Tensor();
  L.trace("filter");
  PatternPtr p1;  // P over E1 (setup only: the cycle reads P through pstack's first rows)
  if (smoothed) {
    p1 = dsla::detail::spgemm_pattern(S.f ? S.f : L.aloc, L.tstack);
  } else {
    p1 = Pattern::from_csr(L.tstack->crow().narrow(0, 0, n + 1).contiguous(),
                           L.tstack->col().narrow(0, 0, S.t->nnz()).contiguous(), n, L.e1.numel(),
                           false);
  }
  L.trace("P pattern");
  // P's ghost rows (their structure, in global coarse ids), and E2.
  auto p1crow = p1->crow().to(at::kLong);
  auto p1col_g = L.e1.index_select(0, p1->col().to(at::kLong));
  L.pext = fetch_ghost_structure(plan, p1crow, p1col_g, dev);
  auto e2 = std::get<0>(at::_unique(at::cat({L.e1, L.pext.col}), /*sorted=*/true));
  const int64_t w = e2.numel();
  PatternPtr p2;  // this rank's P over E2
  {
    auto col2 = coarse_position(e2, L.c_off, nc, p1col_g);
    const auto dt = Pattern::index_dtype_for(n + ng, w, col2.numel() + L.pext.col.numel());
    p2 = Pattern::from_csr(p1crow.to(dt), col2.to(dt).contiguous(), n, w, false);
    auto crow = at::cat({p1crow, p1crow[-1] + L.pext.crow.narrow(0, 1, ng)});
    auto col = at::cat({col2, coarse_position(e2, L.c_off, nc, L.pext.col)});
    L.pstack = Pattern::from_csr(crow.to(dt), col.to(dt).contiguous(), n + ng, w, false);
    // P (this rank's rows) over E2 for the cycle: a view of pstack's first rows, no copy.
    L.ptop = Pattern::from_csr(L.pstack->crow().narrow(0, 0, n + 1),
                               L.pstack->col().narrow(0, 0, p1->nnz()), n, w, false);
  }
  L.trace("P ghost rows, E2");
  stats.t_prolongation += lap(clock);
  // P over E2 only for its transpose (and the int64 permutation Pattern::transpose caches on it):
  // both leave with it at the end of this function.
  L.pt = p2->transpose();
  L.pt_perm = compact(p2->transpose_perm(), p2->nnz());
  p2.reset();  // with the int64 permutation and row cache transpose() left on it
  L.trace("P transpose");
  // C = Pᵀ A P over E2 ([w, w]): in one product, or summed over blocks of fine rows
  // (galerkin_blocks: A P of a 250M-row share passes 2³¹ entries). Block b's rows [r0, r1) give
  // A P_b = aloc's rows × [P; P_ext] and C_b = Pᵀ_b (A P_b), Pᵀ_b being the columns [r0, r1) of
  // the level's Pᵀ (a selection: no transpose per block). The blocks' patterns overlap in the
  // coarse rows whose aggregates straddle a block boundary: C's pattern is their union, merged
  // by coo_to_csr_aten, which gives each entry's position (g_map[b]).
  L.g_rows = galerkin_blocks(L.aloc, L.pstack);
  L.g_map.clear();
  const int64_t nblocks = static_cast<int64_t>(L.g_rows.size()) - 1;
  stats.levels.back().galerkin_blocks = nblocks;
  PatternPtr c;
  if (nblocks == 1) {
    L.ap = dsla::detail::spgemm_pattern(L.aloc, L.pstack);
    c = dsla::detail::spgemm_pattern(L.pt, L.ap);
  } else {
    std::vector<at::Tensor> rows, cols;
    std::vector<int64_t> sizes;
    for (int64_t b = 0; b < nblocks; ++b) {
      auto ab = row_block(*L.aloc, L.g_rows[b], L.g_rows[b + 1]).p;
      auto ptb = column_block(*L.pt, L.g_rows[b], L.g_rows[b + 1]).p;
      auto apb = dsla::detail::spgemm_pattern(ab, L.pstack);
      auto cb = dsla::detail::spgemm_pattern(ptb, apb);
      rows.push_back(ad::entry_rows(*cb));
      cols.push_back(cb->col().to(at::kLong));
      sizes.push_back(cb->nnz());
      dsla::detail::spgemm_forget(ptb, apb);
      dsla::detail::spgemm_forget(ab, L.pstack);
    }
    auto row = at::cat(rows), col = at::cat(cols);
    rows.clear();
    cols.clear();
    at::Tensor crow, ccol, map;
    L.g_nnz = dsla::detail::coo_to_csr_aten(
        row, col, w, w, Pattern::index_dtype_for(w, w, row.numel()), crow, ccol, map);
    row = col = at::Tensor();
    for (auto& m : map.split(sizes)) L.g_map.push_back(compact(m, L.g_nnz));
    c = Pattern::from_csr(crow, ccol, w, w, false);
  }

  L.trace("C pattern");
  // Rows of Pᵀ A P go to the owners of their coarse ids: rank r owns [c_off_r, c_off_r + nc_r),
  // and C's rows are E2 positions, sorted ids, so each rank's rows are one row range of C and
  // their entries one entry range: no sort and no permutation routes them. This rank's range
  // (most of the entries) stays here; only the others' (the rows of ghost aggregates) travel.
  // The entry-sized arrays are the setup's largest (nnz(C) ~ 30 per coarse row in 3-D): they
  // are built for the ranges that need them and released once used.
  const int P = C.size(), me = C.rank();
  auto ccrow = c->crow().to(at::kLong);
  // Each rank's first row of C (an E2 position) and first entry: [P + 1] each, host.
  auto starts = at::cat({at::zeros({1}, kLongCpu), ncs.cumsum(0)}).to(dev);
  auto row_at = at::searchsorted(e2, starts);
  auto ent_at = ccrow.index_select(0, row_at).cpu();
  row_at = row_at.cpu();
  auto first_row = [&](int r) { return row_at[r].item<int64_t>(); };
  L.c_counts.assign(P, 0);
  for (int r = 0; r < P; ++r)
    if (r != me) L.c_counts[r] = ent_at[r + 1].item<int64_t>() - ent_at[r].item<int64_t>();
  L.c_own_begin = ent_at[me].item<int64_t>();
  L.c_own_end = ent_at[me + 1].item<int64_t>();
  // Global row and column ids of the entries of C's rows [r0, r1).
  auto entry_ids = [&](int64_t r0, int64_t r1) {
    const int64_t e0 = ccrow[r0].item<int64_t>(), ne = ccrow[r1].item<int64_t>() - e0;
    if (ne == 0) return std::make_pair(at::empty({0}, Ld), at::empty({0}, Ld));
    auto cnt = ccrow.narrow(0, r0 + 1, r1 - r0) - ccrow.narrow(0, r0, r1 - r0);
    auto rows = e2.index_select(0, at::repeat_interleave(cnt, c10::optional<int64_t>(ne)).add_(r0));
    auto cols = e2.index_select(0, c->col().narrow(0, e0, ne));
    return std::make_pair(rows, cols);
  };
  at::Tensor got_row, got_col;
  {
    auto before = entry_ids(0, first_row(me));
    auto after = entry_ids(first_row(me + 1), w);
    got_row = C.alltoallv(at::cat({before.first, after.first}), L.c_counts);
    got_col = C.alltoallv(at::cat({before.second, after.second}), L.c_counts);
  }
  L.trace("C rows routed");
  // The next level: its structure from this rank's entries, then the received ones (values
  // zero: transfer_numeric fills them), and where each of them lands in its values().
  const int64_t B = L.batch;
  const auto vopt = A.diag().values().options();
  {
    auto own = entry_ids(first_row(me), first_row(me + 1));
    auto row = got_row.numel() == 0 ? std::move(own.first) : at::cat({own.first, got_row});
    own.first = at::Tensor();
    auto col = got_col.numel() == 0 ? std::move(own.second) : at::cat({own.second, got_col});
    own.second = at::Tensor();
    got_row = got_col = at::Tensor();
    // A broadcast zero: from_local_coo selects from it (nothing allocated until the blocks).
    auto zeros = at::zeros({B, 1}, vopt).expand({B, row.numel()});
    // Moved in: their storage becomes the positions, then goes.
    next = DistMatrix::from_local_coo(C, std::move(row), std::move(col),
                                      A.is_batched() ? zeros : zeros[0], {L.nc_global, L.nc_global},
                                      at::arange(L.c_off, L.c_off + nc, Ld), &L.c_recv_pos);
  }
  L.c_recv_pos = compact(L.c_recv_pos, next.local_nnz());
  // `next` is a structure until transfer_numeric gives it values: its zeros (8 bytes per coarse
  // entry, alive through this level's Galerkin numeric product, the setup's peak) give way to a
  // broadcast zero.
  {
    const int64_t nz = next.local_nnz();
    auto z = at::zeros({1}, vopt);
    next = next.with_values(A.is_batched() ? z.expand({B, nz}) : z.expand({nz}));
  }

  L.trace("next level structure");
  // P for the cycle over the next level's distribution: owned coarse columns in its local
  // order, the others through a halo plan of their own.
  auto owned_next = next.owned().to(dev);
  auto local_of = at::empty({nc}, Ld);
  local_of.index_put_({owned_next - L.c_off}, at::arange(nc, Ld));
  auto mine = (p1col_g >= L.c_off) & (p1col_g < L.c_off + nc);
  auto ghost_ids = std::get<0>(at::_unique(p1col_g.index({~mine}), /*sorted=*/true));
  L.pplan = build_plan(C, L.nc_global, owned_next, ghost_ids, dev);
  // The cycle's coarse slots: [the next level's owned rows in its local order | pplan's ghosts].
  // Prolongation reads P's columns (E2 positions) from the slots and restriction writes Pᵀ r's
  // rows (E2 positions) to them: two coarse-sized maps instead of second copies of P and Pᵀ
  // renumbered into slots (their patterns, values and int64 source maps: ~130 bytes per fine
  // row of a 3-D problem).
  {
    auto g_sort = at::sort(L.pplan->ghost.to(dev));
    const auto& gs = std::get<0>(g_sort);
    auto e2_mine = (e2 >= L.c_off) & (e2 < L.c_off + nc);
    L.e2_slot = at::zeros({w}, Ld);
    auto mi = at::nonzero(e2_mine).view(-1);
    L.e2_slot.index_put_({mi}, local_of.index_select(0, e2.index_select(0, mi) - L.c_off));
    auto oi = at::nonzero(~e2_mine).view(-1);
    if (oi.numel() > 0 && gs.numel() > 0) {
      // E2 ids outside P's own columns (T's ghost columns a filtered S does not reach, the
      // columns of P's ghost rows only) have no slot: this rank's P has no entry there, so any
      // slot (0) is read times nothing.
      auto ids = e2.index_select(0, oi);
      auto pos = at::searchsorted(gs, ids).clamp_max(gs.numel() - 1);
      auto found = gs.index_select(0, pos) == ids;
      auto slot = (std::get<1>(g_sort).index_select(0, pos) + nc).masked_fill_(~found, 0);
      L.e2_slot.index_put_({oi}, slot);
    }
    auto slot_ids = at::cat({owned_next, L.pplan->ghost.to(dev)});
    L.slot_e2 = at::searchsorted(e2, slot_ids);
  }
  L.trace("cycle layout");
  // The next level's near-nullspace, in its local order.
  S.coarse_nullspace = S.coarse_nullspace.index_select(0, owned_next - L.c_off);
  stats.t_rap += lap(clock);
  return true;
}

DistMatrix transfer_numeric(DistLevel& L, const amg::AmgOptions& opt, bool symmetric,
                            const DistMatrix& next, amg::AmgStats& stats) {
  const auto& A = L.A;
  auto clock = Clock::now();
  const int64_t B = L.batch, n = A.n_owned();
  if (!L.values.defined()) L.values = aloc_values(L);  // released by build_transfer on the GPU
  // P = S_loc · tstack with S = I − (ω/ρ) D⁻¹ F on F's pattern (F: the filtered operator, or
  // aloc itself), or T itself.
  if (opt.prolongation_omega > 0) {
    // F's values and inverse diagonal: one process's lumping (weak entries into the diagonal
    // where that keeps its sign), on this rank's rows.
    amg::detail::Level lv;
    lv.values = L.values;
    lv.dinv = L.dinv;
    at::Tensor fv, dinv;
    ad::smoothing_operator(L.st, lv, fv, dinv);
    at::Tensor rho = L.rho, diag_pos = L.aloc_diag;
    const auto& f = L.st.f ? L.st.f : L.aloc;
    if (L.st.f) {
      FilteredOperator F(L, fv);
      auto est = pd::estimate_spectrum(F, dinv, std::max<int64_t>(2, opt.eig_iters), symmetric);
      rho = est.lmax.view({-1, 1, 1}).to(fv.device(), fv.scalar_type());
      diag_pos = L.st.f_diag;
    }
    // S's values in place on one array: each temporary here is one per stored entry of F
    // (the level's largest value arrays), and the row map is int32 (n fits).
    auto sv = dinv.view({B, n}).index_select(1, ad::entry_rows(*f, at::kInt).to(fv.device()));
    sv.mul_((-opt.prolongation_omega / rho).view({B, 1})).mul_(fv);
    fv = at::Tensor();
    sv.index_add_(1, diag_pos, at::ones({B, diag_pos.numel()}, sv.options()));
    L.p_values = dsla::detail::spgemm_values(f, sv, L.tstack, L.tstack_values);
    // The product's pattern (P over E1) is not kept on the GPU: the cycle reads P through
    // pstack's first rows (the same entries in the same order), and a numeric re-setup
    // recomputes it (milliseconds), as A P's.
    if (A.device().is_cuda()) dsla::detail::spgemm_forget(f, L.tstack);
  } else {
    L.p_values = L.st.t_values.expand({B, L.st.t->nnz()}).contiguous();
  }
  L.trace("P values");
  auto pext_v = fetch_ghost_values(A.plan(), L.pext, L.p_values);
  stats.t_prolongation += lap(clock);
  auto pall = at::cat({L.p_values, pext_v}, 1).contiguous();
  pext_v = at::Tensor();
  L.pt_values = L.p_values.index_select(1, L.pt_perm);
  L.trace("P ghost values, Pt values");
  at::Tensor cv;
  if (L.g_rows.size() > 2) {
    // By blocks of fine rows (build_transfer): each block's A P_b and Pᵀ_b (A P_b), summed into
    // C's entries through g_map[b].
    cv = at::zeros({B, L.g_nnz}, L.values.options());
    for (size_t b = 0; b + 1 < L.g_rows.size(); ++b) {
      const int64_t r0 = L.g_rows[b], r1 = L.g_rows[b + 1];
      auto ab = row_block(*L.aloc, r0, r1);
      auto ptb = column_block(*L.pt, r0, r1);
      auto apv = dsla::detail::spgemm_values(
          ab.p, L.values.narrow(1, ab.e0, ab.e1 - ab.e0).contiguous(), L.pstack, pall);
      auto apb = dsla::detail::spgemm_pattern(ab.p, L.pstack);
      auto cvb =
          dsla::detail::spgemm_values(ptb.p, ad::gather_values(L.pt_values, ptb.sel), apb, apv);
      apv = at::Tensor();
      dsla::detail::spgemm_forget(ptb.p, apb);
      dsla::detail::spgemm_forget(ab.p, L.pstack);
      for (int64_t k = 0; k < B; ++k) cv.select(0, k).index_add_(0, L.g_map[b], cvb.select(0, k));
    }
    pall = at::Tensor();
    L.values = at::Tensor();
  } else {
    auto ap = dsla::detail::spgemm_values(L.aloc, L.values, L.pstack, pall);
    pall = at::Tensor();
    // The level's values in aloc order are the setup's (level_numeric, the filter, P and A P):
    // not kept beside A's own (a numeric re-setup gathers them again). On the finest level that
    // is 8 bytes per stored entry of A for the life of the hierarchy.
    L.values = at::Tensor();
    // A P's pattern is the level's largest structure (nnz(A P) ~ 9 per fine row in 3-D), and
    // Pᵀ (A P)'s (cached on pt) the next: on the GPU neither is kept after the product (a numeric
    // re-setup recomputes them, milliseconds), as one process does. A P's values, its pattern and
    // the product's go before the next level's values are made: this is the setup's peak.
    auto ap_pattern = L.ap ? L.ap : dsla::detail::spgemm_pattern(L.aloc, L.pstack);
    cv = dsla::detail::spgemm_values(L.pt, L.pt_values, ap_pattern, ap);
    ap = at::Tensor();
    if (A.device().is_cuda()) {
      dsla::detail::spgemm_forget(L.pt, ap_pattern);
      L.ap.reset();
      dsla::detail::spgemm_forget(L.aloc, L.pstack);
    }
  }
  L.trace("C values");
  // Each coarse row's pieces to its owner, summed there: this rank's rows are the entry range
  // [c_own_begin, c_own_end) of cv, the others' are sent (their ranges in rank order).
  const int64_t e0 = L.c_own_begin, e1 = L.c_own_end, ncv = cv.size(1);
  auto send = at::cat({cv.narrow(1, 0, e0), cv.narrow(1, e1, ncv - e1)}, 1).t().contiguous();
  auto got = A.comm().alltoallv(send, L.c_counts);  // [n_received, B]
  auto vals = at::zeros({B, next.local_nnz()}, cv.options());
  auto own_pos = L.c_recv_pos.narrow(0, 0, e1 - e0);
  auto got_pos = L.c_recv_pos.narrow(0, e1 - e0, got.size(0));
  // Per member along dim 0 (an index_add along dim 1 is several times slower).
  for (int64_t b = 0; b < B; ++b) {
    vals.select(0, b).index_add_(0, own_pos, cv.select(0, b).narrow(0, e0, e1 - e0));
    if (got.size(0) > 0) vals.select(0, b).index_add_(0, got_pos, got.select(1, b));
  }
  L.trace("C values routed");
  auto out = next.with_values(A.is_batched() ? vals : vals[0]);
  // On the GPU aloc and its maps are setup-only (the cycle smooths and takes residuals through A
  // itself): released here, 36 bytes per fine row on the finest level, and rebuilt by update()
  // (level_operator: pattern work of milliseconds), as A P's pattern is.
  if (A.device().is_cuda()) {
    L.aloc.reset();
    L.st.a.reset();
    L.aloc_src = L.aloc_diag = at::Tensor();
  }
  stats.t_rap += lap(clock);
  L.trace.stop();
  return out;
}

// ---------------------------------------------------------------- the cycle

void DistLevel::smooth(const at::Tensor& b, at::Tensor& x, bool zero_guess, int64_t sweeps) const {
  smoother->smooth(b, x, zero_guess, sweeps);
}

at::Tensor DistLevel::residual(const at::Tensor& b, const at::Tensor& x) const {
  const int64_t B = std::max(x.size(0), batch);
  auto ax = at::empty({B, A.n_owned(), x.size(2)}, x.options());
  A.apply(x.expand({B, A.n_owned(), x.size(2)}).contiguous(), ax);
  return b - ax;
}

at::Tensor DistLevel::prolong(const at::Tensor& xc) const {
  auto xe = at::cat({xc, exchange_ghosts(*pplan, xc, 24)}, 1);
  if (xe.size(1) == 0) {
    // No coarse slot at all (no aggregate here, P reaches no ghost): P has no entry, and the
    // placeholder slot 0 of e2_slot does not exist.
    return at::zeros({std::max(xc.size(0), p_values.size(0)), A.n_owned(), xc.size(2)},
                     xc.options());
  }
  return dsla::detail::spmm(*ptop, p_values, xe.index_select(1, e2_slot).contiguous());
}

at::Tensor DistLevel::restrict_to_coarse(const at::Tensor& r) const {
  const auto& p = *pplan;
  const int64_t nc = p.n_owned;
  // Pᵀ r over E2, then its rows in the slots [owned | ghosts]: [B, nc + n_ghost, k].
  auto y = dsla::detail::spmm(*pt, pt_values, r.contiguous()).index_select(1, slot_e2);
  const int64_t B = y.size(0), k = y.size(2);
  auto back = y.narrow(1, nc, p.n_ghost).permute({1, 0, 2}).contiguous();
  auto got = at::empty({p.n_send(), B, k}, y.options());
  std::vector<Comm::Request> reqs;
  exchange(p, back, p.recv_ranks, p.recv_off, got, p.send_ranks, p.send_off, 25, reqs);
  auto out = y.narrow(1, 0, nc).contiguous();
  for (auto& q : reqs) p.comm.wait(q);
  if (p.n_send() > 0) out.index_add_(1, p.send_idx, got.permute({1, 0, 2}));
  return out;
}

}  // namespace dsla::dist::amg_detail
