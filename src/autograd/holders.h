// Non-tensor state that autograd nodes keep (patterns, prepared solvers) rides in
// AutogradContext::saved_data as registered torch custom classes: IValue holds them on LibTorch
// 1.13 and 2.x alike.
#pragma once

#include <dsla/pattern.h>

#include <ATen/core/ivalue.h>
#include <torch/custom_class_detail.h>

namespace dsla::autograd {

struct PatternHolder : torch::CustomClassHolder {
  explicit PatternHolder(PatternPtr p) : pattern(std::move(p)) {}
  PatternPtr pattern;
};

// Wraps / unwraps a pattern for saved_data (the class is registered in holders.cpp).
c10::IValue hold(const PatternPtr& p);
PatternPtr pattern_of(const c10::IValue& v);

}  // namespace dsla::autograd
