// The few c10d calls whose API differs between LibTorch 1.13 and 2.x, in one place.
//
// On 1.13 a ProcessGroup (ProcessGroupGloo, ProcessGroupNCCL) runs collectives itself; on 2.x a
// ProcessGroup dispatches to one Backend per device type (ProcessGroupGloo is a Backend), and
// the Backend has the same collective signatures. dsla talks to `Collectives`: the group itself
// on 1.13, the backend for the tensors' device on 2.x (which also skips the dispatcher hop).
#pragma once

#include <torch/version.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <string>

namespace dsla::dist::shim {

#if TORCH_VERSION_MAJOR >= 2
using Collectives = c10d::Backend;
#else
using Collectives = c10d::ProcessGroup;
#endif

// The object that runs collectives on tensors of `device` for `group`.
c10::intrusive_ptr<Collectives> collectives(const c10::intrusive_ptr<c10d::ProcessGroup>& group,
                                            c10::DeviceType device);
// The group's timeout where it can be read (Gloo), else 0.
std::chrono::milliseconds group_timeout(const c10::intrusive_ptr<c10d::ProcessGroup>& group);
std::string backend_name(const c10::intrusive_ptr<c10d::ProcessGroup>& group);
// A Gloo group on the loopback interface (or GLOO_SOCKET_IFNAME's) over `store`.
c10::intrusive_ptr<Collectives> make_gloo(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                          int size, std::chrono::milliseconds timeout);
// A TCPStore (rank 0 serves) and a FileStore.
c10::intrusive_ptr<c10d::Store> make_tcp_store(const std::string& host, int port, int rank,
                                               int size, std::chrono::milliseconds timeout);
c10::intrusive_ptr<c10d::Store> make_file_store(const std::string& path, int size);

}  // namespace dsla::dist::shim
