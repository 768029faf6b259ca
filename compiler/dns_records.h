// What DNS must say for a config to work: the records `check-dns` compares
// with real answers. The MX of every domain names relay.hostname; the relay
// host has an address (A/AAAA) whose PTR names it back; srs_domain has an SPF
// record authorising those addresses (the envelope sender of forwarded mail is
// in srs_domain); every domain has a DMARC record (a warning when missing).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "compiler/dns_lookup.h"
#include "compiler/routing_model.h"
#include "runtime/status.h"

namespace emailroute {

enum class RecordKind { kMx, kAddress, kPtr, kSpf, kDmarc };

struct RequiredRecord {
  RecordKind kind;
  std::string name;      // absolute, lower case, trailing dot
  std::string expected;  // rdata in presentation form; empty when only DNS can tell (addresses, SPF)
  bool required = true;  // false: a missing record is a warning only
};

/// The preference written into suggested MX records.
inline constexpr int kMxPreference = 10;
/// The TTL written into suggested zone-file lines.
inline constexpr int kSuggestedTtl = 3600;

/// The records `model` needs, in the order check-dns reports them: the relay
/// host's addresses, its SPF, then per domain MX and DMARC. PTR records depend
/// on the addresses DNS returns, so they come from ptr_record().
std::vector<RequiredRecord> required_records(const RoutingModel& model);

/// The PTR record an address of the relay needs. REQUIRES: `address` is an IPv4 or IPv6 literal.
Result<RequiredRecord> ptr_record(const std::string& address, const std::string& hostname);

/// `name` in lower case with a trailing dot.
std::string absolute_name(std::string_view name);

/// The SPF record suggested for a relay with these addresses ("a:host" when none is known).
std::string suggested_spf(const std::vector<std::string>& addresses, const std::string& hostname);

/// One zone-file line printed by ldns ("name.\t3600\tIN\tMX\t10 host."), without
/// the newline. TXT rdata is given unquoted and is quoted here.
Result<std::string> zone_line(const std::string& name, DnsType type, const std::string& rdata);

}  // namespace emailroute
