// dsla command-line tool: `dsla <command> [options]`; `dsla --help` lists the commands.
#include <dsla/config.h>

#include <iostream>

#include "cli/command.h"

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
    std::cerr << "dsla: unknown command '" << argv[1] << "'\n\n";
    print_help();
    return 2;
  }
  try {
    dsla::cli::Args args(argc, argv, 2);
    if (args.flag("help") || args.flag("h")) {
      std::cout << it->second.usage;
      return 0;
    }
    const int rc = it->second.run(args);
    auto unused = args.unused();
    if (!unused.empty()) {
      std::cerr << "dsla " << argv[1] << ": unknown option --" << unused[0] << " (see --help)\n";
      return 2;
    }
    return rc;
  } catch (const c10::Error& e) {
    std::cerr << "dsla " << argv[1] << ": error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "dsla " << argv[1] << ": error: " << e.what() << "\n";
    return 1;
  }
}
