// `dsla solve --dist SPEC`: the distributed solve of a generated problem or of a Matrix Market
// file (read by every rank, dist::read_mtx), one process per rank under a launcher (torchrun
// --no-python, mpirun), the group built from the environment (dist::Comm::from_env). Rank 0
// prints the summary.
#pragma once

#include <dsla/solve.h>

#include <string>

#include "cli/command.h"

namespace dsla::cli {

int run_solve_dist(const Args& args, const std::string& spec, const SolveOptions& opt);
// --ranks N without a launcher: runs N copies of this command as ranks on this host
// (launch_ranks.cpp); returns the worst exit status.
int launch_ranks(int64_t ranks, const std::string& spec);

}  // namespace dsla::cli
