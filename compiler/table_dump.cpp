#include "compiler/table_dump.h"

namespace emailroute {
namespace {

std::string route_value(const Route& r) {
  switch (r.action()) {
    case RouteAction::kDrop:
      return "{ action = \"drop\" }";
    case RouteAction::kReject:
      if (r.reject_message().empty()) return "{ action = \"reject\" }";
      return "{ action = \"reject\", message = " + toml_string(r.reject_message()) + " }";
    case RouteAction::kForward:
      break;
  }
  if (r.destination_count() == 1) return toml_string(r.destination(0));
  std::string out = "[";
  for (std::size_t i = 0; i < r.destination_count(); ++i) out += (i ? ", " : "") + toml_string(r.destination(i));
  return out + "]";
}

void optional_line(std::string& out, const char* key, std::string_view value) {
  if (!value.empty()) out += std::string(key) + " = " + toml_string(value) + "\n";
}

}  // namespace

std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;  // the table holds no control characters (the reader checks)
  }
  return out + "\"";
}

std::string dump_table(const Table& table) {
  RelaySettings s = table.settings();
  std::string out = "# Dumped by emailroute " EMAILROUTE_VERSION "; compiling this file gives the same table.\n\n[relay]\n";
  out += "hostname = " + toml_string(s.hostname) + "\n";
  out += "srs_domain = " + toml_string(s.srs_domain) + "\n";
  out += "srs_secret_file = " + toml_string(s.srs_secret_file) + "\n";
  out += "listen = [";
  for (std::size_t i = 0; i < s.listen.size(); ++i) out += (i ? ", " : "") + toml_string(s.listen[i]);
  out += "]\n";
  out += "max_message_size = " + std::to_string(s.max_message_size) + "\n";
  out += "max_recipients = " + std::to_string(s.max_recipients) + "\n";
  out += "upstream_port = " + std::to_string(s.upstream_port) + "\n";
  out += std::string("allow_private_destinations = ") + (s.allow_private_destinations ? "true" : "false") + "\n";
  optional_line(out, "tls_certificate", s.tls_certificate);
  optional_line(out, "tls_key", s.tls_key);
  optional_line(out, "dns_resolver", s.dns_resolver);
  optional_line(out, "deliver_via", s.deliver_via);
  for (std::size_t i = 0; i < table.domain_count(); ++i) {
    DomainView d = table.domain(i);
    std::string name = toml_string(d.name);
    out += "\n[domains." + name + "]\n";
    out += "subaddress_separator = " + toml_string(d.separators) + "\n";
    if (d.has_catch_all) out += "catch_all = " + route_value(d.catch_all) + "\n";
    std::string addresses;
    table.for_each_address(static_cast<std::uint32_t>(i), [&](std::string_view local, bool wildcard, const Route& r) {
      addresses += toml_string(std::string(local) + (wildcard ? "*" : "")) + " = " + route_value(r) + "\n";
    });
    if (!addresses.empty()) out += "\n[domains." + name + ".addresses]\n" + addresses;
  }
  return out;
}

}  // namespace emailroute
