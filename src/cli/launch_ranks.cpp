// `dsla solve --dist SPEC --ranks N` without a launcher: the CLI starts N copies of itself on
// this host with torchrun's variables (RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR =
// 127.0.0.1, MASTER_PORT = a free port) and waits for them. When one rank fails, the others
// are stopped (they would otherwise wait for it until the group's timeout).
#include <dsla/errors.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cli/solve_dist.h"

extern char** environ;

namespace dsla::cli {

namespace {

// This process's argv, as the kernel recorded it.
std::vector<std::string> own_argv() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> out;
  size_t i = 0;
  while (i < all.size()) {
    const size_t j = all.find('\0', i);
    out.push_back(all.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return out;
}

int free_port() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  TORCH_CHECK(s >= 0, "dsla: --ranks: cannot open a socket to find a free port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  const bool ok = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
                  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  close(s);
  TORCH_CHECK(ok, "dsla: --ranks: cannot find a free port on 127.0.0.1");
  return ntohs(a.sin_port);
}

}  // namespace

int launch_ranks(int64_t ranks, const std::string& spec) {
  DSLA_CHECK_ARG(ranks >= 1 && ranks <= 256, "ranks", "must be in [1, 256], got ", ranks);
  // The children's command line: ours without --ranks, with --dist SPEC.
  auto argv = own_argv();
  std::vector<std::string> args;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--ranks") {
      ++i;
      continue;
    }
    if (argv[i].rfind("--ranks=", 0) == 0) continue;
    if (argv[i] == "--dist" || argv[i].rfind("--dist=", 0) == 0) {
      if (argv[i] == "--dist" && i + 1 < argv.size() && argv[i + 1].rfind("--", 0) != 0) ++i;
      continue;
    }
    if (i >= 2 && argv[i] == spec) continue;  // the positional problem: given as --dist below
    args.push_back(argv[i]);
  }
  args.push_back("--dist");
  args.push_back(spec);
  const int port = free_port();
  std::vector<pid_t> pids;
  for (int64_t r = 0; r < ranks; ++r) {
    // The parent's environment without the launcher variables set below.
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      const std::string v = *e;
      bool ours = false;
      for (const char* k : {"RANK=", "WORLD_SIZE=", "LOCAL_WORLD_SIZE=", "MASTER_ADDR=",
                            "MASTER_PORT=", "LOCAL_RANK="})
        ours = ours || v.rfind(k, 0) == 0;
      if (!ours) env.push_back(v);
    }
    env.push_back("RANK=" + std::to_string(r));
    env.push_back("LOCAL_RANK=" + std::to_string(r));
    env.push_back("WORLD_SIZE=" + std::to_string(ranks));
    env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(ranks));
    env.push_back("MASTER_ADDR=127.0.0.1");
    env.push_back("MASTER_PORT=" + std::to_string(port));
    std::vector<char*> cargv, cenv;
    for (auto& a : args) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    const pid_t pid = fork();
    TORCH_CHECK(pid >= 0, "dsla: --ranks: fork failed: ", std::strerror(errno));
    if (pid == 0) {
      execve("/proc/self/exe", cargv.data(), cenv.data());
      _exit(127);
    }
    pids.push_back(pid);
  }
  int worst = 0, first = 0;  // the first failure's status is the one reported
  size_t left = pids.size();
  while (left > 0) {
    int status = 0;
    const pid_t done = waitpid(-1, &status, 0);
    if (done < 0) break;
    --left;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0 && code != 2 && first == 0) {
      first = code;
      // A rank failed: stop the ones this command started (they would wait for it).
      for (pid_t p : pids)
        if (p != done) kill(p, SIGTERM);
    }
    worst = std::max(worst, code);
  }
  return first != 0 ? first : worst;
}

}  // namespace dsla::cli
