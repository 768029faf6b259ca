// MX rules and the lookup that applies them; see mx_plan.h.
#include "runtime/mx_plan.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace emailroute {
namespace {

bool has_cname(std::string_view owner, const std::vector<DnsRecord>& records) {
  return std::any_of(records.begin(), records.end(),
                     [&](const DnsRecord& r) { return r.type == RrType::kCname && r.owner == owner; });
}

const char* ipv4_reason(const std::uint8_t* a) {
  if (a[0] == 0) return "unspecified (0.0.0.0/8)";
  if (a[0] == 127) return "loopback";
  if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xF0) == 16) || (a[0] == 192 && a[1] == 168)) return "private (RFC 1918)";
  if (a[0] == 100 && (a[1] & 0xC0) == 64) return "shared address space (RFC 6598)";
  if (a[0] == 169 && a[1] == 254) return "link-local";
  if (a[0] == 192 && a[1] == 0 && a[2] == 0) return "IETF protocol assignments (192.0.0.0/24)";
  if (a[0] == 198 && (a[1] & 0xFE) == 18) return "benchmarking (198.18.0.0/15)";
  if (a[0] >= 224 && a[0] < 240) return "multicast";
  if (a[0] >= 240) return "reserved (240.0.0.0/4)";
  return nullptr;
}

Endpoint endpoint_of(std::span<const std::uint8_t> address, std::uint16_t port) {
  Endpoint e;
  if (address.size() == 4) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&e.address);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    std::memcpy(&v4->sin_addr, address.data(), 4);
    e.length = sizeof(sockaddr_in);
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.address);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    std::memcpy(&v6->sin6_addr, address.data(), 16);
    e.length = sizeof(sockaddr_in6);
  }
  e.text = format_address(reinterpret_cast<const sockaddr*>(&e.address), e.length);
  return e;
}

}  // namespace

std::string follow_cnames(std::string_view name, const std::vector<DnsRecord>& records, int& hops) {
  std::string current = canonical_name(name);
  while (hops < kMaxCnameHops) {
    auto it = std::find_if(records.begin(), records.end(),
                           [&](const DnsRecord& r) { return r.type == RrType::kCname && r.owner == current; });
    if (it == records.end()) break;
    current = it->target;
    ++hops;
  }
  return current;
}

