// dsla::dist::Comm: the collectives src/dist needs, over a c10d group, each bounded by the
// communicator's timeout (a peer that never arrives makes the call throw instead of hang).
//
// Gloo sums float, double and integer tensors on the host; complex tensors travel as their real
// view, bools as uint8, and CUDA tensors on a Gloo group through a host copy. NCCL takes CUDA
// tensors as they are; the host tensors of dsla's own bookkeeping (counts, flags, agreement
// checks) travel on an NCCL group through a copy to the current CUDA device.
#include <dsla/dist.h>
#include <dsla/errors.h>

#include <ATen/ATen.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "dist/c10d_shim.h"

namespace dsla::dist {

struct Comm::Impl {
  c10::intrusive_ptr<c10d::ProcessGroup> group;  // null for a Comm built on a bare backend
  c10::intrusive_ptr<shim::Collectives> cpu, cuda;
  int rank = 0, size = 1;
  std::chrono::milliseconds timeout{0};
  std::string backend;

  shim::Collectives& on(c10::DeviceType d) {
    // A Comm built on a bare backend (Comm::gloo) has one, for every device (Gloo: staged).
    if (!group) return *cpu;
    auto& slot = d == c10::DeviceType::CUDA ? cuda : cpu;
    if (!slot) slot = shim::collectives(group, d);
    return *slot;
  }
  // Gloo moves CUDA tensors through the host itself on some versions and not others: always
  // stage here, so one path serves both. NCCL has no host path: host tensors go to the GPU.
  bool stage(const at::Tensor& t) const {
    return (t.is_cuda() && backend == "gloo") || (!t.is_cuda() && backend == "nccl");
  }
  void wait(const c10::intrusive_ptr<c10d::Work>& w, const char* what) const {
    try {
      w->wait(timeout);
    } catch (const std::exception& e) {
      std::ostringstream m;
      m << "dsla: distributed " << what << " failed on rank " << rank << " of " << size
        << " (a peer raised, died, or did not arrive within " << timeout.count() / 1000.0
        << " s): " << e.what();
      throw SolveError(m.str());
    }
  }
};

namespace {

constexpr auto kDefaultTimeout = std::chrono::minutes(30);

// The tensor as the backend can reduce it: contiguous, real, and when staging on the other side
// of the host/device line (Gloo: the host; NCCL: the current CUDA device).
at::Tensor wire(const at::Tensor& t, bool stage) {
  at::Tensor w = t;
  if (stage) w = t.is_cuda() ? w.cpu() : w.to(at::Device(at::kCUDA));
  if (w.scalar_type() == at::kBool) w = w.to(at::kByte);
  w = w.contiguous();
  if (w.is_complex()) w = at::view_as_real(w);
  return w;
}

void unwire(at::Tensor& t, const at::Tensor& w) {
  at::Tensor v = t.is_complex() ? at::view_as_complex(w) : w;
  if (!v.is_same(t)) t.copy_(v);
}

}  // namespace

Comm::Comm(const c10::intrusive_ptr<c10d::ProcessGroup>& group, std::chrono::milliseconds timeout)
    : impl_(std::make_shared<Impl>()) {
  DSLA_CHECK_ARG(group.defined(), "group",
                 "is None; pass a torch.distributed process group (or "
                 "call torch.distributed.init_process_group first)");
  impl_->group = group;
  impl_->rank = group->getRank();
  impl_->size = group->getSize();
  impl_->backend = shim::backend_name(group);
  if (timeout.count() <= 0) timeout = shim::group_timeout(group);
  impl_->timeout = timeout.count() > 0 ? timeout : kDefaultTimeout;
}

Comm Comm::gloo(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                std::chrono::milliseconds timeout) {
  DSLA_CHECK_ARG(size >= 1 && rank >= 0 && rank < size, "rank", "must be in [0, ", size, "), got ",
                 rank);
  DSLA_CHECK_ARG(timeout.count() > 0, "timeout", "must be positive");
  Comm c;
  c.impl_ = std::make_shared<Impl>();
  c.impl_->cpu = shim::make_gloo(store, rank, size, timeout);
  c.impl_->rank = rank;
  c.impl_->size = size;
  c.impl_->timeout = timeout;
  c.impl_->backend = "gloo";
  return c;
}

namespace {
int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  DSLA_CHECK_ARG(end && *end == '\0', name, "environment variable is '", v,
                 "', expected an integer");
  return static_cast<int>(x);
}
}  // namespace

