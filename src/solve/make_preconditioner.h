// Preconditioners by name. The factory lives in src/solve, above src/solve/precond and
// src/solve/amg, because it builds kinds from both: AmgPreconditioner derives from
// precond::Preconditioner, so a factory inside precond/ that includes amg/ was a folder cycle.
#pragma once

#include <dsla/sparse_matrix.h>

#include <string>

#include "solve/precond/preconditioner.h"

namespace dsla::precond {

// Builds the preconditioner `opt.kind` for A (on A's device). Throws ValueError for unknown
// kinds, for kinds that need a full nonzero diagonal when A lacks one (naming the first bad row),
// and NotImplementedError for kinds not built on that device.
PreconditionerPtr make_preconditioner(const SparseMatrix& A, const Options& opt);

// Refuses (ValueError naming `arg`) a name that is no preconditioner kind, so that a misspelt
// precond fails where the options are read, whatever method ends up used.
void check_kind(const std::string& kind, const char* arg = "precond");

}  // namespace dsla::precond
