// LibTorch 1.13 / 2.x differences of c10d (see c10d_shim.h). Keep every #if on the torch version
// of src/dist in this file.
#include "dist/c10d_shim.h"

#include <dsla/config.h>
#include <dsla/errors.h>

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if DSLA_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

#include <cstdlib>
#include <stdexcept>

namespace dsla::dist::shim {

c10::intrusive_ptr<Collectives> collectives(const c10::intrusive_ptr<c10d::ProcessGroup>& group,
                                            c10::DeviceType device) {
#if TORCH_VERSION_MAJOR >= 2
  return group->getBackend(device);
#else
  (void)device;
  return group;
#endif
}

std::chrono::milliseconds group_timeout(const c10::intrusive_ptr<c10d::ProcessGroup>& group) {
#if !DSLA_HAVE_GLOO
  (void)group;
  return std::chrono::milliseconds(0);  // unknown without Gloo's headers: the caller's default
#else
  c10d::ProcessGroupGloo* gloo = nullptr;
#if TORCH_VERSION_MAJOR >= 2
  try {
    auto b = group->getBackend(c10::DeviceType::CPU);
    gloo = dynamic_cast<c10d::ProcessGroupGloo*>(b.get());
  } catch (const std::exception&) {
    gloo = nullptr;  // no CPU backend (an NCCL-only group)
  }
#else
  gloo = dynamic_cast<c10d::ProcessGroupGloo*>(group.get());
#endif
  if (gloo) return gloo->getOptions()->timeout;
  return std::chrono::milliseconds(0);
#endif
}

std::string backend_name(const c10::intrusive_ptr<c10d::ProcessGroup>& group) {
  return group->getBackendName();
}

c10::intrusive_ptr<Collectives> make_gloo(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                          int size, std::chrono::milliseconds timeout) {
#if !DSLA_HAVE_GLOO
  (void)store, (void)rank, (void)size, (void)timeout;
  throw std::runtime_error(
      "dsla: this build cannot construct a Gloo group in C++ (its LibTorch ships no Gloo "
      "headers; dsla._C.build_info['gloo'] says why): create the group in Python with "
      "torch.distributed.init_process_group('gloo') and pass it (group=)");
#else
  auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifname && *ifname) {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
  } else {
    // Loopback: the store's ranks are on this host (threads as ranks, torchrun --standalone).
    // Other hosts: set GLOO_SOCKET_IFNAME.
    const char* addr = std::getenv("MASTER_ADDR");
    const std::string host = addr && *addr ? addr : "127.0.0.1";
    opts->devices.push_back(host == "127.0.0.1" || host == "localhost"
                                ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                : c10d::ProcessGroupGloo::createDefaultDevice());
  }
  opts->threads = 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
#endif
}

c10::intrusive_ptr<c10d::Store> make_tcp_store(const std::string& host, int port, int rank,
                                               int size, std::chrono::milliseconds timeout) {
  DSLA_CHECK_ARG(port > 0 && port < 65536, "MASTER_PORT", "must be a TCP port (1..65535), got ",
                 port);
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(port);
  o.isServer = rank == 0;
  o.numWorkers = static_cast<std::size_t>(size);
  o.waitWorkers = true;
  o.timeout = timeout;
  return c10::make_intrusive<c10d::TCPStore>(host, o);
}

c10::intrusive_ptr<c10d::Store> make_file_store(const std::string& path, int size) {
  return c10::make_intrusive<c10d::FileStore>(path, size);
}

}  // namespace dsla::dist::shim