Result<std::vector<MxHost>> mx_hosts(std::string_view owner_name, const DnsAnswer& answer, std::mt19937& random) {
  std::string owner = canonical_name(owner_name);
  if (answer.outcome == DnsOutcome::kNxDomain) return Status::not_found(owner + " does not exist (NXDOMAIN)");
  if (answer.outcome == DnsOutcome::kFailed) return Status::io_error("MX " + owner + ": " + answer.error);
  std::vector<MxHost> hosts;
  std::size_t null_mx = 0;
  for (const DnsRecord& r : answer.records) {
    if (r.type != RrType::kMx || r.owner != owner) continue;
    if (r.target == ".") {
      ++null_mx;
      continue;
    }
    hosts.push_back(MxHost{r.target, r.preference, false});
  }
  // RFC 7505 §3: a null MX must be the domain's only MX; beside others it is
  // a mistake and the others are used.
  if (hosts.empty() && null_mx > 0) return Status::invalid(owner + " accepts no mail (null MX, RFC 7505)");
  if (hosts.empty()) return std::vector<MxHost>{MxHost{owner, 0, true}};
  std::shuffle(hosts.begin(), hosts.end(), random);  // then a stable sort: equal preferences stay shuffled
  std::stable_sort(hosts.begin(), hosts.end(), [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
  std::vector<MxHost> unique;
  for (MxHost& h : hosts) {
    bool seen = std::any_of(unique.begin(), unique.end(), [&](const MxHost& u) { return u.name == h.name; });
    if (!seen && unique.size() < kMaxMxHosts) unique.push_back(std::move(h));
  }
  return unique;
}

const char* non_public_reason(std::span<const std::uint8_t> a) {
  if (a.size() == 4) return ipv4_reason(a.data());
  if (a.size() != 16) return "not an IP address";
  static constexpr std::uint8_t kZero[12] = {};
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  static constexpr std::uint8_t kNat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(a.data(), kZero, 12) == 0) {
    if (a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1) return a[15] == 1 ? "loopback" : "unspecified";
    return "IPv4-compatible IPv6 (deprecated)";
  }
  if (std::memcmp(a.data(), kMapped, 12) == 0 || std::memcmp(a.data(), kNat64, 12) == 0) {
    return ipv4_reason(a.data() + 12);  // the IPv4 address it stands for decides
  }
  if (a[0] == 0xFE && (a[1] & 0xC0) == 0x80) return "link-local";
  if (a[0] == 0xFE && (a[1] & 0xC0) == 0xC0) return "site-local (deprecated)";
  if ((a[0] & 0xFE) == 0xFC) return "unique local (private)";
  if (a[0] == 0xFF) return "multicast";
  return nullptr;
}

Result<std::vector<Endpoint>> plan_endpoints(const std::vector<HostAddresses>& hosts, const MxOptions& options,
                                             bool lookup_failed) {
  std::vector<Endpoint> out;
  std::string refused;
  for (const HostAddresses& h : hosts) {
    std::vector<std::span<const std::uint8_t>> candidates;
    if (options.use_ipv6) {
      for (const auto& a : h.ipv6) candidates.emplace_back(a);
    }
    for (const auto& a : h.ipv4) candidates.emplace_back(a);
    std::size_t taken = 0;
    for (std::span<const std::uint8_t> a : candidates) {
      if (taken == kMaxAddressesPerHost || out.size() == kMaxEndpoints) break;
      Endpoint e = endpoint_of(a, options.port);
      std::string ip = address_ip(reinterpret_cast<const sockaddr*>(&e.address), e.length);
      const char* why = non_public_reason(a);
      if (why == nullptr && std::find(options.own_addresses.begin(), options.own_addresses.end(), ip) !=
                                options.own_addresses.end()) {
        why = "one of our own addresses";
      }
      if (why != nullptr && !options.allow_private) {
        refused += (refused.empty() ? "" : "; ") + h.host.name + " " + ip + " is " + why;
        continue;
      }
      out.push_back(std::move(e));
      ++taken;
    }
  }
  if (!out.empty()) return out;
  if (!refused.empty()) return Status::corruption("every address refused (allow_private_destinations is false): " + refused);
  if (lookup_failed) return Status::io_error("address lookups of the MX hosts failed");
  if (!hosts.empty() && hosts[0].host.implicit) {
    return Status::not_found(hosts[0].host.name + " has no MX and no address");
  }
  return Status::io_error("no MX host has an address");
}

std::vector<std::string> local_addresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    int family = i->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    out.push_back(address_ip(i->ifa_addr, len));
  }
  freeifaddrs(list);
  return out;
}

bool has_public_ipv6() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  bool found = false;
  for (ifaddrs* i = list; i != nullptr && !found; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET6) continue;
    const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
    found = non_public_reason(std::span<const std::uint8_t>(a->sin6_addr.s6_addr, 16)) == nullptr;
  }
  freeifaddrs(list);
  return found;
}

// ---- The lookup: MX first, then A and AAAA of every host in parallel. ----
//
// Callbacks hold a weak pointer to the planner's state and a plan id, so a
// reply arriving after the planner (or the plan) is gone is ignored.

struct MxPlanner::State {
  struct Plan {
    Done done;
    std::vector<HostAddresses> hosts;
    std::size_t pending = 0;  // address lookups not answered yet
    bool failed = false;      // one of them could not be asked
  };
  State(Resolver& r, MxOptions o) : resolver(r), options(std::move(o)), random(std::random_device{}()) {}
  Resolver& resolver;
  MxOptions options;
  std::mt19937 random;
  std::uint64_t next_id = 1;
  std::unordered_map<std::uint64_t, Plan> plans;
};

