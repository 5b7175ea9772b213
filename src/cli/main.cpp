// dsla command-line tool: `dsla <command> [options]`; `dsla --help` lists the commands.
#include <dsla/config.h>

#include <ATen/Parallel.h>

#include <iostream>
#include <thread>

#include "cli/command.h"
#include "core/dtype_names.h"

namespace {

void print_help() {
  std::cout << "dsla " << DSLA_VERSION
            << " - differentiable sparse linear algebra\n\n"
               "usage: dsla <command> [options]\n\ncommands:\n";
  for (const auto& [name, c] : dsla::cli::commands()) {
    std::cout << "  " << name << std::string(10 - std::min<size_t>(9, name.size()), ' ')
              << c.summary << "\n";
  }
  std::cout << "\n'dsla <command> --help' shows a command's options.\n";
}

// A failed command: the message on stderr (any bytes escaped: messages may quote arguments or
// file content) and, under --json, a JSON document on stdout too, so a script reading stdout
// always gets JSON: {"command": ..., "error": ...}.
int fail(int argc, char** argv, const char* what) {
  std::cerr << "dsla " << argv[1] << ": error: " << dsla::cli::shown(what, true) << "\n";
  for (int i = 2; i < argc; ++i) {
    if (std::string(argv[i]) == "--json") {
      std::cout << "{\"command\": \"" << dsla::cli::json_escape(argv[1]) << "\", \"error\": \""
                << dsla::cli::json_escape(what) << "\"}\n";
      break;
    }
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_help();
    return argc < 2 ? 2 : 0;
  }
  if (std::string(argv[1]) == "--version") {
    std::cout << "dsla " << DSLA_VERSION << "\n";
    return 0;
  }
  const auto& cmds = dsla::cli::commands();
  auto it = cmds.find(argv[1]);
  if (it == cmds.end()) {
    std::cerr << "dsla: unknown command '" << dsla::cli::shown(argv[1]) << "'\n\n";
    print_help();
    return 2;
  }
  try {
    dsla::cli::Args args(argc, argv, 2);
    if (args.flag("help") || args.flag("h")) {
      std::cout << it->second.usage;
      return 0;
    }
    auto unknown = args.unknown(it->second.options);
    if (!unknown.empty()) {
      std::cerr << "dsla " << argv[1] << ": unknown option --" << dsla::cli::shown(unknown[0])
                << " (see --help)\n";
      return 2;
    }
    // CPU threads: --threads N, else every core the machine has (torch's own default is the
    // physical-core count, often half of what a CLI user expects).
    const int64_t threads = args.get_int("threads", 0);
    DSLA_CHECK_ARG(threads >= 0, "--threads", "must be >= 0 (0 = all cores)");
    at::set_num_threads(threads > 0
                            ? static_cast<int>(threads)
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    return it->second.run(args);
  } catch (const c10::Error& e) {
    return fail(argc, argv, dsla::with_torch_dtype_names(e.what_without_backtrace()).c_str());
  } catch (const std::exception& e) {
    return fail(argc, argv, dsla::with_torch_dtype_names(e.what()).c_str());
  }
}
