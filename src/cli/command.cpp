#include "cli/command.h"

#include <dsla/errors.h>
#include <dsla/generators.h>
#include <dsla/io.h>

#include <ATen/ATen.h>

#include <algorithm>

namespace dsla::cli {

Args::Args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0 || (a.size() == 2 && a[0] == '-' && std::isalpha(a[1]))) {
      std::string key = a.substr(a[1] == '-' ? 2 : 1), val;
      auto eq = key.find('=');
      if (eq != std::string::npos) {
        val = key.substr(eq + 1);
        key = key.substr(0, eq);
      } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
        val = argv[++i];
      } else {
        val = "1";
      }
      opts_[key] = val;
    } else {
      positional_.push_back(a);
    }
  }
}

bool Args::flag(const std::string& name) const {
  auto it = opts_.find(name);
  return it != opts_.end() && it->second != "0" && it->second != "false";
}

std::string Args::get(const std::string& name, const std::string& dflt) const {
  auto it = opts_.find(name);
  return it == opts_.end() ? dflt : it->second;
}

double Args::get_double(const std::string& name, double dflt) const {
  auto s = get(name);
  if (s.empty()) return dflt;
  try {
    return std::stod(s);
  } catch (const std::exception&) {
    DSLA_CHECK_ARG(false, "--" + name, "expects a number, got '", s, "'");
  }
  return dflt;
}

int64_t Args::get_int(const std::string& name, int64_t dflt) const {
  auto s = get(name);
  if (s.empty()) return dflt;
  try {
    return std::stoll(s);
  } catch (const std::exception&) {
    DSLA_CHECK_ARG(false, "--" + name, "expects an integer, got '", s, "'");
  }
  return dflt;
}

std::vector<std::string> Args::unknown(const std::vector<std::string>& known) const {
  static const std::vector<std::string> common = {"dtype",   "device", "json",
                                                  "threads", "help",   "h"};
  std::vector<std::string> out;
  for (const auto& kv : opts_) {
    if (std::find(known.begin(), known.end(), kv.first) == known.end() &&
        std::find(common.begin(), common.end(), kv.first) == common.end()) {
      out.push_back(kv.first);
    }
  }
  return out;
}

namespace {
std::map<std::string, Command>& registry() {
  static std::map<std::string, Command> r;
  return r;
}
}  // namespace

CommandRegistrar::CommandRegistrar(Command c) {
  registry()[c.name] = std::move(c);
}
const std::map<std::string, Command>& commands() {
  return registry();
}

const char* kMatrixHelp =
    "MATRIX is a Matrix Market file (.mtx or .mtx.gz) or a generated problem:\n"
    "  poisson2d:N        5-point Laplacian on N x N (N^2 unknowns)\n"
    "  poisson3d:N        7-point Laplacian on N^3\n"
    "  aniso2d:N[:EPS]    anisotropic diffusion (default EPS 1e-3)\n"
    "  convdiff2d:N[:PE]  upwind convection-diffusion, nonsymmetric (default PE 10)\n"
    "  random_spd:N[:D]   random SPD with density D\n"
    "common options:\n"
    "  --dtype float64|float32   value type (default float64)\n"
    "  --device cpu|cuda         where the matrix lives (default cpu)\n"
    "  --json                    machine-readable output on stdout\n"
    "  --threads N               CPU threads (default: all cores)\n";

at::ScalarType matrix_dtype(const Args& args) {
  const auto dtype_s = args.get("dtype", "float64");
  if (dtype_s == "float32") return at::kFloat;
  DSLA_CHECK_ARG(dtype_s == "float64", "--dtype", "must be float64 or float32, got '",
                 shown(dtype_s), "'");
  return at::kDouble;
}

SparseMatrix load_matrix(const std::string& what, const Args& args) {
  const at::ScalarType dtype = matrix_dtype(args);
  const c10::Device device(args.get("device", "cpu"));
  if (is_generator_spec(what)) {
    GenOptions o;
    o.dtype = dtype;
    o.device = device;
    return generate(what, o);
  }
  return read_mtx(what, dtype).to(device);
}

}  // namespace dsla::cli
