// The questions check-dns asks DNS, behind an interface so the checks and the
// SPF evaluator are pure and tested with a fake; cli/dns_query answers them
// with ldns. Everything an answer holds came from the network: untrusted.
#pragma once

#include <string>
#include <vector>

namespace emailroute {

enum class DnsType { kA, kAaaa, kMx, kTxt, kPtr, kCname };

enum class LookupStatus {
  kOk,        // records found (values non-empty)
  kNoData,    // the name exists, no record of this type
  kNxDomain,  // the name does not exist
  kFailed,    // SERVFAIL, REFUSED, timeout, no server: DNS could not be asked
};

struct LookupResult {
  LookupStatus status = LookupStatus::kNoData;
  /// Record data in presentation form, owner names absolute with a trailing dot:
  /// A "192.0.2.1", AAAA "2001:db8::1", MX "10 mx.example.net.", PTR/CNAME
  /// "host.example.", TXT the character-strings concatenated, unquoted.
  std::vector<std::string> values;
  std::string error;  // kFailed: why, for the user
};

/// At most this many records of one answer are looked at.
inline constexpr std::size_t kMaxRecordsPerAnswer = 64;

class DnsLookup {
 public:
  virtual ~DnsLookup() = default;
  /// `name` is absolute, with a trailing dot.
  virtual LookupResult lookup(const std::string& name, DnsType type) = 0;
};

const char* to_string(DnsType type);

}  // namespace emailroute
