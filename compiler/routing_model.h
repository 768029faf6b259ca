// The routing spec once validated: what the table builder writes and what
// `dump` reads back. Names and keys are folded, sorted and unique; forwarded
// routes hold only destinations outside this config (local ones have been
// resolved), in the order they were written, without duplicates.
//
// A spec may have a million addresses but only thousands of distinct
// destinations, so each destination is stored once, in `destinations`, and a
// route names its destinations by index through a slice of `targets`: no
// string and no vector per address. Everything done per destination
// (checking it, folding it, pooling it in the table) is done once.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "compiler/spec.h"
#include "runtime/table.h"

namespace emailroute {

/// A distinct destination address, in its plain form ("\"ab\"@x" is ab@x).
struct ModelDestination {
  std::string address;  // as written, case preserved; no two entries are the same bytes
  std::uint32_t folded;  // the first entry equal to this one once case-folded (maybe itself)
};

/// One destination of a forward route, and where the config wrote it (for errors).
struct ModelTarget {
  std::uint32_t destination;  // index into RoutingModel::destinations
  SourcePos pos;
};

struct ModelRoute {
  RouteAction action = RouteAction::kForward;
  std::uint32_t first = 0, count = 0;  // kForward: RoutingModel::targets[first, first + count)
  std::string message;                 // kReject; empty: the default text
  SourcePos pos;                       // where it was written, for errors
};

struct ModelAddress {
  std::string local;  // folded, without the trailing '*' of a wildcard
  bool wildcard = false;
  ModelRoute route;
  SourcePos pos;
};

struct ModelDomain {
  std::string name;        // folded
  std::string separators;  // empty: subaddressing off
  std::optional<ModelRoute> catch_all;
  std::vector<ModelAddress> addresses;  // sorted by (local, wildcard)
  SourcePos pos;
};

struct ModelRelay {
  std::string hostname, srs_domain, srs_secret_file;  // srs_secret_file is absolute
  std::string tls_certificate, tls_key, dns_resolver, deliver_via;  // empty: not set
  std::vector<std::string> listen;
  std::uint64_t max_message_size = 0;
  std::uint32_t max_recipients = 0;
  std::uint16_t upstream_port = 0;
  bool allow_private_destinations = false;
};

struct RoutingModel {
  ModelRelay relay;
  std::vector<ModelDomain> domains;  // sorted by name
  std::vector<ModelDestination> destinations;  // in the order first met
  std::vector<ModelTarget> targets;            // the destinations of every forward route, a slice each

  /// The destinations of a forward route, in order.
  std::span<const ModelTarget> targets_of(const ModelRoute& r) const { return {targets.data() + r.first, r.count}; }
  const std::string& address(const ModelTarget& t) const { return destinations[t.destination].address; }
};

}  // namespace emailroute
