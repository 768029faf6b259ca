// Building a routing snapshot from a table; see routing_snapshot.h.
#include "runtime/routing_snapshot.h"

#include <fstream>
#include <sstream>

namespace emailroute {

Result<std::vector<std::string>> read_srs_secrets(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::io_error("cannot read the SRS secret file " + path);
  std::vector<std::string> secrets;
  std::string line;
  while (std::getline(in, line)) {
    std::size_t b = line.find_first_not_of(" \t\r");
    std::size_t e = line.find_last_not_of(" \t\r");
    if (b != std::string::npos) secrets.push_back(line.substr(b, e - b + 1));
  }
  if (secrets.empty()) return Status::invalid("the SRS secret file " + path + " holds no secret");
  return secrets;
}

Result<std::shared_ptr<const RoutingSnapshot>> make_snapshot(Table table, const RoutingSnapshot* previous,
                                                             const MxNextHopMaker& make_mx) {
  auto s = std::make_shared<RoutingSnapshot>();
  RelaySettings settings = table.settings();
  s->hostname = std::string(settings.hostname);
  s->srs_domain = folded(settings.srs_domain);
  s->limits.hostname = s->hostname;
  if (settings.max_message_size > 0) s->limits.max_message_size = settings.max_message_size;
  if (settings.max_recipients > 0) s->limits.max_recipients = settings.max_recipients;
  for (std::string_view l : settings.listen) s->listen.emplace_back(l);
  s->secret_file = std::string(settings.srs_secret_file);
  Result<std::vector<std::string>> secrets = read_srs_secrets(s->secret_file);
  if (!secrets.ok() && previous && previous->secret_file == s->secret_file && secrets.status().code() == Status::Code::kIoError) {
    secrets = previous->secrets;
  }
  if (!secrets.ok()) return secrets.status();
  s->secrets = *secrets;
  Result<Srs> srs = Srs::create(std::string(settings.srs_domain), std::move(*secrets));
  if (!srs.ok()) return Status::invalid("SRS: " + srs.status().message());
  s->srs.emplace(std::move(*srs));
  if (!settings.deliver_via.empty()) {
    Result<Endpoint> via = parse_endpoint(settings.deliver_via);
    if (!via.ok()) return Status::invalid("deliver_via: " + via.status().message());
    s->next_hop = make_smarthost(std::move(*via));
  } else if (make_mx) {
    Result<std::unique_ptr<NextHop>> mx = make_mx(settings);
    if (!mx.ok()) return mx.status();
    s->next_hop = std::move(*mx);
  } else {
    return Status::invalid("no deliver_via is set and MX lookups are not available here");
  }
  s->table = std::move(table);
  return std::shared_ptr<const RoutingSnapshot>(std::move(s));
}

}  // namespace emailroute
