// The one trace header the relay adds to every message (RFC 5321 §4.4),
// as folded lines ready for ClientSession::send_line. It records the
// client's address, not a reverse lookup: the relay asks DNS nothing here.
//
// SECURITY: the HELO name comes from the sender; only the characters of a
// domain or address literal are kept, and at most 255 of them.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace emailroute {

struct ReceivedInfo {
  std::string_view helo, client_ip, hostname, id;
  std::string_view protocol;   // "ESMTP", "SMTP", "UTF8SMTP"
  std::string_view recipient;  // named with "for" when there is exactly one; else empty
  std::time_t when = 0;
};

std::vector<std::string> received_header(const ReceivedInfo& info);

/// RFC 5322 date-time in UTC, e.g. "Sat, 28 Nov 2026 08:36:39 +0000".
std::string rfc5322_date(std::time_t when);

}  // namespace emailroute
