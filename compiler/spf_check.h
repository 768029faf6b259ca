// SPF (RFC 7208) evaluation, enough for check-dns to say whether srs_domain's
// record authorises the relay: ip4, ip6, a, mx, include, redirect, exists,
// ptr (never matches: deprecated) and all, with the limit of 10 DNS-querying
// terms (§4.6.4), at most 10 MX hosts per mx term and 2 void lookups.
// Macros (§7) are not expanded: a term whose domain has one never matches.
// Records come from DNS and are untrusted: terms, recursion and lookups are
// bounded, so a hostile record costs at most 10 includes' worth of queries.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "compiler/dns_lookup.h"

namespace emailroute {

enum class SpfResult { kNone, kNeutral, kPass, kFail, kSoftFail, kTempError, kPermError };
const char* to_string(SpfResult r);

inline constexpr int kSpfMaxLookups = 10;
inline constexpr int kSpfMaxVoidLookups = 2;
inline constexpr int kSpfMaxMxHosts = 10;

struct SpfOutcome {
  SpfResult result = SpfResult::kNone;
  std::string reason;  // for kPermError/kTempError, and what matched for the others
  int lookups = 0;     // DNS-querying terms evaluated
};

/// True when the TXT string is an SPF record: "v=spf1" then a space or the end.
bool is_spf_record(std::string_view txt);

/// The SPF records among `txts` (there must be exactly one).
std::vector<std::string> spf_records(const std::vector<std::string>& txts);

/// check_host(ip, domain): the SPF result for mail from `ip` in `domain`.
/// `domain` is absolute or not; `ip` is an IPv4 or IPv6 literal.
SpfOutcome spf_check_host(DnsLookup& dns, const std::string& ip, const std::string& domain);

/// Evaluates every term of the record and its includes, as a checker that
/// matches nothing would, and reports kPermError when it exceeds a limit or is
/// malformed anywhere; otherwise kNeutral (or what the terms say).
SpfOutcome spf_check_limits(DnsLookup& dns, const std::string& domain);

}  // namespace emailroute
