// The routing spec once validated: what the table builder writes and what
// `dump` reads back. Names and keys are folded, sorted and unique; forwarded
// routes hold only destinations outside this config (local ones have been
// resolved), in the order they were written, without duplicates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compiler/spec.h"
#include "runtime/table.h"

namespace emailroute {

struct ModelRoute {
  RouteAction action = RouteAction::kForward;
  std::vector<std::string> destinations;  // kForward
  std::string message;                    // kReject; empty: the default text
  // Where it was written, for errors only; not part of the route's identity.
  SourcePos pos;
  std::vector<SourcePos> destination_pos;

  bool operator==(const ModelRoute& o) const {
    return action == o.action && destinations == o.destinations && message == o.message;
  }
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
};

}  // namespace emailroute
