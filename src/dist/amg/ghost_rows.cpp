// Ghost rows of a distributed matrix (ghost_rows.h).
#include "dist/amg/ghost_rows.h"

namespace dsla::dist::amg_detail {

namespace {

// Entry offsets of the blocks of a row exchange: block i holds rows [row_off[i], row_off[i+1])
// of `lengths` (on any device; the offsets come to the host, one small copy).
std::vector<int64_t> entry_offsets(const at::Tensor& lengths, const std::vector<int64_t>& row_off) {
  auto cum = at::cat({at::zeros({1}, lengths.options()), lengths.cumsum(0)});
  auto at_off = cum.index_select(0, at::tensor(row_off, at::kLong).to(cum.device())).cpu();
  auto a = at_off.accessor<int64_t, 1>();
  return std::vector<int64_t>(a.data(), a.data() + a.size(0));
}

}  // namespace

GhostRows fetch_ghost_structure(const HaloPlan& plan, const at::Tensor& crow, const at::Tensor& col,
                                c10::Device device) {
  const auto L = at::TensorOptions().dtype(at::kLong).device(device);
  auto cr = crow.to(device, at::kLong).contiguous();
  auto cl = col.to(device, at::kLong).contiguous();
  auto len = cr.narrow(0, 1, plan.n_owned) - cr.narrow(0, 0, plan.n_owned);
  // Row lengths of the rows each neighbour holds as ghosts (the plan's exchange).
  auto send_idx = plan.send_idx.to(device);
  auto send_len = len.index_select(0, send_idx).contiguous();
  auto recv_len = at::empty({plan.n_ghost}, L);
  std::vector<Comm::Request> reqs;
  exchange(plan, send_len, plan.send_ranks, plan.send_off, recv_len, plan.recv_ranks, plan.recv_off,
           21, reqs);
  for (auto& r : reqs) plan.comm.wait(r);
  GhostRows g;
  g.send_off = entry_offsets(send_len, plan.send_off);
  g.recv_off = entry_offsets(recv_len, plan.recv_off);
  // The entries of the sent rows, row after row: [lo, lo + len) of each.
  const int64_t ns = g.send_off.back();
  auto lo = cr.index_select(0, send_idx);
  auto starts = at::cat({at::zeros({1}, L), send_len.cumsum(0)}).narrow(0, 0, send_idx.numel());
  auto pos = at::repeat_interleave(lo - starts, send_len, 0, ns) + at::arange(ns, L);
  auto send_col = cl.index_select(0, pos).contiguous();
  auto recv_col = at::empty({g.recv_off.back()}, L);
  reqs.clear();
  exchange(plan, send_col, plan.send_ranks, g.send_off, recv_col, plan.recv_ranks, g.recv_off, 22,
           reqs);
  for (auto& r : reqs) plan.comm.wait(r);
  g.crow = at::cat({at::zeros({1}, L), recv_len.cumsum(0)});
  g.col = recv_col;
  g.send_pos = pos;
  return g;
}

at::Tensor fetch_ghost_values(const HaloPlan& plan, const GhostRows& g, const at::Tensor& values) {
  const int64_t B = values.size(0);
  auto send = values.index_select(1, g.send_pos).t().contiguous();  // [S_e, B]
  auto recv = at::empty({g.recv_off.back(), B}, values.options());
  std::vector<Comm::Request> reqs;
  exchange(plan, send, plan.send_ranks, g.send_off, recv, plan.recv_ranks, g.recv_off, 23, reqs);
  for (auto& r : reqs) plan.comm.wait(r);
  return recv.t().contiguous();
}

}  // namespace dsla::dist::amg_detail
