// `dsla solve --dist SPEC` (see solve_dist.h): every rank builds its box of a generated problem
// (b = 1) or reads its rows of a Matrix Market file (dist::read_mtx; b = A·1, as `dsla solve
// FILE` does, so that the same command on one process solves the same system), the solve runs
// over the ranks, rank 0 prints (the summary is the same everywhere: SolveInfo is global).
#include "cli/solve_dist.h"
#include "core/dtype_names.h"

#include <dsla/dist.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <thread>
#include <vector>

namespace dsla::cli {

namespace {

// "poisson3d:128", "aniso2d:512:1e-3", "convdiff2d:256:10".
dist::DistMatrix generate(const dist::Comm& comm, const std::string& spec, at::ScalarType dtype) {
  const auto c1 = spec.find(':');
  DSLA_CHECK_ARG(c1 != std::string::npos, "dist",
                 "expected a Matrix Market file (.mtx or .mtx.gz) or a generated problem such as "
                 "poisson3d:128 (poisson2d:N, poisson3d:N, aniso2d:N[:EPS], convdiff2d:N[:PE]); '",
                 spec, "' is neither an existing file nor a generator");
  const std::string kind = spec.substr(0, c1);
  const auto c2 = spec.find(':', c1 + 1);
  int64_t n = 0;
  double eps = kind == "aniso2d" ? 1e-3 : 10.0;
  try {
    n = std::stoll(spec.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1));
    if (c2 != std::string::npos) eps = std::stod(spec.substr(c2 + 1));
  } catch (const std::exception&) {
    DSLA_CHECK_ARG(false, "dist", "cannot read the size in '", spec, "' (e.g. poisson3d:128)");
  }
  return dist::generate(comm, kind, n, eps, dtype);
}

// Ranks on this host (torchrun, mpirun), else the world size.
int64_t local_ranks(int64_t world) {
  for (const char* v : {"LOCAL_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE"}) {
    const char* s = std::getenv(v);
    if (s && *s) return std::max<int64_t>(1, std::atoll(s));
  }
  return std::max<int64_t>(1, world);
}

}  // namespace

int run_solve_dist(const Args& args, const std::string& spec, const SolveOptions& opt_in) {
  auto comm = dist::Comm::from_env();
  // The ranks share the host's cores: without --threads each takes its share (the ATen ops of
  // the generic Krylov loop are small, and oversubscribed OpenMP regions cost milliseconds).
  if (args.get_int("threads", 0) <= 0) {
    const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
    at::set_num_threads(static_cast<int>(std::max<int64_t>(1, cores / local_ranks(comm.size()))));
  }
  const bool json = args.flag("json");
  SolveOptions opt = opt_in;
  opt.callback = nullptr;  // progress lines from every rank would interleave
  c10::AutoGradMode no_grad(false);
  // A file when the path exists (on every rank alike: a rank that disagreed would wait alone).
  std::error_code ec;
  const bool file = std::filesystem::exists(spec, ec);
  comm.check_same(file, "dist", "whether the file exists");
  auto A = file ? dist::read_mtx(comm, spec, matrix_dtype(args))
                : generate(comm, spec, matrix_dtype(args));
  auto ones = at::ones({A.n_owned()}, A.values().options());
  auto b = (file ? A.matmul(ones) : ones).view({1, A.n_owned(), 1});
  dist::DistSolver S(A, opt);
  SolveInfo info;
  S.solve3(b, false, &info);
  // The largest ghost layer and neighbour count over the ranks (collectives: every rank).
  auto g = at::tensor(std::vector<int64_t>{A.n_ghost(), A.n_neighbours()}, at::kLong);
  comm.allreduce_max_(g);
  if (comm.rank() != 0) return info.converged ? 0 : 2;
  const double ms = info.iterations ? info.solve_time / info.iterations * 1e3 : 0.0;
  if (json) {
    std::cout << std::setprecision(6) << "{\"matrix\": \"" << json_escape(spec)
              << "\", \"ranks\": " << comm.size() << ", \"backend\": \"" << comm.backend()
              << "\", \"rows\": " << A.rows() << ", \"nnz\": " << A.nnz() << ", \"method\": \""
              << to_string(info.method) << "\", \"preconditioner\": \""
              << json_escape(info.preconditioner) << "\", \"status\": \"" << to_string(info.status)
              << "\", \"converged\": " << (info.converged ? "true" : "false")
              << ", \"iterations\": " << info.iterations << ", \"residual\": " << info.residual
              << ", \"rtol\": " << opt.rtol << ", \"setup_s\": " << info.setup_time
              << ", \"solve_s\": " << info.solve_time << ", \"time_per_iteration_s\": " << ms / 1e3
              << ", \"max_ghosts\": " << g[0].item<int64_t>()
              << ", \"max_neighbours\": " << g[1].item<int64_t>() << "}\n";
  } else {
    std::cout << "solve " << spec << " (" << A.rows() << " x " << A.cols() << ", " << A.nnz()
              << " nnz, " << torch_dtype_name(A.dtype()) << ") on " << comm.size() << " ranks ("
              << comm.backend() << ")\n  method     " << to_string(info.method) << " + "
              << info.preconditioner << (opt.method == Method::Auto ? " (picked by auto)" : "")
              << "\n  status     " << to_string(info.status) << "\n  iterations " << info.iterations
              << "\n  residual   " << std::scientific << std::setprecision(3) << info.residual
              << " (true ‖b − Ax‖/‖b‖, rtol " << opt.rtol << ")" << std::defaultfloat << std::fixed
              << std::setprecision(3) << "\n  setup      " << info.setup_time << " s\n  solve      "
              << info.solve_time << " s (" << ms << " ms/iteration)\n  halo       up to "
              << g[0].item<int64_t>() << " ghosts from up to " << g[1].item<int64_t>()
              << " neighbours per rank" << std::defaultfloat << "\n";
    if (!info.converged) std::cout << "  " << info.message << "\n";
  }
  return info.converged ? 0 : 2;
}

}  // namespace dsla::cli
