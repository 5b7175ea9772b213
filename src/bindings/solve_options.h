// The SolveOptions dict that python/dsla/solve.py builds (_options), for binding files that need
// it without a matrix (bind_solve.cpp adds the user preconditioner "M", which needs one).
#pragma once

#include <dsla/solve.h>

#include "bindings/registry.h"

namespace dsla::bindings {

// Every key but "M" / "M_adjoint" (ignored here).
SolveOptions solve_options_from(const py::dict& d);

// A Python callable z = fn(r) as an n x n operator (fn_adj: its adjoint, or None). The callable
// runs with the GIL taken; a result of another shape fails naming argument 'M'. Single-process
// solves pass A.rows(), distributed ones the rank's owned rows.
LinearOperatorPtr python_operator(int64_t n, at::ScalarType dtype, c10::Device device,
                                  py::object fn, py::object fn_adj);
// Adds the user preconditioner of d["M"] / d["M_adjoint"] (when given) to `o`.
void add_python_preconditioner(SolveOptions& o, const py::dict& d, int64_t n, at::ScalarType dtype,
                               c10::Device device);

}  // namespace dsla::bindings
