// The compiled routing table, read in place from a memory mapping.
//
// SECURITY: the file is untrusted. open() refuses it unless the header, the
// checksum, every offset, every reference and every string that may reach the
// network (destinations, domains, reject texts) check out. Lookups still read
// through bounds-checked cursors, so even a bug in validation cannot read
// outside the mapping. Results are views into the mapping: nothing is copied
// and nothing is allocated per lookup.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "runtime/mapped_file.h"
#include "runtime/status.h"
#include "runtime/table_format.h"

namespace emailroute {

enum class RouteAction { kForward, kDrop, kReject };

/// What to do with a recipient: forward to destinations, drop, or reject.
class Route {
 public:
  RouteAction action() const { return action_; }
  /// The configured reject text; empty means the default.
  std::string_view reject_message() const { return message_; }
  std::size_t destination_count() const { return count_; }
  /// REQUIRES: i < destination_count().
  std::string_view destination(std::size_t i) const;

 private:
  friend class Table;
  RouteAction action_ = RouteAction::kReject;
  std::string_view message_;
  const std::uint8_t* refs_ = nullptr;  // count_ little-endian u32 string refs
  std::size_t count_ = 0;
  std::span<const std::uint8_t> strings_;  // the string pool the refs point into
};

/// How a recipient matched, in resolution order.
enum class MatchKind { kNotOurDomain, kExact, kSubaddress, kWildcard, kCatchAll, kUnknown };

struct Resolution {
  MatchKind kind = MatchKind::kNotOurDomain;
  Route route;                   // meaningful for kExact..kCatchAll
  std::size_t matched_length = 0;  // octets of the local part the matched key covers
  std::uint32_t domain_index = 0;
};

struct RelaySettings {
  std::string_view hostname, srs_domain, srs_secret_file;
  std::string_view tls_certificate, tls_key, dns_resolver, deliver_via;  // empty: not set
  std::vector<std::string_view> listen;
  std::uint64_t max_message_size = 0;
  std::uint32_t max_recipients = 0;
  std::uint16_t upstream_port = 0;
  bool allow_private_destinations = false;
};

struct DomainView {
  std::string_view name;        // folded
  std::string_view separators;  // empty: subaddressing off
  bool has_catch_all = false;
  Route catch_all;
};

class Table {
 public:
  Table() = default;
  Table(Table&&) noexcept = default;
  Table& operator=(Table&&) noexcept = default;

  /// Maps and validates a table file.
  static Result<Table> open(const std::string& path);
  /// Validates a table held in memory; the table keeps the bytes.
  static Result<Table> from_bytes(std::vector<std::uint8_t> bytes);

  /// Resolves `local@domain` (compared case-insensitively) in one trie walk.
  Resolution resolve(std::string_view local, std::string_view domain) const;

  RelaySettings settings() const;
  std::size_t domain_count() const { return domain_count_; }
  DomainView domain(std::size_t i) const;
  std::span<const std::uint8_t> bytes() const { return bytes_; }

  /// Calls `visit(folded local key without '*', is_wildcard, route)` for every
  /// address entry of one domain, in key order.
  void for_each_address(std::uint32_t domain_index,
                        const std::function<void(std::string_view, bool, const Route&)>& visit) const;

 private:
  Status validate();
  Status validate_strings(std::vector<bool>& starts) const;
  Status validate_routes(const std::vector<bool>& strings, std::vector<bool>& starts) const;
  Status validate_domains(const std::vector<bool>& strings, const std::vector<bool>& routes) const;
  Status validate_settings(const std::vector<bool>& strings) const;
  Status validate_trie(const std::vector<bool>& routes);
  Route route_at(std::uint32_t ref) const;
  std::string_view string_at(std::uint32_t ref) const;
  std::span<const std::uint8_t> section(table_format::Section s) const;

  std::variant<std::monostate, MappedFile, std::vector<std::uint8_t>> storage_;
  std::span<const std::uint8_t> bytes_;
  std::size_t section_offset_[table_format::kSectionCount] = {};
  std::size_t section_size_[table_format::kSectionCount] = {};
  std::size_t domain_count_ = 0;
  std::uint32_t root_ = 0;
};

}  // namespace emailroute
