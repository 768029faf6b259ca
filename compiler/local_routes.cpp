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
    // Whether each distinct destination is in a domain this config routes,
    // decided once rather than once per address that forwards to it.
    local_.reserve(model_.destinations.size());
    for (const ModelDestination& d : model_.destinations)
      local_.push_back(find_domain(model_, folded(std::string_view(d.address).substr(d.address.rfind('@') + 1))) != nullptr);
    // Most routes forward only outside this config: expanding them would copy
    // them unchanged (validation already refused repeats and more than 100
    // destinations). Only routes with a destination in a routed domain are expanded.
    auto local = [&](const ModelRoute& r) {
      if (r.action != RouteAction::kForward) return false;
      for (const ModelTarget& t : model_.targets_of(r))
        if (local_[t.destination]) return true;
      return false;
    };
    for (ModelDomain& d : model_.domains) {
      for (ModelAddress& a : d.addresses)
        if (local(a.route)) expand(a.route, a.local + (a.wildcard ? "*@" : "@") + d.name);
      if (d.catch_all && local(*d.catch_all)) expand(*d.catch_all, "catch_all of " + d.name);
    }
    // Results are applied at the end: expansions read the routes as written.
    // An expanded route gets a new slice of targets; the old one is left unused.
    for (auto& [route, state] : states_) {
      if (state.failed) continue;
      route->first = static_cast<std::uint32_t>(model_.targets.size());
      route->count = static_cast<std::uint32_t>(state.targets.size());
      model_.targets.insert(model_.targets.end(), state.targets.begin(), state.targets.end());
      if (route->action == RouteAction::kForward && route->count == 0) route->action = RouteAction::kDrop;
    }
  }

 private:
  struct State {
    bool done = false, failed = false;
    std::vector<ModelTarget> targets;
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
      for (const ModelTarget& t : model_.targets_of(route)) add_destination(t, result);
    }
    stack_.pop_back();
    if (result.targets.size() > kMaxDestinationsAfterExpansion) {
      diagnostics_.error(route.pos, name + " forwards to " + std::to_string(result.targets.size()) +
                                        " addresses once local ones are resolved; the limit is 100");
      result.failed = true;
    }
    result.done = true;
    State& slot = states_[&route];
    slot = std::move(result);
    return slot;
  }

  void add_destination(const ModelTarget& written, State& into) {
    SourcePos pos = written.pos;
    if (!local_[written.destination]) {
      append(written.destination, pos, into);
      return;
    }
    const std::string& destination = model_.address(written);
    std::size_t at = destination.rfind('@');
    std::string local = folded(std::string_view(destination).substr(0, at));
    std::string domain = folded(std::string_view(destination).substr(at + 1));
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
    for (const ModelTarget& t : resolved.targets) append(t.destination, pos, into);
  }

  // Adds `destination` unless `into` has it already, in any case.
  void append(std::uint32_t destination, SourcePos pos, State& into) const {
    std::uint32_t key = model_.destinations[destination].folded;
    bool seen = std::any_of(into.targets.begin(), into.targets.end(),
                            [&](const ModelTarget& t) { return model_.destinations[t.destination].folded == key; });
    if (!seen) into.targets.push_back({destination, pos});
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
  std::vector<bool> local_;  // by destination index: in one of the model's domains
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
