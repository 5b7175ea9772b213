// DistMatrix: construction from this rank's COO entries (renumbering, ownership directory, halo
// plan), the overlapped product, its adjoint, and gathers for tests.
#include <dsla/dist.h>
#include <dsla/errors.h>

#include <ATen/ATen.h>

#include <sstream>

#include "core/coo.h"
#include "core/products.h"
#include "dist/dist_internal.h"
#include "dist/halo_plan.h"

namespace dsla::dist {

namespace {

at::Tensor values2d(const SparseMatrix& M) {
  return M.is_batched() ? M.values() : M.values().unsqueeze(0);
}

// Position of each of `x` in `sorted` (int64), and whether it is there. consume: x (int64) may be
// overwritten by the positions when every element is found in a contiguous range (x's storage
// then holds the result: no second entry-sized array).
at::Tensor find_sorted(const at::Tensor& sorted, at::Tensor x, at::Tensor& found,
                       bool consume = false) {
  if (sorted.numel() == 0) {
    found = at::zeros(x.sizes(), x.options().dtype(at::kBool));
    return at::zeros_like(x);
  }
  const int64_t n = sorted.numel();
  const auto ends = at::stack({sorted[0], sorted[n - 1]}).cpu();
  const int64_t lo = ends[0].item<int64_t>(), hi = ends[1].item<int64_t>();
  if (hi - lo == n - 1) {
    // A contiguous range (the coarse levels of a distributed AMG own [c_off, c_off + nc)): the
    // position is an offset, no binary search over the entries.
    found = (x >= lo) & (x <= hi);
    if (consume && found.all().item<bool>()) return x.sub_(lo);
    return (x - lo).clamp_(0, n - 1);
  }
  auto pos = at::searchsorted(sorted, x).clamp_max(n - 1);
  found = sorted.index_select(0, pos.view({-1})).view(x.sizes()) == x;
  return pos;
}

}  // namespace

DistMatrix DistMatrix::from_local_coo(const Comm& comm, at::Tensor row, at::Tensor col,
                                      const at::Tensor& values, Shape shape,
                                      const at::Tensor& owned, at::Tensor* entry_pos) {
  DSLA_CHECK_ARG(comm.defined(), "comm", "is empty; build it from a process group");
  // Local checks first, agreed on before any collective that depends on them.
  std::string err;
  auto fail = [&](const std::string& m) {
    if (err.empty()) err = m;
  };
  const bool idx_ok = row.defined() && col.defined() && owned.defined() &&
                      !at::isFloatingType(row.scalar_type()) &&
                      !at::isFloatingType(col.scalar_type()) && owned.scalar_type() == at::kLong;
  if (!idx_ok)
    fail("argument 'row'/'col'/'owned': must be integer tensors (owned: torch.int64)");
  else if (row.dim() != 1 || col.dim() != 1 || row.numel() != col.numel())
    fail("argument 'col': row and col must be 1-D of one length, got " +
         std::to_string(row.numel()) + " and " + std::to_string(col.numel()));
  else if (owned.dim() != 1)
    fail("argument 'owned': must be 1-D (the global ids of the rows this rank owns)");
  if (!values.defined() || !(values.dim() == 1 || values.dim() == 2) ||
      (idx_ok && values.size(-1) != row.numel()))
    fail("argument 'values': must be [nnz] or [B, nnz] with nnz = len(row)");
  else if (!(values.scalar_type() == at::kFloat || values.scalar_type() == at::kDouble ||
             values.is_complex()))
    fail(
        "argument 'values': dtype must be torch.float32, torch.float64, torch.complex64 or "
        "torch.complex128");
  if (shape.rows != shape.cols || shape.rows < 0)
    fail(
        "argument 'shape': a distributed matrix is square (rows and columns share one "
        "distribution), got (" +
        std::to_string(shape.rows) + ", " + std::to_string(shape.cols) + ")");
  comm.agree(err.empty(), err);
  // The same global facts on every rank.
  comm.check_same(shape.rows, "shape", "the global shape");
  comm.check_same(static_cast<int64_t>(values.scalar_type()), "values", "the dtype");
  comm.check_same(values.dim() == 2 ? values.size(0) : 0, "values", "the batch size");
  comm.check_same(static_cast<int64_t>(values.device().type()), "values", "the device type");

  const int64_t N = shape.rows;
  const auto cpu_long = at::TensorOptions().dtype(at::kLong);
  // The entries' index work runs on the values' device (a GPU sorts and searches millions of
  // ids in microseconds); the ownership directory and the plan's counts live on the host.
  const auto dev = values.device();
  const auto dev_long = cpu_long.device(dev);
  auto own = owned.to(dev).contiguous();
  auto r = row.to(dev, at::kLong).contiguous();
  auto c = col.to(dev, at::kLong).contiguous();
  row = col = at::Tensor();
  const int64_t nnz_in = r.numel();
  // Index arrays nobody else holds (moved in, or converted here) are overwritten by their
  // positions; the caller's own are never written.
  auto sole = [](const at::Tensor& t) {
    return t.use_count() == 1 && t.storage().use_count() == 1;
  };
  const bool own_r = sole(r), own_c = sole(c);
  const int64_t n_owned = own.numel();
  // owned: in range, unique; rows: owned here; cols: in range.
  auto sorted = std::get<0>(at::sort(own));
  if (n_owned > 0) {
    if (sorted[0].item<int64_t>() < 0 || sorted[-1].item<int64_t>() >= N)
      fail("argument 'owned': global row ids must be in [0, " + std::to_string(N) + ")");
    else if (n_owned > 1 && (sorted.narrow(0, 1, n_owned - 1) == sorted.narrow(0, 0, n_owned - 1))
                                .any()
                                .item<bool>())
      fail("argument 'owned': contains duplicate row ids");
  }
  // The entry-sized arrays (row, col, their positions, the blocks' inputs) are the largest of a
  // distributed AMG's setup (the coarse Galerkin entries): each is released once used, and the
  // common case of no ghost column at all (one rank, a twin's coarse levels) selects nothing.
  at::Tensor rfound, cfound;
  auto rpos = find_sorted(sorted, r, rfound, own_r);
  if (nnz_in > 0 && !rfound.all().item<bool>()) {
    const int64_t i = at::nonzero(~rfound)[0][0].item<int64_t>();
    fail("argument 'row': entry " + std::to_string(i) + " has row " +
         std::to_string(r[i].item<int64_t>()) +
         ", which this rank does not own (rows of a rank's entries must be in its 'owned')");
  }
  rfound = at::Tensor();
  r = at::Tensor();
  if (nnz_in > 0 && (c.min().item<int64_t>() < 0 || c.max().item<int64_t>() >= N))
    fail("argument 'col': column ids must be in [0, " + std::to_string(N) + ")");
  comm.agree(err.empty(), err);

  auto cpos = find_sorted(sorted, c, cfound, own_c);
  auto is_ghost = ~cfound;
  auto oi = at::nonzero(is_ghost).view(-1);
  const bool all_diag = oi.numel() == 0;
  auto c_ghost = c.index_select(0, oi);  // the ghost columns' global ids
  c = at::Tensor();
  // Boundary rows: those with an entry in a ghost column. Interior first, then boundary, each
  // in ascending global order.
  auto bnd = at::zeros({n_owned}, dev_long.dtype(at::kBool));
  if (!all_diag) bnd.index_put_({rpos.index_select(0, oi)}, true);
  auto order = at::cat({at::nonzero(~bnd).view(-1), at::nonzero(bnd).view(-1)});  // sorted idx
  const int64_t n_int = n_owned - bnd.sum().item<int64_t>();
  auto new_pos = at::empty({n_owned}, dev_long);
  new_pos.index_put_({order}, at::arange(n_owned, dev_long));
  auto local_owned = sorted.index_select(0, order);

  auto ghost_ids =
      all_diag ? at::empty({0}, dev_long) : std::get<0>(at::_unique(c_ghost, /*sorted=*/true));
  auto plan = build_plan(comm, N, local_owned, ghost_ids, dev);
  plan->n_interior = n_int;

  // The two blocks, differentiable in values (index_select, then from_coo's index_add).
  // Ghost index of a column: its position in the plan's ghost list (grouped by owner).
  auto g_sort = at::sort(plan->ghost.to(dev));
  at::Tensor gfound;
  auto gsp = find_sorted(std::get<0>(g_sort), c_ghost, gfound);
  auto ghost_col = std::get<1>(g_sort).index_select(0, gsp);
  auto orow = new_pos.index_select(0, rpos.index_select(0, oi)) - n_int;
  CooOptions co;
  co.check = true;
  DistMatrix A;
  at::Tensor map_d, map_o;
  A.offd_ = dsla::detail::from_coo_mapped(orow, ghost_col, values.index_select(-1, oi),
                                          {n_owned - n_int, plan->n_ghost}, co, map_o);
  // The diagonal block: every entry when no column is a ghost (no selection, no copy), else the
  // others'.
  {
    at::Tensor di = all_diag ? at::Tensor() : at::nonzero(cfound).view(-1);
    cfound = at::Tensor();
    is_ghost = at::Tensor();
    auto sel = [&](at::Tensor t) { return all_diag ? t : t.index_select(-1, di); };
    // No boundary row: the local order is the sorted one, positions are local ids as they are.
    auto local = [&](at::Tensor pos) {
      return n_int == n_owned ? pos : new_pos.index_select(0, pos);
    };
    auto drow = local(sel(std::move(rpos)));
    auto dcol = local(sel(std::move(cpos)));
    A.diag_ = dsla::detail::from_coo_mapped(drow, dcol, sel(values), {n_owned, n_owned}, co, map_d);
    if (entry_pos) {
      // values() is the diagonal block's values, then the off-diagonal block's.
      if (all_diag) {
        *entry_pos = map_d;
      } else {
        auto pos = at::empty({nnz_in}, map_d.options());
        if (di.numel() > 0) pos.index_put_({di}, map_d);
        pos.index_put_({oi}, map_o + A.diag_.nnz());
        *entry_pos = pos;
      }
    }
  }
  auto nz = at::tensor({A.diag_.nnz() + A.offd_.nnz()}, cpu_long);
  comm.allreduce_sum_(nz);
  plan->nnz_global = nz.item<int64_t>();
  A.plan_ = plan;
  return A;
}

const Comm& DistMatrix::comm() const {
  TORCH_CHECK_VALUE(defined(), "dsla: the DistMatrix is empty (default-constructed)");
  return plan_->comm;
}
int64_t DistMatrix::rows() const {
  return plan_ ? plan_->n : 0;
}
int64_t DistMatrix::cols() const {
  return rows();
}
int64_t DistMatrix::nnz() const {
  return plan_ ? plan_->nnz_global : 0;
}
int64_t DistMatrix::n_owned() const {
  return plan_ ? plan_->n_owned : 0;
}
int64_t DistMatrix::n_interior() const {
  return plan_ ? plan_->n_interior : 0;
}
int64_t DistMatrix::n_ghost() const {
  return plan_ ? plan_->n_ghost : 0;
}
int64_t DistMatrix::n_neighbours() const {
  return plan_ ? static_cast<int64_t>(plan_->recv_ranks.size()) : 0;
}
const at::Tensor& DistMatrix::owned() const {
  TORCH_CHECK_VALUE(defined(), "dsla: the DistMatrix is empty (default-constructed)");
  return plan_->owned;
}
const at::Tensor& DistMatrix::ghost() const {
  TORCH_CHECK_VALUE(defined(), "dsla: the DistMatrix is empty (default-constructed)");
  return plan_->ghost;
}
int64_t DistMatrix::rank_offset() const {
  return plan_ ? plan_->rank_offset : 0;
}
std::string DistMatrix::plan_summary() const {
  return plan_ ? plan_->summary() : "empty";
}

at::Tensor DistMatrix::values() const {
  return at::cat({diag_.values(), offd_.values()}, -1);
}

DistMatrix DistMatrix::with_values(const at::Tensor& v) const {
  TORCH_CHECK_VALUE(defined(), "dsla: the DistMatrix is empty (default-constructed)");
  const int64_t nd = diag_.nnz(), no = offd_.nnz();
  DSLA_CHECK_ARG(v.defined() && (v.dim() == 1 || v.dim() == 2) && v.size(-1) == nd + no, "values",
                 "must be [", nd + no, "] or [B, ", nd + no,
                 "] (this rank's local values: A.values's layout), got ",
                 v.defined() ? v.sizes() : at::IntArrayRef{});
  DSLA_CHECK_TYPE(v.scalar_type() == dtype(), "values", "dtype ", v.scalar_type(),
                  " does not match the matrix's ", dtype());
  DSLA_CHECK_ARG(v.device() == device(), "values", "is on ", v.device(), " but the matrix is on ",
                 device());
  DistMatrix A;
  A.plan_ = plan_;
  A.diag_ = diag_.with_values(v.narrow(-1, 0, nd));
  A.offd_ = offd_.with_values(v.narrow(-1, nd, no));
  return A;
}

DistMatrix DistMatrix::to(c10::Device device) const {
  TORCH_CHECK_VALUE(defined(), "dsla: the DistMatrix is empty (default-constructed)");
  comm().check_same(static_cast<int64_t>(device.type()), "device", "the device type");
  if (device == this->device()) return *this;
  auto plan = std::make_shared<HaloPlan>(*plan_);
  plan->send_idx = plan_->send_idx.to(device);
  DistMatrix A;
  A.plan_ = plan;
  A.diag_ = diag_.to(device);
  A.offd_ = offd_.to(device);
  return A;
}

DistMatrix DistMatrix::detach() const {
  DistMatrix A = *this;
  A.diag_ = diag_.detach();
  A.offd_ = offd_.detach();
  return A;
}

namespace {

void check_x3(const DistMatrix& A, const at::Tensor& x3) {
  DSLA_CHECK_ARG(x3.dim() == 3 && x3.size(1) == A.n_owned(), "x", "must be [B, n_owned, k] with ",
                 "n_owned = ", A.n_owned(), ", got ", x3.sizes());
}

}  // namespace

void DistMatrix::apply(const at::Tensor& x3, at::Tensor& y3) const {
  check_x3(*this, x3);
  const auto& p = *plan_;
  const int64_t B = x3.size(0), k = x3.size(2);
  // Pack and post the exchange, multiply by the diagonal block meanwhile, then add the ghosts'.
  auto send = x3.index_select(1, p.send_idx).permute({1, 0, 2}).contiguous();
  auto recv = at::empty({p.n_ghost, B, k}, x3.options());
  std::vector<Comm::Request> reqs;
  exchange(p, send, p.send_ranks, p.send_off, recv, p.recv_ranks, p.recv_off, 11, reqs);
  dsla::detail::spmm(*diag_.pattern(), values2d(diag_), x3.contiguous(), y3);
  for (auto& r : reqs) p.comm.wait(r);
  if (p.n_boundary() > 0 && offd_.nnz() > 0) {
    auto g = recv.permute({1, 0, 2}).contiguous();
    auto t = at::empty({std::max(B, offd_.batch_size()), p.n_boundary(), k}, x3.options());
    dsla::detail::spmm(*offd_.pattern(), values2d(offd_), g, t);
    y3.narrow(1, p.n_interior, p.n_boundary()).add_(t);
  }
}

namespace {

// Y = Mᴴ X without forming Mᴴ: each stored entry adds conj(m_ij) x_i to y_j, a block of rows at a
// time (about 2^24 entries: the transient stays bounded whatever M's size). What a one-off
// product uses (the symmetry probe): Pattern::transpose would cache a transposed pattern and an
// int64 permutation on M's pattern for good, 16-20 bytes per stored entry.
void adjoint_scatter(const SparseMatrix& M, const at::Tensor& x3, at::Tensor& y3) {
  const auto& p = *M.pattern();
  const int64_t nnz = p.nnz(), rows = p.rows();
  y3.zero_();
  if (nnz == 0) return;
  auto v = values2d(M).to(x3.scalar_type());
  if (v.is_complex()) v = v.conj();
  auto crow = p.crow().to(at::kLong);
  const int64_t per = std::max<int64_t>(1, rows * (int64_t(1) << 24) / nnz);
  for (int64_t r0 = 0; r0 < rows; r0 += per) {
    const int64_t r1 = std::min(rows, r0 + per);
    const int64_t e0 = crow[r0].item<int64_t>(), ne = crow[r1].item<int64_t>() - e0;
    if (ne == 0) continue;
    auto cnt = crow.narrow(0, r0 + 1, r1 - r0) - crow.narrow(0, r0, r1 - r0);
    auto row = at::repeat_interleave(cnt, c10::optional<int64_t>(ne)).add_(r0);
    auto t = v.narrow(1, e0, ne).unsqueeze(-1) * x3.index_select(1, row);
    y3.index_add_(1, p.col().narrow(0, e0, ne), t);
  }
}

// y = Aᴴ x over A's distribution: the diagonal block's adjoint here, the off-diagonal block's
// contributions to ghost columns sent back to their owners (the exchange reversed). `cached`:
// through the blocks' transposes (built once, kept on their patterns: the solvers' path), else
// by adjoint_scatter.
void adjoint_product(const DistMatrix& A, const at::Tensor& x3, at::Tensor& y3, bool cached) {
  const auto& p = A.plan();
  const int64_t k = x3.size(2);
  const int64_t B = std::max(x3.size(0), A.batch_size());
  auto apply = [cached](const SparseMatrix& M, const at::Tensor& x, at::Tensor& y) {
    if (!cached) return adjoint_scatter(M, x, y);
    auto Mh = M.is_complex() ? M.conj_transpose() : M.transpose();
    dsla::detail::spmm(*Mh.pattern(), values2d(Mh), x, y);
  };
  auto back = at::zeros({p.n_ghost, B, k}, x3.options());
  if (p.n_ghost > 0 && A.offd().nnz() > 0) {
    auto t = at::empty({B, p.n_ghost, k}, x3.options());
    apply(A.offd(), x3.narrow(1, p.n_interior, p.n_boundary()).contiguous(), t);
    back.copy_(t.permute({1, 0, 2}));
  }
  auto got = at::empty({p.n_send(), B, k}, x3.options());
  std::vector<Comm::Request> reqs;
  exchange(p, back, p.recv_ranks, p.recv_off, got, p.send_ranks, p.send_off, 12, reqs);
  apply(A.diag(), x3.contiguous(), y3);
  for (auto& r : reqs) p.comm.wait(r);
  if (p.n_send() > 0) y3.index_add_(1, p.send_idx, got.permute({1, 0, 2}));
}

}  // namespace

void DistMatrix::apply_adjoint(const at::Tensor& x3, at::Tensor& y3) const {
  check_x3(*this, x3);
  adjoint_product(*this, x3, y3, true);
}

namespace detail {
void apply_adjoint_uncached(const DistMatrix& A, const at::Tensor& x3, at::Tensor& y3) {
  adjoint_product(A, x3, y3, false);
}
}  // namespace detail

at::Tensor DistMatrix::halo(const at::Tensor& x3) const {
  check_x3(*this, x3);
  return exchange_ghosts(*plan_, x3, 13);
}

namespace {

// [n_owned], [n_owned, k], [B, n_owned], [B, n_owned, k] -> [B', n_owned, k] and back.
at::Tensor to3(const DistMatrix& A, const at::Tensor& x, const char* arg) {
  const int64_t n = A.n_owned();
  const bool batched = A.is_batched();
  if (x.dim() == 1) {
    DSLA_CHECK_ARG(x.size(0) == n, arg, "has length ", x.size(0), ", expected n_owned = ", n);
    return x.reshape({1, n, 1});
  }
  if (x.dim() == 2 && batched && x.size(0) == A.batch_size() && x.size(1) == n)
    return x.unsqueeze(-1);
  if (x.dim() == 2) {
    DSLA_CHECK_ARG(x.size(0) == n, arg, "has shape ", x.sizes(), ", expected [", n, "] or [", n,
                   ", k] (this rank's owned slice)");
    return x.unsqueeze(0);
  }
  DSLA_CHECK_ARG(x.dim() == 3 && batched && x.size(1) == n, arg, "has shape ", x.sizes(),
                 "; expected [n_owned], [n_owned, k] (or [B, n_owned(, k)] with batched values)");
  return x;
}

}  // namespace

at::Tensor DistMatrix::values_grad(const at::Tensor& gy3, const at::Tensor& x3,
                                   bool differentiable) const {
  check_x3(*this, gy3);
  check_x3(*this, x3);
  auto sddmm = [&](const SparseMatrix& M, const at::Tensor& l, const at::Tensor& r) {
    return differentiable ? dsla::detail::sddmm_reference(*M.pattern(), l, r)
                          : dsla::detail::sddmm(*M.pattern(), l, r);
  };
  auto gd = sddmm(diag_, gy3, x3);
  auto xg = halo(x3.detach());  // collective: every rank, even one without ghosts
  auto gb = gy3.narrow(1, n_interior(), n_owned() - n_interior()).contiguous();
  return at::cat({gd, sddmm(offd_, gb, xg)}, -1);
}

at::Tensor DistMatrix::matmul(const at::Tensor& x, bool adjoint) const {
  TORCH_CHECK_VALUE(defined(), "dsla: the DistMatrix is empty (default-constructed)");
  DSLA_CHECK_TYPE(x.scalar_type() == dtype(), "x", "dtype ", x.scalar_type(),
                  " does not match the matrix's ", dtype());
  DSLA_CHECK_ARG(x.device() == device(), "x", "is on ", x.device(), " but the matrix is on ",
                 device());
  auto x3 = to3(*this, x, "x");
  const int64_t B = std::max(x3.size(0), batch_size());
  auto y3 = at::empty({B, n_owned(), x3.size(2)}, x3.options());
  auto xe = x3.detach().expand({B, n_owned(), x3.size(2)}).contiguous();
  adjoint ? apply_adjoint(xe, y3) : apply(xe, y3);
  if (x.dim() == 1) return is_batched() ? y3.squeeze(-1) : y3.view({-1});
  if (x.dim() == 2 && !(is_batched() && x.size(0) == batch_size() && x.size(1) == n_owned()))
    return is_batched() ? y3 : y3.squeeze(0);
  if (x.dim() == 2) return y3.squeeze(-1);
  return y3;
}

bool DistMatrix::is_twin() const {
  return plan_ != nullptr && plan_->loopback;
}

at::Tensor DistMatrix::gather(const at::Tensor& x) const {
  TORCH_CHECK_VALUE(defined(), "dsla: the DistMatrix is empty (default-constructed)");
  DSLA_CHECK_ARG(!is_twin(), "A", "is a weak-scaling twin (one rank's share on one process): ",
                 "there is no whole vector to gather");
  DSLA_CHECK_ARG(x.dim() >= 1 && x.size(0) == n_owned(), "x",
                 "must be this rank's owned slice "
                 "(leading dimension n_owned = ",
                 n_owned(), "), got ", x.sizes());
  comm().check_same(x.dim(), "x", "the number of dimensions");
  auto ids = comm().allgatherv(owned());
  auto all = comm().allgatherv(x.detach().contiguous());
  auto out = at::empty_like(all);
  out.index_copy_(0, ids.to(all.device()), all);
  return out;
}

namespace detail {

GlobalCoo global_coo(const DistMatrix& A, c10::Device dev) {
  const auto& p = A.plan();
  const auto &d = A.diag(), &o = A.offd();
  GlobalCoo g;
  auto owned = p.owned.to(dev), ghost = p.ghost.to(dev);
  g.local_row = at::cat(
      {d.row_indices().to(dev, at::kLong), o.row_indices().to(dev, at::kLong) + p.n_interior});
  g.row = owned.index_select(0, g.local_row);
  g.col = at::cat({owned.index_select(0, d.col_indices().to(dev, at::kLong)),
                   ghost.index_select(0, o.col_indices().to(dev, at::kLong))});
  g.values = A.values().detach();
  return g;
}

at::Tensor abs_row_sums(const DistMatrix& A) {
  auto sums = [](const SparseMatrix& M) {
    return M.with_values(M.values().detach().abs()).row_sums().to(at::kCPU, at::kDouble);
  };
  if (A.n_owned() == 0) return at::zeros({0}, at::kDouble);
  auto rows = sums(A.diag());
  // offd holds the boundary rows only: the last n_owned − n_interior rows of the local order.
  if (A.offd().rows() > 0) rows.slice(0, A.n_interior()).add_(sums(A.offd()));
  return rows;
}

}  // namespace detail

SparseMatrix DistMatrix::gather_matrix() const {
  TORCH_CHECK_VALUE(defined(), "dsla: the DistMatrix is empty (default-constructed)");
  DSLA_CHECK_ARG(!is_twin(), "A", "is a weak-scaling twin (one rank's share on one process): ",
                 "there is no whole matrix to gather");
  // The entries are renumbered, gathered and merged on the matrix's device: a GPU sorts the
  // millions of entries of a gathered AMG level in milliseconds, the host (one thread on the
  // CPU machines) in seconds.
  const auto g = detail::global_coo(*this, device());
  auto rows = comm().allgatherv(g.row);
  auto cols = comm().allgatherv(g.col);
  const auto& v = g.values;
  auto vals = comm().allgatherv(v.dim() == 2 ? v.t().contiguous() : v.contiguous());
  if (v.dim() == 2) vals = vals.t().contiguous();
  return SparseMatrix::from_coo(rows, cols, vals.to(device()), {plan_->n, plan_->n});
}

}  // namespace dsla::dist