namespace {

using State = MxPlanner::State;
using Weak = std::weak_ptr<State>;

void finish(State& s, std::uint64_t id, Result<std::vector<Endpoint>> result) {
  auto it = s.plans.find(id);
  if (it == s.plans.end()) return;
  MxPlanner::Done done = std::move(it->second.done);
  s.plans.erase(it);
  done(std::move(result));
}

void address_answered(const std::shared_ptr<State>& s, std::uint64_t id, std::size_t host, const std::string& name,
                      RrType type, int hops, const DnsAnswer& a);

void ask_address(const std::shared_ptr<State>& s, std::uint64_t id, std::size_t host, const std::string& name,
                 RrType type, int hops) {
  Weak weak = s;
  s->resolver.resolve(name, type, [weak, id, host, name, type, hops](const DnsAnswer& a) {
    if (std::shared_ptr<State> alive = weak.lock()) address_answered(alive, id, host, name, type, hops, a);
  });
}

void address_answered(const std::shared_ptr<State>& s, std::uint64_t id, std::size_t host, const std::string& name,
                      RrType type, int hops, const DnsAnswer& a) {
  auto it = s->plans.find(id);
  if (it == s->plans.end()) return;
  State::Plan& plan = it->second;
  if (a.outcome == DnsOutcome::kFailed) plan.failed = true;
  if (a.outcome == DnsOutcome::kAnswer) {
    int h = hops;
    std::string end = follow_cnames(name, a.records, h);
    std::size_t found = 0;
    for (const DnsRecord& r : a.records) {
      if (r.type != type || r.owner != end) continue;
      ++found;
      HostAddresses& ha = plan.hosts[host];
      if (type == RrType::kA) {
        std::array<std::uint8_t, 4> v4{};
        std::copy_n(r.address.begin(), 4, v4.begin());
        ha.ipv4.push_back(v4);
      } else {
        ha.ipv6.push_back(r.address);
      }
    }
    // The chain leaves this answer (the server did not chase it): ask for its end.
    if (found == 0 && h > hops && !has_cname(end, a.records)) return ask_address(s, id, host, end, type, h);
  }
  if (--plan.pending > 0) return;
  Result<std::vector<Endpoint>> result = plan_endpoints(plan.hosts, s->options, plan.failed);
  finish(*s, id, std::move(result));
}

void mx_answered(const std::shared_ptr<State>& s, std::uint64_t id, const std::string& name, int hops,
                 const DnsAnswer& a);

void ask_mx(const std::shared_ptr<State>& s, std::uint64_t id, const std::string& name, int hops) {
  Weak weak = s;
  s->resolver.resolve(name, RrType::kMx, [weak, id, name, hops](const DnsAnswer& a) {
    if (std::shared_ptr<State> alive = weak.lock()) mx_answered(alive, id, name, hops, a);
  });
}

void mx_answered(const std::shared_ptr<State>& s, std::uint64_t id, const std::string& name, int hops,
                 const DnsAnswer& a) {
  auto it = s->plans.find(id);
  if (it == s->plans.end()) return;
  std::string owner = canonical_name(name);
  if (a.outcome == DnsOutcome::kAnswer) {
    int h = hops;
    owner = follow_cnames(name, a.records, h);
    if (has_cname(owner, a.records)) return finish(*s, id, Status::io_error(name + ": CNAME chain too long"));
    bool any_mx = std::any_of(a.records.begin(), a.records.end(),
                              [&](const DnsRecord& r) { return r.type == RrType::kMx && r.owner == owner; });
    if (!any_mx && h > hops) return ask_mx(s, id, owner, h);
  }
  Result<std::vector<MxHost>> hosts = mx_hosts(owner, a, s->random);
  if (!hosts.ok()) return finish(*s, id, hosts.status());
  State::Plan& plan = it->second;
  std::vector<RrType> types = {RrType::kA};
  if (s->options.use_ipv6) types.insert(types.begin(), RrType::kAaaa);
  for (MxHost& host : *hosts) plan.hosts.push_back(HostAddresses{std::move(host), {}, {}});
  plan.pending = plan.hosts.size() * types.size();
  std::vector<std::string> names;
  for (const HostAddresses& ha : plan.hosts) names.push_back(ha.host.name);
  // Cached answers come back at once, and the last one finishes the plan:
  // nothing here touches `plan` after the first ask.
  for (std::size_t i = 0; i < names.size(); ++i) {
    for (RrType t : types) ask_address(s, id, i, names[i], t, 0);
  }
}

}  // namespace

MxPlanner::MxPlanner(Resolver& resolver, MxOptions options)
    : state_(std::make_shared<State>(resolver, std::move(options))) {}

MxPlanner::~MxPlanner() = default;

void MxPlanner::plan(std::string_view domain, Done done) {
  std::uint64_t id = state_->next_id++;
  state_->plans.emplace(id, State::Plan{std::move(done), {}, 0, false});
  ask_mx(state_, id, canonical_name(domain), 0);
}

}  // namespace emailroute
