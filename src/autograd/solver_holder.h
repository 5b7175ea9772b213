// A prepared Solver riding in AutogradContext::saved_data (registered torch custom class).
#pragma once

#include <dsla/solve.h>

#include <ATen/core/ivalue.h>
#include <torch/custom_class_detail.h>

namespace dsla::autograd {

struct SolverHolder : torch::CustomClassHolder {
  explicit SolverHolder(Solver s) : solver(std::move(s)) {}
  Solver solver;
};

c10::IValue hold(const Solver& s);
Solver solver_of(const c10::IValue& v);

}  // namespace dsla::autograd
