// Where the relay delivers a forwarded message: the seam between routing and
// the network. This issue has the smarthost (`deliver_via`: everything goes
// to one IP:port) and the refusal used when nothing is configured; the MX
// resolver of the DNS issue plugs in behind the same interface.
//
// A failure is a Status: kNotFound means the destination domain does not
// exist (the sender hears 550 5.1.2); anything else is transient (451 4.4.3).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/net.h"
#include "runtime/status.h"

namespace emailroute {

class NextHop {
 public:
  using Done = std::function<void(Result<Endpoint>)>;
  virtual ~NextHop() = default;
  /// Finds the server for the destination address `destination` and calls
  /// `done`, now or later from the event loop.
  virtual void find(std::string_view destination, Done done) = 0;
};

/// Every destination goes to `smarthost`.
std::unique_ptr<NextHop> make_smarthost(Endpoint smarthost);

/// No way to deliver: every lookup fails transiently with `why`.
std::unique_ptr<NextHop> make_unroutable(std::string why);

/// The reply a sender hears for a failed lookup.
std::string next_hop_failure_reply(const Status& status);

}  // namespace emailroute
