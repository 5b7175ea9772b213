// Device choice as a registration, not an #if. An algorithm that has a device-specific step
// declares a stub for it next to the step's CPU code and asks the stub for the tensor's device:
//
//   // products.h                      // products.cpp
//   extern device::Stub<SpmmFn> spmm_stub;     if (auto* f = spmm_stub.on(x.device())) return
//   f(...);
//
// The CUDA translation units (`*_cuda.cpp`, compiled only in CUDA builds; the build files are
// the one place that knows) fill their slots when libdsla is loaded:
//
//   DSLA_REGISTER_CUDA(spmm_stub, spmm_cuda);   // in products_cuda.cpp
//
// so no algorithm mentions DSLA_HAVE_CUDA, and a build without CUDA simply has empty slots (the
// caller falls back to its ATen path or says that this build has no CUDA). Slots are plain
// function pointers, constant-initialized (before any registration runs, whatever the order of
// static initialization between translation units), and written once, at load time.
#pragma once

#include <c10/core/Device.h>

#include <type_traits>

namespace dsla::device {

template <class Fn>
class Stub {
 public:
  constexpr Stub() = default;
  Stub(const Stub&) = delete;
  Stub& operator=(const Stub&) = delete;

  // The implementation for `device`, or null when none is registered (the caller's own path).
  Fn* on(const c10::Device& device) const { return device.is_cuda() ? cuda_ : nullptr; }
  Fn* cuda() const { return cuda_; }
  void set_cuda(Fn* fn) { cuda_ = fn; }

 private:
  Fn* cuda_ = nullptr;
};

// True when this build registered CUDA implementations (a CUDA translation unit was linked):
// what dsla.features["cuda"] reports.
bool cuda_registered();
void mark_cuda_registered();

template <class Fn>
struct CudaRegistration {
  CudaRegistration(Stub<Fn>& stub, Fn* fn) {
    stub.set_cuda(fn);
    mark_cuda_registered();
  }
};

}  // namespace dsla::device

#define DSLA_DEVICE_CONCAT2(a, b) a##b
#define DSLA_DEVICE_CONCAT(a, b) DSLA_DEVICE_CONCAT2(a, b)
// At namespace scope in a *_cuda.cpp: the CUDA slot of `stub` is `fn` (types must match).
#define DSLA_REGISTER_CUDA(stub, fn)                                                 \
  static const ::dsla::device::CudaRegistration<std::remove_pointer_t<decltype(fn)>> \
  DSLA_DEVICE_CONCAT(dsla_cuda_registration_, __LINE__)((stub), (fn))
