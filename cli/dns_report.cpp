#include "cli/dns_report.h"

#include "cli/json.h"

namespace emailroute::cli {
namespace {

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s + " ";
}

std::string json_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + json_string(v[i]);
  return out + "]";
}

}  // namespace

std::string dns_summary(const std::vector<DnsCheck>& checks) {
  std::size_t n[4] = {0, 0, 0, 0}, warnings = 0;
  for (const DnsCheck& c : checks) {
    if (is_warning(c)) {
      ++warnings;
    } else {
      ++n[static_cast<int>(c.status)];
    }
  }
  return std::to_string(checks.size()) + (checks.size() == 1 ? " record: " : " records: ") + std::to_string(n[0]) + " OK, " +
         std::to_string(n[1]) + " MISSING, " + std::to_string(n[2]) + " WRONG, " + std::to_string(n[3]) +
         " could not be checked; " + std::to_string(warnings) + (warnings == 1 ? " warning" : " warnings");
}

std::string dns_report_text(const std::vector<DnsCheck>& checks) {
  std::string out, add, remove;
  for (const DnsCheck& c : checks) {
    std::string status = is_warning(c) ? "WARNING" : to_string(c.status);
    std::string detail;
    switch (c.status) {
      case CheckStatus::kOk: detail = c.what + " " + join(c.found, ", "); break;
      case CheckStatus::kMissing: detail = c.what + " missing; expected: " + join(c.expected, ", ") + " (" + c.note + ")"; break;
      case CheckStatus::kWrong:
        detail = c.what + " wrong; found: " + join(c.found, ", ") + "; expected: " + join(c.expected, ", ") + " (" + c.note + ")";
        break;
      case CheckStatus::kError: detail = c.what + " could not be checked: " + c.note; break;
    }
    out += pad(status, 7) + pad(c.type, 6) + c.name + "  " + detail + "\n";
    for (const std::string& l : c.add) add += l + "\n";
    for (const std::string& l : c.remove) remove += l + "\n";
  }
  if (!add.empty()) out += "\n; records to add:\n" + add;
  if (!remove.empty()) out += "\n; records to remove:\n" + remove;
  return out + "\n" + dns_summary(checks) + "\n";
}

std::string dns_report_json(const std::vector<DnsCheck>& checks) {
  std::string out = "{\"records\":[";
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const DnsCheck& c = checks[i];
    out += std::string(i ? "," : "") + "\n  {\"name\":" + json_string(c.name) + ",\"type\":" + json_string(c.type) +
           ",\"check\":" + json_string(c.what) + ",\"status\":" + json_string(to_string(c.status)) +
           ",\"required\":" + (c.required ? "true" : "false") + ",\"expected\":" + json_list(c.expected) +
           ",\"found\":" + json_list(c.found) + ",\"note\":" + json_string(c.note) + ",\"add\":" + json_list(c.add) +
           ",\"remove\":" + json_list(c.remove) + "}";
  }
  return out + "\n],\"summary\":" + json_string(dns_summary(checks)) + ",\"exit\":" + std::to_string(dns_exit_status(checks)) + "}\n";
}

}  // namespace emailroute::cli
