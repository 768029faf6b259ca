// emailroute check [CONFIG]: validate the spec like a compiler would, for CI.
#include <iostream>

#include "cli/commands.h"
#include "compiler/compile.h"

namespace emailroute::cli {

void add_check_command(CLI::App& app, Runner& run) {
  auto* cmd = app.add_subcommand("check", "Validate a routing spec; print every error with file:line:col");
  auto config = std::make_shared<std::string>("emailroute.toml");
  cmd->add_option("CONFIG", *config, "The routing spec")->capture_default_str();
  cmd->callback([&run, config] {
    run = [config] {
      CompileOutcome out = compile_config(*config);
      if (!out.io_error.empty()) {
        std::cerr << out.render_errors();
        return int{kExitUsage};
      }
      if (!out.ok()) {
        std::cerr << out.render_errors();
        std::cerr << *config << ": " << out.diagnostics.size() << (out.diagnostics.size() == 1 ? " error\n" : " errors\n");
        return int{kExitInvalid};
      }
      SpecSummary s = summarize(*out.model);
      std::cout << *config << ": ok: " << s.domains << (s.domains == 1 ? " domain, " : " domains, ") << s.addresses
                << (s.addresses == 1 ? " address, " : " addresses, ") << s.destinations
                << (s.destinations == 1 ? " distinct destination\n" : " distinct destinations\n");
      return int{kExitOk};
    };
  });
}

}  // namespace emailroute::cli
