// emailroute compile [CONFIG] -o TABLE: check, then write the table atomically.
#include <iostream>

#include "cli/commands.h"
#include "compiler/compile.h"
#include "compiler/atomic_file.h"

namespace emailroute::cli {

void add_compile_command(CLI::App& app, Runner& run) {
  auto* cmd = app.add_subcommand("compile", "Check a routing spec and write its binary table");
  struct Options {
    std::string config = "emailroute.toml";
    std::string output;
  };
  auto opts = std::make_shared<Options>();
  cmd->add_option("CONFIG", opts->config, "The routing spec")->capture_default_str();
  cmd->add_option("-o,--output", opts->output, "The table to write (replaced atomically)")->required();
  cmd->callback([&run, opts] {
    run = [opts] {
      CompileOutcome out = compile_config(opts->config);
      if (!out.ok()) {
        std::cerr << out.render_errors();
        if (!out.io_error.empty()) return int{kExitUsage};
        std::cerr << opts->config << ": " << out.diagnostics.size()
                  << (out.diagnostics.size() == 1 ? " error" : " errors") << "; " << opts->output << " not written\n";
        return int{kExitInvalid};
      }
      if (Status s = write_file_atomically(opts->output, out.table); !s.ok()) {
        std::cerr << "emailroute: " << s.message() << "\n";
        return int{kExitUsage};
      }
      SpecSummary s = summarize(*out.model);
      std::cout << opts->output << ": " << out.table.size() << " bytes, " << s.domains
                << (s.domains == 1 ? " domain, " : " domains, ") << s.addresses
                << (s.addresses == 1 ? " address, " : " addresses, ") << s.destinations
                << (s.destinations == 1 ? " distinct destination\n" : " distinct destinations\n");
      return int{kExitOk};
    };
  });
}

}  // namespace emailroute::cli
