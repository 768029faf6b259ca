// The blocking DNS client check-dns asks its questions with: one ldns
// resolver, pointed at --resolver, relay.dns_resolver or /etc/resolv.conf,
// with short timeouts, a retry, and TCP when a UDP answer is truncated.
// SECURITY: answers are untrusted; ldns parses the wire format, this file
// keeps at most kMaxRecordsPerAnswer records per answer and escapes bytes
// that are not printable before anyone prints them.
#pragma once

#include <memory>
#include <string>

#include "compiler/dns_lookup.h"
#include "runtime/status.h"

struct ldns_struct_resolver;

namespace emailroute::cli {

class LdnsLookup : public DnsLookup {
 public:
  /// `server` is "IP", "IP:PORT" or "[IPv6]:PORT"; empty: the servers of /etc/resolv.conf.
  static Result<std::unique_ptr<LdnsLookup>> create(const std::string& server);
  ~LdnsLookup() override;
  LookupResult lookup(const std::string& name, DnsType type) override;

 private:
  explicit LdnsLookup(ldns_struct_resolver* res) : res_(res) {}
  ldns_struct_resolver* res_;
  std::string unreachable_;  // set after a question got no answer at all
};

}  // namespace emailroute::cli
