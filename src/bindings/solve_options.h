// The SolveOptions dict that python/dsla/solve.py builds (_options), for binding files that need
// it without a matrix (bind_solve.cpp adds the user preconditioner "M", which needs one).
#pragma once

#include <dsla/solve.h>

#include "bindings/registry.h"

namespace dsla::bindings {

// Every key but "M" / "M_adjoint" (ignored here).
SolveOptions solve_options_from(const py::dict& d);

}  // namespace dsla::bindings
