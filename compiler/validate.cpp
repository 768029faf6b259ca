#include "compiler/validate.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>

#include "compiler/destination_pool.h"
#include "compiler/local_routes.h"
#include "compiler/verified.h"
#include "runtime/address.h"

namespace emailroute {
namespace {

std::string at_line(SourcePos pos) { return "line " + std::to_string(pos.line); }

bool is_ip(std::string_view host) {
  std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

bool parse_port(std::string_view text, std::uint16_t& port) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || text[0] == '0' || value == 0 || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

// Splits "1.2.3.4:25" / "[::1]:25" into host and port; the IPv6 form needs brackets.
bool split_ip_port(std::string_view text, std::string_view& host, std::uint16_t& port) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.find(':') == std::string_view::npos) return false;
  } else if (host.find(':') != std::string_view::npos) {
    return false;
  }
  return is_ip(host) && parse_port(text.substr(colon + 1), port);
}

std::string absolute_path(const std::string& config_dir, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(config_dir) / p;
  return p.lexically_normal().string();
}

class Validator {
 public:
  Validator(const std::string& config_dir, Diagnostics& diagnostics)
      : dir_(config_dir), diagnostics_(diagnostics), pool_(model_.destinations) {}

  // Call once: the model is built in place and moved out.
  std::optional<RoutingModel> run(const Spec& spec) {
    relay(spec.relay, model_.relay);
    domains(spec.domains, model_.domains);
    resolve_local_destinations(model_, diagnostics_);
    if (spec.relay.require_verified && spec.relay.require_verified->value) {
      std::string file = absolute_path(dir_, spec.relay.verified_file ? spec.relay.verified_file->value : "verified.txt");
      check_verified(model_, file, diagnostics_);
    }
    if (!diagnostics_.empty()) return std::nullopt;
    return std::move(model_);
  }

 private:
  void relay(const SpecRelay& r, ModelRelay& out) {
    out.hostname = required_domain(r.hostname, r, "hostname", "the name this relay answers as and users publish as MX, e.g. \"mx.example.net\"");
    out.srs_domain = required_domain(r.srs_domain, r, "srs_domain", "the domain envelope senders are rewritten into, e.g. \"example.net\"");
    out.srs_secret_file = absolute_path(dir_, r.srs_secret_file ? r.srs_secret_file->value : "srs.key");
    if (r.srs_secret_file && r.srs_secret_file->value.empty()) error(r.srs_secret_file->pos, "srs_secret_file must not be empty");
    if (r.tls_certificate.has_value() != r.tls_key.has_value()) {
      SourcePos pos = r.tls_certificate ? r.tls_certificate->pos : r.tls_key->pos;
      error(pos, "tls_certificate and tls_key go together: set both or neither");
    }
    if (r.tls_certificate) out.tls_certificate = absolute_path(dir_, r.tls_certificate->value);
    if (r.tls_key) out.tls_key = absolute_path(dir_, r.tls_key->value);
    if (r.dns_resolver) {
      std::string_view host;
      std::uint16_t port;
      if (!is_ip(r.dns_resolver->value) && !split_ip_port(r.dns_resolver->value, host, port)) {
        error(r.dns_resolver->pos, "dns_resolver must be an IP address with an optional port, like \"127.0.0.1:53\" or \"[::1]:53\"; got " + quote(r.dns_resolver->value));
      }
      out.dns_resolver = r.dns_resolver->value;
    }
    if (r.deliver_via) {
      if (!is_ip_port(r.deliver_via->value)) {
        error(r.deliver_via->pos, "deliver_via must be IP:port like \"192.0.2.7:25\" or \"[2001:db8::7]:25\"; got " + quote(r.deliver_via->value));
      }
      out.deliver_via = r.deliver_via->value;
    }
    listen(r, out.listen);
    out.max_message_size = 25ULL << 20;
    if (r.max_message_size) {
      auto size = parse_size(r.max_message_size->value);
      if (!size) {
        error(r.max_message_size->pos, "bad size " + quote(r.max_message_size->value) +
                                           " (expected a number of bytes or a number with B, KB, MB, GB, KiB, MiB or GiB, like \"25MiB\")");
      } else if (*size < kMinMessageSize || *size > kMaxMessageSize) {
        error(r.max_message_size->pos, "max_message_size must be between 64KiB (RFC 5321 §4.5.3.1.7) and 4GiB");
      } else {
        out.max_message_size = *size;
      }
    }
    out.max_recipients = 100;
    if (r.max_recipients) {
      if (r.max_recipients->value < kMinRecipients || r.max_recipients->value > kMaxRecipients) {
        error(r.max_recipients->pos, "max_recipients must be between 100 (RFC 5321 §4.5.3.1.8) and 10000");
      } else {
        out.max_recipients = static_cast<std::uint32_t>(r.max_recipients->value);
      }
    }
    out.upstream_port = 25;
    if (r.upstream_port) {
      if (r.upstream_port->value < 1 || r.upstream_port->value > 65535) error(r.upstream_port->pos, "upstream_port must be between 1 and 65535");
      else out.upstream_port = static_cast<std::uint16_t>(r.upstream_port->value);
    }
    out.allow_private_destinations = r.allow_private_destinations && r.allow_private_destinations->value;
  }