Comm Comm::from_env() {
  int rank = env_int("RANK", -1), size = env_int("WORLD_SIZE", -1);
  if (rank < 0) rank = env_int("OMPI_COMM_WORLD_RANK", -1);
  if (size < 0) size = env_int("OMPI_COMM_WORLD_SIZE", -1);
  DSLA_CHECK_ARG(rank >= 0 && size >= 1, "RANK",
                 "no launcher environment found: run under torchrun (RANK, WORLD_SIZE, "
                 "MASTER_ADDR, MASTER_PORT) or mpirun (OMPI_COMM_WORLD_RANK/SIZE)");
  DSLA_CHECK_ARG(rank < size, "RANK", "is ", rank, " but WORLD_SIZE is ", size);
  const auto timeout = std::chrono::milliseconds(1000LL * env_int("DSLA_DIST_TIMEOUT", 300));
  const char* store_env = std::getenv("DSLA_DIST_STORE");
  c10::intrusive_ptr<c10d::Store> store;
  if (store_env && std::string(store_env).rfind("file:", 0) == 0) {
    store = shim::make_file_store(std::string(store_env).substr(5), size);
  } else {
    const char* addr = std::getenv("MASTER_ADDR");
    const int port = env_int("MASTER_PORT", -1);
    DSLA_CHECK_ARG(port > 0, "MASTER_PORT",
                   "is not set; torchrun sets it (or set DSLA_DIST_STORE=file:<path>)");
    store = shim::make_tcp_store(addr && *addr ? addr : "127.0.0.1", port, rank, size, timeout);
  }
  return gloo(store, rank, size, timeout);
}

int Comm::rank() const {
  return impl_ ? impl_->rank : 0;
}
int Comm::size() const {
  return impl_ ? impl_->size : 1;
}
std::chrono::milliseconds Comm::timeout() const {
  return impl_ ? impl_->timeout : std::chrono::milliseconds(0);
}
std::string Comm::backend() const {
  return impl_ ? impl_->backend : "none";
}

namespace {

// Comm::traffic(): process-wide, every Comm.
std::atomic<int64_t> g_collectives{0}, g_collective_bytes{0}, g_messages{0}, g_message_bytes{0};

int64_t payload(const at::Tensor& t) {
  return t.numel() * static_cast<int64_t>(t.element_size());
}
void count_collective(const at::Tensor& t) {
  g_collectives += 1;
  g_collective_bytes += payload(t);
}

void reduce(Comm::Impl& I, at::Tensor& t, c10d::ReduceOp op) {
  if (I.size == 1 || t.numel() == 0) return;
  count_collective(t);
  auto w = wire(t, I.stage(t));
  std::vector<at::Tensor> v{w};
  c10d::AllreduceOptions o;
  o.reduceOp = op;
  o.timeout = I.timeout;
  I.wait(I.on(w.device().type()).allreduce(v, o), "all-reduce");
  unwire(t, v[0]);
}
}  // namespace

void Comm::allreduce_sum_(at::Tensor& t) const {
  TORCH_CHECK(impl_, "dsla: the Comm is empty (default-constructed)");
  reduce(*impl_, t, c10d::ReduceOp::SUM);
}

void Comm::allreduce_max_(at::Tensor& t) const {
  TORCH_CHECK(impl_, "dsla: the Comm is empty (default-constructed)");
  DSLA_CHECK_TYPE(!t.is_complex(), "t", "max of complex numbers is undefined");
  reduce(*impl_, t, c10d::ReduceOp::MAX);
}

at::Tensor Comm::allgather(const at::Tensor& t) const {
  TORCH_CHECK(impl_, "dsla: the Comm is empty (default-constructed)");
  auto& I = *impl_;
  if (I.size == 1) return t.unsqueeze(0).clone();
  count_collective(t);
  auto w = wire(t, I.stage(t));
  std::vector<at::Tensor> in{w};
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < I.size; ++r) out[0].push_back(at::empty_like(w));
  c10d::AllgatherOptions o;
  o.timeout = I.timeout;
  I.wait(I.on(w.device().type()).allgather(out, in, o), "all-gather");
  auto s = at::stack(out[0], 0);
  if (t.is_complex()) s = at::view_as_complex(s);
  if (t.scalar_type() == at::kBool) s = s.to(at::kBool);
  return s.to(t.device());
}

