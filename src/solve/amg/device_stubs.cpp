// The device slots of the AMG steps (amg_internal.h); amg_cuda.cpp fills them in CUDA builds.
#include "solve/amg/amg_internal.h"

namespace dsla::amg::detail {

device::Stub<StrengthFn> strength_stub;
device::Stub<AggregateMis2Fn> aggregate_mis2_stub;
device::Stub<SmoothingValuesFn> smoothing_values_stub;
device::Stub<TransposeFn> transpose_stub;
device::Stub<TransposeValuesFn> transpose_values_stub;

}  // namespace dsla::amg::detail