  std::string required_domain(const std::optional<Located<std::string>>& value, const SpecRelay& r,
                              const std::string& name, const std::string& what) {
    if (!value) {
      error(r.pos.line ? r.pos : SourcePos{1, 1}, "missing " + quote(name) + " in [relay]: " + what);
      return {};
    }
    if (Status s = check_domain(value->value); !s.ok()) {
      error(value->pos, name + " " + quote(value->value) + " is not a valid domain name: " + s.message());
    }
    return folded(value->value);
  }

  void listen(const SpecRelay& r, std::vector<std::string>& out) {
    if (!r.listen) {
      out = {"0.0.0.0:25", "[::]:25"};
      return;
    }
    if (r.listen->empty()) error(r.listen_pos, "listen must name at least one address");
    if (r.listen->size() > kMaxListen) error(r.listen_pos, "listen names more than 64 addresses");
    for (const auto& l : *r.listen) {
      if (!is_ip_port(l.value)) {
        error(l.pos, "bad listen address " + quote(l.value) + " (expected IP:port like \"0.0.0.0:25\" or \"[::]:25\")");
      } else if (std::find(out.begin(), out.end(), l.value) != out.end()) {
        error(l.pos, "listen address " + quote(l.value) + " is listed twice");
      }
      out.push_back(l.value);
    }
  }

  void domains(const std::vector<SpecDomain>& in, std::vector<ModelDomain>& out) {
    if (in.empty()) error({1, 1}, "no domains: add at least one [domains.\"example.com\"] table");
    std::map<std::string, SourcePos> seen;
    for (const SpecDomain& d : in) {
      ModelDomain m;
      m.name = folded(d.name.value);
      m.pos = d.name.pos;
      if (Status s = check_domain(d.name.value); !s.ok()) {
        error(d.name.pos, "domain " + quote(d.name.value) + " is not a valid domain name: " + s.message());
      } else if (auto [it, fresh] = seen.emplace(m.name, d.name.pos); !fresh) {
        error(d.name.pos, "domain " + quote(d.name.value) + " is already defined at " + at_line(it->second) +
                              " (domains compare case-insensitively)");
      }
      separators(d.separators, m.separators);
      if (d.catch_all) m.catch_all = route(*d.catch_all, "catch_all");
      addresses(d, m.addresses);
      out.push_back(std::move(m));
    }
    std::sort(out.begin(), out.end(), [](const ModelDomain& a, const ModelDomain& b) { return a.name < b.name; });
  }

  void separators(const Located<std::string>& in, std::string& out) {
    static constexpr std::string_view kAllowed = "!#$%&'+-/=?^_`{|}~";
    for (char c : in.value) {
      if (kAllowed.find(c) == std::string_view::npos) {
        error(in.pos, "subaddress_separator " + quote(in.value) + ": each character must be one of " + std::string(kAllowed));
        return;
      }
      if (std::count(in.value.begin(), in.value.end(), c) > 1) {
        error(in.pos, "subaddress_separator " + quote(in.value) + " repeats a character");
        return;
      }
    }
    out = in.value;
  }

  void addresses(const SpecDomain& d, std::vector<ModelAddress>& out) {
    std::vector<ModelAddress> valid;
    std::vector<std::uint32_t> written;  // valid[i] is d.addresses[written[i]]
    valid.reserve(d.addresses.size());
    written.reserve(d.addresses.size());
    for (std::size_t i = 0; i < d.addresses.size(); ++i) {
      const SpecAddress& a = d.addresses[i];
      const std::string& key = a.key.value;
      ModelAddress m;
      m.pos = a.key.pos;
      m.wildcard = !key.empty() && key.back() == '*';
      std::string_view prefix = std::string_view(key).substr(0, key.size() - (m.wildcard ? 1 : 0));
      m.local = folded(prefix);
      m.route = route(a.route, key);
      if (!key_is_valid(a.key, prefix, m.wildcard)) continue;
      valid.push_back(std::move(m));
      written.push_back(static_cast<std::uint32_t>(i));
    }
    // Sort by (local, wildcard), and by position among equal keys, so the
    // first of equal keys is the one met first, as a map of seen keys would
    // have said. What is sorted is small: each local part's first 8 bytes as
    // one integer, which decides most comparisons without reading the
    // addresses, and the index of the address.
    struct SortKey {
      std::uint64_t head;
      std::uint32_t index;
    };
    std::vector<SortKey> order;
    order.reserve(valid.size());
    for (std::uint32_t i = 0; i < valid.size(); ++i) order.push_back({head_bytes(valid[i].local), i});
    std::sort(order.begin(), order.end(), [&](const SortKey& x, const SortKey& y) {
      if (x.head != y.head) return x.head < y.head;
      const ModelAddress &a = valid[x.index], &b = valid[y.index];
      int c = a.local.compare(b.local);
      if (c != 0) return c < 0;
      return a.wildcard != b.wildcard ? a.wildcard < b.wildcard : x.index < y.index;
    });
    out.reserve(out.size() + valid.size());
    const ModelAddress* first = nullptr;
    for (const SortKey& k : order) {
      ModelAddress& m = valid[k.index];
      if (first != nullptr && first->local == m.local && first->wildcard == m.wildcard) {
        error(m.pos, "address " + quote(d.addresses[written[k.index]].key.value) + " is already defined at " + at_line(first->pos) +
                         " (addresses compare case-insensitively)");
        continue;
      }
      out.push_back(std::move(m));
      first = &out.back();
    }
  }