at::Tensor Comm::allgatherv(const at::Tensor& t) const {
  DSLA_CHECK_ARG(t.dim() >= 1, "t", "needs a leading dimension to concatenate along");
  if (size() == 1) return t.clone();  // not padded, gathered and cut again
  auto n = at::tensor({t.size(0)}, at::kLong);
  auto counts = allgather(n).view({-1});
  const int64_t mx = counts.max().item<int64_t>();
  auto shape = t.sizes().vec();
  shape[0] = mx;
  auto padded = at::zeros(shape, t.options());
  if (t.size(0) > 0) padded.narrow(0, 0, t.size(0)).copy_(t);
  auto all = allgather(padded);
  std::vector<at::Tensor> parts;
  auto c = counts.accessor<int64_t, 1>();
  for (int r = 0; r < size(); ++r) parts.push_back(all[r].narrow(0, 0, c[r]));
  return at::cat(parts, 0);
}

at::Tensor Comm::alltoallv(const at::Tensor& send, const std::vector<int64_t>& send_counts,
                           std::vector<int64_t>* recv_counts) const {
  TORCH_CHECK(impl_, "dsla: the Comm is empty (default-constructed)");
  auto& I = *impl_;
  DSLA_CHECK_ARG(static_cast<int>(send_counts.size()) == I.size, "send_counts", "has ",
                 send_counts.size(), " entries, expected one per rank (", I.size, ")");
  if (I.size == 1) {
    if (recv_counts) *recv_counts = send_counts;
    return send.clone();
  }
  // Counts first (one int64 per pair), then the rows, through point-to-point messages: Gloo's
  // alltoall_base refuses empty splits on some versions, and the pairs that exchange nothing
  // send nothing here.
  auto sc = at::tensor(send_counts, at::kLong);
  auto all = allgather(sc);  // [P, P]: all[s][d] = rows s sends to d
  std::vector<int64_t> rc(I.size);
  for (int s = 0; s < I.size; ++s) rc[s] = all[s][I.rank].item<int64_t>();
  auto row_shape = send.sizes().vec();
  int64_t total = 0;
  for (auto c : rc) total += c;
  row_shape[0] = total;
  auto out = at::empty(row_shape, send.options());
  std::vector<Request> reqs;
  int64_t off = 0;
  std::vector<at::Tensor> recv_parts;
  for (int s = 0; s < I.size; ++s) {
    if (rc[s] > 0 && s != I.rank) {
      auto part = out.narrow(0, off, rc[s]);
      recv_parts.push_back(part);
      reqs.push_back(irecv(recv_parts.back(), s, 7));
    }
    off += rc[s];
  }
  int64_t soff = 0, self_off = 0;
  for (int s = 0; s < I.rank; ++s) self_off += rc[s];
  for (int d = 0; d < I.size; ++d) {
    if (send_counts[d] > 0) {
      auto part = send.narrow(0, soff, send_counts[d]).contiguous();
      if (d == I.rank) {
        out.narrow(0, self_off, send_counts[d]).copy_(part);
      } else {
        reqs.push_back(isend(part, d, 7));
      }
    }
    soff += send_counts[d];
  }
  for (auto& r : reqs) wait(r);
  if (recv_counts) *recv_counts = rc;
  return out;
}

void Comm::broadcast_(at::Tensor& t, int root) const {
  TORCH_CHECK(impl_, "dsla: the Comm is empty (default-constructed)");
  auto& I = *impl_;
  DSLA_CHECK_ARG(root >= 0 && root < I.size, "root", "must be a rank in [0, ", I.size, "), got ",
                 root);
  if (I.size == 1 || t.numel() == 0) return;
  count_collective(t);
  auto w = wire(t, I.stage(t));
  std::vector<at::Tensor> v{w};
  c10d::BroadcastOptions o;
  o.rootRank = root;
  o.timeout = I.timeout;
  I.wait(I.on(w.device().type()).broadcast(v, o), "broadcast");
  unwire(t, v[0]);
}

void Comm::barrier() const {
  TORCH_CHECK(impl_, "dsla: the Comm is empty (default-constructed)");
  // An all-reduce of one int: Gloo's barrier has no per-call timeout on every version.
  auto t = at::zeros({1}, at::kInt);
  allreduce_sum_(t);
}

