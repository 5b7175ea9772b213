// color_rows (structure.h): independent-set coloring on the matrix's device, in ATen ops so one
// code serves every device. Each round takes, among the uncolored rows, the local maxima and the
// local minima of a fixed random priority over the uncolored neighbourhood (two independent sets:
// two colors per round, as in Jones–Plassmann / Luby with both ends), until every row is colored.
// Rounds cost O(nnz) each; poisson2d takes ~10 colors, poisson3d ~14.
#include <dsla/errors.h>
#include <dsla/structure.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <memory>

namespace dsla {

namespace {

struct CachedColoring {
  Coloring c;
};

}  // namespace

Coloring color_rows(const SparseMatrix& A) {
  DSLA_CHECK_ARG(A.defined() && A.rows() == A.cols(), "A", "color_rows needs a square matrix, got ",
                 A.rows(), " x ", A.cols());
  const auto& p = *A.pattern();
  auto cached = p.cached<CachedColoring>("dsla.coloring", [&] {
    const int64_t n = p.rows();
    const auto L = at::TensorOptions().dtype(at::kLong).device(p.device());
    auto out = std::make_shared<CachedColoring>();
    // Edges of A + Aᵀ without the diagonal, both directions.
    auto r = p.row().to(at::kLong), c = p.col().to(at::kLong);
    auto off = r != c;
    r = r.masked_select(off);
    c = c.masked_select(off);
    auto er = at::cat({r, c}), ec = at::cat({c, r});
    // Priorities: a permutation from a fixed seed (deterministic, no ties).
    auto gen = at::make_generator<at::CPUGeneratorImpl>(20261203);
    auto prio = at::randperm(n, gen, at::TensorOptions().dtype(at::kLong)).to(p.device());
    auto colors = at::full({n}, int64_t(-1), L);
    int64_t count = 0;
    int64_t left = n;
    while (left > 0) {
      auto unc = colors < 0;
      auto live = unc.index_select(0, er) & unc.index_select(0, ec);  // both ends uncolored
      // A row is a local maximum (minimum) when no live neighbour has a larger (smaller)
      // priority: counted per row with index_add (deterministic, no atomics of floats).
      auto pr = prio.index_select(0, ec), pi = prio.index_select(0, er);
      auto above = at::zeros({n}, L).index_add_(0, er, (live & (pr > pi)).to(at::kLong));
      auto below = at::zeros({n}, L).index_add_(0, er, (live & (pr < pi)).to(at::kLong));
      auto top = unc & (above == 0);
      colors.masked_fill_(top, count++);
      auto bottom = unc & ~top & (below == 0);
      if (bottom.any().item<bool>()) colors.masked_fill_(bottom, count++);
      left = (colors < 0).sum().item<int64_t>();
    }
    out->c.count = count;
    out->c.colors = colors;
    return out;
  });
  return cached->c;
}

}  // namespace dsla
