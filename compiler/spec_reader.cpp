#include "compiler/spec_reader.h"

#include "compiler/spec_scanner.h"

#include <algorithm>
#include <string>
#include <toml++/toml.h>

namespace emailroute {
namespace {

SourcePos pos_of(const toml::source_region& region) {
  return {static_cast<std::uint32_t>(region.begin.line), static_cast<std::uint32_t>(region.begin.column)};
}

class Reader {
 public:
  explicit Reader(Diagnostics& diagnostics) : diagnostics_(diagnostics) {}

  Spec read(const toml::table& root) {
    Spec spec;
    for (auto&& [key, node] : root) {
      if (key == "relay") {
        spec.has_relay = true;
        if (const toml::table* t = table_or_error(key, node)) read_relay(*t, pos_of(key.source()), spec.relay);
      } else if (key == "domains") {
        if (const toml::table* t = table_or_error(key, node)) read_domains(*t, spec.domains);
      } else {
        unknown_key(key, {"relay", "domains"});
      }
    }
    return spec;
  }

 private:
  void read_relay(const toml::table& t, SourcePos pos, SpecRelay& relay) {
    relay.pos = pos;
    static const std::vector<std::string_view> kKeys = {
        "hostname", "listen", "srs_domain", "srs_secret_file", "max_message_size", "max_recipients",
        "tls_certificate", "tls_key", "dns_resolver", "upstream_port", "deliver_via",
        "allow_private_destinations", "require_verified", "verified_file"};
    for (auto&& [key, node] : t) {
      if (key == "hostname") relay.hostname = string_value(key, node);
      else if (key == "srs_domain") relay.srs_domain = string_value(key, node);
      else if (key == "srs_secret_file") relay.srs_secret_file = string_value(key, node);
      else if (key == "tls_certificate") relay.tls_certificate = string_value(key, node);
      else if (key == "tls_key") relay.tls_key = string_value(key, node);
      else if (key == "dns_resolver") relay.dns_resolver = string_value(key, node);
      else if (key == "deliver_via") relay.deliver_via = string_value(key, node);
      else if (key == "verified_file") relay.verified_file = string_value(key, node);
      else if (key == "max_recipients") relay.max_recipients = integer_value(key, node);
      else if (key == "upstream_port") relay.upstream_port = integer_value(key, node);
      else if (key == "allow_private_destinations") relay.allow_private_destinations = bool_value(key, node);
      else if (key == "require_verified") relay.require_verified = bool_value(key, node);
      else if (key == "max_message_size") {
        // A size is "25MiB" or a plain number of bytes.
        if (auto i = node.value_exact<std::int64_t>()) relay.max_message_size = Located<std::string>{std::to_string(*i), pos_of(node.source())};
        else relay.max_message_size = string_value(key, node);
      } else if (key == "listen") {
        relay.listen_pos = pos_of(node.source());
        if (auto list = string_list(key, node)) relay.listen = std::move(*list);
      } else {
        unknown_key(key, kKeys);
      }
    }
  }

  void read_domains(const toml::table& t, std::vector<SpecDomain>& domains) {
    for (auto&& [key, node] : t) {
      const toml::table* d = node.as_table();
      if (d == nullptr) {
        diagnostics_.error(pos_of(node.source()), "domains." + quote(key.str()) +
                                                       " must be a table, e.g. [domains." + quote(key.str()) + "]");
        continue;
      }
      SpecDomain domain;
      domain.name = {std::string(key.str()), pos_of(key.source())};
      for (auto&& [k, v] : *d) {
        if (k == "catch_all") {
          domain.catch_all = read_route(k, v);
        } else if (k == "subaddress_separator") {
          if (auto s = string_value(k, v)) domain.separators = *s;
        } else if (k == "addresses") {
          if (const toml::table* a = table_or_error(k, v)) {
            for (auto&& [local, route] : *a) {
              if (auto r = read_route(local, route)) {
                domain.addresses.push_back({{std::string(local.str()), pos_of(local.source())}, std::move(*r)});
              }
            }
          }
        } else if (v.is_table()) {
          // [domains.example.com] is TOML for nested tables "example" > "com".
          diagnostics_.error(pos_of(key.source()), "TOML reads [domains." + std::string(key.str()) + "." + std::string(k.str()) +
                                                       "] as nested tables; quote the domain: [domains.\"" +
                                                       std::string(key.str()) + "." + std::string(k.str()) + "\"]");
        } else {
          unknown_key(k, {"catch_all", "subaddress_separator", "addresses"});
        }
      }
      domains.push_back(std::move(domain));
    }
  }

