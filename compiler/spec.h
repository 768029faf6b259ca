// The routing spec as read from emailroute.toml, every value with the place
// it was written, so that validation can point at it. The reader fills this
// in without judging it; validate.cpp decides what is acceptable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace emailroute {

struct SourcePos {
  std::uint32_t line = 0;    // 1-based; 0 when unknown
  std::uint32_t column = 0;  // 1-based, in characters (UTF-8 code points), as toml++ counts
};

template <class T>
struct Located {
  T value{};
  SourcePos pos;
};

/// What to do with a recipient, as written: a string or an array of
/// destinations, or a table { action = "...", to = ..., message = "..." }.
struct SpecRoute {
  enum class Action { kForward, kDrop, kReject };
  Action action = Action::kForward;
  std::vector<Located<std::string>> destinations;  // kForward
  std::optional<Located<std::string>> message;     // kReject, optional
  SourcePos pos;
};

struct SpecAddress {
  Located<std::string> key;  // as written, e.g. "Sales" or "team-*"
  SpecRoute route;
};

struct SpecDomain {
  Located<std::string> name;  // as written
  std::optional<SpecRoute> catch_all;
  Located<std::string> separators{"+", {}};
  std::vector<SpecAddress> addresses;
};

/// The [relay] table. Absent optional values stay empty.
struct SpecRelay {
  SourcePos pos;  // of the [relay] table; where "missing key" errors point
  std::optional<Located<std::string>> hostname, srs_domain, srs_secret_file;
  std::optional<Located<std::string>> tls_certificate, tls_key, dns_resolver, deliver_via;
  std::optional<Located<std::string>> verified_file;
  std::optional<std::vector<Located<std::string>>> listen;
  SourcePos listen_pos;
  std::optional<Located<std::string>> max_message_size;  // integers are kept as their digits
  std::optional<Located<std::int64_t>> max_recipients, upstream_port;
  std::optional<Located<bool>> allow_private_destinations, require_verified;
};

struct Spec {
  SpecRelay relay;
  bool has_relay = false;
  std::vector<SpecDomain> domains;
};

}  // namespace emailroute
