// Structured generators per rank: each rank builds only its box of the grid. The process grid
// is the factorization of P closest to a cube (least halo surface); the box of rank r is the
// product of contiguous ranges along each axis, and rows keep their global lexicographic ids
// (x fastest), so the distributed matrix equals dsla::poisson2d / poisson3d / aniso2d /
// convdiff2d of the same size, entry for entry.
#include <dsla/dist.h>
#include <dsla/errors.h>

#include "dist/box_grid.h"

#include <ATen/ATen.h>

#include <array>
#include <cmath>
#include <vector>

namespace dsla::dist {

namespace detail {

std::array<int, 3> process_grid(int P, int dims) {
  std::array<int, 3> best{P, 1, 1};
  double best_score = 1e300;
  for (int a = 1; a <= P; ++a) {
    if (P % a) continue;
    for (int b = 1; b <= P / a; ++b) {
      if ((P / a) % b) continue;
      const int c = P / a / b;
      if (dims == 2 && c != 1) continue;
      const double mx = std::max({a, b, dims == 3 ? c : 1});
      const double mn = std::min({a, b, dims == 3 ? c : a});
      const double score = mx / mn;
      if (score < best_score) {
        best_score = score;
        best = {a, b, c};
      }
    }
  }
  return best;
}

Stencil stencil_of(const std::string& kind, double eps) {
  Stencil s;
  auto add = [&](int64_t dx, int64_t dy, int64_t dz, double v) {
    s.off.push_back({dx, dy, dz});
    s.val.push_back(v);
  };
  if (kind == "poisson2d") {
    add(0, -1, 0, -1), add(-1, 0, 0, -1), add(0, 0, 0, 4), add(1, 0, 0, -1), add(0, 1, 0, -1);
  } else if (kind == "poisson3d") {
    add(0, 0, -1, -1), add(0, -1, 0, -1), add(-1, 0, 0, -1), add(0, 0, 0, 6);
    add(1, 0, 0, -1), add(0, 1, 0, -1), add(0, 0, 1, -1);
  } else if (kind == "aniso2d") {
    add(0, -1, 0, -1), add(-1, 0, 0, -eps), add(0, 0, 0, 2 + 2 * eps), add(1, 0, 0, -eps);
    add(0, 1, 0, -1);
  } else if (kind == "convdiff2d") {
    add(0, -1, 0, -1 - eps), add(-1, 0, 0, -1 - eps), add(0, 0, 0, 4 + 2 * eps);
    add(1, 0, 0, -1), add(0, 1, 0, -1);
  } else {
    DSLA_CHECK_ARG(false, "kind", "unknown distributed generator '", kind,
                   "'; use poisson2d, poisson3d, aniso2d or convdiff2d");
  }
  return s;
}

}  // namespace detail

using detail::process_grid;
using detail::stencil_of;

DistMatrix generate(const Comm& comm, const std::string& kind, int64_t n, double epsilon,
                    at::ScalarType dtype) {
  DSLA_CHECK_ARG(n >= 1, "n", "grid side must be >= 1, got ", n);
  DSLA_CHECK_TYPE(dtype == at::kDouble || dtype == at::kFloat, "dtype",
                  "must be torch.float64 or torch.float32, got ", dtype);
  if (kind == "aniso2d") DSLA_CHECK_ARG(epsilon > 0, "epsilon", "must be positive, got ", epsilon);
  const auto st = stencil_of(kind, kind == "aniso2d" ? epsilon : epsilon);
  const int dims = kind == "poisson3d" ? 3 : 2;
  const int64_t nz = dims == 3 ? n : 1;
  const auto grid = process_grid(comm.size(), dims);
  // This rank's coordinates in the process grid (x fastest).
  const int r = comm.rank();
  const int cx = r % grid[0], cy = (r / grid[0]) % grid[1], cz = r / (grid[0] * grid[1]);
  auto [x0, x1] = contiguous_range(n, cx, grid[0]);
  auto [y0, y1] = contiguous_range(n, cy, grid[1]);
  auto [z0, z1] = contiguous_range(nz, cz, grid[2]);
  auto L = at::TensorOptions().dtype(at::kLong);
  auto zz = at::arange(z0, z1, L).view({-1, 1, 1});
  auto yy = at::arange(y0, y1, L).view({1, -1, 1});
  auto xx = at::arange(x0, x1, L).view({1, 1, -1});
  auto shape = std::vector<int64_t>{z1 - z0, y1 - y0, x1 - x0};
  auto X = xx.expand(shape).reshape(-1), Y = yy.expand(shape).reshape(-1),
       Z = zz.expand(shape).reshape(-1);
  auto ids = X + n * Y + n * n * Z;
  std::vector<at::Tensor> rows, cols, vals;
  for (size_t s = 0; s < st.off.size(); ++s) {
    const auto& o = st.off[s];
    auto Xn = X + o[0], Yn = Y + o[1], Zn = Z + o[2];
    auto ok = (Xn >= 0) & (Xn < n) & (Yn >= 0) & (Yn < n) & (Zn >= 0) & (Zn < nz);
    auto idx = at::nonzero(ok).view(-1);
    rows.push_back(ids.index_select(0, idx));
    cols.push_back((Xn + n * Yn + n * n * Zn).index_select(0, idx));
    vals.push_back(at::full({idx.numel()}, st.val[s], at::TensorOptions().dtype(dtype)));
  }
  const int64_t N = n * n * nz;
  return DistMatrix::from_local_coo(comm, at::cat(rows), at::cat(cols), at::cat(vals), {N, N}, ids);
}

}  // namespace dsla::dist
