// emailroute check-dns [CONFIG] [--resolver IP[:PORT]] [--format text|json]:
// ask DNS whether it says what the config needs (compiler/dns_check) and
// print what to add. Exit 0 all required records right, 1 something to fix,
// 2 DNS could not be asked, bad usage, or a config that does not compile.
#include <iostream>

#include "cli/commands.h"
#include "cli/dns_query.h"
#include "cli/dns_report.h"
#include "compiler/compile.h"
#include "compiler/dns_check.h"

namespace emailroute::cli {
namespace {

struct CheckDnsOptions {
  std::string config = "emailroute.toml";
  std::string resolver;
  std::string format = "text";
};

int run_check_dns(const CheckDnsOptions& opt) {
  CompileOutcome out = compile_config(opt.config);
  if (!out.ok()) {
    std::cerr << out.render_errors();
    return kExitUsage;
  }
  const RoutingModel& model = *out.model;
  const std::string& server = opt.resolver.empty() ? model.relay.dns_resolver : opt.resolver;
  Result<std::unique_ptr<LdnsLookup>> dns = LdnsLookup::create(server);
  if (!dns.ok()) {
    std::cerr << "emailroute check-dns: " << dns.status().message() << "\n";
    return kExitUsage;
  }
  std::vector<DnsCheck> checks = check_dns(model, **dns);
  std::cout << (opt.format == "json" ? dns_report_json(checks) : dns_report_text(checks));
  return dns_exit_status(checks);
}

}  // namespace

void add_check_dns_command(CLI::App& app, Runner& run) {
  auto* cmd = app.add_subcommand("check-dns", "Compare DNS with the records the config needs; print what to add");
  auto opt = std::make_shared<CheckDnsOptions>();
  cmd->add_option("CONFIG", opt->config, "The routing spec")->capture_default_str();
  cmd->add_option("--resolver", opt->resolver, "DNS server to ask, IP[:PORT] (default: relay.dns_resolver, else /etc/resolv.conf)");
  cmd->add_option("--format", opt->format, "Output format")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->callback([&run, opt] {
    run = [opt] { return run_check_dns(*opt); };
  });
}

}  // namespace emailroute::cli
