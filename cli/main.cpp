// emailroute: compile a routing spec, check its DNS, and relay mail by it.
#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace emailroute::cli;
  CLI::App app{"emailroute: route the addresses of your domains to the inboxes you already use"};
  app.set_version_flag("--version", std::string("emailroute ") + EMAILROUTE_VERSION);
  app.require_subcommand(1);
  Runner run;
  add_init_command(app, run);
  add_check_command(app, run);
  add_compile_command(app, run);
  add_route_command(app, run);
  add_dump_command(app, run);
  add_check_dns_command(app, run);
  add_dns_command(app, run);
  add_serve_command(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here with status 0; usage errors become 2.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  return run ? run() : kExitUsage;
}
