#include "autograd/solver_holder.h"

#include <torch/custom_class.h>

namespace dsla::autograd {
namespace {
const auto kSolverHolderClass = torch::class_<SolverHolder>("dsla", "SolverHolder");
}  // namespace

c10::IValue hold(const Solver& s) {
  return c10::IValue(c10::make_intrusive<SolverHolder>(s));
}

Solver solver_of(const c10::IValue& v) {
  return v.toCustomClass<SolverHolder>()->solver;
}

}  // namespace dsla::autograd
