// `dsla solve [MATRIX]`: solves A x = b (b = A·1 for files, b = 1 for generated problems),
// prints progress on long solves (stderr) and a summary: method picked, iterations, true
// relative residual, setup/solve time, memory.
#include <dsla/ops.h>
#include <dsla/solve.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "cli/command.h"
#include "cli/solve_dist.h"
#include "cli/timing.h"
#include "core/dtype_names.h"

namespace dsla::cli {
namespace {

// Resident set size high-water mark (bytes), from /proc (0 where unavailable).
double peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) * 1024.0;
  }
  return 0.0;
}

bool is_file(const std::string& what) {
  return what.find(".mtx") != std::string::npos || what.find('/') != std::string::npos;
}

int run_solve(const Args& args) {
  DSLA_CHECK_ARG(args.positional().size() <= 1, "MATRIX", "give at most one file or problem");
  const std::string what = args.positional().empty() ? "poisson2d:256" : args.positional()[0];
  const bool json = args.flag("json");
  const int64_t threads = args.get_int("threads", 0);
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));
  SolveOptions opt;
  // A preset chooses method, precond, restart and ordering; options given explicitly win.
  const std::string preset = args.get("preset", "");
  if (!preset.empty()) opt = with_preset(opt, solve_preset(preset, "--preset"));
  opt.method = parse_method(args.get("method", to_string(opt.method)));
  opt.precond = args.get("precond", opt.precond);
  opt.rtol = args.get_double("rtol", SolveOptions{}.rtol);  // one default: C++, Python, CLI
  opt.atol = args.get_double("atol", 0.0);
  opt.maxiter = args.get_int("maxiter", -1);
  opt.restart = args.get_int("restart", opt.restart);
  opt.ordering = args.get("ordering", opt.ordering);
  opt.check_every = args.get_int("check-every", 0);
  opt.warn = false;
  const int64_t every = args.get_int("progress", 100);
  if (args.flag("dist") || args.get_int("ranks", 0) > 0) {
    // --dist SPEC, or --dist / --ranks N with the problem as the positional argument.
    const std::string v = args.flag("dist") ? args.get("dist") : "1";
    const std::string spec = v == "1" ? what : v;
    if (args.get_int("ranks", 0) > 0 && !std::getenv("RANK") &&
        !std::getenv("OMPI_COMM_WORLD_RANK"))
      return launch_ranks(args.get_int("ranks", 0), spec);
    return run_solve_dist(args, spec, opt);
  }
  auto A = load_matrix(what, args);
  const double t_start =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  // Progress goes to stderr, also with --json (stdout then holds only the JSON document).
  if (every > 0) {
    opt.callback = [every, t_start](int64_t it, double res) {
      if (it % every != 0) return;
      const double t =
          std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
              .count() -
          t_start;
      std::cerr << "  iteration " << std::setw(7) << it << "  residual " << std::scientific
                << std::setprecision(3) << res << std::defaultfloat << "  (" << std::fixed
                << std::setprecision(2) << t << " s)" << std::defaultfloat << "\n";
    };
  }
  c10::AutoGradMode no_grad(false);
  at::Tensor b = is_file(what) ? matmul(A, at::ones({A.cols()}, A.values().options()))
                               : at::ones({A.rows()}, A.values().options());
  Solver S(A, opt);
  SolveInfo info;
  auto x = S.solve(b, &info);
  synchronize(A.device());
  const double mem = A.device().is_cpu() ? peak_rss_bytes() : 0.0;
  const double n = static_cast<double>(A.rows());
  if (json) {
    std::cout << std::setprecision(6) << "{\"matrix\": \"" << json_escape(what)
              << "\", \"rows\": " << A.rows() << ", \"nnz\": " << A.nnz() << ", \"device\": \""
              << A.device() << "\", \"dtype\": \"" << torch_dtype_name(A.dtype())
              << "\", \"threads\": " << at::get_num_threads() << ", \"preset\": \""
              << json_escape(preset) << "\", \"method\": \"" << to_string(info.method)
              << "\", \"preconditioner\": \"" << json_escape(info.preconditioner)
              << "\", \"factorization\": \"" << json_escape(S.factorization())
              << "\", \"status\": \"" << to_string(info.status)
              << "\", \"converged\": " << (info.converged ? "true" : "false")
              << ", \"iterations\": " << info.iterations
              << ", \"residual\": " << json_number(info.residual)
              << ", \"rtol\": " << json_number(opt.rtol)
              << ", \"setup_s\": " << json_number(S.setup_time())
              << ", \"solve_s\": " << json_number(info.solve_time) << ", \"time_per_iteration_s\": "
              << json_number(info.iterations ? info.solve_time / info.iterations : 0.0)
              << ", \"peak_rss_bytes\": " << json_number(mem) << "}\n";
  } else {
    std::cout << "solve " << what << " (" << A.rows() << " x " << A.cols() << ", " << A.nnz()
              << " nnz, " << torch_dtype_name(A.dtype()) << ") on " << A.device();
    if (A.device().is_cpu()) std::cout << " with " << at::get_num_threads() << " threads";
    std::cout << "\n  method     " << to_string(info.method);
    if (!is_direct(info.method)) std::cout << " + " << info.preconditioner;
    if (!S.factorization().empty()) std::cout << " (" << S.factorization() << ")";
    std::cout << (opt.method == Method::Auto ? " (picked by auto)" : "");
    if (!preset.empty()) std::cout << " (preset " << preset << ")";
    std::cout << "\n  status     " << to_string(info.status) << "\n  iterations " << info.iterations
              << "\n  residual   " << std::scientific << std::setprecision(3) << info.residual
              << " (true ‖b − Ax‖/‖b‖, rtol " << opt.rtol << ")" << std::defaultfloat << std::fixed
              << std::setprecision(3) << "\n  setup      " << S.setup_time() << " s\n  solve      "
              << info.solve_time << " s";
    if (info.iterations > 1)
      std::cout << " (" << info.solve_time / info.iterations * 1e3 << " ms/iteration)";
    if (mem > 0)
      std::cout << "\n  memory     " << std::setprecision(1) << mem / 1048576.0 << " MiB peak RSS ("
                << std::setprecision(0) << mem / n << " B/DOF)";
    std::cout << std::defaultfloat << "\n";
    if (!info.converged) std::cout << "  " << info.message << "\n";
  }
  (void)x;
  return info.converged ? 0 : 2;
}

