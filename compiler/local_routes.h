// Destinations inside the config's own domains are resolved at compile time,
// so the relay never routes a message twice: `sales@a.test = "team@a.test"`
// with `team@a.test = ["x@mail.test", "y@mail.test"]` compiles to sales
// forwarding to x and y. A destination that this config drops contributes
// nothing (a route left with none becomes a drop); one that it rejects or does
// not know is an error, and so is a loop, reported with its whole cycle.
#pragma once

#include "compiler/diagnostics.h"
#include "compiler/routing_model.h"

namespace emailroute {

inline constexpr std::size_t kMaxForwardingHops = 32;

/// The route the model gives `local@domain` by the resolution rules of the
/// relay (exact, subaddress base, longest wildcard, catch-all); null when the
/// domain is not in the model or nothing matches. `name` receives the key that
/// matched, as it would be written in the config ("team-*@a.test").
const ModelRoute* find_model_route(const RoutingModel& model, std::string_view local, std::string_view domain,
                                   std::string* name = nullptr);

/// Replaces every destination in one of the model's own domains by what it
/// resolves to. Errors go to `diagnostics`.
void resolve_local_destinations(RoutingModel& model, Diagnostics& diagnostics);

}  // namespace emailroute
