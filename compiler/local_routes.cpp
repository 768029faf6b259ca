#include "compiler/local_routes.h"

#include <algorithm>
#include <map>

#include "runtime/address.h"

namespace emailroute {
namespace {

const ModelDomain* find_domain(const RoutingModel& model, std::string_view folded_name) {
  auto it = std::lower_bound(model.domains.begin(), model.domains.end(), folded_name,
                             [](const ModelDomain& d, std::string_view n) { return d.name < n; });
  return it != model.domains.end() && it->name == folded_name ? &*it : nullptr;
}

const ModelAddress* find_address(const ModelDomain& d, std::string_view local, bool wildcard) {
  auto it = std::lower_bound(d.addresses.begin(), d.addresses.end(), std::pair(local, wildcard),
                             [](const ModelAddress& a, const std::pair<std::string_view, bool>& k) {
                               return a.local != k.first ? a.local < k.first : a.wildcard < k.second;
                             });
  return it != d.addresses.end() && it->local == local && it->wildcard == wildcard ? &*it : nullptr;
}

class Resolver {
 public:
  Resolver(RoutingModel& model, Diagnostics& diagnostics) : model_(model), diagnostics_(diagnostics) {}

  void run() {
    // Most routes forward only outside this config: expanding them would copy
    // them unchanged (validation already refused repeats and more than 100
    // destinations). Only routes with a destination in a routed domain are expanded.
    auto local = [&](const ModelRoute& r) {
      if (r.action != RouteAction::kForward) return false;
      for (const std::string& dest : r.destinations) {
        std::string_view domain = std::string_view(dest).substr(dest.rfind('@') + 1);
        if (routed_domain(domain)) return true;
      }
      return false;
    };
    for (ModelDomain& d : model_.domains) {
      for (ModelAddress& a : d.addresses)
        if (local(a.route)) expand(a.route, a.local + (a.wildcard ? "*@" : "@") + d.name);
      if (d.catch_all && local(*d.catch_all)) expand(*d.catch_all, "catch_all of " + d.name);
    }
    // Results are applied at the end: expansions read the routes as written.
    for (auto& [route, state] : states_) {
      if (state.failed) continue;
      route->destinations = state.destinations;
      route->destination_pos = state.positions;
      if (route->action == RouteAction::kForward && route->destinations.empty()) route->action = RouteAction::kDrop;
    }
  }

 private:
  struct State {
    bool done = false, failed = false;
    std::vector<std::string> destinations;
    std::vector<SourcePos> positions;
  };
  struct Frame {
    const ModelRoute* route;
    std::string name;
  };

  // Returns the expanded state of `route`, computing it on first use.
  const State& expand(ModelRoute& route, const std::string& name) {
    State& state = states_[&route];
    if (state.done) return state;
    stack_.push_back({&route, name});
    State result;
    if (route.action == RouteAction::kForward) {
      for (std::size_t i = 0; i < route.destinations.size(); ++i) {
        add_destination(route.destinations[i], route.destination_pos[i], result);
      }
    }
    stack_.pop_back();
    if (result.destinations.size() > kMaxDestinationsAfterExpansion) {
      diagnostics_.error(route.pos, name + " forwards to " + std::to_string(result.destinations.size()) +
                                        " addresses once local ones are resolved; the limit is 100");
      result.failed = true;
    }
    result.done = true;
    State& slot = states_[&route];
    slot = std::move(result);
    return slot;
  }

  void add_destination(const std::string& destination, SourcePos pos, State& into) {
    std::size_t at = destination.rfind('@');
    std::string local = folded(std::string_view(destination).substr(0, at));
    std::string domain = folded(std::string_view(destination).substr(at + 1));
    if (find_domain(model_, domain) == nullptr) {
      append(destination, pos, into);
      return;
    }
    std::string target_name;
    const ModelRoute* target = find_model_route(model_, local, domain, &target_name);
    if (target == nullptr) {
      fail(into, pos, "destination \"" + destination + "\" is in " + domain +
                          ", which this config routes, but no address there matches it (mail to it would be rejected with 550 5.1.1)");
      return;
    }
    if (target->action == RouteAction::kReject) {
      fail(into, pos, "destination \"" + destination + "\" is rejected by this config (" + target_name + ")");
      return;
    }
    if (target->action == RouteAction::kDrop) return;
    auto loop = std::find_if(stack_.begin(), stack_.end(), [&](const Frame& f) { return f.route == target; });
    if (loop != stack_.end()) {
      std::string cycle;
      for (auto f = loop; f != stack_.end(); ++f) cycle += f->name + " -> ";
      fail(into, pos, "forwarding loop: " + cycle + loop->name);
      return;
    }
    if (stack_.size() > kMaxForwardingHops) {
      fail(into, pos, "forwarding chain through \"" + destination + "\" is longer than 32 hops");
      return;
    }
    const State& resolved = expand(*const_cast<ModelRoute*>(target), target_name);
    if (resolved.failed) {
      into.failed = true;  // the error was reported where it happened
      return;
    }
    for (const std::string& d : resolved.destinations) append(d, pos, into);
  }

  // Whether `domain` (any case) is one this config routes; no allocation.
  bool routed_domain(std::string_view domain) const {
    auto less = [](std::string_view a, std::string_view b) {
      for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
        auto x = static_cast<unsigned char>(fold(a[i])), y = static_cast<unsigned char>(fold(b[i]));
        if (x != y) return x < y;
      }
      return a.size() < b.size();
    };
    auto it = std::lower_bound(model_.domains.begin(), model_.domains.end(), domain,
                               [&](const ModelDomain& d, std::string_view n) { return less(d.name, n); });
    return it != model_.domains.end() && !less(domain, it->name);
  }

  static void append(const std::string& destination, SourcePos pos, State& into) {
    std::string key = folded(destination);
    bool seen = std::any_of(into.destinations.begin(), into.destinations.end(),
                            [&](const std::string& d) { return folded(d) == key; });
    if (seen) return;
    into.destinations.push_back(destination);
    into.positions.push_back(pos);
  }

  void fail(State& into, SourcePos pos, std::string message) {
    into.failed = true;
    diagnostics_.error(pos, std::move(message));
  }

  static constexpr std::size_t kMaxDestinationsAfterExpansion = 100;
  RoutingModel& model_;
  Diagnostics& diagnostics_;
  std::map<ModelRoute*, State> states_;
  std::vector<Frame> stack_;
};

}  // namespace

const ModelRoute* find_model_route(const RoutingModel& model, std::string_view local, std::string_view domain,
                                   std::string* name) {
  const ModelDomain* d = find_domain(model, domain);
  if (d == nullptr) return nullptr;
  auto named = [&](const ModelAddress* a) {
    if (name != nullptr) *name = a->local + (a->wildcard ? "*@" : "@") + d->name;
    return &a->route;
  };
  if (const ModelAddress* a = find_address(*d, local, false)) return named(a);
  std::size_t separator = d->separators.empty() ? std::string_view::npos : local.find_first_of(d->separators);
  if (separator != std::string_view::npos) {
    if (const ModelAddress* a = find_address(*d, local.substr(0, separator), false)) return named(a);
  }
  for (std::size_t n = local.size() + 1; n-- > 0;) {
    if (const ModelAddress* a = find_address(*d, local.substr(0, n), true)) return named(a);
  }
  if (d->catch_all) {
    if (name != nullptr) *name = "catch_all of " + d->name;
    return &*d->catch_all;
  }
  return nullptr;
}

void resolve_local_destinations(RoutingModel& model, Diagnostics& diagnostics) { Resolver(model, diagnostics).run(); }

}  // namespace emailroute