const CommandRegistrar reg(
    {"solve",
     "solve A x = b (b = A·1 for files, 1 for generated problems); default poisson2d:256",
     std::string(
         "usage: dsla solve [MATRIX] [--preset NAME] [--method M] [--precond P] [--rtol R]\n"
         "                  [--maxiter N] [--restart K] [--threads T] [--progress EVERY]\n"
         "                  [--json] [--device cuda] [--dtype float32]\n\n"
         "  --preset NAME  method, precond, restart and ordering for a problem class:\n"
         "                 {spd,general,indefinite,convection}-{cpu,gpu,direct}\n"
         "                 (e.g. spd-cpu: CG + AMG); --method etc. given too win\n"
         "  --method M     auto (default), cg, bicgstab, gmres, fgmres, minres, lsqr,\n"
         "                 lsmr, cholesky, ldlt, lu\n"
         "  --precond P    auto (default), none, jacobi, ... (iterative methods)\n"
         "  --rtol R       relative tolerance on the true residual (default 1e-8)\n"
         "  --maxiter N    iteration limit (default 10 n)\n"
         "  --threads T    CPU threads (default: ATen's setting)\n"
         "  --progress E   print (iteration, residual) to stderr every E iterations\n"
         "                 (default 100; 0 = quiet)\n"
         "  --dist SPEC    distributed solve over the ranks of a launcher, of a generated\n"
         "                 problem or a Matrix Market file (.mtx read by byte ranges on\n"
         "                 every rank, .mtx.gz streamed by rank 0; b = A·1):\n"
         "                 torchrun --standalone --nproc_per_node=2 --no-python\n"
         "                 build/bin/dsla solve --dist poisson3d:64 --method cg\n"
         "                 (Gloo on CPU; rank 0 prints; precond jacobi or\n"
         "                 block_jacobi[:KIND])\n"
         "  --ranks N      the same without a launcher: N local Gloo processes\n"
         "                 (dsla solve poisson3d:64 --ranks 2,\n"
         "                 dsla solve data/bcsstk03.mtx --ranks 2)\n"
         "  exit status 2 when the solve did not converge\n\n") +
         kMatrixHelp,
     run_solve,
     {"preset", "method", "precond", "rtol", "atol", "maxiter", "restart", "ordering",
      "check-every", "threads", "progress", "dist", "ranks"}});

}  // namespace
}  // namespace dsla::cli