  // A route is a destination, an array of them, or a table with an action.
  std::optional<SpecRoute> read_route(const toml::key& key, const toml::node& node) {
    SpecRoute route;
    route.pos = pos_of(node.source());
    if (node.is_string() || node.is_array()) {
      auto list = string_list(key, node);
      if (!list) return std::nullopt;
      route.destinations = std::move(*list);
      return route;
    }
    const toml::table* t = node.as_table();
    if (t == nullptr) {
      diagnostics_.error(route.pos, quote(key.str()) + " must be an address, an array of addresses, or a table "
                                    "like { action = \"drop\" }");
      return std::nullopt;
    }
    if (!t->contains("action") && !t->contains("to") && !t->contains("message")) {
      // first.last = "..." is TOML for the nested key "first" > "last".
      diagnostics_.error(pos_of(key.source()), "TOML reads " + std::string(key.str()) +
                                                   ".… as nested keys; quote an address that has a dot: \"" +
                                                   std::string(key.str()) + ".…\" = ...");
      return std::nullopt;
    }
    std::optional<Located<std::string>> action;
    bool has_to = false;
    for (auto&& [k, v] : *t) {
      if (k == "action") {
        action = string_value(k, v);
      } else if (k == "to") {
        has_to = true;
        if (auto list = string_list(k, v)) route.destinations = std::move(*list);
      } else if (k == "message") {
        route.message = string_value(k, v);
      } else {
        unknown_key(k, {"action", "to", "message"});
      }
    }
    if (!action) {
      diagnostics_.error(route.pos, "missing \"action\" (one of \"forward\", \"drop\", \"reject\")");
      return std::nullopt;
    }
    if (action->value == "forward") {
      route.action = SpecRoute::Action::kForward;
      if (!has_to) diagnostics_.error(action->pos, "action \"forward\" needs \"to\" (an address or an array of addresses)");
    } else if (action->value == "drop" || action->value == "reject") {
      route.action = action->value == "drop" ? SpecRoute::Action::kDrop : SpecRoute::Action::kReject;
      if (has_to) diagnostics_.error(action->pos, "\"to\" only goes with action \"forward\"");
    } else {
      std::string hint = closest_match(action->value, {"forward", "drop", "reject"});
      diagnostics_.error(action->pos, "unknown action " + quote(action->value) + " (expected \"forward\", \"drop\" or \"reject\")" +
                                          (hint.empty() ? "" : "; did you mean " + quote(hint) + "?"));
      return std::nullopt;
    }
    if (route.message && route.action != SpecRoute::Action::kReject) {
      diagnostics_.error(route.message->pos, "\"message\" only goes with action \"reject\"");
    }
    return route;
  }

  const toml::table* table_or_error(const toml::key& key, const toml::node& node) {
    const toml::table* t = node.as_table();
    if (t == nullptr) diagnostics_.error(pos_of(node.source()), quote(key.str()) + " must be a table");
    return t;
  }

  std::optional<Located<std::string>> string_value(const toml::key& key, const toml::node& node) {
    if (auto s = node.value_exact<std::string>()) return Located<std::string>{*s, pos_of(node.source())};
    diagnostics_.error(pos_of(node.source()), quote(key.str()) + " must be a string");
    return std::nullopt;
  }

  std::optional<Located<std::int64_t>> integer_value(const toml::key& key, const toml::node& node) {
    if (auto i = node.value_exact<std::int64_t>()) return Located<std::int64_t>{*i, pos_of(node.source())};
    diagnostics_.error(pos_of(node.source()), quote(key.str()) + " must be an integer");
    return std::nullopt;
  }

  std::optional<Located<bool>> bool_value(const toml::key& key, const toml::node& node) {
    if (auto b = node.value_exact<bool>()) return Located<bool>{*b, pos_of(node.source())};
    diagnostics_.error(pos_of(node.source()), quote(key.str()) + " must be true or false");
    return std::nullopt;
  }

  // A string, or an array of strings.
  std::optional<std::vector<Located<std::string>>> string_list(const toml::key& key, const toml::node& node) {
    std::vector<Located<std::string>> out;
    if (auto s = node.value_exact<std::string>()) {
      out.push_back({*s, pos_of(node.source())});
      return out;
    }
    const toml::array* a = node.as_array();
    bool ok = a != nullptr;
    if (a != nullptr) {
      for (const toml::node& item : *a) {
        auto s = item.value_exact<std::string>();
        if (!s) {
          diagnostics_.error(pos_of(item.source()), quote(key.str()) + " must hold strings only");
          ok = false;
          continue;
        }
        out.push_back({*s, pos_of(item.source())});
      }
    } else {
      diagnostics_.error(pos_of(node.source()), quote(key.str()) + " must be a string or an array of strings");
    }
    if (!ok) return std::nullopt;
    return out;
  }

  void unknown_key(const toml::key& key, const std::vector<std::string_view>& known) {
    std::string hint = closest_match(key.str(), known);
    diagnostics_.error(pos_of(key.source()), "unknown key " + quote(key.str()) +
                                                 (hint.empty() ? "" : " (did you mean " + quote(hint) + "?)"));
  }

  Diagnostics& diagnostics_;
};

}  // namespace

std::optional<Spec> read_spec(std::string_view source, std::string_view path, Diagnostics& diagnostics) {
  // The scanner answers only for files toml++ would read without a word;
  // everything else, and every error message, comes from toml++.
  if (std::optional<Spec> spec = scan_spec(source)) return spec;
  return read_spec_toml(source, path, diagnostics);
}

std::optional<Spec> read_spec_toml(std::string_view source, std::string_view path, Diagnostics& diagnostics) {
  toml::table root;
  try {
    root = toml::parse(source, path);
  } catch (const toml::parse_error& e) {
    diagnostics.error(pos_of(e.source()), "TOML syntax: " + std::string(e.description()));
    return std::nullopt;
  }
  Spec spec = Reader(diagnostics).read(root);
  // toml++ iterates keys in sorted order; validation reports a duplicate at
  // the later of two definitions, so restore the order of the file.
  auto earlier = [](SourcePos a, SourcePos b) { return a.line != b.line ? a.line < b.line : a.column < b.column; };
  std::stable_sort(spec.domains.begin(), spec.domains.end(),
                   [&](const SpecDomain& a, const SpecDomain& b) { return earlier(a.name.pos, b.name.pos); });
  for (SpecDomain& d : spec.domains) {
    std::stable_sort(d.addresses.begin(), d.addresses.end(),
                     [&](const SpecAddress& a, const SpecAddress& b) { return earlier(a.key.pos, b.key.pos); });
  }
  return spec;
}

}  // namespace emailroute
