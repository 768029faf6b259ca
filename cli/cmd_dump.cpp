// emailroute dump TABLE: print a compiled table as canonical TOML.
#include <iostream>

#include "cli/commands.h"
#include "compiler/table_dump.h"

namespace emailroute::cli {

void add_dump_command(CLI::App& app, Runner& run) {
  auto* cmd = app.add_subcommand("dump", "Print a compiled table as canonical TOML (compiling it gives the same table)");
  auto path = std::make_shared<std::string>();
  cmd->add_option("TABLE", *path, "A compiled table")->required();
  cmd->callback([&run, path] {
    run = [path] {
      auto table = Table::open(*path);
      if (!table.ok()) {
        std::cerr << "emailroute: " << table.status().message() << "\n";
        return int{table.status().code() == Status::Code::kCorruption ? kExitInvalid : kExitUsage};
      }
      std::cout << dump_table(*table);
      return int{kExitOk};
    };
  });
}

}  // namespace emailroute::cli
