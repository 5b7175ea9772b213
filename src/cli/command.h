// CLI plumbing: each subcommand lives in its own cmd_*.cpp and registers itself here.
#pragma once

#include <dsla/errors.h>
#include <dsla/sparse_matrix.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cli/text.h"  // shown(), json_escape(): what the commands print

namespace dsla::cli {

// Minimal GNU-style options: --name value, --name=value, --flag; the rest are positionals.
class Args {
 public:
  Args(int argc, char** argv, int first);
  bool flag(const std::string& name) const;
  std::string get(const std::string& name, const std::string& dflt = "") const;
  double get_double(const std::string& name, double dflt) const;
  int64_t get_int(const std::string& name, int64_t dflt) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // Options given that are not in `known`: reported as errors so typos do not pass silently.
  std::vector<std::string> unknown(const std::vector<std::string>& known) const;

 private:
  std::map<std::string, std::string> opts_;
  std::vector<std::string> positional_;
};

struct Command {
  std::string name;
  std::string summary;
  std::string usage;  // full help text
  std::function<int(const Args&)> run;
  // Options the command reads (besides the common ones); anything else is rejected up front.
  std::vector<std::string> options;
};

struct CommandRegistrar {
  explicit CommandRegistrar(Command c);
};
const std::map<std::string, Command>& commands();

// Loads FILE (.mtx/.mtx.gz) or generates PROBLEM (poisson2d:N ...), with --dtype/--device.
SparseMatrix load_matrix(const std::string& what, const Args& args);
// Common help text for the matrix argument and the --dtype/--device options.
extern const char* kMatrixHelp;
// --dtype: float64 (default) or float32; anything else is refused naming the option.
at::ScalarType matrix_dtype(const Args& args);

}  // namespace dsla::cli
