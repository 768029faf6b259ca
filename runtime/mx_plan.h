// Where mail for a destination domain goes: the ordered list of endpoints to
// try, made from MX and A/AAAA answers by the rules of RFC 5321 §5.1 and
// RFC 7505.
//
//  - MX records sorted by preference, equal preferences shuffled; no MX at
//    all: the domain itself is the one host (implicit MX); a lone MX whose
//    exchange is "." (null MX): the domain takes no mail.
//  - every host's addresses, IPv6 first when we have IPv6, a few per host and
//    a bounded total so that at least two hosts get a turn.
//  - CNAMEs (on the domain or on an MX host) followed up to kMaxCnameHops.
//  - addresses on loopback, private or otherwise non-public ranges, or ours,
//    are refused unless allow_private (tests, private networks).
//
// Failures are Status values, turned into the sender's reply by
// next_hop_failure_reply (next_hop.h): kNotFound 550 5.1.2 (NXDOMAIN, or no MX and no address),
// kInvalid 556 5.1.10 (null MX), kCorruption 550 5.4.4 (every address
// refused), anything else 451 4.4.3 (SERVFAIL, timeouts).
//
// SECURITY: everything here came from DNS and is untrusted; the refusal of
// non-public addresses is what keeps a hostile domain from aiming the relay
// at services on our own network.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/net.h"
#include "runtime/resolver.h"
#include "runtime/status.h"

namespace emailroute {

inline constexpr int kMaxCnameHops = 8;
inline constexpr std::size_t kMaxMxHosts = 8;           // hosts whose addresses are looked up
inline constexpr std::size_t kMaxAddressesPerHost = 3;  // so the next host gets a turn
inline constexpr std::size_t kMaxEndpoints = 12;

struct MxHost {
  std::string name;  // lowercase, absolute
  std::uint16_t preference = 0;
  bool implicit = false;  // no MX: the domain itself (RFC 5321 §5.1)
};

struct MxOptions {
  std::uint16_t port = 25;         // relay.upstream_port
  bool allow_private = false;      // relay.allow_private_destinations
  bool use_ipv6 = true;            // we have IPv6: AAAA asked and tried first
  std::vector<std::string> own_addresses;  // our IPs in address_ip() form, refused like loopback
};

struct HostAddresses {
  MxHost host;
  std::vector<std::array<std::uint8_t, 16>> ipv6;
  std::vector<std::array<std::uint8_t, 4>> ipv4;
};

/// The end of the CNAME chain that starts at `name` inside `records`, after
/// at most kMaxCnameHops - `hops` links; `hops` counts the links followed.
std::string follow_cnames(std::string_view name, const std::vector<DnsRecord>& records, int& hops);

/// The hosts to look up for `domain` from the answer to its MX question
/// (already past any CNAME of the domain: `owner` is the chain's end).
Result<std::vector<MxHost>> mx_hosts(std::string_view owner, const DnsAnswer& answer, std::mt19937& random);

/// Why an IPv4 (4 bytes) or IPv6 (16 bytes) address is no public mail
/// server ("loopback", "private"...), or nullptr when it may be one.
const char* non_public_reason(std::span<const std::uint8_t> address);

/// The endpoints to try, in order (see the top of this file); refused
/// addresses are left out. Fails with the codes above when none is left.
/// `lookup_failed`: some address lookup failed (a temporary error when no address is left).
Result<std::vector<Endpoint>> plan_endpoints(const std::vector<HostAddresses>& hosts, const MxOptions& options,
                                             bool lookup_failed);

/// The machine's own addresses (getifaddrs), for MxOptions::own_addresses.
std::vector<std::string> local_addresses();
/// Whether the machine has a public IPv6 address, for MxOptions::use_ipv6.
bool has_public_ipv6();

/// Runs the whole lookup on `resolver`: MX, then A/AAAA of each host.
class MxPlanner {
 public:
  using Done = std::function<void(Result<std::vector<Endpoint>>)>;
  MxPlanner(Resolver& resolver, MxOptions options);
  /// Plans in flight are abandoned: their callbacks never run.
  ~MxPlanner();
  /// Plans delivery to `domain`; `done` runs now (cached answers) or later from the loop.
  void plan(std::string_view domain, Done done);

  struct State;  // public only so that the callbacks in mx_plan.cpp can name it

 private:
  std::shared_ptr<State> state_;
};

}  // namespace emailroute
