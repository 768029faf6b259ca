// `emailroute serve`: the relay process. It owns the event loop, the
// listening sockets, the current routing snapshot and every sender
// connection; it reloads the table on SIGHUP and stops gracefully on SIGTERM.
//
// - SIGHUP: the loader runs again (recompiling a --config); a new snapshot
//   replaces the current one for transactions that start afterwards. A table
//   that does not load, or a snapshot that cannot be built (unreadable secret,
//   bad deliver_via), is logged and the old one keeps serving.
// - SIGTERM/SIGINT: the listeners close, idle sessions get 421, sessions in a
//   transaction finish it first; after shutdown_grace_ms the rest are cut.
// - Without deliver_via, destinations are found by MX lookups (next_hop.h):
//   the relay owns one resolver and planner per DNS setting (servers, port,
//   allow_private_destinations) it has seen, kept for its whole life, so a
//   reload never abandons a lookup in flight and never frees a resolver from
//   inside its own callback.
// - Connection limits: beyond max_connections in all, or
//   max_connections_per_ip from one address, a new connection gets
//   `421 4.7.0` and is closed.
//
// SECURITY: this file accepts connections from anyone; it trusts nothing from
// them (see inbound.h) and bounds how many it holds.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/event_loop.h"
#include "runtime/inbound.h"
#include "runtime/mx_plan.h"
#include "runtime/resolver.h"
#include "runtime/relay_options.h"
#include "runtime/routing_snapshot.h"

namespace emailroute {

/// Loads (or recompiles) the routing table; called at start and on SIGHUP.
using TableLoader = std::function<Result<Table>()>;

class Relay : public RelayCore {
 public:
  Relay(RelayOptions options, TableLoader loader) : options_(std::move(options)), loader_(std::move(loader)) {}
  ~Relay() override;

  /// Loads the table, binds every listen address and installs the signal
  /// handlers; logs one `listening` line per socket.
  Status start();
  /// Serves until SIGTERM; returns the exit status (0 after a graceful stop).
  int run();

  // RelayCore
  EventLoop& loop() override { return loop_; }
  std::shared_ptr<const RoutingSnapshot> routing() const override { return routing_; }
  const RelayOptions& options() const override { return options_; }
  std::string next_id() override;
  DeliveryMemory& delivered() override { return delivered_; }
  UpstreamPool& pool() override { return pool_; }
  void finished(Inbound& inbound) override;

 private:
  struct MxService {
    MxService(EventLoop& loop, ResolverOptions r, MxOptions m) : resolver(loop, std::move(r)), planner(resolver, std::move(m)) {}
    Resolver resolver;
    MxPlanner planner;
  };

  Status load();
  Result<std::unique_ptr<NextHop>> mx_next_hop(const RelaySettings& settings);
  void accept_on(int listener);
  void pause_listener(int listener);
  void on_signal(int signal);
  void begin_shutdown();
  void close_listeners();

  EventLoop loop_;
  RelayOptions options_;
  TableLoader loader_;
  std::shared_ptr<const RoutingSnapshot> routing_;
  std::vector<std::pair<int, EventLoop::Token>> listeners_;
  std::unordered_map<Inbound*, std::unique_ptr<Inbound>> connections_;
  std::unordered_map<std::string, std::size_t> per_ip_;
  DeliveryMemory delivered_;
  UpstreamPool pool_{loop_};
  std::map<std::string, std::unique_ptr<MxService>> mx_services_;  // by DNS setting; see above
  bool stopping_ = false;
  std::uint64_t ids_ = 0;
  std::string id_prefix_;
};

}  // namespace emailroute
