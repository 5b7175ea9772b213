// Partitions of a matrix that is global already (from_global): METIS k-way on the graph of
// A + Aᵀ without the diagonal, and the coordinate partitions of a mesh's points (recursive
// coordinate bisection, Hilbert curve; kernels/cpu/coord_partition). METIS is optional: without
// it metis_parts refuses by name (NotImplementedError), never substitutes another partition.
#include <dsla/config.h>
#include <dsla/dist.h>
#include <dsla/errors.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#if DSLA_HAVE_METIS
#include <metis.h>
#endif

#include <limits>
#include <vector>

#include "kernels/cpu/coord_partition.h"

namespace dsla::dist {

bool metis_available() {
  return DSLA_HAVE_METIS;
}

at::Tensor metis_parts(const SparseMatrix& A, int parts, const at::Tensor& vertex_weights) {
  DSLA_CHECK_ARG(A.defined() && A.rows() == A.cols(), "A", "must be a square matrix");
  DSLA_CHECK_ARG(parts >= 1, "parts", "must be >= 1, got ", parts);
  DSLA_CHECK_ARG(!vertex_weights.defined() ||
                     (vertex_weights.dim() == 1 && vertex_weights.size(0) == A.rows() &&
                      !at::isFloatingType(vertex_weights.scalar_type()) &&
                      (A.rows() == 0 || vertex_weights.min().item<int64_t>() >= 1)),
                 "vertex_weights", "must be positive integers, one per row (", A.rows(), ")");
  TORCH_CHECK_NOT_IMPLEMENTED(DSLA_HAVE_METIS,
                              "dsla: partition='metis' needs METIS, which this "
                              "build does not have (dsla.features['metis']); use "
                              "partition='contiguous' or pass part ids");
  const int64_t n = A.rows();
  auto L = at::TensorOptions().dtype(at::kLong);
  if (parts == 1 || n == 0) return at::zeros({n}, L);
  if (parts >= n) return at::arange(n, L);  // one row per part; the rest stay empty
#if DSLA_HAVE_METIS
  DSLA_CHECK_ARG(n < (int64_t(1) << 31) - 1, "A", "has ", n, " rows; METIS (", IDXTYPEWIDTH,
                 "-bit) partitions fewer than 2^31");
  auto r = A.row_indices().to(at::kCPU, at::kLong), c = A.col_indices().to(at::kCPU, at::kLong);
  auto rr = at::cat({r, c}), cc = at::cat({c, r});
  auto off = rr != cc;
  auto key = std::get<0>(at::_unique(rr.index({off}) * n + cc.index({off}), /*sorted=*/true));
  auto src = at::div(key, n, "floor"), dst = key - src * n;
  auto xadj64 = at::zeros({n + 1}, L);
  xadj64.narrow(0, 1, n).copy_(at::bincount(src, {}, n).cumsum(0));
  std::vector<idx_t> xadj(xadj64.data_ptr<int64_t>(), xadj64.data_ptr<int64_t>() + n + 1);
  auto d = dst.contiguous();
  std::vector<idx_t> adj(d.data_ptr<int64_t>(), d.data_ptr<int64_t>() + d.numel());
  if (adj.empty()) adj.push_back(0);  // no edges (a diagonal matrix): METIS reads none
  idx_t nv = static_cast<idx_t>(n), ncon = 1, np = parts, objval = 0;
  idx_t options[METIS_NOPTIONS];
  METIS_SetDefaultOptions(options);
  options[METIS_OPTION_SEED] = 7;  // the same partition on every rank and every run
  std::vector<idx_t> part(n);
  // Vertex weights (e.g. the rows an aggregate stands for): METIS balances their sums.
  std::vector<idx_t> vw;
  if (vertex_weights.defined()) {
    auto w = vertex_weights.to(at::kCPU, at::kLong).contiguous();
    vw.assign(w.data_ptr<int64_t>(), w.data_ptr<int64_t>() + n);
  }
  const int rc =
      METIS_PartGraphKway(&nv, &ncon, xadj.data(), adj.data(), vw.empty() ? nullptr : vw.data(),
                          nullptr, nullptr, &np, nullptr, nullptr, options, &objval, part.data());
  TORCH_CHECK(rc == METIS_OK, "dsla: METIS_PartGraphKway failed (status ", rc, ")");
  auto out = at::empty({n}, L);
  auto* o = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) o[i] = static_cast<int64_t>(part[i]);
  return out;
#else
  return at::Tensor();
#endif
}

namespace {

// coords [N, d] (or [N]: one dimension) of a real or integer dtype, finite, as a contiguous
// float64 CPU tensor [N, d].
at::Tensor checked_coords(const at::Tensor& coords, int64_t parts, const char* kind) {
  DSLA_CHECK_ARG(coords.defined(), "coords", "partition='", kind,
                 "' needs the coordinates of the rows' points, a tensor [N, d]");
  DSLA_CHECK_TYPE(!coords.is_complex() && coords.scalar_type() != at::kBool, "coords",
                  "must be real coordinates (e.g. torch.float64), got ", coords.scalar_type());
  DSLA_CHECK_ARG(coords.dim() == 1 || coords.dim() == 2, "coords",
                 "must have shape [N, d] (or [N] for one dimension), got ", coords.sizes());
  at::Tensor x = coords.dim() == 1 ? coords.unsqueeze(1) : coords;
  DSLA_CHECK_ARG(x.size(1) >= 1 && x.size(1) <= 64, "coords",
                 "must have 1 to 64 dimensions (columns), got shape ", coords.sizes());
  DSLA_CHECK_ARG(parts >= 1 && parts <= std::numeric_limits<int32_t>::max(), "parts",
                 "must be in [1, 2^31), got ", parts);
  x = x.to(at::kCPU, at::kDouble).contiguous();
  check_finite(x, "coords");
  return x;
}

}  // namespace

at::Tensor rcb_parts(const at::Tensor& coords, int64_t parts) {
  const at::Tensor x = checked_coords(coords, parts, "rcb");
  at::Tensor out = at::empty({x.size(0)}, at::TensorOptions().dtype(at::kLong));
  kernels::cpu::rcb_partition(x.size(0), x.size(1), x.data_ptr<double>(), parts,
                              out.data_ptr<int64_t>());
  return out;
}

at::Tensor hilbert_parts(const at::Tensor& coords, int64_t parts) {
  const at::Tensor x = checked_coords(coords, parts, "hilbert");
  at::Tensor out = at::empty({x.size(0)}, at::TensorOptions().dtype(at::kLong));
  kernels::cpu::hilbert_partition(x.size(0), x.size(1), x.data_ptr<double>(), parts,
                                  out.data_ptr<int64_t>(), at::get_num_threads());
  return out;
}

at::Tensor hilbert_order(const at::Tensor& coords) {
  const at::Tensor x = checked_coords(coords, 1, "hilbert");
  at::Tensor out = at::empty({x.size(0)}, at::TensorOptions().dtype(at::kLong));
  kernels::cpu::hilbert_order(x.size(0), x.size(1), x.data_ptr<double>(), out.data_ptr<int64_t>(),
                              at::get_num_threads());
  return out;
}

}  // namespace dsla::dist
