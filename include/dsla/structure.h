// The structure of a sparse matrix: connected components of its graph, positive definiteness
// and the matrix type (symmetric / Hermitian / SPD / skew / general).
//
// Graph: vertex i has an edge to j for every stored entry (i, j), i != j, whatever its value
// (an explicit zero is an edge: the analysis is of the pattern, shared by a batch).
#pragma once

#include <dsla/sparse_matrix.h>

#include <ATen/Tensor.h>

#include <string>
#include <vector>

namespace dsla {

enum class Connection {
  Weak,    // components of the undirected graph of A + Aᵀ (A is block diagonal over them)
  Strong,  // strongly connected components of the directed graph (A irreducible iff one)
};

struct Components {
  int64_t count = 0;
  // [n] int64 on A's device: labels[i] in [0, count), numbered in the order of each
  // component's smallest row.
  at::Tensor labels;
};

// Components of a square matrix's graph (rows == cols, else ValueError naming A). Computed on
// the host once per pattern and cached on it (a CUDA pattern is copied to the host once).
Components connected_components(const SparseMatrix& A, Connection connection = Connection::Weak);

struct ComponentBlock {
  at::Tensor index;  // [n_c] int64 on A's device: the rows (= columns) of A in this block, sorted
  SparseMatrix matrix;  // A[index][:, index], values differentiable (a gather of A's values)
};

// A square matrix as the list of its weak components, in the order of connected_components:
// A is block diagonal over them, so the blocks hold every stored entry of A exactly once. One
// pass over the entries (not one submatrix per component); batched values stay batched.
std::vector<ComponentBlock> split_components(const SparseMatrix& A);

// A distance-1 coloring of the graph of A + Aᵀ: no two rows joined by a stored entry (either
// direction) share a color, so the rows of one color can be updated at once (multicolor
// Gauss–Seidel / SSOR / DILU, src/solve/precond/multicolor.cpp). Computed on A's device by
// independent-set rounds (each round colors the rows whose priority is the largest, and those
// whose priority is the smallest, among their uncolored neighbours; priorities a fixed-seed
// permutation, so the coloring is deterministic); cached on the pattern. Square A only.
struct Coloring {
  int64_t count = 0;
  at::Tensor colors;  // [n] int64 on A's device, in [0, count)
};
Coloring color_rows(const SparseMatrix& A);

struct DefinitenessOptions {
  // A counts as Hermitian (symmetric, for real A) when |a_ij − conj(a_ji)| <= atol + rtol max|a|
  // (SparseMatrix::is_symmetric's test); a matrix that is not is not positive definite.
  double rtol = 1e-12;
  double atol = 0.0;
  // Cholesky pivots: the matrix is positive definite when every pivot is positive and the
  // smallest / largest > pivot_tolerance (a semidefinite matrix with a null space factors to a
  // last pivot near rounding: singular to working precision, so not definite). 0: positive
  // pivots only.
  double pivot_tolerance = 1e-14;
  // Without a sparse Cholesky for A's device (SuiteSparse on the CPU, cuDSS on CUDA), matrices
  // up to this many rows take a dense Cholesky (torch's linalg_cholesky_ex, in float64 /
  // complex128); larger ones raise NotImplementedError saying what to install.
  int64_t dense_max_rows = 4096;
  // "auto" (sparse where the build has it for A's device, else dense up to dense_max_rows),
  // "sparse" (NotImplementedError without a backend) or "dense" (whatever the size).
  std::string factorization = "auto";
};

// Whether A is Hermitian positive definite (SPD for real A), by an attempted Cholesky
// factorization of its Hermitian part (never an eigensolve): CHOLMOD on the CPU, cuDSS on CUDA,
// else a dense Cholesky for small n (DefinitenessOptions::dense_max_rows). Non-square: false;
// 0 x 0: true (as torch.linalg.cholesky). NaN / Inf values: ValueError. A non-positive diagonal
// entry answers false without factorizing. Returns a bool tensor on the CPU: 0-dim, or [B] for
// batched values (one answer per member).
at::Tensor is_positive_definite(const SparseMatrix& A, const DefinitenessOptions& opt = {});

enum class MatrixType {
  SPD,            // real symmetric positive definite
  HPD,            // complex Hermitian positive definite
  Symmetric,      // A = Aᵀ (real: indefinite or semidefinite; complex: not Hermitian)
  Hermitian,      // complex A = Aᴴ, not positive definite
  SkewSymmetric,  // A = −Aᵀ
  SkewHermitian,  // complex A = −Aᴴ
  General,
};
// "spd", "hpd", "symmetric", "hermitian", "skew-symmetric", "skew-hermitian", "general".
std::string to_string(MatrixType t);

struct MatrixTypeOptions {
  // Symmetry tests: |a_ij − s·op(a_ji)| <= atol + rtol max|a| (s = ±1, op = identity or conj).
  double rtol = 1e-12;
  double atol = 0.0;
  // Test definiteness of symmetric / Hermitian matrices (is_positive_definite, a Cholesky
  // attempt); false: report them as symmetric / hermitian without factorizing.
  bool definite = true;
  double pivot_tolerance = 1e-14;
  int64_t dense_max_rows = 4096;
  std::string factorization = "auto";
};

// The most specific type that A satisfies within the tolerance, checked in the order of the
// enum (a matrix that is both symmetric and skew — zero — is symmetric; a complex matrix that
// is both Hermitian and symmetric — real values — is Hermitian). Batched values: the type every
// member has. Non-square: General.
MatrixType detect_matrix_type(const SparseMatrix& A, const MatrixTypeOptions& opt = {});

}  // namespace dsla
