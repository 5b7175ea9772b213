// Torch's Python names for dtypes ("torch.float64"), for reprs and for messages that reach
// Python users: c10 prints ScalarType as "Double", a name Python users never type.
#pragma once

#include <c10/core/ScalarType.h>

#include <string>

namespace dsla {

// "torch.float64" for at::kDouble, "torch.int32" for at::kInt, ...
std::string torch_dtype_name(at::ScalarType t);

// The message with every c10 dtype name ("Double", "ComplexFloat", ...) written as torch's
// ("torch.float64", "torch.complex64", ...): the Python bindings translate C++ errors with it.
std::string with_torch_dtype_names(const std::string& message);

}  // namespace dsla
