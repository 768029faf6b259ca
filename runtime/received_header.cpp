// The Received: header; see received_header.h.
#include "runtime/received_header.h"

namespace emailroute {
namespace {

std::string helo_name(std::string_view helo) {
  std::string out;
  for (char c : helo) {
    if (out.size() >= 255) break;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == ':' || c == '[' || c == ']' || c == '_';
    if (ok) out.push_back(c);
  }
  return out.empty() ? std::string("unknown") : out;
}

}  // namespace

std::string rfc5322_date(std::time_t when) {
  std::tm tm{};
  gmtime_r(&when, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::vector<std::string> received_header(const ReceivedInfo& info) {
  std::vector<std::string> lines;
  lines.push_back("Received: from " + helo_name(info.helo) + " ([" + std::string(info.client_ip) + "])");
  lines.push_back("\tby " + std::string(info.hostname) + " (emailroute) with " + std::string(info.protocol) + " id " +
                  std::string(info.id));
  if (!info.recipient.empty()) {
    lines.push_back("\tfor <" + std::string(info.recipient) + ">; " + rfc5322_date(info.when));
  } else {
    lines.back() += ";";
    std::string date = "\t";  // appended, not "\t" + ...: GCC 12 warns falsely (-Wrestrict, bug 105329)
    date += rfc5322_date(info.when);
    lines.push_back(std::move(date));
  }
  return lines;
}

}  // namespace emailroute
