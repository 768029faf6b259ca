// Everything a transaction needs to route mail, built from one table: the
// table itself, the SRS rewriter with the secret read from its file, the
// limits and the next hop. The relay holds the current snapshot in a
// shared_ptr and each transaction keeps the one it started with, so a reload
// (SIGHUP) swaps tables between transactions and never under one.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/next_hop.h"
#include "runtime/server_session.h"
#include "runtime/srs.h"
#include "runtime/table.h"

namespace emailroute {

struct RoutingSnapshot {
  Table table;
  std::optional<Srs> srs;  // always set once built
  std::string hostname;
  std::string srs_domain;  // folded
  SessionLimits limits;
  std::vector<std::string> listen;
  std::unique_ptr<NextHop> next_hop;
  std::string secret_file;
  std::vector<std::string> secrets;
};

/// Reads the SRS secrets (one a line; blank lines and surrounding spaces
/// ignored; the first signs) from `path`.
Result<std::vector<std::string>> read_srs_secrets(const std::string& path);

/// Makes the MX next hop for a table without deliver_via, from its settings
/// (dns_resolver, upstream_port, allow_private_destinations).
using MxNextHopMaker = std::function<Result<std::unique_ptr<NextHop>>(const RelaySettings&)>;

/// Builds a snapshot; fails when the secret file cannot be read, deliver_via
/// is malformed, or there is no deliver_via and `make_mx` fails (or is
/// empty: nothing to deliver through). When `previous` names the same secret file and it cannot be
/// read now (after --user dropped the privileges that could), its secrets
/// are kept: a reload must not need root.
Result<std::shared_ptr<const RoutingSnapshot>> make_snapshot(Table table, const RoutingSnapshot* previous = nullptr,
                                                             const MxNextHopMaker& make_mx = {});

}  // namespace emailroute
