// The subcommands of the emailroute CLI. Each cmd_<name>.cpp registers one
// subcommand on the CLI11 app; when that subcommand is chosen, its callback
// stores in `run` what main() executes, so every command returns one of the
// exit statuses below and main() owns the process exit.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace emailroute::cli {

/// The exit statuses every subcommand shares.
enum ExitStatus : int {
  kExitOk = 0,       // done; for check/compile: the config is valid
  kExitInvalid = 1,  // the input is invalid (the errors were printed)
  kExitUsage = 2,    // bad usage, or a file could not be read or written
};

using Runner = std::function<int()>;

void add_init_command(CLI::App& app, Runner& run);
void add_check_command(CLI::App& app, Runner& run);
void add_compile_command(CLI::App& app, Runner& run);
void add_route_command(CLI::App& app, Runner& run);
void add_dump_command(CLI::App& app, Runner& run);
void add_serve_command(CLI::App& app, Runner& run);
void add_check_dns_command(CLI::App& app, Runner& run);
void add_dns_command(CLI::App& app, Runner& run);

}  // namespace emailroute::cli
