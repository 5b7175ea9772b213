// The canonical benchmark problems (../shared/BENCHMARKS.md) built straight into CSR (no sort),
// plus random test matrices.
#include <dsla/generators.h>

#include <ATen/CPUGeneratorImpl.h>

#include "core/dispatch.h"
#include "core/stencil.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace dsla {

using detail::ptr;

namespace detail {

device::Stub<StencilFn> stencil_stub;

int64_t Stencil::nnz() const {
  int64_t total = 0;
  for (const auto& p : points) {
    auto w = [](int64_t n, int d) { return std::max<int64_t>(0, n - (d < 0 ? -d : d)); };
    total += w(nx, p.dx) * w(ny, p.dy) * w(nz, p.dz);
  }
  return total;
}

namespace {

// Host CSR: count, scan, fill; rows are independent, so both loops run in parallel.
template <class I>
SparseMatrix stencil_host(const Stencil& s, const GenOptions& opt) {
  const int64_t nx = s.nx, ny = s.ny, nz = s.nz, N = s.rows();
  auto each = [&](int64_t i, auto add) {
    const int64_t x = i % nx, y = (i / nx) % ny, z = i / (nx * ny);
    for (const auto& p : s.points) {
      const int64_t xx = x + p.dx, yy = y + p.dy, zz = z + p.dz;
      if (xx >= 0 && xx < nx && yy >= 0 && yy < ny && zz >= 0 && zz < nz)
        add(i + s.offset(p), p.value);
    }
  };
  auto crow = at::empty({N + 1}, at::TensorOptions().dtype(c10::CppTypeToScalarType<I>::value));
  I* cr = ptr<I>(crow);
  at::parallel_for(0, N, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int64_t c = 0;
      each(i, [&](int64_t, double) { ++c; });
      cr[i + 1] = static_cast<I>(c);
    }
  });
  cr[0] = 0;
  for (int64_t i = 0; i < N; ++i) cr[i + 1] += cr[i];
  const int64_t nnz = cr[N];
  auto col = at::empty({nnz}, crow.options());
  auto val = at::empty({nnz}, at::TensorOptions().dtype(at::kDouble));
  I* cc = ptr<I>(col);
  double* vv = ptr<double>(val);
  at::parallel_for(0, N, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int64_t q = cr[i];
      each(i, [&](int64_t j, double v) {
        cc[q] = static_cast<I>(j);
        vv[q++] = v;
      });
    }
  });
  auto p = Pattern::from_csr(crow, col, N, N, /*check=*/false)->to(opt.device);
  return SparseMatrix(p, val.to(opt.device, opt.dtype), /*check=*/false);
}

}  // namespace

SparseMatrix stencil_matrix(Stencil s, const GenOptions& opt) {
  std::sort(s.points.begin(), s.points.end(), [&](const StencilPoint& a, const StencilPoint& b) {
    return s.offset(a) < s.offset(b);
  });
  if (auto* f = stencil_stub.on(opt.device)) return f(s, opt);
  if (Pattern::index_dtype_for(s.rows(), s.rows(), s.nnz()) == at::kInt) {
    return stencil_host<int32_t>(s, opt);
  }
  return stencil_host<int64_t>(s, opt);
}

}  // namespace detail

namespace {

using detail::Stencil;
using detail::stencil_matrix;

void check_gen(const GenOptions& opt) {
  DSLA_CHECK_TYPE(detail::is_value_dtype(opt.dtype), "dtype",
                  "must be float32, float64, complex64 or complex128");
}

void check_size(int64_t n, const char* arg) {
  DSLA_CHECK_ARG(n >= 1, arg, "grid size must be >= 1, got ", n);
}

// n^dims rows with up to per_row entries each must be countable in int64 (rows + 1 row pointers,
// rows * per_row entries): refused by name before anything is allocated, never wrapped around.
void check_grid(int64_t n, int dims, int64_t per_row, const char* arg) {
  check_size(n, arg);
  int64_t rows = 1, entries = 0;
  bool overflow = false;
  for (int d = 0; d < dims; ++d) overflow = overflow || __builtin_mul_overflow(rows, n, &rows);
  overflow = overflow || __builtin_mul_overflow(rows, per_row, &entries);
  DSLA_CHECK_ARG(!overflow, arg, "grid size ", n, " gives ", n, "^", dims,
                 " rows whose entries do not fit int64 indices: use a smaller grid");
}

// density * rows * cols random entries, counted in int64 (the product is formed in double).
int64_t random_count(double density, int64_t rows, int64_t cols) {
  const double m = density * static_cast<double>(rows) * static_cast<double>(cols);
  DSLA_CHECK_ARG(m < 9.0e18, "density", "density * rows * cols = ", m,
                 " entries do not fit int64: use a smaller density or size");
  return static_cast<int64_t>(m);
}

}  // namespace

