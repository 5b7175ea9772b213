// DistMatrix::twin (dist.h): one rank's share of a structured generator's box decomposition,
// built on one process directly on the device — no COO round trip through the host, no
// ownership directory — so that a single GPU can hold and time the share one GPU of a
// multi-GPU run would (poisson3d:1000 over 4 ranks: 250M rows). The blocks, the local order
// (interior rows first, then boundary rows, each by global id), the ghosts (grouped by owner,
// then by id) and the send lists are those dist::generate gives that rank (a test checks them
// against four threads as ranks); only the exchange differs: a loopback (halo_plan.h).
#include <dsla/dist.h>
#include <dsla/errors.h>

#include <ATen/ATen.h>

#include <vector>

#include "dist/box_grid.h"
#include "dist/halo_plan.h"

namespace dsla::dist {

namespace {

// Owner coordinate along one axis of `count` ranks over [0, n): the p with
// contiguous_range(n, p, count) holding x.
at::Tensor axis_owner(const at::Tensor& x, int64_t n, int count) {
  std::vector<int64_t> lo(count + 1);
  for (int p = 0; p <= count; ++p) lo[p] = p == count ? n : contiguous_range(n, p, count).first;
  auto b = at::tensor(lo, x.options());
  return at::searchsorted(b, x, /*out_int32=*/false, /*right=*/true) - 1;
}

}  // namespace

DistMatrix DistMatrix::twin(const Comm& comm, const std::string& kind, int64_t n, int rank,
                            int ranks, at::ScalarType dtype, c10::Device device, double epsilon) {
  DSLA_CHECK_ARG(comm.defined() && comm.size() == 1, "comm",
                 "a twin runs on one process: pass a group of size 1");
  DSLA_CHECK_ARG(ranks >= 1, "ranks", "must be >= 1, got ", ranks);
  DSLA_CHECK_ARG(rank >= 0 && rank < ranks, "rank", "must be in [0, ", ranks, "), got ", rank);
  DSLA_CHECK_ARG(n >= 1, "n", "grid side must be >= 1, got ", n);
  DSLA_CHECK_ARG(kind == "poisson2d" || kind == "poisson3d" || kind == "aniso2d", "kind",
                 "a twin needs a symmetric stencil: poisson2d, poisson3d or aniso2d, got '", kind,
                 "'");
  DSLA_CHECK_TYPE(dtype == at::kDouble || dtype == at::kFloat, "dtype",
                  "must be torch.float64 or torch.float32, got ", dtype);
  const auto st = detail::stencil_of(kind, epsilon);
  const int dims = kind == "poisson3d" ? 3 : 2;
  const int64_t nz = dims == 3 ? n : 1;
  const auto grid = detail::process_grid(ranks, dims);
  const int cx = rank % grid[0], cy = (rank / grid[0]) % grid[1], cz = rank / (grid[0] * grid[1]);
  const auto [x0, x1] = contiguous_range(n, cx, grid[0]);
  const auto [y0, y1] = contiguous_range(n, cy, grid[1]);
  const auto [z0, z1] = contiguous_range(nz, cz, grid[2]);
  const int64_t nx = x1 - x0, ny = y1 - y0, nzb = z1 - z0, nb = nx * ny * nzb;
  const int64_t N = n * n * nz;
  const int S = static_cast<int>(st.off.size());
  const auto L = at::TensorOptions().dtype(at::kLong).device(device);

  // Box-local index i = lx + nx (ly + ny lz): ascending i is ascending global id.
  auto i = at::arange(nb, L);
  auto lx = i.remainder(nx), ly = i.div(nx, "floor").remainder(ny), lz = i.div(nx * ny, "floor");
  i = at::Tensor();
  // Ghost entries (row, neighbour) by stencil offset, owners by the process grid; the rows that
  // have one are the boundary rows.
  std::vector<at::Tensor> g_row, g_key, g_s;
  for (int s = 0; s < S; ++s) {
    const auto& o = st.off[s];
    auto gx = lx + (x0 + o[0]), gy = ly + (y0 + o[1]), gz = lz + (z0 + o[2]);
    auto in_dom = (gx >= 0) & (gx < n) & (gy >= 0) & (gy < n) & (gz >= 0) & (gz < nz);
    auto in_box = (gx >= x0) & (gx < x1) & (gy >= y0) & (gy < y1) & (gz >= z0) & (gz < z1);
    auto rows = at::nonzero(in_dom & ~in_box).view(-1);
    if (rows.numel() == 0) continue;
    auto hx = gx.index_select(0, rows), hy = gy.index_select(0, rows),
         hz = gz.index_select(0, rows);
    auto owner = axis_owner(hx, n, grid[0]) +
                 grid[0] * (axis_owner(hy, n, grid[1]) + grid[1] * axis_owner(hz, nz, grid[2]));
    g_row.push_back(rows);
    g_key.push_back(owner * N + (hx + n * hy + n * n * hz));  // by owner, then by id
    g_s.push_back(at::full({rows.numel()}, int64_t(s), L));
  }
  auto bnd = at::zeros({nb}, L.dtype(at::kBool));
  for (const auto& rows : g_row) bnd.index_fill_(0, rows, true);
  auto order = at::cat({at::nonzero(~bnd).view(-1), at::nonzero(bnd).view(-1)});
  const int64_t n_int = nb - bnd.sum().item<int64_t>();
  bnd = at::Tensor();
  const bool small = nb + 1 < (int64_t(1) << 31);  // int32 indices where they fit
  auto new_pos = at::empty({nb}, L);
  new_pos.index_put_({order}, at::arange(nb, L));

  // The diagonal block, a chunk of rows (in the new order) at a time: each row's S stencil
  // columns as sortable keys col * S + s (absent ones past every column), sorted per row.
  const int64_t big = (nb + 1) * S;
  auto svals = at::tensor(st.val, at::TensorOptions().dtype(dtype)).to(device);
  std::vector<at::Tensor> cols, vals, counts;
  const int64_t chunk = std::max<int64_t>(1, (int64_t(1) << 25) / S);
  for (int64_t r0 = 0; r0 < nb; r0 += chunk) {
    const int64_t m = std::min(chunk, nb - r0);
    auto old = order.narrow(0, r0, m);
    auto cx_ = lx.index_select(0, old), cy_ = ly.index_select(0, old),
         cz_ = lz.index_select(0, old);
    std::vector<at::Tensor> keys;
    for (int s = 0; s < S; ++s) {
      const auto& o = st.off[s];
      auto bx = cx_ + o[0], by = cy_ + o[1], bz = cz_ + o[2];  // box-local neighbour
      auto in_box = (bx >= 0) & (bx < nx) & (by >= 0) & (by < ny) & (bz >= 0) & (bz < nzb);
      auto j = (bx + nx * (by + ny * bz)).clamp(0, nb - 1);
      keys.push_back(at::where(in_box, new_pos.index_select(0, j) * S + s, big));
    }
    auto key = std::get<0>(at::stack(keys, 1).sort(1));
    auto present = key < big;
    counts.push_back(present.sum(1));
    auto k = key.masked_select(present);
    cols.push_back(small ? k.div(S, "floor").to(at::kInt) : k.div(S, "floor"));
    vals.push_back(svals.index_select(0, k.remainder(S)));
  }
  auto crow = at::zeros({nb + 1}, L);
  crow.narrow(0, 1, nb).copy_(at::cat(counts).cumsum(0));
  counts.clear();
  auto col = at::cat(cols);
  cols.clear();
  auto val = at::cat(vals);
  vals.clear();
  auto diag = SparseMatrix::from_csr(small ? crow.to(at::kInt) : crow, col, val, {nb, nb},
                                     /*check=*/false);
  crow = col = val = at::Tensor();

  lx = ly = lz = at::Tensor();
  auto plan = std::make_shared<HaloPlan>();
  plan->comm = comm;
  plan->n = N;
  // A twin of one rank is that rank's real matrix (no ghosts): nothing to loop back, and what
  // refuses twins (gather, AMG) takes it.
  plan->loopback = ranks > 1;
  // Stored entries of the whole problem: per offset, the points whose neighbour is inside.
  for (const auto& o : st.off) {
    int64_t c = 1;
    for (int a = 0; a < 3; ++a)
      c *= std::max<int64_t>(0, (a < 2 || dims == 3 ? n : 1) - std::abs(o[a]));
    plan->nnz_global += c;
  }
  plan->n_owned = nb;
  plan->n_interior = n_int;
  plan->recv_off = {0};
  plan->send_off = {0};
  plan->rank_offset = 0;
  SparseMatrix offd;
  const int64_t nbnd = nb - n_int;
  if (g_row.empty()) {
    auto I = small ? at::kInt : at::kLong;
    offd = SparseMatrix::from_csr(at::zeros({nbnd + 1}, L.dtype(I)), at::zeros({0}, L.dtype(I)),
                                  at::zeros({0}, at::TensorOptions().dtype(dtype).device(device)),
                                  {nbnd, 0}, false);
    plan->send_idx = at::zeros({0}, L);
    plan->ghost = at::zeros({0}, at::kLong);
  } else {
    auto row = at::cat(g_row), key = at::cat(g_key), sidx = at::cat(g_s);
    auto gkeys = std::get<0>(at::_unique(key, /*sorted=*/true));
    auto gcol = at::searchsorted(gkeys, key);
    const int64_t ng = gkeys.numel();
    offd = SparseMatrix::from_coo(new_pos.index_select(0, row) - n_int, gcol,
                                  svals.index_select(0, sidx), {nbnd, ng});
    plan->n_ghost = ng;
    plan->ghost = gkeys.remainder(N).cpu();
    // Receive: ghosts grouped by owner. Send: to each neighbour, this rank's rows it needs — by
    // the stencil's symmetry, the rows with a ghost that neighbour owns — in its ghost order
    // (ascending global id = ascending box-local index).
    auto gowner = gkeys.div(N, "floor").cpu();
    auto owners = std::get<0>(at::_unique(gowner, true));
    auto eowner = key.div(N, "floor");
    std::vector<at::Tensor> send;
    for (int64_t q = 0; q < owners.numel(); ++q) {
      const int64_t r = owners[q].item<int64_t>();
      plan->recv_ranks.push_back(static_cast<int>(r));
      plan->recv_off.push_back(plan->recv_off.back() + (gowner == r).sum().item<int64_t>());
      auto mine = std::get<0>(at::_unique(row.masked_select(eowner == r), true));
      send.push_back(new_pos.index_select(0, mine));
      plan->send_ranks.push_back(static_cast<int>(r));
      plan->send_off.push_back(plan->send_off.back() + mine.numel());
      TORCH_CHECK(mine.numel() == plan->recv_off.back() - plan->recv_off[q],
                  "dsla: twin: the send and receive layers to rank ", r, " differ in size");
    }
    plan->send_idx = at::cat(send);
  }
  // Global ids in the local order (host: the plan's bookkeeping lives there).
  {
    auto i2 = order;
    auto gx = i2.remainder(nx) + x0, gy = i2.div(nx, "floor").remainder(ny) + y0,
         gz = i2.div(nx * ny, "floor") + z0;
    plan->owned = host_ids(gx + n * gy + n * n * gz);
  }
  DistMatrix A;
  A.plan_ = plan;
  A.diag_ = diag;
  A.offd_ = offd;
  return A;
}

}  // namespace dsla::dist
