// Where the relay delivers a forwarded message: the seam between routing and
// the network. A next hop turns a destination address into the ordered list
// of servers to try: the smarthost (`deliver_via`: everything goes to one
// IP:port), or the MX hosts of the destination's domain (mx_plan.h).
//
// A failure is a Status, and next_hop_failure_reply is what the sender hears:
// kNotFound 550 5.1.2 (NXDOMAIN, or no MX and no address), kInvalid 556
// 5.1.10 (null MX, RFC 7505), kCorruption 550 5.4.4 (every address refused:
// private or ours), anything else 451 4.4.3 (SERVFAIL, timeouts).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/net.h"
#include "runtime/status.h"

namespace emailroute {

class MxPlanner;

class NextHop {
 public:
  using Done = std::function<void(Result<std::vector<Endpoint>>)>;
  virtual ~NextHop() = default;
  /// Finds the servers for the destination address `destination`, best
  /// first, and calls `done` (never with an empty list), now or later from
  /// the event loop.
  virtual void find(std::string_view destination, Done done) = 0;
  /// For the log: "deliver_via 127.0.0.1:2525", "MX via DNS 127.0.0.1:53".
  virtual const std::string& description() const = 0;
};

/// Every destination goes to `smarthost`.
std::unique_ptr<NextHop> make_smarthost(Endpoint smarthost);

/// The MX hosts of each destination's domain, planned by `planner`.
/// REQUIRES: `planner` outlives the next hop and every lookup it starts.
std::unique_ptr<NextHop> make_mx_next_hop(MxPlanner& planner, std::string description);

/// The reply a sender hears for a failed lookup (see above).
std::string next_hop_failure_reply(const Status& status);

}  // namespace emailroute
