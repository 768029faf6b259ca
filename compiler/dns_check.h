// check-dns's comparison: the records a config needs (dns_records) against
// what DNS answers (through a DnsLookup), each OK, MISSING, WRONG or ERROR,
// with the zone-file lines that would fix it. Pure given the lookup, so the
// rules are unit-tested with a fake DNS.
#pragma once

#include <string>
#include <vector>

#include "compiler/dns_lookup.h"
#include "compiler/routing_model.h"

namespace emailroute {

enum class CheckStatus {
  kOk,       // DNS says what the config needs
  kMissing,  // no such record
  kWrong,    // a record is there but says something else (or too much)
  kError,    // DNS could not be asked (SERVFAIL, timeout)
};
const char* to_string(CheckStatus s);

struct DnsCheck {
  std::string name;  // absolute, trailing dot
  std::string type;  // "MX", "A/AAAA", "PTR", "TXT"
  std::string what;  // "MX", "address", "PTR", "SPF", "DMARC"
  CheckStatus status = CheckStatus::kOk;
  bool required = true;               // false: MISSING is a warning
  std::vector<std::string> expected;  // rdata, presentation form
  std::vector<std::string> found;     // rdata, presentation form (untrusted)
  std::string note;                   // why WRONG / MISSING, or the DNS error
  std::vector<std::string> add;       // zone-file lines to add (ldns-printed; "; " lines are hints)
  std::vector<std::string> remove;    // zone-file lines to remove
};

/// At most this many addresses of the relay host get a PTR check.
inline constexpr std::size_t kMaxRelayAddresses = 8;

/// Every check for `model`, in report order.
std::vector<DnsCheck> check_dns(const RoutingModel& model, DnsLookup& dns);

/// 0 when every required record is right, 2 when some DNS question failed,
/// else 1 (something must be fixed; a missing DMARC record alone is only a warning).
int dns_exit_status(const std::vector<DnsCheck>& checks);

/// True when the check counts as a warning: not required and MISSING.
bool is_warning(const DnsCheck& check);

}  // namespace emailroute
