// cuDSS wrapper (see cudss_wrapper.h). Plain C++ (host code only): compiled by the C++ compiler
// into dsla_kernels_cuda, linked against libcudss.
#include <dsla/config.h>

#if DSLA_HAVE_CUDSS

#include "kernels/cuda/cudss_wrapper.h"

#include <cudss.h>
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace dsla::kernels::cuda::cudss {
namespace {

const char* status_name(cudssStatus_t s) {
  switch (s) {
    case CUDSS_STATUS_SUCCESS:
      return "CUDSS_STATUS_SUCCESS";
    case CUDSS_STATUS_NOT_INITIALIZED:
      return "CUDSS_STATUS_NOT_INITIALIZED";
    case CUDSS_STATUS_ALLOC_FAILED:
      return "CUDSS_STATUS_ALLOC_FAILED (out of device or host memory)";
    case CUDSS_STATUS_INVALID_VALUE:
      return "CUDSS_STATUS_INVALID_VALUE";
    case CUDSS_STATUS_NOT_SUPPORTED:
      return "CUDSS_STATUS_NOT_SUPPORTED";
    case CUDSS_STATUS_EXECUTION_FAILED:
      return "CUDSS_STATUS_EXECUTION_FAILED";
    case CUDSS_STATUS_INTERNAL_ERROR:
      return "CUDSS_STATUS_INTERNAL_ERROR";
    case CUDSS_STATUS_IR_FAILED:
      return "CUDSS_STATUS_IR_FAILED";
  }
  return "unknown cuDSS status";
}

[[noreturn]] void fail(const char* call, cudssStatus_t s) {
  std::ostringstream os;
  os << "dsla: cuDSS call failed: " << call << " returned " << status_name(s) << " ("
     << static_cast<int>(s) << ")";
  throw Error(os.str(), static_cast<int>(s));
}

#define DSLA_CUDSS_CHECK(call)                                   \
  do {                                                           \
    const cudssStatus_t dsla_st_ = (call);                       \
    if (dsla_st_ != CUDSS_STATUS_SUCCESS) fail(#call, dsla_st_); \
  } while (0)

cudssHandle_t H(void* p) {
  return static_cast<cudssHandle_t>(p);
}
cudssConfig_t C(void* p) {
  return static_cast<cudssConfig_t>(p);
}
cudssData_t D(void* p) {
  return static_cast<cudssData_t>(p);
}
cudssMatrix_t M(void* p) {
  return static_cast<cudssMatrix_t>(p);
}

cudaDataType_t value_type(ValueType v) {
  switch (v) {
    case ValueType::F32:
      return CUDA_R_32F;
    case ValueType::F64:
      return CUDA_R_64F;
    case ValueType::C64:
      return CUDA_C_32F;
    case ValueType::C128:
      return CUDA_C_64F;
  }
  return CUDA_R_64F;
}

cudssMatrixType_t matrix_type(MatrixType t) {
  switch (t) {
    case MatrixType::SPD:
      return CUDSS_MTYPE_SPD;
    case MatrixType::HPD:
      return CUDSS_MTYPE_HPD;
    case MatrixType::Symmetric:
      return CUDSS_MTYPE_SYMMETRIC;
    case MatrixType::Hermitian:
      return CUDSS_MTYPE_HERMITIAN;
    case MatrixType::General:
      return CUDSS_MTYPE_GENERAL;
  }
  return CUDSS_MTYPE_GENERAL;
}

cudssReorderingAlg_t reordering(Reordering r) {
  switch (r) {
    case Reordering::Default:
      return CUDSS_REORDERING_ALG_DEFAULT;
    case Reordering::AMD:
      return CUDSS_REORDERING_ALG_AMD;
    case Reordering::NestedDissection:
      return CUDSS_REORDERING_ALG_NESTED_DISSECTION;
    case Reordering::None:
      return CUDSS_REORDERING_ALG_NONE;
  }
  return CUDSS_REORDERING_ALG_DEFAULT;
}

// cuDSS's threading layer: "env" when CUDSS_THREADING_LIB names one (cuDSS reads the variable
// itself), "" when it is set to "none" (opt out), else the layer the nvidia-cudss wheel ships
// next to libcudss (libcudss_mtlayer_gomp.so.1) when that file exists, else "".
std::string threading_layer() {
  if (const char* e = std::getenv("CUDSS_THREADING_LIB"); e != nullptr && *e != 0)
    return std::strcmp(e, "none") == 0 ? std::string() : std::string("env");
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&cudssCreate), &info) == 0 || info.dli_fname == nullptr)
    return {};
  std::string dir = info.dli_fname;
  const auto slash = dir.rfind('/');
  dir = slash == std::string::npos ? std::string(".") : dir.substr(0, slash);
  const std::string path = dir + "/libcudss_mtlayer_gomp.so.1";
  return access(path.c_str(), R_OK) == 0 ? path : std::string();
}

}  // namespace

