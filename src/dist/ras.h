// Restricted additive Schwarz with overlap 1 (precond="ras" / "ras:<local kind>" on a
// DistMatrix): each rank extends its owned rows by its ghost rows, builds any local
// preconditioner of src/solve (ilu0 by default; amg, ic0, ssor, a direct factorization ...) on
// that overlapped block, and applies it to [r_owned | r_ghost] (one halo exchange), keeping
// only the owned part. The restriction makes it nonsymmetric: a preconditioner for GMRES /
// BiCGStab; the adjoint solve uses RAS built from the local preconditioner's adjoint.
#pragma once

#include <dsla/dist.h>

#include "solve/make_preconditioner.h"

namespace dsla::dist::detail {

// The overlapped local block on [owned | ghost] (this rank's local order, then A.ghost()'s): the
// owned rows (both blocks) and the ghost rows fetched from their owners (one all-to-all of their
// entries), restricted to the columns in [owned | ghost]. Collective. Values [nnz] or [B, nnz]
// like A's.
SparseMatrix overlap_block(const DistMatrix& A);

struct Ras {
  LinearOperatorPtr forward, adjoint;  // on owned slices [B, n_owned, k]; collectives
};
// Collective (the fetch, the local setups agreed through local_step).
Ras make_ras(const DistMatrix& A, const precond::Options& local);

}  // namespace dsla::dist::detail