  // The first 8 bytes of `s` as a big-endian integer (zeros past its end):
  // integers compare as the strings' first 8 bytes do, unsigned.
  static std::uint64_t head_bytes(std::string_view s) {
    std::uint64_t h = 0;
    for (std::size_t i = 0; i < 8; ++i) h = (h << 8) | (i < s.size() ? static_cast<unsigned char>(s[i]) : 0u);
    return h;
  }

  bool key_is_valid(const Located<std::string>& key, std::string_view prefix, bool wildcard) {
    if (prefix.find('*') != std::string_view::npos) {
      error(key.pos, "address " + quote(key.value) + ": '*' is only allowed at the end of a key (a prefix wildcard like \"team-*\")");
      return false;
    }
    if (wildcard && prefix.empty()) {
      error(key.pos, "address \"*\" would match everything: write catch_all = \"...\" in the domain instead");
      return false;
    }
    // A wildcard prefix may end where a local part cannot ("old." or "old-"),
    // so it is checked as the start of a local part.
    Status s = wildcard ? check_dot_string(std::string(prefix) + "x") : check_dot_string(prefix);
    if (!s.ok()) {
      error(key.pos, "address " + quote(key.value) + " is not a valid local part: " + s.message());
      return false;
    }
    return true;
  }

  ModelRoute route(const SpecRoute& r, const std::string& what) {
    ModelRoute m;
    m.pos = r.pos;
    switch (r.action) {
      case SpecRoute::Action::kDrop:
        m.action = RouteAction::kDrop;
        return m;
      case SpecRoute::Action::kReject:
        m.action = RouteAction::kReject;
        if (r.message) reject_message(*r.message, m.message);
        return m;
      case SpecRoute::Action::kForward:
        break;
    }
    m.action = RouteAction::kForward;
    if (r.destinations.empty()) error(r.pos, quote(what) + " forwards to no address");
    if (r.destinations.size() > kMaxDestinations) error(r.pos, quote(what) + " forwards to more than 100 addresses");
    std::vector<ModelTarget>& targets = model_.targets;
    m.first = static_cast<std::uint32_t>(targets.size());
    for (const auto& d : r.destinations) {
      DestinationPool::Checked c = pool_.check(d.value);
      if (c.why != nullptr) {
        error(d.pos, "destination " + quote(d.value) + " is not a valid address: " + *c.why);
        continue;
      }
      std::uint32_t key = model_.destinations[c.destination].folded;
      bool repeated = std::any_of(targets.begin() + m.first, targets.end(),
                                  [&](const ModelTarget& t) { return model_.destinations[t.destination].folded == key; });
      if (repeated) {
        error(d.pos, "destination " + quote(d.value) + " is listed twice");
        continue;
      }
      targets.push_back({c.destination, d.pos});
    }
    m.count = static_cast<std::uint32_t>(targets.size() - m.first);
    return m;
  }

  void reject_message(const Located<std::string>& in, std::string& out) {
    // Reply text must be printable ASCII (RFC 5321 §4.2) on one line.
    bool printable = std::all_of(in.value.begin(), in.value.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
    if (in.value.empty() || !printable || in.value.size() > kMaxRejectMessage) {
      error(in.pos, "reject message must be 1 to 200 printable ASCII characters on one line");
      return;
    }
    out = in.value;
  }

  void error(SourcePos pos, std::string message) { diagnostics_.error(pos, std::move(message)); }

  std::string dir_;
  Diagnostics& diagnostics_;
  RoutingModel model_;
  DestinationPool pool_;  // fills model_.destinations
};

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  static const std::pair<std::string_view, std::uint64_t> kUnits[] = {
      {"", 1}, {"B", 1}, {"KB", 1000}, {"kB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
      {"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30}};
  for (auto [name, factor] : kUnits) {
    if (unit != name) continue;
    if (number > UINT64_MAX / factor) return std::nullopt;
    return number * factor;
  }
  return std::nullopt;
}

bool is_ip_port(std::string_view text) {
  std::string_view host;
  std::uint16_t port;
  return split_ip_port(text, host, port);
}

std::optional<RoutingModel> validate_spec(const Spec& spec, const std::string& config_dir, Diagnostics& diagnostics) {
  return Validator(config_dir, diagnostics).run(spec);
}

}  // namespace emailroute