bool tracing() {
  static const bool on = [] {
    const char* e = std::getenv("DSLA_CUDSS_TRACE");
    return e != nullptr && *e != 0 && std::strcmp(e, "0") != 0;
  }();
  return on;
}

PhaseTrace::PhaseTrace(const char* what, cudaStream_t stream)
    : what_(what), stream_(stream), t0_(std::chrono::steady_clock::now()) {}

PhaseTrace::~PhaseTrace() {
  if (!tracing()) return;
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  std::fprintf(stderr, "dsla cuDSS: %s %.4f s\n", what_, s);
}

bool Error::not_supported() const {
  return status_ == CUDSS_STATUS_NOT_SUPPORTED || status_ == CUDSS_STATUS_INVALID_VALUE;
}

std::string version() {
  int major = 0, minor = 0, patch = 0;
  if (cudssGetProperty(MAJOR_VERSION, &major) != CUDSS_STATUS_SUCCESS ||
      cudssGetProperty(MINOR_VERSION, &minor) != CUDSS_STATUS_SUCCESS ||
      cudssGetProperty(PATCH_LEVEL, &patch) != CUDSS_STATUS_SUCCESS)
    return "unknown";
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

int64_t value_size(ValueType v) {
  switch (v) {
    case ValueType::F32:
      return 4;
    case ValueType::F64:
    case ValueType::C64:
      return 8;
    case ValueType::C128:
      return 16;
  }
  return 8;
}

Solver::Solver(const Options& opt) : opt_(opt) {
  if (opt_.n <= 0 || opt_.nnz <= 0 || opt_.batch <= 0)
    throw std::invalid_argument("dsla: cuDSS solver needs n > 0, nnz > 0 and batch > 0");
  cudssHandle_t h = nullptr;
  cudssStatus_t s;
  {
    PhaseTrace trace("handle", nullptr);
    s = cudssCreate(&h);
  }
  handle_ = h;  // cudssCreate may write a handle even when it fails: destroy it then too
  if (s != CUDSS_STATUS_SUCCESS) {
    if (h) cudssDestroy(h);
    handle_ = nullptr;
    fail("cudssCreate(&handle)", s);
  }
  try {
    // Multi-threaded host phases through cuDSS's threading layer (best effort: without it
    // cuDSS runs them on one thread, which is correct, so a refusal is not an error). The
    // reordering is most of an analysis: poisson2d:1024 on an H100 host took 9.5 s on one
    // thread, 1.85 s with the layer (bench/probes/cudss_phase_probe.cpp).
    const std::string layer = threading_layer();
    bool threaded = false;
    if (!layer.empty()) {
      PhaseTrace trace("threading layer", nullptr);
      threaded = cudssSetThreadingLayer(H(handle_), layer == "env" ? nullptr : layer.c_str()) ==
                 CUDSS_STATUS_SUCCESS;
    }
    cudssConfig_t c = nullptr;
    DSLA_CUDSS_CHECK(cudssConfigCreate(&c));
    config_ = c;
    if (threaded) {
      // All host cores for the reordering and symbolic phases (best effort, as above).
      int nt = int(std::thread::hardware_concurrency());
      if (nt > 0) (void)cudssConfigSet(C(config_), CUDSS_CONFIG_HOST_NTHREADS, &nt, sizeof(nt));
    }
    cudssData_t d = nullptr;
    DSLA_CUDSS_CHECK(cudssDataCreate(H(handle_), &d));
    data_ = d;
    cudssReorderingAlg_t alg = reordering(opt_.reordering);
    DSLA_CUDSS_CHECK(cudssConfigSet(C(config_), CUDSS_CONFIG_REORDERING_ALG, &alg, sizeof(alg)));
    // DSLA_CUDSS_ND_LEVELS=L: levels of cuDSS's nested dissection (a tuning knob for the
    // analysis time vs fill trade-off; bench/cudss_bench.py --nd-levels). Unset: cuDSS's default.
    if (const char* e = std::getenv("DSLA_CUDSS_ND_LEVELS"); e != nullptr && *e != 0) {
      char* end = nullptr;
      const long lv = std::strtol(e, &end, 10);
      if (*end != 0 || lv <= 0 || lv > 64)
        throw std::invalid_argument(std::string("dsla: DSLA_CUDSS_ND_LEVELS must be an integer in "
                                                "[1, 64], got '") +
                                    e + "'; unset it for cuDSS's default");
      int levels = int(lv);
      DSLA_CUDSS_CHECK(
          cudssConfigSet(C(config_), CUDSS_CONFIG_ND_NLEVELS, &levels, sizeof(levels)));
    }
    // No matching (a value-dependent row permutation with scaling): the analysis then depends
    // on the pattern only, so it can be reused for new values, and the factor's diagonal is
    // the diagonal of P A Pᵀ (det / logdet read it).
    cudssMatchingAlg_t match = CUDSS_MATCHING_ALG_NONE;
    DSLA_CUDSS_CHECK(cudssConfigSet(C(config_), CUDSS_CONFIG_MATCHING_ALG, &match, sizeof(match)));
    if (opt_.batch > 1) {
      // The value is an int in the cuDSS documentation; accept an int64 build as well.
      int ub = static_cast<int>(opt_.batch);
      if (cudssConfigSet(C(config_), CUDSS_CONFIG_UBATCH_SIZE, &ub, sizeof(ub)) !=
          CUDSS_STATUS_SUCCESS) {
        int64_t ub64 = opt_.batch;
        DSLA_CUDSS_CHECK(cudssConfigSet(C(config_), CUDSS_CONFIG_UBATCH_SIZE, &ub64, sizeof(ub64)));
      }
    }
  } catch (...) {
    if (data_) cudssDataDestroy(H(handle_), D(data_));
    if (config_) cudssConfigDestroy(C(config_));
    cudssDestroy(H(handle_));
    throw;
  }
}

Solver::~Solver() {
  // No status checks here: a destructor must not throw (and at process exit the CUDA context
  // may already be gone).
  if (X_) cudssMatrixDestroy(M(X_));
  if (B_) cudssMatrixDestroy(M(B_));
  if (A_) cudssMatrixDestroy(M(A_));
  if (data_) cudssDataDestroy(H(handle_), D(data_));
  if (config_) cudssConfigDestroy(C(config_));
  if (handle_) cudssDestroy(H(handle_));
}

void Solver::set_stream(cudaStream_t stream) {
  DSLA_CUDSS_CHECK(cudssSetStream(H(handle_), stream));
}

void Solver::set_matrix(const void* crow, const void* col, const void* values) {
  if (!A_) {
    const cudaDataType_t it = opt_.index == IndexType::I32 ? CUDA_R_32I : CUDA_R_64I;
    const cudssMatrixViewType_t view = opt_.mtype == MatrixType::General ? CUDSS_MVIEW_FULL
                                       : opt_.upper                      ? CUDSS_MVIEW_UPPER
                                                                         : CUDSS_MVIEW_LOWER;
    cudssMatrix_t a = nullptr;
    DSLA_CUDSS_CHECK(cudssMatrixCreateCsr(&a, opt_.n, opt_.n, opt_.nnz, const_cast<void*>(crow),
                                          nullptr, const_cast<void*>(col),
                                          const_cast<void*>(values), it, it, value_type(opt_.value),
                                          matrix_type(opt_.mtype), view, CUDSS_BASE_ZERO));
    A_ = a;
    return;
  }
  DSLA_CUDSS_CHECK(cudssMatrixSetCsrPointers(M(A_), const_cast<void*>(crow), nullptr,
                                             const_cast<void*>(col), const_cast<void*>(values)));
}

void Solver::make_dense(const void* b, void* x, int64_t nrhs) {
  if (dense_nrhs_ != nrhs) {
    if (X_) cudssMatrixDestroy(M(X_));
    if (B_) cudssMatrixDestroy(M(B_));
    X_ = B_ = nullptr;
    dense_nrhs_ = -1;
    cudssMatrix_t bm = nullptr, xm = nullptr;
    DSLA_CUDSS_CHECK(cudssMatrixCreateDn(&bm, opt_.n, nrhs, opt_.n, const_cast<void*>(b),
                                         value_type(opt_.value), CUDSS_LAYOUT_COL_MAJOR));
    B_ = bm;
    DSLA_CUDSS_CHECK(cudssMatrixCreateDn(&xm, opt_.n, nrhs, opt_.n, x, value_type(opt_.value),
                                         CUDSS_LAYOUT_COL_MAJOR));
    X_ = xm;
    dense_nrhs_ = nrhs;
    return;
  }
  DSLA_CUDSS_CHECK(cudssMatrixSetValues(M(B_), const_cast<void*>(b)));
  DSLA_CUDSS_CHECK(cudssMatrixSetValues(M(X_), x));
}

void Solver::set_user_ordering(const int64_t* perm, const int64_t* tree, int64_t tree_len,
                               int levels) {
  if (analyzed_) throw std::logic_error("dsla: cuDSS user ordering after analyze");
  if (tree_len != (int64_t(1) << levels) - 1)
    throw std::invalid_argument("dsla: cuDSS user ordering: the tree needs 2^levels - 1 parts");
  cudssReorderingAlg_t alg = CUDSS_REORDERING_ALG_NESTED_DISSECTION;
  DSLA_CUDSS_CHECK(cudssConfigSet(C(config_), CUDSS_CONFIG_REORDERING_ALG, &alg, sizeof(alg)));
  DSLA_CUDSS_CHECK(cudssConfigSet(C(config_), CUDSS_CONFIG_ND_NLEVELS, &levels, sizeof(levels)));
  // Both arrays in the matrix's index type (cuDSS copies them).
  auto set = [&](cudssDataParam_t param, const int64_t* v, int64_t len) {
    if (opt_.index == IndexType::I64) {
      DSLA_CUDSS_CHECK(cudssDataSet(H(handle_), D(data_), param, v, size_t(len) * sizeof(int64_t)));
    } else {
      std::vector<int32_t> w(v, v + len);
      DSLA_CUDSS_CHECK(
          cudssDataSet(H(handle_), D(data_), param, w.data(), size_t(len) * sizeof(int32_t)));
    }
  };
  set(CUDSS_DATA_USER_PERM, perm, opt_.n);
  set(CUDSS_DATA_USER_ND_PARTITION_TREE, tree, tree_len);
}

void Solver::analyze(cudaStream_t stream) {
  if (!A_) throw std::logic_error("dsla: cuDSS analyze before set_matrix");
  if (analyzed_) return;
  set_stream(stream);
  // The solution / rhs descriptors are not read by the analysis: pass the matrix's own
  // descriptor shapes through placeholders of one column.
  if (!B_) {
    cudssMatrix_t bm = nullptr, xm = nullptr;
    DSLA_CUDSS_CHECK(cudssMatrixCreateDn(&bm, opt_.n, 1, opt_.n, nullptr, value_type(opt_.value),
                                         CUDSS_LAYOUT_COL_MAJOR));
    B_ = bm;
    DSLA_CUDSS_CHECK(cudssMatrixCreateDn(&xm, opt_.n, 1, opt_.n, nullptr, value_type(opt_.value),
                                         CUDSS_LAYOUT_COL_MAJOR));
    X_ = xm;
    dense_nrhs_ = 1;
  }
  {
    PhaseTrace trace("analysis", stream);
    DSLA_CUDSS_CHECK(
        cudssExecute(H(handle_), CUDSS_PHASE_ANALYSIS, C(config_), D(data_), M(A_), M(X_), M(B_)));
  }
  analyzed_ = true;
}

int Solver::factorize(bool refactor, cudaStream_t stream) {
  if (!analyzed_) throw std::logic_error("dsla: cuDSS factorize before analyze");
  set_stream(stream);
  PhaseTrace trace(refactor && factorized_ ? "refactorization" : "factorization", stream);
  bool done = false;
  if (refactor && factorized_) {
    const cudssStatus_t s = cudssExecute(H(handle_), CUDSS_PHASE_REFACTORIZATION, C(config_),
                                         D(data_), M(A_), M(X_), M(B_));
    if (s == CUDSS_STATUS_SUCCESS) {
      done = true;
    } else if (s != CUDSS_STATUS_NOT_SUPPORTED && s != CUDSS_STATUS_INVALID_VALUE) {
      fail("cudssExecute(CUDSS_PHASE_REFACTORIZATION)", s);
    }
  }
  if (!done) {
    DSLA_CUDSS_CHECK(cudssExecute(H(handle_), CUDSS_PHASE_FACTORIZATION, C(config_), D(data_),
                                  M(A_), M(X_), M(B_)));
  }
  factorized_ = false;
  // CUDSS_DATA_INFO (synchronizes with the stream): one int, or one per uniform-batch member.
  std::vector<int> info(static_cast<size_t>(opt_.batch), 0);
  size_t written = 0;
  cudssStatus_t s = cudssDataGet(H(handle_), D(data_), CUDSS_DATA_INFO, info.data(),
                                 info.size() * sizeof(int), &written);
  if (s != CUDSS_STATUS_SUCCESS && info.size() > 1) {
    written = 0;
    s = cudssDataGet(H(handle_), D(data_), CUDSS_DATA_INFO, info.data(), sizeof(int), &written);
  }
  if (s != CUDSS_STATUS_SUCCESS) fail("cudssDataGet(CUDSS_DATA_INFO)", s);
  const size_t got = std::max<size_t>(1, std::min(info.size(), written / sizeof(int)));
  for (size_t i = 0; i < got; ++i)
    if (info[i] != 0) return info[i];
  factorized_ = true;
  return 0;
}

void Solver::solve(const void* b, void* x, int64_t nrhs, SolveMode mode, cudaStream_t stream) {
  if (!factorized_) throw std::logic_error("dsla: cuDSS solve before a successful factorize");
  set_stream(stream);
  PhaseTrace trace("solve", stream);
  make_dense(b, x, nrhs);
  const int want = mode == SolveMode::Normal      ? CUDSS_SOLVE_MODE_NORMAL
                   : mode == SolveMode::Transpose ? CUDSS_SOLVE_MODE_TRANSPOSE
                                                  : CUDSS_SOLVE_MODE_CONJUGATE_TRANSPOSE;
  if (want != solve_mode_) {
    cudssSolveMode_t m = static_cast<cudssSolveMode_t>(want);
    DSLA_CUDSS_CHECK(cudssConfigSet(C(config_), CUDSS_CONFIG_SOLVE_MODE, &m, sizeof(m)));
    solve_mode_ = want;
  }
  const cudssStatus_t s =
      cudssExecute(H(handle_), CUDSS_PHASE_SOLVE, C(config_), D(data_), M(A_), M(X_), M(B_));
  if (s != CUDSS_STATUS_SUCCESS) {
    if (want != CUDSS_SOLVE_MODE_NORMAL) {
      // Leave the config in the normal mode for the next solve.
      cudssSolveMode_t m = CUDSS_SOLVE_MODE_NORMAL;
      cudssConfigSet(C(config_), CUDSS_CONFIG_SOLVE_MODE, &m, sizeof(m));
      solve_mode_ = CUDSS_SOLVE_MODE_NORMAL;
    }
    fail(want == CUDSS_SOLVE_MODE_NORMAL ? "cudssExecute(CUDSS_PHASE_SOLVE)"
                                         : "cudssExecute(CUDSS_PHASE_SOLVE) in transpose mode",
         s);
  }
}

bool Solver::diag(void* out, int64_t bytes) {
  if (!factorized_) return false;
  size_t written = 0;
  const cudssStatus_t s = cudssDataGet(H(handle_), D(data_), CUDSS_DATA_DIAG, out,
                                       static_cast<size_t>(bytes), &written);
  return s == CUDSS_STATUS_SUCCESS &&
         static_cast<int64_t>(written) >= opt_.n * value_size(opt_.value);
}

bool Solver::inertia(int64_t* positive, int64_t* negative) {
  if (!factorized_) return false;
  int v[2] = {0, 0};
  size_t written = 0;
  const cudssStatus_t s =
      cudssDataGet(H(handle_), D(data_), CUDSS_DATA_INERTIA, v, sizeof(v), &written);
  if (s != CUDSS_STATUS_SUCCESS || written < sizeof(v)) return false;
  *positive = v[0];
  *negative = v[1];
  return true;
}

int64_t Solver::npivots() {
  if (!factorized_) return -1;
  int v = 0;
  size_t written = 0;
  const cudssStatus_t s =
      cudssDataGet(H(handle_), D(data_), CUDSS_DATA_NPIVOTS, &v, sizeof(v), &written);
  return s == CUDSS_STATUS_SUCCESS ? v : -1;
}

}  // namespace dsla::kernels::cuda::cudss

#endif  // DSLA_HAVE_CUDSS
