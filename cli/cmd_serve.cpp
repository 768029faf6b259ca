// emailroute serve: run the relay (see runtime/relay.h).
//
// SECURITY: the process binds its ports and loads the table and the SRS
// secret as the user who starts it, then drops to --user; any failure there
// ends the process. With --workers N, N processes serve the same ports
// (SO_REUSEPORT); the parent only forwards signals and reaps them.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <vector>

#include "cli/commands.h"
#include "cli/table_source.h"
#include "runtime/privileges.h"
#include "runtime/relay.h"

namespace emailroute::cli {
namespace {

struct ServeOptions {
  std::string config, table, user;
  std::vector<std::string> listen;
  int workers = 1;
  double command_timeout = 300, upstream_timeout = 100, destination_deadline = 120, shutdown_grace = 60;
  std::size_t max_connections = 1000, max_per_ip = 20;
};

int exit_status(const Status& s) {
  return s.code() == Status::Code::kInvalid || s.code() == Status::Code::kCorruption ? kExitInvalid : kExitUsage;
}

int serve_one(const ServeOptions& o, bool reuse_port) {
  RelayOptions options;
  options.listen = o.listen;
  options.reuse_port = reuse_port;
  options.command_timeout_ms = static_cast<std::int64_t>(o.command_timeout * 1000);
  options.upstream_timeout_ms = static_cast<std::int64_t>(o.upstream_timeout * 1000);
  options.destination_deadline_ms = static_cast<std::int64_t>(o.destination_deadline * 1000);
  options.shutdown_grace_ms = static_cast<std::int64_t>(o.shutdown_grace * 1000);
  options.max_connections = o.max_connections;
  options.max_connections_per_ip = o.max_per_ip;
  Relay relay(options, [o] { return load_table(o.config, o.table); });
  if (Status s = relay.start(); !s.ok()) {
    std::cerr << "emailroute: serve: " << s.message() << "\n";
    return exit_status(s);
  }
  if (!o.user.empty()) {
    if (Status s = drop_privileges(o.user); !s.ok()) {
      std::cerr << "emailroute: serve: cannot drop privileges to " << o.user << ": " << s.message() << "\n";
      return kExitUsage;
    }
  }
  return relay.run();
}

// The parent of --workers: forwards SIGHUP/SIGTERM/SIGINT, reaps, and exits
// when every worker has; non-zero when one failed.
int serve_workers(const ServeOptions& o) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGHUP, SIGTERM, SIGINT, SIGCHLD}) sigaddset(&set, s);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  std::vector<pid_t> children;
  for (int i = 0; i < o.workers; ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      std::cerr << "emailroute: serve: fork failed\n";
      for (pid_t c : children) kill(c, SIGTERM);
      return kExitUsage;
    }
    if (pid == 0) {
      sigprocmask(SIG_UNBLOCK, &set, nullptr);
      _exit(serve_one(o, true));
    }
    children.push_back(pid);
  }
  int status = kExitOk;
  std::size_t alive = children.size();
  while (alive > 0) {
    int sig = sigwaitinfo(&set, nullptr);
    if (sig == SIGCHLD) {
      int st = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        --alive;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) status = kExitUsage;
      }
    } else if (sig > 0) {
      for (pid_t c : children) kill(c, sig);
    }
  }
  return status;
}

}  // namespace

void add_serve_command(CLI::App& app, Runner& run) {
  auto* cmd = app.add_subcommand("serve", "Run the SMTP relay that forwards mail by the routing table");
  auto o = std::make_shared<ServeOptions>();
  auto* config = cmd->add_option("--config", o->config, "Compile this routing spec in memory and serve it");
  auto* table = cmd->add_option("--table", o->table, "Serve this compiled table (mmapped)");
  config->excludes(table);
  table->excludes(config);
  cmd->add_option("--listen", o->listen, "ADDR:PORT to listen on (repeatable; overrides the table's listen list)");
  cmd->add_option("--workers", o->workers, "Processes sharing the ports (SO_REUSEPORT)")->check(CLI::Range(1, 256));
  cmd->add_option("--user", o->user, "Drop privileges to this user after binding and loading");
  cmd->add_option("--command-timeout", o->command_timeout, "Seconds to wait for the sender's next command")
      ->capture_default_str();
  cmd->add_option("--upstream-timeout", o->upstream_timeout, "Seconds to wait for the destination")
      ->capture_default_str();
  cmd->add_option("--destination-deadline", o->destination_deadline,
                  "Seconds one destination may keep the sender waiting in all, per transaction")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--shutdown-grace", o->shutdown_grace, "Seconds transactions may take to finish after SIGTERM")
      ->capture_default_str();
  cmd->add_option("--max-connections", o->max_connections, "Connections in all")->capture_default_str();
  cmd->add_option("--max-connections-per-ip", o->max_per_ip, "Connections from one client address")
      ->capture_default_str();
  cmd->callback([&run, o] {
    run = [o] {
      if (o->config.empty() && o->table.empty()) {
        std::cerr << "emailroute: serve: give --config CONFIG or --table TABLE\n";
        return int{kExitUsage};
      }
      signal(SIGPIPE, SIG_IGN);
      return o->workers > 1 ? serve_workers(*o) : serve_one(*o, false);
    };
  });
}

}  // namespace emailroute::cli