Comm::Request Comm::isend(const at::Tensor& t, int dst, int tag) const {
  auto& I = *impl_;
  DSLA_CHECK_ARG(dst >= 0 && dst < I.size && dst != I.rank, "dst", "must be another rank, got ",
                 dst);
  Request r;
  g_messages += 1;
  g_message_bytes += payload(t);
  r.staged = wire(t, I.stage(t));
  std::vector<at::Tensor> v{r.staged};
  auto w = I.on(r.staged.device().type()).send(v, dst, tag);
  r.work = std::make_shared<c10::intrusive_ptr<c10d::Work>>(std::move(w));
  return r;
}

Comm::Request Comm::irecv(at::Tensor& t, int src, int tag) const {
  auto& I = *impl_;
  DSLA_CHECK_ARG(src >= 0 && src < I.size && src != I.rank, "src", "must be another rank, got ",
                 src);
  Request r;
  r.target = t;
  const bool direct =
      !I.stage(t) && t.is_contiguous() && !t.is_complex() && t.scalar_type() != at::kBool;
  r.staged = direct ? t : wire(at::empty_like(t, at::MemoryFormat::Contiguous), I.stage(t));
  std::vector<at::Tensor> v{r.staged};
  auto w = I.on(r.staged.device().type()).recv(v, src, tag);
  r.work = std::make_shared<c10::intrusive_ptr<c10d::Work>>(std::move(w));
  return r;
}

void Comm::wait(Request& r) const {
  if (!r.work) return;
  auto& w = *std::static_pointer_cast<c10::intrusive_ptr<c10d::Work>>(r.work);
  impl_->wait(w, "halo exchange");
  r.work.reset();
  if (r.target.defined() && !r.staged.is_same(r.target)) {
    at::Tensor v = r.target.is_complex() ? at::view_as_complex(r.staged) : r.staged;
    r.target.copy_(v);
  }
}

Comm::Traffic Comm::traffic() {
  Traffic t;
  t.collectives = g_collectives.load();
  t.collective_bytes = g_collective_bytes.load();
  t.messages = g_messages.load();
  t.message_bytes = g_message_bytes.load();
  return t;
}

void Comm::reset_traffic() {
  g_collectives = 0;
  g_collective_bytes = 0;
  g_messages = 0;
  g_message_bytes = 0;
}

int Comm::first_failure(bool ok) const {
  if (size() == 1) return ok ? -1 : 0;
  auto t = at::full({1}, ok ? -1 : size() - rank(), at::kLong);
  allreduce_max_(t);
  const int64_t v = t.item<int64_t>();
  return v < 0 ? -1 : static_cast<int>(size() - v);
}

std::string Comm::broadcast_message(const std::string& message, int root) const {
  if (size() == 1) return message;
  auto len = at::tensor({static_cast<int64_t>(message.size())}, at::kLong);
  broadcast_(len, root);
  auto bytes = at::zeros({len.item<int64_t>()}, at::kByte);
  if (rank() == root && !message.empty())
    std::memcpy(bytes.data_ptr<uint8_t>(), message.data(), message.size());
  broadcast_(bytes, root);
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), bytes.numel());
}

void Comm::agree(bool ok, const std::string& message) const {
  if (size() == 1) TORCH_CHECK_VALUE(ok, "dsla: ", message);
  const int bad = first_failure(ok);
  if (bad < 0) return;
  const std::string what = broadcast_message(ok ? std::string() : message, bad);
  if (bad == rank()) TORCH_CHECK_VALUE(false, "dsla: ", what, " (rank ", rank(), ")");
  TORCH_CHECK_VALUE(false, "dsla: rank ", bad, " refused its input: ", what,
                    "; every rank stops here");
}

void Comm::check_same(int64_t value, const char* arg, const char* what) const {
  if (size() == 1) return;
  auto t = at::tensor({value, -value}, at::kLong);
  allreduce_max_(t);
  const int64_t mx = t[0].item<int64_t>(), mn = -t[1].item<int64_t>();
  DSLA_CHECK_ARG(mx == mn, arg, what, " differs across ranks (from ", mn, " to ", mx,
                 "); every rank must pass the same");
}

}  // namespace dsla::dist
