#include "autograd/holders.h"

#include <torch/custom_class.h>

namespace dsla::autograd {
namespace {
// Registration makes PatternHolder storable in an IValue.
const auto kPatternHolderClass = torch::class_<PatternHolder>("dsla", "PatternHolder");
}  // namespace

c10::IValue hold(const PatternPtr& p) {
  return c10::IValue(c10::make_intrusive<PatternHolder>(p));
}

PatternPtr pattern_of(const c10::IValue& v) {
  return v.toCustomClass<PatternHolder>()->pattern;
}

}  // namespace dsla::autograd