SparseMatrix poisson2d(int64_t n, const GenOptions& opt) {
  check_grid(n, 2, 5, "n");
  check_gen(opt);
  return stencil_matrix(
      {n,
       n,
       1,
       {{0, -1, 0, -1.0}, {-1, 0, 0, -1.0}, {0, 0, 0, 4.0}, {1, 0, 0, -1.0}, {0, 1, 0, -1.0}}},
      opt);
}

SparseMatrix poisson3d(int64_t n, const GenOptions& opt) {
  check_grid(n, 3, 7, "n");
  check_gen(opt);
  return stencil_matrix({n,
                         n,
                         n,
                         {{0, 0, -1, -1.0},
                          {0, -1, 0, -1.0},
                          {-1, 0, 0, -1.0},
                          {0, 0, 0, 6.0},
                          {1, 0, 0, -1.0},
                          {0, 1, 0, -1.0},
                          {0, 0, 1, -1.0}}},
                        opt);
}

SparseMatrix aniso2d(int64_t n, double eps, const GenOptions& opt) {
  check_grid(n, 2, 5, "n");
  check_gen(opt);
  DSLA_CHECK_ARG(eps > 0, "eps", "anisotropy must be positive, got ", eps);
  return stencil_matrix({n,
                         n,
                         1,
                         {{0, -1, 0, -1.0},
                          {-1, 0, 0, -eps},
                          {0, 0, 0, 2.0 + 2.0 * eps},
                          {1, 0, 0, -eps},
                          {0, 1, 0, -1.0}}},
                        opt);
}

SparseMatrix convdiff2d(int64_t n, double pe, const GenOptions& opt) {
  check_grid(n, 2, 5, "n");
  check_gen(opt);
  DSLA_CHECK_ARG(pe >= 0, "pe", "Péclet number must be >= 0, got ", pe);
  // Velocity (1, 1); first-order upwind takes the west and south neighbours.
  return stencil_matrix({n,
                         n,
                         1,
                         {{0, -1, 0, -1.0 - pe},
                          {-1, 0, 0, -1.0 - pe},
                          {0, 0, 0, 4.0 + 2.0 * pe},
                          {1, 0, 0, -1.0},
                          {0, 1, 0, -1.0}}},
                        opt);
}

