// make_preconditioner: validates A and the options, then builds the named kind (the kinds of
// src/solve/precond, and "amg" from src/solve/amg: see make_preconditioner.h for why it is here).
#include "solve/make_preconditioner.h"

#include <dsla/errors.h>

#include "core/dispatch.h"
#include "solve/amg/amg_preconditioner.h"
#include "solve/precond/common.h"

namespace dsla::precond {

namespace {
constexpr const char* kKinds =
    "none, jacobi, block_jacobi, sgs, ssor, mc_sgs, mc_ssor, dilu, asm, chebyshev, ic0, ilu0, "
    "amg";
constexpr const char* kKindList[] = {"none",   "jacobi",  "block_jacobi", "sgs", "ssor",
                                     "mc_sgs", "mc_ssor", "dilu",         "asm", "chebyshev",
                                     "ic0",    "ilu0",    "amg"};
}  // namespace

void check_kind(const std::string& kind, const char* arg) {
  for (const char* k : kKindList) {
    if (kind == k) return;
  }
  DSLA_CHECK_ARG(false, arg, "unknown preconditioner '", kind, "'; valid kinds: ", kKinds);
}

PreconditionerPtr make_preconditioner(const SparseMatrix& A, const Options& opt) {
  DSLA_CHECK_ARG(A.defined(), "A", "the matrix is undefined");
  DSLA_CHECK_ARG(A.rows() == A.cols(), "A", "a preconditioner needs a square matrix, got ",
                 A.rows(), " x ", A.cols());
  DSLA_CHECK_ARG(A.rows() > 0, "A", "the matrix is empty (0 x 0)");
  DSLA_CHECK_TYPE(dsla::detail::is_value_dtype(A.dtype()), "A", "unsupported dtype ", A.dtype(),
                  "; use float32, float64, complex64 or complex128");
  const std::string& k = opt.kind;
  if (k == "none" || k.empty()) return detail::make_identity(A);
  if (k == "jacobi") return detail::make_jacobi(A, opt);
  if (k == "block_jacobi") return detail::make_block_jacobi(A, opt);
  if (k == "sgs") return detail::make_ssor(A, opt, /*symmetric_gs=*/true);
  if (k == "ssor") return detail::make_ssor(A, opt, /*symmetric_gs=*/false);
  if (k == "mc_sgs" || k == "mc_ssor" || k == "dilu") return detail::make_multicolor(A, opt, k);
  if (k == "asm") return detail::make_schwarz(A, opt);
  if (k == "chebyshev") return detail::make_chebyshev(A, opt);
  if (k == "ic0") return detail::make_ic0(A, opt);
  if (k == "ilu0") return detail::make_ilu0(A, opt);
  check_kind(k);
  DSLA_CHECK_ARG(k == "amg", "precond", "preconditioner '", k, "' is not built here");
  // Default AmgOptions; precond_options' block_size is the node size of a block system.
  amg::AmgOptions ao;
  if (opt.block_size > 0) ao.block_size = opt.block_size;
  return amg::make_amg_preconditioner(A, ao);
}

}  // namespace dsla::precond
