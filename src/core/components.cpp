// Connected components of a matrix's graph and the split of a matrix into its weak components.
// The components are pattern data: computed once on the host by the kernels of
// kernels/cpu/graph_components and cached on the Pattern.
#include <dsla/errors.h>
#include <dsla/structure.h>

#include <memory>
#include <vector>

#include "core/dispatch.h"
#include "kernels/cpu/graph_components.h"

namespace dsla {
namespace {

namespace kc = kernels::cpu;

struct HostComponents {
  int64_t count = 0;
  at::Tensor labels;  // [n] int64, CPU
};

std::shared_ptr<HostComponents> host_components(const Pattern& p, Connection connection) {
  const bool weak = connection == Connection::Weak;
  return p.cached<HostComponents>(weak ? "dsla.components.weak" : "dsla.components.strong", [&] {
    auto out = std::make_shared<HostComponents>();
    const int64_t n = p.rows();
    const at::Tensor crow = p.crow().to(at::kCPU).contiguous();
    const at::Tensor col = p.col().to(at::kCPU).contiguous();
    out->labels = at::empty({n}, at::TensorOptions().dtype(at::kLong));
    int64_t* labels = out->labels.data_ptr<int64_t>();
    out->count = DSLA_DISPATCH_INDEX(p.index_dtype(), "connected_components", [&] {
      const auto* c = detail::ptr<const index_t>(crow);
      const auto* k = detail::ptr<const index_t>(col);
      return weak ? kc::weak_components(n, c, k, labels) : kc::strong_components(n, c, k, labels);
    });
    return out;
  });
}

void check_square(const SparseMatrix& A, const char* what) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an undefined matrix");
  DSLA_CHECK_ARG(A.rows() == A.cols(), "A", what,
                 " needs a square matrix (the graph of its rows and columns), got ", A.rows(),
                 " x ", A.cols(),
                 "; for a rectangular A use the bipartite graph of [[0, A], [Aᴴ, 0]]");
}

}  // namespace

Components connected_components(const SparseMatrix& A, Connection connection) {
  check_square(A, "connected_components");
  auto h = host_components(*A.pattern(), connection);
  return {h->count, h->labels.to(A.device())};
}

std::vector<ComponentBlock> split_components(const SparseMatrix& A) {
  check_square(A, "split_components");
  const auto& p = *A.pattern();
  auto h = host_components(p, Connection::Weak);
  const int64_t n = p.rows(), nnz = p.nnz(), count = h->count;
  const int64_t* label = h->labels.data_ptr<int64_t>();
  // Each component's rows in ascending order and every row's position within its component.
  std::vector<int64_t> start(static_cast<size_t>(count + 1), 0), local(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) ++start[label[i] + 1];
  for (int64_t c = 0; c < count; ++c) start[c + 1] += start[c];
  std::vector<int64_t> rows(static_cast<size_t>(n));
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t q = fill[label[i]]++;
      rows[q] = i;
      local[i] = q - start[label[i]];
    }
  }
  // Entries grouped by component, in CSR order within each: the rows of a component keep
  // their relative order and so do the columns of a row, so each group is its block's CSR.
  const at::Tensor crow = p.crow().to(at::kCPU, at::kLong).contiguous();
  const at::Tensor col = p.col().to(at::kCPU, at::kLong).contiguous();
  const int64_t* cr = crow.data_ptr<int64_t>();
  const int64_t* cl = col.data_ptr<int64_t>();
  std::vector<int64_t> estart(static_cast<size_t>(count + 1), 0);
  for (int64_t i = 0; i < n; ++i) estart[label[i] + 1] += cr[i + 1] - cr[i];
  for (int64_t c = 0; c < count; ++c) estart[c + 1] += estart[c];
  auto L = at::TensorOptions().dtype(at::kLong);
  at::Tensor perm = at::empty({nnz}, L);
  int64_t* pm = perm.data_ptr<int64_t>();
  {
    std::vector<int64_t> fill(estart.begin(), estart.end() - 1);
    for (int64_t q = 0; q < n; ++q) {  // rows in component order
      const int64_t i = rows[q];
      int64_t& f = fill[label[i]];
      for (int64_t e = cr[i]; e < cr[i + 1]; ++e) pm[f++] = e;
    }
  }
  const at::Tensor values = A.values().index_select(-1, perm.to(A.device()));
  const at::Tensor all_rows = at::from_blob(rows.data(), {n}, L).clone();
  std::vector<ComponentBlock> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t c = 0; c < count; ++c) {
    const int64_t nc = start[c + 1] - start[c], e0 = estart[c], ec = estart[c + 1] - e0;
    const auto idt = Pattern::index_dtype_for(nc, nc, ec);
    at::Tensor bcrow = at::empty({nc + 1}, L), bcol = at::empty({ec}, L);
    int64_t* bc = bcrow.data_ptr<int64_t>();
    int64_t* bk = bcol.data_ptr<int64_t>();
    bc[0] = 0;
    for (int64_t r = 0; r < nc; ++r) {
      const int64_t i = rows[start[c] + r];
      bc[r + 1] = bc[r] + (cr[i + 1] - cr[i]);
    }
    for (int64_t e = 0; e < ec; ++e) bk[e] = local[cl[pm[e0 + e]]];
    auto pat = Pattern::from_csr(bcrow.to(A.device(), idt), bcol.to(A.device(), idt), nc, nc,
                                 /*check=*/false);
    out.push_back({all_rows.narrow(0, start[c], nc).to(A.device()),
                   SparseMatrix(pat, values.narrow(-1, e0, ec).contiguous(), /*check=*/false)});
  }
  return out;
}

}  // namespace dsla
