// The relay's DNS client: asks recursive servers from inside the event loop
// and never blocks it. Each attempt is a fresh non-blocking UDP socket (so a
// fresh random source port, picked by the kernel) with a fresh random query
// ID; a truncated reply is asked again over TCP to the same server; an
// attempt that gets no usable reply within timeout_ms, or SERVFAIL/REFUSED,
// moves on to the next server, round after round. Identical questions in
// flight share one query, and answers are cached for their TTL (negative
// answers for the SOA's, RFC 2308) in a cache bounded in entries.
//
// SECURITY: servers are trusted to recurse, not to be honest about their
// packets: a datagram that is not a well-formed reply to the exact question
// (ID, question, QR; see dns_message.h) is dropped and the wait goes on, so a
// forged packet can neither answer nor abort a query. The UDP socket is
// connected, so the kernel drops datagrams from any other address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/dns_message.h"
#include "runtime/event_loop.h"
#include "runtime/net.h"
#include "runtime/status.h"

namespace emailroute {

enum class DnsOutcome {
  kAnswer,    // NOERROR; records may be empty (NODATA)
  kNxDomain,  // the name does not exist
  kFailed,    // SERVFAIL, REFUSED, timeouts on every server: DNS could not be asked
};

struct DnsAnswer {
  DnsOutcome outcome = DnsOutcome::kFailed;
  std::vector<DnsRecord> records;  // the answer section: may hold a CNAME chain before the records asked for
  std::string error;               // kFailed: why, for the log
};

struct ResolverOptions {
  std::vector<Endpoint> servers;   // REQUIRES: not empty
  std::int64_t timeout_ms = 2000;  // per attempt (UDP, then TCP when truncated)
  int rounds = 2;                  // every server is tried at most this many times per question
  std::size_t cache_entries = 4096;
  std::uint32_t max_ttl = 86400;          // longer TTLs are cut to this
  std::uint32_t max_negative_ttl = 900;   // likewise for NXDOMAIN/NODATA
};

struct ResolverStats {
  std::uint64_t udp_queries = 0;
  std::uint64_t tcp_queries = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t dropped_replies = 0;  // not an answer to the question asked
  std::uint64_t cache_hits = 0;
};

/// "IP", "IP:PORT", "[IPv6]:PORT" or a bare IPv6 address; port 53 by default.
Result<Endpoint> parse_dns_server(std::string_view text);
/// The `nameserver` lines of a resolv.conf text, at most three (as libc).
std::vector<Endpoint> servers_from_resolv_conf(std::string_view text);
/// `configured` (relay.dns_resolver: one or more servers separated by commas
/// or spaces) when not empty, else the servers of `resolv_conf`.
Result<std::vector<Endpoint>> dns_servers(std::string_view configured, const char* resolv_conf = "/etc/resolv.conf");

class Resolver {
 public:
  using Done = std::function<void(const DnsAnswer&)>;

  Resolver(EventLoop& loop, ResolverOptions options);
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;
  /// Queries in flight are abandoned: their callbacks never run.
  /// REQUIRES: not called from inside one of this resolver's callbacks.
  ~Resolver();

  /// Asks for `name` (absolute or not: always taken as absolute) and `type`.
  /// `done` runs at once for a cached answer, else later from the loop.
  void resolve(std::string_view name, RrType type, Done done);

  const ResolverStats& stats() const { return stats_; }
  std::size_t cache_size() const { return cache_.size(); }

 private:
  struct Query;
  struct CacheEntry {
    DnsAnswer answer;
    std::int64_t expires_ms;
  };

  void start_attempt(Query& q);
  void next_attempt(Query& q, std::string why);
  void start_tcp(Query& q);
  void on_udp(Query& q);
  void on_tcp(Query& q, std::uint32_t events);
  void on_reply(Query& q, std::span<const std::uint8_t> bytes, bool over_tcp);
  void close_io(Query& q);
  void finish(Query& q, DnsAnswer answer, std::optional<std::uint32_t> negative_ttl);
  void remember(const std::string& key, const DnsAnswer& answer, std::optional<std::uint32_t> negative_ttl);

  EventLoop& loop_;
  ResolverOptions options_;
  ResolverStats stats_;
  std::unordered_map<std::string, std::unique_ptr<Query>> queries_;  // in flight, by name and type
  std::unordered_map<std::string, CacheEntry> cache_;
  std::vector<std::uint8_t> buffer_;  // one receive buffer for every UDP reply
};

}  // namespace emailroute
