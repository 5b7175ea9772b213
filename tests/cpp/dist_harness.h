// P threads as P ranks of one Gloo group over a shared c10d::HashStore (the CPU harness of
// DESIGN-distributed 6.11): run(P, fn) calls fn(comm) on P threads and rethrows the first
// failure. The group's timeout bounds every collective, so ranks that diverge fail the test
// instead of hanging it.
#pragma once

#include <dsla/config.h>
#include <dsla/dist.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include <exception>
#include <functional>
#include <thread>
#include <vector>

// Threads as ranks need a Gloo group built in C++, which needs Gloo's headers (absent from PyPI
// torch wheels: then the distributed layer takes its groups from Python only).
#define DSLA_SKIP_WITHOUT_GLOO() \
  if (!DSLA_HAVE_GLOO) GTEST_SKIP() << "this LibTorch ships no Gloo headers: " DSLA_GLOO_WHY

namespace dsla_test {

// This rank's rows of the global matrix G under part ids `parts` [N] (every test's oracle layout:
// the one-process G split by part id).
inline dsla::dist::DistMatrix from_global(const dsla::dist::Comm& c, const dsla::SparseMatrix& G,
                                          const at::Tensor& parts) {
  auto owned = at::nonzero(parts == c.rank()).view(-1);
  auto r = G.row_indices().to(at::kLong), col = G.col_indices().to(at::kLong);
  auto keep = at::nonzero(parts.index_select(0, r) == c.rank()).view(-1);
  return dsla::dist::DistMatrix::from_local_coo(
      c, r.index_select(0, keep), col.index_select(0, keep), G.values().index_select(-1, keep),
      {G.rows(), G.cols()}, owned);
}

inline void run_ranks(int P, const std::function<void(const dsla::dist::Comm&)>& fn,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  at::set_num_threads(1);  // the ranks are the parallelism (the intra-op pool is process-wide)
  auto store = c10::make_intrusive<c10d::HashStore>();
  std::vector<std::exception_ptr> err(P);
  std::vector<std::thread> t;
  for (int r = 0; r < P; ++r) {
    t.emplace_back([&, r] {
      try {
        auto comm = dsla::dist::Comm::gloo(store, r, P, timeout);
        // Every rank connected before any runs fn: a rank that throws at once (an argument
        // check before any collective) tears its pairs down, and a peer still connecting then
        // failed with Gloo's "Connection closed by peer" instead of the error under test (once
        // in CI, DistTwin.LoopbackExchangeAndSolve).
        comm.barrier();
        fn(comm);
      } catch (...) {
        err[r] = std::current_exception();
      }
    });
  }
  for (auto& th : t) th.join();
  // Every failing rank's message (the first alone hides which rank started it).
  std::string all;
  for (int r = 0; r < P; ++r) {
    if (!err[r]) continue;
    try {
      std::rethrow_exception(err[r]);
    } catch (const std::exception& e) {
      std::string m = e.what();
      all += "[rank " + std::to_string(r) + "] " + m.substr(0, m.find("\nException raised")) + "\n";
    } catch (...) {
      all += "[rank " + std::to_string(r) + "] (unknown exception)\n";
    }
  }
  if (!all.empty()) throw std::runtime_error(all);
}

// Every rank's exception message (empty where the rank succeeded).
inline std::vector<std::string> run_ranks_errors(
    int P, const std::function<void(const dsla::dist::Comm&)>& fn,
    std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  at::set_num_threads(1);
  auto store = c10::make_intrusive<c10d::HashStore>();
  std::vector<std::string> msg(P);
  std::vector<std::thread> t;
  for (int r = 0; r < P; ++r) {
    t.emplace_back([&, r] {
      try {
        auto comm = dsla::dist::Comm::gloo(store, r, P, timeout);
        // Every rank connected before any runs fn: a rank that throws at once (an argument
        // check before any collective) tears its pairs down, and a peer still connecting then
        // failed with Gloo's "Connection closed by peer" instead of the error under test (once
        // in CI, DistTwin.LoopbackExchangeAndSolve).
        comm.barrier();
        fn(comm);
      } catch (const std::exception& e) {
        msg[r] = e.what();
        if (msg[r].empty()) msg[r] = "(empty message)";
      }
    });
  }
  for (auto& th : t) th.join();
  return msg;
}

}  // namespace dsla_test
