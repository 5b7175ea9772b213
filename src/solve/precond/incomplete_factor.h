// Internal: the numeric phase shared by IC(0) and ILU(0): factor every batch member, retrying a
// member whose pivot breaks down on A + α·diag(A) with growing α (a diagonal shift in the manner
// of Manteuffel), and report the largest shift used.
#pragma once

#include "solve/precond/preconditioner.h"

#include <ATen/ATen.h>

#include <functional>
#include <string>

namespace dsla::precond::detail {

// vals: A's values [B, nnz] (CPU, contiguous); out: [B, nnz], receives the factors. numeric
// factors one member in place and returns -1 or the row whose pivot broke down. Returns the
// largest shift α used (0 when none). Throws ValueError naming the row and member when a pivot
// breaks down and opt.auto_shift is off, or no shift up to 1 helps; `hint` ends the message.
double factor_with_shifts(const at::Tensor& vals, at::Tensor& out, const at::Tensor& diag,
                          const Options& opt, const std::string& kind, const std::string& hint,
                          const std::function<int64_t(at::Tensor& member)>& numeric);

// "kind" or "kind(shift=α)".
std::string shifted_name(const std::string& kind, double shift);

}  // namespace dsla::precond::detail
