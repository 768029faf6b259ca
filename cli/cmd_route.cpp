// emailroute route ADDRESS: show how the relay would treat one recipient.
#include <iostream>

#include "cli/commands.h"
#include "cli/json.h"
#include "cli/table_source.h"
#include "runtime/address.h"
#include "runtime/replies.h"

namespace emailroute::cli {
namespace {

struct Answer {
  std::string action;  // forward, drop, reject
  std::vector<std::string> destinations;
  std::string matched;  // the key that matched, "catch_all", or empty (nothing)
  std::string reply;    // for rejects
};

Answer explain(const Table& table, const Mailbox& box) {
  Answer a;
  Resolution r = table.resolve(box.local, box.domain);
  std::string prefix = folded(std::string_view(box.local).substr(0, r.matched_length));
  switch (r.kind) {
    case MatchKind::kNotOurDomain:
      a.action = "reject", a.reply = std::string(replies::kRelayDenied);
      return a;
    case MatchKind::kUnknown:
      a.action = "reject", a.reply = std::string(replies::kUnknownRecipient);
      return a;
    case MatchKind::kExact:
    case MatchKind::kSubaddress:
      a.matched = prefix;
      break;
    case MatchKind::kWildcard:
      a.matched = prefix + "*";
      break;
    case MatchKind::kCatchAll:
      a.matched = "catch_all";
      break;
  }
  switch (r.route.action()) {
    case RouteAction::kForward:
      a.action = "forward";
      for (std::size_t i = 0; i < r.route.destination_count(); ++i) a.destinations.emplace_back(r.route.destination(i));
      break;
    case RouteAction::kDrop:
      a.action = "drop";
      break;
    case RouteAction::kReject:
      a.action = "reject", a.reply = replies::rejected(r.route.reject_message());
      break;
  }
  return a;
}

void print_json(const std::string& address, const Answer& a) {
  std::cout << "{\"address\": " << json_string(address) << ", \"action\": " << json_string(a.action) << ", \"destinations\": [";
  for (std::size_t i = 0; i < a.destinations.size(); ++i) std::cout << (i ? ", " : "") << json_string(a.destinations[i]);
  std::cout << "], \"matched\": " << (a.matched.empty() ? "null" : json_string(a.matched))
            << ", \"reply\": " << (a.reply.empty() ? "null" : json_string(a.reply)) << "}\n";
}

void print_text(const std::string& address, const Answer& a) {
  std::cout << "address:      " << address << "\naction:       " << a.action << "\n";
  if (!a.destinations.empty()) {
    std::cout << "destinations:";
    for (const std::string& d : a.destinations) std::cout << " " << d;
    std::cout << "\n";
  }
  std::cout << "matched:      " << (a.matched.empty() ? "(nothing)" : a.matched) << "\n";
  if (!a.reply.empty()) std::cout << "reply:        " << a.reply << "\n";
}

}  // namespace

void add_route_command(CLI::App& app, Runner& run) {
  auto* cmd = app.add_subcommand("route", "Show how the relay would treat a recipient address");
  struct Options {
    std::string address, config, table, format = "text";
  };
  auto opts = std::make_shared<Options>();
  cmd->add_option("ADDRESS", opts->address, "The recipient, local@domain")->required();
  auto* config_option = cmd->add_option("--config", opts->config, "A routing spec, compiled in memory");
  auto* table_option = cmd->add_option("--table", opts->table, "A compiled table");
  config_option->excludes(table_option);
  cmd->add_option("--format", opts->format, "Output format")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->callback([&run, opts] {
    if (opts->config.empty() && opts->table.empty()) throw CLI::RequiredError("--config or --table");
    run = [opts] {
      auto box = parse_mailbox(opts->address);
      if (!box.ok()) {
        std::cerr << "emailroute: " << opts->address << " is not an address: " << box.status().message() << "\n";
        return int{kExitUsage};
      }
      auto table = load_table(opts->config, opts->table);
      if (!table.ok()) {
        // An invalid config or a corrupt table is bad input (1); an unreadable file is 2.
        Status::Code code = table.status().code();
        std::cerr << (code == Status::Code::kInvalid ? "" : "emailroute: ") << table.status().message() << "\n";
        return int{code == Status::Code::kIoError ? kExitUsage : kExitInvalid};
      }
      Answer a = explain(*table, *box);
      if (opts->format == "json") print_json(opts->address, a);
      else print_text(opts->address, a);
      return int{kExitOk};
    };
  });
}

}  // namespace emailroute::cli
