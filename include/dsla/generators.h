// The canonical problems of ../shared/BENCHMARKS.md and random test matrices.
#pragma once

#include <dsla/sparse_matrix.h>

#include <c10/core/ScalarType.h>

namespace dsla {

struct GenOptions {
  at::ScalarType dtype = at::kDouble;
  c10::Device device = c10::Device(c10::kCPU);
};

// 5-point Laplacian on an n x n grid (Dirichlet): diagonal 4, off-diagonals -1, N = n².
SparseMatrix poisson2d(int64_t n, const GenOptions& opt = {});
// 7-point Laplacian on n³: diagonal 6, off-diagonals -1.
SparseMatrix poisson3d(int64_t n, const GenOptions& opt = {});
// Anisotropic diffusion -eps u_xx - u_yy on n x n (5-point), SPD.
SparseMatrix aniso2d(int64_t n, double eps = 1e-3, const GenOptions& opt = {});
// Convection-diffusion -Δu + (pe) (u_x + u_y) on n x n, first-order upwind: nonsymmetric,
// M-matrix (diagonally dominant). pe is the cell Péclet number.
SparseMatrix convdiff2d(int64_t n, double pe = 10.0, const GenOptions& opt = {});
// Random SPD n x n with about `density` n² off-diagonal entries (symmetric), made SPD by
// diagonal dominance.
SparseMatrix random_spd(int64_t n, double density, uint64_t seed = 0, const GenOptions& opt = {});
// Random nonsymmetric n x m with about density n m entries (plus a nonzero diagonal when square).
SparseMatrix random_sparse(int64_t rows, int64_t cols, double density, uint64_t seed = 0,
                           const GenOptions& opt = {});

// "poisson2d:1024", "poisson3d:64", "aniso2d:512:1e-3", "convdiff2d:256:10",
// "random_spd:1000:0.01". Throws ValueError naming the spec on a bad string.
SparseMatrix generate(const std::string& spec, const GenOptions& opt = {});
// True when `spec` names a generator (as opposed to a file path).
bool is_generator_spec(const std::string& spec);

}  // namespace dsla
