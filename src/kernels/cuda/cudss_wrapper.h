// cuDSS (NVIDIA's GPU sparse direct solver) behind a plain C++ interface: raw device pointers,
// sizes, a dtype enum and a stream. No torch here (src/cuda/cudss_factorization.cpp adapts it to
// at::Tensor and dsla::direct::Factorization). Compiled only when CMake found cuDSS
// (DSLA_HAVE_CUDSS); every cuDSS status is checked and turned into a cudss::Error naming the call.
#pragma once

#include <cuda_runtime.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace dsla::kernels::cuda::cudss {

// A cuDSS call that returned a status other than success.
class Error : public std::runtime_error {
 public:
  Error(const std::string& what, int status) : std::runtime_error(what), status_(status) {}
  int status() const { return status_; }
  bool not_supported() const;  // CUDSS_STATUS_NOT_SUPPORTED or CUDSS_STATUS_INVALID_VALUE

 private:
  int status_;
};

enum class MatrixType { SPD, HPD, Symmetric, Hermitian, General };
enum class ValueType { F32, F64, C64, C128 };
enum class IndexType { I32, I64 };
enum class SolveMode { Normal, Transpose, ConjugateTranspose };
enum class Reordering { Default, AMD, NestedDissection, None };

struct Options {
  MatrixType mtype = MatrixType::General;
  ValueType value = ValueType::F64;
  IndexType index = IndexType::I32;
  int64_t n = 0;
  int64_t nnz = 0;    // stored entries of the matrix cuDSS sees (one triangle when symmetric)
  int64_t batch = 1;  // > 1: a uniform batch (same pattern, values [batch, nnz] contiguous)
  Reordering reordering = Reordering::Default;
  bool upper = true;  // symmetric types: the stored triangle (CUDSS_MVIEW_UPPER / LOWER)
};

// cuDSS library version as "major.minor.patch" (cudssGetProperty).
std::string version();
// Size of one value of this type in bytes.
int64_t value_size(ValueType v);

// DSLA_CUDSS_TRACE=1 in the environment: each traced phase (cuDSS's handle, analysis,
// factorization and solve, and dsla's own steps around them) is synchronized and its time
// printed on stderr ("dsla cuDSS: analysis 0.2304 s"), to see where a direct solve's time goes
// (bench/cudss_first_call.py reads the lines).
bool tracing();
// Times its scope when tracing() (synchronizing `stream` first when it is not null).
class PhaseTrace {
 public:
  PhaseTrace(const char* what, cudaStream_t stream);
  ~PhaseTrace();
  PhaseTrace(const PhaseTrace&) = delete;
  PhaseTrace& operator=(const PhaseTrace&) = delete;

 private:
  const char* what_;
  cudaStream_t stream_;
  std::chrono::steady_clock::time_point t0_;
};

// One cuDSS handle + config + data: the analysis (ordering + symbolic factorization), the numeric
// factors and the solves of one matrix (or one uniform batch). Not thread safe; use from one
// thread at a time. Pointers given to set_matrix must stay valid until the next set_matrix.
class Solver {
 public:
  explicit Solver(const Options& opt);
  ~Solver();
  Solver(const Solver&) = delete;
  Solver& operator=(const Solver&) = delete;

  const Options& options() const { return opt_; }
  bool analyzed() const { return analyzed_; }
  bool factorized() const { return factorized_; }

  // CSR arrays on the device (0-based): crow [n + 1], col [nnz], values [batch * nnz].
  void set_matrix(const void* crow, const void* col, const void* values);
  // A fill-reducing ordering computed by the caller, used instead of cuDSS's own reordering
  // (before analyze): perm[new] = old ([n]) and the sizes of the 2^levels - 1 parts of its
  // nested dissection in the order they occupy perm (kernels/cpu/nested_dissection.h). cuDSS
  // needs the partition tree with the permutation: with the permutation alone its symbolic
  // phase was 30x slower and its factorization 10x (bench/probes/cudss_phase_probe.cpp).
  void set_user_ordering(const int64_t* perm, const int64_t* tree, int64_t tree_len, int levels);
  // Reordering + symbolic factorization (needs set_matrix). Runs once per Solver.
  void analyze(cudaStream_t stream);
  // Numeric factorization of the current values. `refactor`: reuse the previous numeric
  // factorization's structures (CUDSS_PHASE_REFACTORIZATION; falls back to a full numeric
  // factorization when cuDSS refuses). Returns CUDSS_DATA_INFO: 0 on success, > 0 when cuDSS
  // met a zero / non-positive pivot (a 1-based position where cuDSS reports one). Synchronizes.
  int factorize(bool refactor, cudaStream_t stream);
  // x = op(A)⁻¹ b for nrhs column-major right-hand sides of length n (per batch member:
  // b, x are [batch, nrhs, n] contiguous). Throws Error (with not_supported()) when this
  // cuDSS cannot do `mode` for this matrix type.
  void solve(const void* b, void* x, int64_t nrhs, SolveMode mode, cudaStream_t stream);
  // Diagonal of the factor in the original order (CUDSS_DATA_DIAG) into `out` ([n] values of
  // the factorization's type, host or device memory). Returns false when cuDSS does not provide
  // it for this configuration. Synchronizes.
  bool diag(void* out, int64_t bytes);
  // CUDSS_DATA_INERTIA: (positive, negative) pivot counts; false when not available.
  bool inertia(int64_t* positive, int64_t* negative);
  // CUDSS_DATA_NPIVOTS (pivots cuDSS perturbed / swapped); -1 when not available.
  int64_t npivots();

 private:
  void set_stream(cudaStream_t stream);
  void make_dense(const void* b, void* x, int64_t nrhs);
  Options opt_;
  void* handle_ = nullptr;  // cudssHandle_t
  void* config_ = nullptr;  // cudssConfig_t
  void* data_ = nullptr;    // cudssData_t
  void* A_ = nullptr;       // cudssMatrix_t (CSR)
  void* B_ = nullptr;       // cudssMatrix_t (dense rhs)
  void* X_ = nullptr;       // cudssMatrix_t (dense solution)
  int64_t dense_nrhs_ = -1;
  int solve_mode_ = 0;
  bool analyzed_ = false;
  bool factorized_ = false;
};

}  // namespace dsla::kernels::cuda::cudss