namespace {

at::Generator seeded(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

}  // namespace

SparseMatrix random_spd(int64_t n, double density, uint64_t seed, const GenOptions& opt) {
  check_size(n, "n");
  check_gen(opt);
  DSLA_CHECK_ARG(density >= 0 && density <= 1, "density", "must be in [0, 1], got ", density);
  auto gen = seeded(seed);
  const int64_t m = random_count(density / 2, n, n);
  auto i = at::randint(n, {m}, gen, at::kLong), j = at::randint(n, {m}, gen, at::kLong);
  auto keep = at::nonzero(i != j).view(-1);
  i = i.index_select(0, keep);
  j = j.index_select(0, keep);
  auto v = -at::rand({i.numel()}, gen, at::kDouble);
  auto off = SparseMatrix::from_coo(at::cat({i, j}), at::cat({j, i}), at::cat({v, v}), {n, n});
  // Strict diagonal dominance with a positive diagonal makes the matrix SPD.
  auto d = off.values().abs().new_zeros({n}).index_add(0, off.row_indices().to(at::kLong),
                                                       off.values().abs()) +
           1.0 + at::rand({n}, gen, at::kDouble);
  auto diag_idx = at::arange(n, at::kLong);
  auto A = SparseMatrix::from_coo(at::cat({off.row_indices().to(at::kLong), diag_idx}),
                                  at::cat({off.col_indices().to(at::kLong), diag_idx}),
                                  at::cat({off.values(), d}), {n, n});
  return A.to(opt.device, opt.dtype);
}

SparseMatrix random_sparse(int64_t rows, int64_t cols, double density, uint64_t seed,
                           const GenOptions& opt) {
  check_size(rows, "rows");
  check_size(cols, "cols");
  check_gen(opt);
  DSLA_CHECK_ARG(density >= 0 && density <= 1, "density", "must be in [0, 1], got ", density);
  auto gen = seeded(seed);
  const int64_t m = random_count(density, rows, cols);
  auto i = at::randint(rows, {m}, gen, at::kLong), j = at::randint(cols, {m}, gen, at::kLong);
  auto v = at::randn({m}, gen, at::kDouble);
  auto A = SparseMatrix::from_coo(i, j, v, {rows, cols});
  if (rows == cols) {
    // A diagonal larger than each row's off-diagonal sum keeps the square case nonsingular.
    auto rs = A.values().abs().new_zeros({rows}).index_add(0, A.row_indices().to(at::kLong),
                                                           A.values().abs());
    auto idx = at::arange(rows, at::kLong);
    A = SparseMatrix::from_coo(at::cat({A.row_indices().to(at::kLong), idx}),
                               at::cat({A.col_indices().to(at::kLong), idx}),
                               at::cat({A.values(), rs + 1.0}), {rows, cols});
  }
  return A.to(opt.device, opt.dtype);
}

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

const char* kSpecHelp =
    "expected poisson2d:N, poisson3d:N, aniso2d:N[:EPS], convdiff2d:N[:PE], random_spd:N[:DENSITY]"
    " or random:N[:DENSITY]";

}  // namespace

bool is_generator_spec(const std::string& spec) {
  const auto name = split(spec, ':').empty() ? std::string() : split(spec, ':')[0];
  return name == "poisson2d" || name == "poisson3d" || name == "aniso2d" || name == "convdiff2d" ||
         name == "random_spd" || name == "random";
}

SparseMatrix generate(const std::string& spec, const GenOptions& opt) {
  auto parts = split(spec, ':');
  DSLA_CHECK_ARG(parts.size() >= 2 && is_generator_spec(spec), "problem", "unknown problem '", spec,
                 "': ", kSpecHelp);
  auto num = [&](size_t k, double dflt) -> double {
    if (parts.size() <= k) return dflt;
    try {
      size_t used = 0;
      double v = std::stod(parts[k], &used);
      DSLA_CHECK_ARG(used == parts[k].size(), "problem", "bad number '", parts[k], "' in '", spec,
                     "'");
      return v;
    } catch (const std::logic_error&) {
      DSLA_CHECK_ARG(false, "problem", "bad number '", parts[k], "' in '", spec, "': ", kSpecHelp);
    }
    return dflt;
  };
  const auto& name = parts[0];
  // The grid size is an integer, parsed as one: "2.5" or "1e3" are refused, not truncated, and
  // a size past int64 is refused, not wrapped.
  int64_t n = 0;
  {
    const std::string& t = parts[1];
    size_t used = 0;
    bool ok = !t.empty() && (std::isdigit(static_cast<unsigned char>(t[0])) || t[0] == '-');
    try {
      if (ok) n = std::stoll(t, &used);
    } catch (const std::out_of_range&) {
      DSLA_CHECK_ARG(false, "problem", "size '", t, "' in '", spec,
                     "' does not fit int64: use a smaller grid");
    } catch (const std::invalid_argument&) {
      ok = false;
    }
    DSLA_CHECK_ARG(ok && used == t.size(), "problem", "size '", t, "' in '", spec,
                   "' must be a whole number: ", kSpecHelp);
  }
  if (name == "poisson2d") return poisson2d(n, opt);
  if (name == "poisson3d") return poisson3d(n, opt);
  if (name == "aniso2d") return aniso2d(n, num(2, 1e-3), opt);
  if (name == "convdiff2d") return convdiff2d(n, num(2, 10.0), opt);
  if (name == "random_spd") return random_spd(n, num(2, 5.0 / std::max<int64_t>(n, 1)), 0, opt);
  return random_sparse(n, n, num(2, 5.0 / std::max<int64_t>(n, 1)), 0, opt);
}

}  // namespace dsla
