// Internal helpers shared by src/dist files.
#pragma once

#include <dsla/dist.h>

#include <functional>

namespace dsla::dist::detail {

// The operator of A or of Aᴴ (adjoint solves), both over the distributed space.
LinearOperatorPtr make_operator(const DistMatrix& A, bool adjoint);

// Runs rank-local work that may throw (a preconditioner setup, a local check) and agrees on the
// outcome: a rank whose work threw rethrows its own exception, the others throw a ValueError
// naming that rank, so that no rank is left alone in the next collective.
void local_step(const Comm& comm, const std::function<void()>& fn);

}  // namespace dsla::dist::detail
